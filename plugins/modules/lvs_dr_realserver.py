#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lvs_dr_realserver
short_description: Make a host an LVS direct-routing real server (VIPs on loopback, ARP sysctls), persisted across reboot
version_added: 0.1.0
description:
  - Configures the real-server side of LVS direct routing (LVS-DR) for one or more virtual IPs (VIPs).
  - Each VIP is added to O(interface) (the loopback by default) as a host address. IPv4 VIPs get a C(/32) and an address label
    (O(label)), and IPv6 VIPs get a C(/128).
  - Sets C(arp_ignore=1) and C(arp_announce=2) on C(all), on O(interface) and on every O(arp_interfaces) item. The host then
    never answers or announces ARP for the VIPs, and the director stays the only owner of the VIPs on the segment.
    These sysctls are applied before a VIP is added, so the VIP is never announced.
  - Optionally relaxes reverse-path filtering (O(rp_filter)).
  - Applies everything to the running kernel and makes it persistent without C(rc.local). It writes
    C(/etc/sysctl.d/90-lvs-dr-<name>.conf) and a oneshot unit C(lvs-dr-realserver-<name>.service). At boot the unit
    re-applies that sysctl file with C(systemd-sysctl) and adds the VIPs with C(ip addr replace), one C(ExecStart=) argv
    each. It runs before C(network.target), so services that bind to a VIP find it.
  - Records in C(/var/lib/lvs-dr/realserver-state.json) the value each sysctl had before any instance changed it, and which
    VIPs already existed. O(state=absent) uses this record to undo exactly what O(state=present) did. It removes only the
    VIPs it added, returns every sysctl it set to its previous value and removes the sysctl file, the unit and the record.
  - Several instances (O(name)) can coexist. A sysctl or a VIP that two instances share is kept until the last instance
    that uses it is removed.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - iproute2 4.14 or later (C(ip -json)) and systemd on the managed host.
notes:
  - IPv6 needs no ARP sysctls. Linux answers neighbour solicitations only for addresses on the receiving interface,
    so an IPv6 VIP on the loopback is not advertised.
  - A VIP that already exists on O(interface), with any label, counts as present. It is not relabelled, and it is not removed
    by O(state=absent) because this module did not add it. A VIP found on another interface produces a warning, because the
    host would answer ARP for it there.
  - The effective C(arp_ignore), C(arp_announce) and C(rp_filter) of an interface is the maximum of its own value and the
    value for C(all). See the kernel's ip-sysctl documentation.
  - When two instances ask for different O(rp_filter) values, the instance that ran last wins.
