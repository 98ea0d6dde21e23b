#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_info
short_description: Read the IPVS table as structured data, with traffic counters
version_added: 0.1.0
description:
  - Returns every IPVS virtual service with its real servers, in the shape the options of M(lvs.dr.ipvs_table) take,
    so the output of this module can be fed back to it.
  - With O(stats=true), adds the kernel's connection, packet and byte counters per service and per real server.
  - Reads with one ipvsadm process and changes nothing.
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with IPVS.
options:
  stats:
    description:
      - Add the counters of C(ipvsadm -L -n --stats --exact) to every service and real server.
    type: bool
    default: false
seealso:
  - module: lvs.dr.ipvs_table
'''

EXAMPLES = r'''
- name: Read the table with counters
  lvs.dr.ipvs_info:
    stats: true
  register: ipvs

- name: Replies bypass a DR director - its OutPkts stay 0
  ansible.builtin.assert:
    that:
      - ipvs.services[0].stats.in_packets > 0
      - ipvs.services[0].stats.out_packets == 0
'''

RETURN = r'''
services:
  description: The virtual services with their real servers, in kernel order.
  returned: always
  type: list
  elements: dict
  contains:
    protocol:
      description: V(tcp), V(udp) or V(sctp); V(null) for a firewall-mark service.
      type: str
      returned: always
    virtual_address:
      description: The VIP; V(null) for a firewall-mark service.
      type: str
      returned: always
    virtual_port:
      description: The service port; V(null) for a firewall-mark service.
      type: int
      returned: always
    fwmark:
      description: The firewall mark, or V(null).
      type: int
      returned: always
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      returned: always
    scheduler:
      description: The scheduler.
      type: str
      returned: always
    scheduler_flags:
      description: Scheduler flags, as ipvsadm names them for the scheduler.
      type: list
      elements: str
      returned: always
    persistence_timeout:
      description: Persistence timeout in seconds, V(0) when not persistent.
      type: int
      returned: always
    persistence_netmask:
      description: Persistence granularity (dotted mask or IPv6 prefix length), V(null) for one address.
      type: str
      returned: always
    one_packet:
      description: Whether one-packet scheduling is on.
      type: bool
      returned: always
    persistence_engine:
      description: The persistence engine, or V(null).
      type: str
      returned: always
    stats:
      description: Counters of the service (connections, in_packets, out_packets, in_bytes, out_bytes).
      type: dict
      returned: when O(stats=true)
    realservers:
      description:
        - The real servers with address, port, forwarding_method, weight, upper_threshold, lower_threshold,
          active_connections, inactive_connections, and with O(stats=true) their counters in C(stats).
      type: list
      elements: dict
      returned: always
  sample:
    - protocol: tcp
      virtual_address: 192.0.2.10
      virtual_port: 8080
      fwmark: null
      family: ipv4
      scheduler: rr
      scheduler_flags: []
      persistence_timeout: 0
      persistence_netmask: null
      one_packet: false
      persistence_engine: null
      stats: {connections: 12, in_packets: 72, out_packets: 0, in_bytes: 4711, out_bytes: 0}
      realservers:
        - address: 198.51.100.11
          port: 8080
          forwarding_method: route
          weight: 1
          upper_threshold: 0
          lower_threshold: 0
          active_connections: 0
          inactive_connections: 6
          stats: {connections: 6, in_packets: 36, out_packets: 0, in_bytes: 2355, out_bytes: 0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._ipvsadm import Ipvsadm


def build_module():
    return AnsibleModule(argument_spec=dict(stats=dict(type='bool', default=False)), supports_check_mode=True)


def describe(table, conns, stats):
    services = []
    for key, svc in table.services.items():
        entry = svc.to_dict(with_dests=False)
        svc_stats = stats.get(key, {}) if stats is not None else None
        if svc_stats is not None:
            entry['stats'] = svc_stats.get('stats', {})
        entry['realservers'] = []
        for dkey, dest in svc.dests.items():
            rs = dest.to_dict()
            rs.update(conns.get(key, {}).get(dkey, {}))
            if svc_stats is not None:
                rs['stats'] = svc_stats.get('dests', {}).get(dkey, {})
            entry['realservers'].append(rs)
        services.append(entry)
    return services


def main():
    module = build_module()
    table, conns, stats = Ipvsadm(module).read(stats=module.params['stats'])
    module.exit_json(changed=False, services=describe(table, conns, stats))


if __name__ == '__main__':
    main()
