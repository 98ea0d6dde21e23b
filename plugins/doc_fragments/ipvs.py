# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # What every IPVS module needs on the managed host.
    DOCUMENTATION = r'''
options: {}
requirements:
  - C(ipvsadm) on the managed host (Debian/Ubuntu and the RHEL family package it as C(ipvsadm)).
  - A kernel with IPVS (C(ip_vs) and the scheduler modules in use loaded). A container uses its host's kernel modules.
notes:
  - The table is read with one C(ipvsadm -R) process that runs C(-S -n) and C(-L -n --thresholds), and a change is
    applied with one more C(ipvsadm -R) process fed on standard input with only the lines needed, followed by the same
    listing. What the plan changes is compared with what the kernel lists; if the kernel refused part of it, the
    services and real servers the task changed are put back as they were and the task fails with ipvsadm's own error
    text. Services and real servers the task did not change are neither verified nor undone, so what another tool
    (keepalived, an operator) changes at the same time is left alone. The table is never flushed.
  - Attributes of an existing service or real server are edited in place (C(-E), C(-e)); nothing is deleted and
    re-added, so connections to real servers that stay are not disturbed.
'''

    SERVICE_IDENTITY = r'''
options:
  protocol:
    description:
      - Transport protocol of the virtual service.
      - V(tcp) when omitted. Not used with O(fwmark).
    type: str
    choices: [tcp, udp, sctp]
  virtual_address:
    description:
      - The virtual IP address (VIP) of the service, IPv4 or IPv6 (without brackets).
      - One of O(virtual_address) or O(fwmark) is required.
    type: str
    aliases: [vip]
  virtual_port:
    description:
      - The service port, V(0) to V(65535). V(0) means every port, which the kernel accepts only for a persistent service.
      - Required with O(virtual_address).
    type: int
  fwmark:
    description:
      - A firewall mark (V(1) to V(4294967295)) that identifies the service instead of an address, port and protocol.
      - Mutually exclusive with O(virtual_address), O(virtual_port) and O(protocol).
    type: int
  family:
    description:
      - Address family of a firewall-mark service. An address-based service takes the family of O(virtual_address);
        if given, O(family) must agree with it.
      - V(ipv4) when omitted.
    type: str
    choices: [ipv4, ipv6]
'''

    # The attributes of a service; use together with SERVICE_IDENTITY.
    SERVICE = r'''
options:
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
        V(24); for IPv6 a prefix length. Omitted means one client address (/32 or /128). Needs O(persistence_timeout).
    type: str
  one_packet:
    description:
      - One-packet scheduling (C(ipvsadm -o)) schedules every datagram on its own. Only for V(udp) and firewall-mark
        services.
    type: bool
    default: false
  persistence_engine:
    description:
      - Persistence engine (C(ipvsadm --pe)), for instance V(sip). Needs O(persistence_timeout).
    type: str
    choices: [sip]
'''

    REALSERVER = r'''
options:
  address:
    description:
      - Address of the real server, of the same address family as the service.
    type: str
    required: true
  port:
    description:
      - Port of the real server. Defaults to the service port (V(0) for a firewall-mark service).
      - With O(forwarding_method=route) (direct routing) or V(tunnel) the packet reaches the real server unchanged, so
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
      - Lower connection threshold (C(-y)); V(0) means unset. Must not exceed O(upper_threshold) (the kernel refuses it).
    type: int
    default: 0
'''