attributes:
  check_mode:
    support: full
    description: Reports the changes and the diff that a real run would make, and touches nothing.
  diff_mode:
    support: full
    description: Shows the addresses and sysctl values that change, and the sysctl file and unit before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  name:
    description:
      - Identifier of this real-server instance, used in file and unit names. Instances with different names are independent.
      - Letters, digits, V(-) and V(_), at most 32 characters.
    type: str
    default: default
  vips:
    description:
      - The virtual IP addresses, IPv4 or IPv6, optionally written with a host prefix (V(192.0.2.10/32), V(2001:db8::10/128)).
      - Required when O(state=present). With O(state=absent) the module uses its own record instead, and this option is ignored.
      - On a later run with O(state=present), a VIP that was dropped from the list is removed if this instance added it,
        unless O(purge=false).
    type: list
    elements: str
  purge:
    description:
      - With V(true), the instance holds exactly O(vips). A VIP it held before and that is no longer listed is removed.
      - With V(false), VIPs are only added. The VIPs the instance already holds stay, on the host, in its boot unit and in
        its record, so a later run with O(purge=true) removes them. This is the first half of a change that must not drop
        traffic, as the C(lvs.dr.site) playbook makes it. It adds the new VIPs before the directors send to them, and
        removes the old ones only after every director has stopped sending to them.
      - O(purge=false) cannot move the instance to another O(interface), which would remove its VIPs from the old one.
    type: bool
    default: true
    version_added: 0.2.0
  interface:
    description: Interface that holds the VIPs. It must exist. The loopback is the classic choice; a dummy interface also works.
    type: str
    default: lo
  label:
    description:
      - Address label of the IPv4 VIPs, as the classic recipe's C(lo:0). It must start with O(interface) followed by V(:)
        and be at most 15 characters long.
      - Defaults to C(<interface>:lvs), for example V(lo:lvs).
    type: str
  arp_interfaces:
    description:
      - Further interfaces that get C(arp_ignore=1) and C(arp_announce=2) (and the O(rp_filter) value when O(rp_filter=off)),
        usually the interfaces that face the director. They must exist when O(state=present).
      - Setting C(all) already covers them. List them to make the per-interface values explicit, for example when other
        tooling resets C(all).
    type: list
    elements: str
    default: []
  rp_filter:
    description:
      - How to treat reverse-path filtering, which drops DR traffic when the route back to a client does not leave through the
        interface the request arrived on (multi-homed real servers, asymmetric routing).
      - V(loose) (the default, safe) sets C(net.ipv4.conf.all.rp_filter=2). The effective value is the maximum of C(all) and
        the interface's own value, so every interface then uses loose mode. A packet is dropped only when its source is not
        reachable through any interface, so DR traffic is never dropped and spoofed martians are still refused.
      - V(off) sets C(rp_filter=0) on C(all) and on every O(arp_interfaces) item. Interfaces that are not listed keep their
        own value.
      - V(unchanged) leaves reverse-path filtering alone.
    type: str
    choices: [loose, 'off', unchanged]
    default: loose
  state:
    description: Whether the instance should be configured (V(present)) or completely undone (V(absent)).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: lvs.dr.static_arp
  - name: ip-sysctl
    description: Linux kernel documentation of arp_ignore, arp_announce and rp_filter.
    link: https://docs.kernel.org/networking/ip-sysctl.html
  - name: LVS-DR
    description: The Linux Virtual Server direct routing documentation.
    link: http://www.linuxvirtualserver.org/VS-DRouting.html
"""

EXAMPLES = r"""
- name: Real server for two VIPs (IPv4 and IPv6)
  lvs.dr.lvs_dr_realserver:
    name: web
    vips:
      - 192.0.2.10
      - 2001:db8::10

- name: Classic label, explicit front interface, reverse-path filter off
  lvs.dr.lvs_dr_realserver:
    name: dns
    vips: [198.51.100.53]
    label: "lo:0"
    arp_interfaces: [eth0]
    rp_filter: "off"

- name: Add a VIP and keep every VIP the instance already holds (removed later by a run with purge=true)
  lvs.dr.lvs_dr_realserver:
    name: web
    vips: [192.0.2.11]
    purge: false

- name: Undo everything the "web" instance did
  lvs.dr.lvs_dr_realserver:
    name: web
    state: absent
"""

RETURN = r"""
vips:
  description:
    - The VIPs of this instance as host addresses with prefix (empty after O(state=absent)).
    - With O(purge=false), the listed VIPs followed by the ones the instance kept.
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.10/32", "2001:db8::10/128"]
vips_kept:
  description:
    - With O(purge=false), the VIPs the instance holds that O(vips) no longer lists, kept until a run with
      O(purge=true) removes them; empty otherwise. A run with O(purge=true) and the same O(vips) changes nothing when
      this is empty.
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.20/32"]
  version_added: 0.2.0
addresses_added:
  description: VIPs that were added to O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.10/32"]
addresses_removed:
  description: VIPs that were removed from O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: []
sysctl:
  description: The sysctl values this instance wants, as written to its sysctl.d file (empty after O(state=absent)).
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2", "net.ipv4.conf.all.rp_filter": "2"}
sysctl_changes:
  description: The sysctls whose live value changed (or would change in check mode), with the values before and after.
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": {"before": "0", "after": "1"}}
sysctl_file:
  description: Path of this instance's sysctl.d file.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-lvs-dr-web.conf
unit:
  description: Name of this instance's boot-time systemd unit.
  returned: always
  type: str
  sample: lvs-dr-realserver-web.service
state_file:
  description: Path of the record of previous sysctl values and pre-existing VIPs, shared by all instances.
  returned: always
  type: str
  sample: /var/lib/lvs-dr/realserver-state.json
"""

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock
from ansible_collections.lvs.dr.plugins.module_utils._vips import REALSERVER, build_realserver_module, run_module


def main():
    module = build_realserver_module()
    with HostLock(module, 'lvs.dr.lvs_dr_realserver'):
        result = run_module(module, REALSERVER)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
