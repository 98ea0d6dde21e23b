#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_table
short_description: Converge the whole IPVS table - every service with its real servers - in one task
version_added: 0.1.0
description:
  - Takes every virtual service of a director with its pool of real servers and converges the kernel's IPVS table to
    it in one task, however many services and real servers there are.
  - The table is read once and changed with one C(ipvsadm -R) process that carries only the lines needed, so a re-run
    that changes nothing runs one ipvsadm process, and a change of any size runs two.
  - By default services that are not listed are kept (merge); with O(purge=true) they are removed and the table is
    replaced. Within a listed service, listed real servers are added or updated and others are kept, unless
    O(purge_realservers=true) makes each list exclusive.
  - After applying, the task verifies only what it changed and, if the kernel refused part of it, undoes only its own
    changes. Services and real servers that another tool (keepalived, an operator) changes meanwhile are left alone.
  - O(max_removed_share) and O(max_removed_services) guard against inputs that would empty pools or drop services by
    mistake (a misspelt group, a truncated list). The task then fails before anything is changed, naming every
    service and real server it would have removed.
  - Returns the desired table in C(ipvsadm -R) format (RV(rules)), and the rules of the listed services alone
    (RV(managed_rules)), ready to be saved for a restore at boot.
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
attributes:
  check_mode:
    support: full
    description: Reports the commands and the diff a real run would apply, and leaves the kernel table untouched.
  diff_mode:
    support: full
    description: Before and after are the whole table in C(ipvsadm-save -n) format, thresholds included.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with IPVS.
