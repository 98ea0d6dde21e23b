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
  - With O(drain=true), every real server that leaves the table - dropped from a pool, or with its whole service - is
    taken out of service gracefully first, at weight V(0) (no new connection), then it is removed once its active
    connections have ended. Everything else is applied at once; one C(ipvsadm) process reads the connection counts
    of all the waiting real servers per O(drain_poll_interval).
  - Returns the desired table in C(ipvsadm -R) format (RV(rules)), and the rules of the listed services alone
    (RV(managed_rules)), ready to be saved for a restore at boot.
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
  - lvs.dr.lock
attributes:
  check_mode:
    support: full
    description: Reports the commands and the diff a real run would apply, and leaves the kernel table and the saved
      files untouched.
  diff_mode:
    support: full
    description: Before and after are the whole table in C(ipvsadm-save -n) format, thresholds included; with
      O(persist), followed by each file that changes.
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
  drain:
    description:
      - Drain every real server that the task removes (from a pool through O(purge_realservers), or with its service
        through O(services[].state=absent) or O(purge)) before removing it. Its weight becomes V(0) at once, the rest
        of the table is converged, and it leaves the table when it has no active connection left.
      - A real server that already has weight V(0) and no active connection is removed at once.
      - What happens when O(drain_timeout) passes first is O(drain_timeout_action).
      - With V(false), such real servers are removed at once, and connections still open to them break when the
        kernel expires them (C(net.ipv4.vs.expire_nodest_conn=1)).
    type: bool
    default: false
  drain_timeout:
    description:
      - How long, in seconds, to wait for the active connections of the real servers being drained to end. V(0)
        quiesces them and reads their connections once, without waiting.
    type: int
    default: 300
  drain_timeout_action:
    description:
      - What to do with real servers that still have active connections when O(drain_timeout) has passed.
      - V(fail) keeps them in the table at weight V(0) (the rest of the table converged, the real servers drained
        meanwhile removed) and fails the task, naming each of them with its connection count; run again later, or
        raise O(drain_timeout).
      - V(remove) removes them anyway, with a warning naming them; their remaining connections break.
    type: str
    default: fail
    choices: [fail, remove]
  drain_poll_interval:
    description:
      - Seconds between two readings of the connection counts while draining (one C(ipvsadm) process each, for
        every waiting real server at once).
    type: float
    default: 1.0
  persist:
    description:
      - Save the listed services (RV(managed_rules)) so that they come back at boot, and install what restores them.
        Services of other tools are neither saved nor restored.
      - Three files and one unit - O(persist.rules_file), the restore helper O(persist.helper) and the C(Type=oneshot)
        unit O(persist.unit) that runs it at boot, enabled, and started (restarted when its file changed). The
        helper, a Python 3 standard-library script, never empties the table. It reads it once and feeds one
        C(ipvsadm -R) only the rules that are missing or differ, then checks that the table holds every rule of the
        file, and fails the unit (with each missing rule in the journal) when it does not.
      - Saved only once the table has converged; a task that fails leaves the saved rules as they were.
      - Omitted, nothing is saved, and the table does not survive a reboot.
    type: dict
    suboptions:
      rules_file:
        description: The rules file, in C(ipvsadm -R) format behind a comment header (mode C(0644)).
        type: path
        default: /etc/ipvsadm.rules
      unit:
        description:
          - The systemd service unit that restores O(persist.rules_file) at boot, written to C(/etc/systemd/system/).
          - The default, V(ipvsadm.service), takes the place of the distribution's unit or LSB script of that name.
        type: str
        default: ipvsadm.service
      helper:
        description: Where the restore helper is installed (mode C(0755)).
        type: path
        default: /usr/local/sbin/lvs-dr-ipvsadm-restore
seealso:
  - module: lvs.dr.ipvs_service
  - module: lvs.dr.ipvs_realserver
  - module: lvs.dr.ipvs_info
