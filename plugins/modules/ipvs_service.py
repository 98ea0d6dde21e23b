#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_service
short_description: Manage one IPVS virtual service, optionally with its whole pool of real servers
version_added: 0.1.0
description:
  - Creates, edits or removes one Linux Virtual Server (IPVS) virtual service - an address, port and protocol, or a
    firewall mark - with its scheduler, scheduler flags and persistence settings.
  - With O(realservers) one task also converges the service's real servers; with O(purge_realservers=true) that list is
    exclusive, so one task converges a service and all of its real servers.
  - To manage the whole table at once (every service of a director in one task), use M(lvs.dr.ipvs_table).
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
  - lvs.dr.lock
  - lvs.dr.ipvs.service_identity
  - lvs.dr.ipvs.service
attributes:
  check_mode:
    support: full
    description: Reports the commands and the diff a real run would apply, and leaves the kernel table untouched.
  diff_mode:
    support: full
    description: Before and after are the service's lines in C(ipvsadm-save -n) format, thresholds included.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with IPVS.
options:
  state:
    description:
      - V(present) creates the service or edits it in place; V(absent) removes it with all its real servers.
      - With V(absent) only the identity of the service (O(protocol), O(virtual_address) and O(virtual_port), or
        O(fwmark) and O(family)) is used; its other options are ignored.
    type: str
    default: present
    choices: [present, absent]
  realservers:
    description:
      - Real servers of the service. Omitted means the real servers are left as they are.
      - Each entry takes the options of M(lvs.dr.ipvs_realserver) except the service.
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - Address of the real server, of the same address family as the service.
        type: str
        required: true
      port:
        description:
          - Port of the real server; defaults to O(virtual_port) (V(0) for a firewall-mark service).
          - With V(route) or V(tunnel) forwarding the port must equal the service port.
        type: int
      weight:
        description:
          - Weight, V(0) to V(65535); V(0) quiesces the real server.
        type: int
        default: 1
      forwarding_method:
        description:
          - V(route) is direct routing (C(-g)), V(masq) is NAT (C(-m)), V(tunnel) is IP-in-IP (C(-i)).
        type: str
        default: route
        choices: [route, masq, tunnel]
      upper_threshold:
        description:
          - Upper connection threshold; V(0) means no limit.
        type: int
        default: 0
      lower_threshold:
        description:
          - Lower connection threshold; must not exceed O(realservers[].upper_threshold) (the kernel refuses it).
        type: int
        default: 0
  purge_realservers:
    description:
      - With V(true), real servers of the service that are not in O(realservers) are removed, so the list is exclusive.
      - With V(false), listed real servers are added or updated and others are kept.
      - Ignored when O(realservers) is omitted.
    type: bool
    default: false
seealso:
  - module: lvs.dr.ipvs_realserver
  - module: lvs.dr.ipvs_table
  - module: lvs.dr.ipvs_info
  - name: ipvsadm(8)
    description: The IPVS administration tool this module drives.
    link: https://man7.org/linux/man-pages/man8/ipvsadm.8.html
'''

EXAMPLES = r'''
- name: Web VIP in direct-routing mode, round robin, two real servers, nothing else in the pool
  lvs.dr.ipvs_service:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    scheduler: rr
    realservers:
      - address: 198.51.100.11
      - address: 198.51.100.12
        weight: 3
    purge_realservers: true

- name: UDP DNS service with persistence per /24 of clients
  lvs.dr.ipvs_service:
    protocol: udp
    virtual_address: 192.0.2.10
    virtual_port: 53
    scheduler: sh
    scheduler_flags: [sh-port]
    persistence_timeout: 300
    persistence_netmask: 255.255.255.0

- name: Firewall-mark service for IPv6
  lvs.dr.ipvs_service:
    fwmark: 7
    family: ipv6
    scheduler: mh

- name: Remove a service and its real servers
  lvs.dr.ipvs_service:
    virtual_address: "2001:db8::10"
    virtual_port: 443
    state: absent
'''

RETURN = r'''
commands:
  description: The ipvsadm lines applied (or that would be applied in check mode), in C(ipvsadm -R) format.
  returned: always
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:8080 -s rr", "-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1"]
service:
  description: The service as it is after the task (as it would be, in check mode); V(null) when absent.
  returned: always
  type: dict
  sample:
    protocol: tcp
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
    realservers:
      - address: 198.51.100.11
        port: 8080
        forwarding_method: route
        weight: 1
        upper_threshold: 0
        lower_threshold: 0
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock, lock_spec

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError, diff_text, service_rules
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_params import (
    SERVICE_CONSTRAINTS, add_dests_from_params, fail_invalid, realserver_spec, service_from_params,
    service_identity_from_params, service_spec,
)
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_plan import merge, plan
from ansible_collections.lvs.dr.plugins.module_utils._ipvsadm import Ipvsadm


def build_module():
    argument_spec = service_spec()
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        realservers=dict(type='list', elements='dict', options=realserver_spec()),
        purge_realservers=dict(type='bool', default=False),
    )
    argument_spec.update(lock_spec())
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **SERVICE_CONSTRAINTS)


def run(module):
    # type: (AnsibleModule) -> None
    # Read, compare, act; exits the module.
    params = module.params
    try:
        if params['state'] == 'absent':
            # Deleting needs the identity only: the other options describe a service that is going away.
            wanted = service_identity_from_params(params)
        else:
            wanted = service_from_params(params)
            add_dests_from_params(wanted, params['realservers'], '')
    except IpvsError as exc:
        fail_invalid(module, exc)

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read()[0]
    key = wanted.key
    if params['state'] == 'absent':
        target = merge(current, [], absent_keys=(key,))
    else:
        managed = None if params['realservers'] is not None else ()
        target = merge(current, [wanted], purge_dests=params['purge_realservers'], dests_managed=managed)
    commands = plan(current, target)

    before, after = current.get(key), target.get(key)
    result = dict(changed=bool(commands), commands=commands, service=after.to_dict() if after else None)
    if module._diff:
        result['diff'] = dict(before=diff_text(service_rules(before) if before else []),
                              after=diff_text(service_rules(after) if after else []))
    if commands and not module.check_mode:
        ipvsadm.apply(current, target, commands)
    module.exit_json(**result)


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.ipvs_service'):
        run(module)


if __name__ == '__main__':
    main()