options:
  services:
    description:
      - The virtual services, each with its real servers. Each entry takes the options of M(lvs.dr.ipvs_service).
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description:
          - Transport protocol of the virtual service.
          - V(tcp) when omitted. Not used with O(services[].fwmark).
        type: str
        choices: [tcp, udp, sctp]
      virtual_address:
        description:
          - The virtual IP address (VIP) of the service, IPv4 or IPv6 (without brackets).
          - One of O(services[].virtual_address) or O(services[].fwmark) is required.
        type: str
        aliases: [vip]
      virtual_port:
        description:
          - The service port, V(0) to V(65535). V(0) means every port, which the kernel accepts only for a persistent service.
          - Required with O(services[].virtual_address).
        type: int
      fwmark:
        description:
          - A firewall mark (V(1) to V(4294967295)) that identifies the service instead of an address, port and protocol.
          - Mutually exclusive with O(services[].virtual_address), O(services[].virtual_port) and O(services[].protocol).
        type: int
      family:
        description:
          - Address family of a firewall-mark service. An address-based service takes the family of O(services[].virtual_address);
            if given, O(services[].family) must agree with it.
          - V(ipv4) when omitted.
        type: str
        choices: [ipv4, ipv6]

      scheduler:
        description:
          - The scheduling algorithm. The kernel module C(ip_vs_<scheduler>) must be available on the host; if it is not,
            the kernel refuses the service, the task fails and the table is left as it was.
        type: str
        default: wlc
        choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos]
      scheduler_flags:
        description:
          - Scheduler flags (C(ipvsadm -b)). V(sh-fallback) and V(sh-port) apply to the V(sh) scheduler, V(mh-fallback) and
            V(mh-port) to V(mh); V(flag-1), V(flag-2) and V(flag-3) name the same three kernel bits for any scheduler.
        type: list
        elements: str
        default: []
        choices: [flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port]
      persistence_timeout:
        description:
          - Persistence timeout in seconds; V(0) means the service is not persistent.
        type: int
        default: 0
      persistence_netmask:
        description:
          - Granularity of persistence. For IPv4 a dotted netmask such as V(255.255.255.0) or a prefix length such as
            V(24); for IPv6 a prefix length. Omitted means one client address (/32 or /128). Needs O(services[].persistence_timeout).
        type: str
      one_packet:
        description:
          - One-packet scheduling (C(ipvsadm -o)) schedules every datagram on its own. Only for V(udp) and firewall-mark
            services.
        type: bool
        default: false
      persistence_engine:
        description:
          - Persistence engine (C(ipvsadm --pe)), for instance V(sip). Needs O(services[].persistence_timeout).
        type: str
        choices: [sip]
      state:
        description:
          - V(absent) removes the service (and its real servers) if it exists. Only the identity of the service
            (O(services[].protocol), O(services[].virtual_address) and O(services[].virtual_port), or
            O(services[].fwmark) and O(services[].family)) is used; its other options are ignored.
        type: str
        default: present
        choices: [present, absent]
      realservers:
        description:
          - Real servers of the service.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description:
              - Address of the real server, of the same address family as the service.
            type: str
            required: true
          port:
            description:
              - Port of the real server. Defaults to the service port (V(0) for a firewall-mark service).
              - With O(services[].realservers[].forwarding_method=route) (direct routing) or V(tunnel) the packet reaches the real server unchanged, so
                the port must equal the service port; a different port is an error.
            type: int
          weight:
            description:
              - Weight, V(0) to V(65535). V(0) quiesces the real server - it takes no new connections but keeps its current ones.
            type: int
            default: 1
          forwarding_method:
            description:
              - V(route) is direct routing (LVS-DR, C(-g)), V(masq) is NAT (C(-m)), V(tunnel) is IP-in-IP (C(-i)).
            type: str
            default: route
            choices: [route, masq, tunnel]
          upper_threshold:
            description:
              - Upper connection threshold (C(-x)); V(0) means no limit.
            type: int
            default: 0
          lower_threshold:
            description:
              - Lower connection threshold (C(-y)); V(0) means unset. Must not exceed
                O(services[].realservers[].upper_threshold) (the kernel refuses it).
            type: int
            default: 0
  purge:
    description:
      - Remove every service that is not listed in O(services), so that the table is exactly O(services).
    type: bool
    default: false
  purge_realservers:
    description:
      - Within a listed service, remove the real servers that are not listed, so each pool is exactly its
        O(services[].realservers).
      - With V(false), listed real servers are added or updated and others are kept.
      - The default was V(true) before version 0.2.0; every module of the collection now defaults to V(false).
    type: bool
    default: false
  max_removed_share:
    description:
      - Fail before changing anything when a service that stays would lose more than this share (V(0.0) to V(1.0)) of
        the real servers it has now. For example V(0.5) accepts removing one real server of two, and refuses two of three.
      - Weight changes (even to V(0)) are not removals. V(1.0), the default, sets no limit.
    type: float
    default: 1.0
  max_removed_services:
    description:
      - Fail before changing anything when the task would remove more than this number of whole services, through
        O(services[].state=absent) or O(purge). Omitted means no limit.
    type: int
seealso:
  - module: lvs.dr.ipvs_service
  - module: lvs.dr.ipvs_realserver
  - module: lvs.dr.ipvs_info
'''

EXAMPLES = r'''
- name: Converge a director's table - two services, their pools, nothing else
  lvs.dr.ipvs_table:
    purge: true
    services:
      - virtual_address: 192.0.2.10
        virtual_port: 8080
        scheduler: wrr
        realservers:
          - address: 198.51.100.11
            weight: 3
          - address: 198.51.100.12
      - protocol: udp
        virtual_address: 192.0.2.10
        virtual_port: 53
        scheduler: rr
        one_packet: true
        realservers:
          - address: 198.51.100.11
          - address: 198.51.100.12
  register: table

- name: Save the table for the restore unit
  ansible.builtin.copy:
    content: "{{ table.rules }}"
    dest: /etc/ipvsadm.rules
    mode: "0600"

- name: Drop one service and keep the rest of the table as it is
  lvs.dr.ipvs_table:
    services:
      - protocol: udp
        virtual_address: 192.0.2.10
        virtual_port: 53
        state: absent