'''

EXAMPLES = r'''
- name: Converge a director's table - two services, their pools, nothing else - and restore them at boot
  lvs.dr.ipvs_table:
    purge: true
    persist: {}  # /etc/ipvsadm.rules, restored by ipvsadm.service
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

- name: Drop one service and keep the rest of the table as it is
  lvs.dr.ipvs_table:
    services:
      - protocol: udp
        virtual_address: 192.0.2.10
        virtual_port: 53
        state: absent

- name: Take web3 out of the pool, gracefully - it leaves the table once its connections have ended
  lvs.dr.ipvs_table:
    purge_realservers: true
    drain: true
    drain_timeout: 600
    services:
      - virtual_address: 192.0.2.10
        virtual_port: 8080
        scheduler: wrr
        realservers:
          - address: 198.51.100.11
          - address: 198.51.100.12
  register: table
# table.drain.realservers names the real servers drained, with their connections when they left.

- name: Keep the services in a rules file of its own, restored by a unit of its own
  lvs.dr.ipvs_table:
    services:
      - virtual_address: 192.0.2.20
        virtual_port: 443
        realservers:
          - address: 198.51.100.21
    persist:
      rules_file: /etc/lvs-dr/web.rules
      unit: lvs-dr-web-ipvs.service

# Pools fed from inventory groups: see the lvs.dr.director role.
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
drain:
  description:
    - The real servers the task drained with O(drain=true) (in check mode, would drain), with what the last reading
      of their connections found.
  returned: always
  type: dict
  contains:
    realservers:
      description:
        - One entry per real server taken out of service, naming its service (C(service)) and itself
          (C(realserver), its endpoint), with C(active_connections) and C(inactive_connections) at the last reading
          (before any change in check mode), and C(removed), whether it left the table.
        - C(virtual_service) is the service as O(services) takes it, and C(destination) the real server as
          O(services[].realservers) takes it (without its weight), both as the table held them - what a tool that
          owns the table some other way (keepalived) needs to drain the same real servers.
      type: list
      elements: dict
      sample: [{"service": "tcp 192.0.2.10:8080", "realserver": "198.51.100.13:8080", "active_connections": 0,
                "inactive_connections": 4, "removed": true,
                "virtual_service": {"protocol": "tcp", "virtual_address": "192.0.2.10", "virtual_port": 8080,
                                    "family": "ipv4", "scheduler": "wrr"},
                "destination": {"address": "198.51.100.13", "port": 8080, "forwarding_method": "route",
                                "upper_threshold": 0, "lower_threshold": 0}}]
    seconds:
      description: How long the task waited for the connections to end.
      type: float
      sample: 12.04
    polls:
      description: How many times it read the connection counts while waiting.
      type: int
      sample: 13
    timed_out:
      description: Whether O(drain_timeout) passed with active connections left.
      type: bool
      sample: false
  sample: {"realservers": [], "seconds": 0.0, "polls": 0, "timed_out": false}
persist:
  description:
    - With O(persist), what was saved, and what changed (in check mode, would change), by name - C(helper),
      C(rules_file), C(unit) (its file), C(enabled), C(started) or C(restarted).
  returned: when O(persist) is set
  type: dict
  sample: {"rules_file": "/etc/ipvsadm.rules", "unit": "ipvsadm.service",
           "helper": "/usr/local/sbin/lvs-dr-ipvsadm-restore", "changed": ["rules_file"]}
ipvs_unavailable:
  description:
    - V(true) when the task failed because this host has no table to read - ipvsadm is not installed, or the kernel
      has no IPVS (C(ip_vs) not loaded). A removal guard in check mode can tell "nothing to guard" from a failure.
  returned: failure
  type: bool
  sample: true
ipvsadm_processes:
  description: How many ipvsadm processes the task ran (one to read; one more to change and verify; with O(drain), one
    per reading of the connections and one more to remove the drained real servers).
  returned: always
  type: int
  sample: 2
'''

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock
from ansible_collections.lvs.dr.plugins.module_utils._table import build_module, run


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.ipvs_table'):
        result = run(module)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