# Pools fed from inventory groups, the rules file and its restore unit: see the lvs.dr.director role.
'''

RETURN = r'''
commands:
  description: The ipvsadm lines applied (or that would be applied in check mode), in C(ipvsadm -R) format.
  returned: always
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:8080 -s wrr", "-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3"]
managed_rules:
  description:
    - The services listed in O(services) with O(services[].state=present), and their real servers, after the task (as
      they would be, in check mode), in C(ipvsadm -R) format, ending with a newline. Services of other tools are not
      in it; this is what a role that owns only the listed services saves for its restore at boot.
  returned: always
  type: str
  sample: "-A -t 192.0.2.10:8080 -s wrr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3\n"
rules:
  description:
    - The table after the task (as it would be, in check mode) in C(ipvsadm -R) format, one line per service and real
      server, thresholds included, ending with a newline.
    - To read the table as structured data (with connection counters), use M(lvs.dr.ipvs_info).
  returned: always
  type: str
  sample: "-A -t 192.0.2.10:8080 -s wrr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3\n"
ipvsadm_processes:
  description: How many ipvsadm processes the task ran (one to read; one more to change and verify).
  returned: always
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._ipvs import (
    SERVICE_CONSTRAINTS, Ipvsadm, IpvsError, Table, add_dests_from_params, diff_text, fail_invalid, merge, plan,
    realserver_spec, removal_violations, service_from_params, service_identity_from_params, service_spec,
)


def build_module():
    service_options = service_spec()
    service_options.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        realservers=dict(type='list', elements='dict', default=[], options=realserver_spec()),
    )
    argument_spec = dict(
        services=dict(type='list', elements='dict', default=[], options=service_options, **SERVICE_CONSTRAINTS),
        purge=dict(type='bool', default=False),
        purge_realservers=dict(type='bool', default=False),
        max_removed_share=dict(type='float', default=1.0),
        max_removed_services=dict(type='int'),
    )
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)


def desired_services(entries):
    # type: (list) -> tuple
    # Validate every entry before anything is read: returns (services to have, keys of services to remove).
    present, absent, seen = [], [], {}
    for index, entry in enumerate(entries):
        prefix = 'services[%d].' % index
        if entry['state'] == 'absent':
            svc = service_identity_from_params(entry, prefix)
        else:
            svc = service_from_params(entry, prefix)
        if svc.key in seen:
            raise IpvsError('%s: %s is already listed as services[%d]' % (prefix.rstrip('.'), svc.label(),
                                                                          seen[svc.key]), 'services')
        seen[svc.key] = index
        if entry['state'] == 'absent':
            absent.append(svc.key)
        else:
            add_dests_from_params(svc, entry['realservers'], prefix)
            present.append(svc)
    return present, absent


def main():
    module = build_module()
    params = module.params
    try:
        present, absent = desired_services(params['services'])
        if not 0.0 <= params['max_removed_share'] <= 1.0:
            raise IpvsError('max_removed_share: %s is not between 0.0 and 1.0' % params['max_removed_share'],
                            'max_removed_share')
        if params['max_removed_services'] is not None and params['max_removed_services'] < 0:
            raise IpvsError('max_removed_services: %d is negative' % params['max_removed_services'],
                            'max_removed_services')
    except IpvsError as exc:
        fail_invalid(module, exc)

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read()[0]
    target = merge(current, present, absent_keys=absent, purge_services=params['purge'],
                   purge_dests=params['purge_realservers'])
    commands = plan(current, target)
    rules = target.rules()
    managed = Table(target.get(svc.key) for svc in present).rules()

    share = params['max_removed_share']
    violations = removal_violations(current, target, share if share < 1.0 else None, params['max_removed_services'])
    if violations:
        module.fail_json(msg='refusing to change the IPVS table: %s. Nothing was changed. If these removals are '
                             'intended, raise max_removed_share / max_removed_services.' % '; '.join(violations),
                         commands=commands, violations=violations)
    if commands and not module.check_mode:
        ipvsadm.apply(current, target, commands)
    result = dict(changed=bool(commands), commands=commands, rules=diff_text(rules), managed_rules=diff_text(managed),
                  ipvsadm_processes=ipvsadm.processes)
    if module._diff:
        result['diff'] = dict(before=diff_text(current.rules()), after=diff_text(rules))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
