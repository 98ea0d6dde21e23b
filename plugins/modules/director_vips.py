#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: director_vips
short_description: Place an LVS director's virtual IPs on its interface, one by one, persisted across reboot
version_added: 0.2.0
description:
  - Puts the virtual IPs (VIPs) of an LVS director on O(interface) as host addresses (IPv4 C(/32) with an address label,
    IPv6 C(/128)), so the director answers ARP and neighbour solicitations for them and IPVS receives their traffic.
  - Changes are incremental. Adding a VIP adds only that address; a VIP dropped from O(vips) is removed alone. No other
    VIP is removed, re-added or interrupted.
  - Persists the VIPs without C(rc.local) in a oneshot unit C(lvs-dr-director-vips-<name>.service) with one
    C(ip addr replace) argv per VIP and no C(ExecStop), so stopping the unit never removes an address. It runs after
    C(network.target) and before C(ipvsadm.service).
  - Records in C(/var/lib/lvs-dr/director-state.json) which VIPs it added and which already existed. It only ever removes
    VIPs it added (or adopted with O(adopt_existing)); O(state=absent) removes them all with the unit and the record.
  - Shares its code with M(lvs.dr.lvs_dr_realserver), which places the VIPs of real servers on the loopback; unlike it,
    this module sets no ARP sysctl, because the director must answer ARP for its VIPs.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - iproute2 4.14 or later (C(ip -json)) and systemd on the managed host.
notes:
  - A VIP that already exists on O(interface) counts as present. It is not relabelled and, unless adopted with
    O(adopt_existing), never removed by this module.
  - Only one director of a segment may hold a VIP at a time. With several directors, let a failover manager (keepalived)
    own the VIPs instead.
attributes:
  check_mode:
    support: full
    description: Reports the addresses that would be added or removed and the unit diff, and touches nothing.
  diff_mode:
    support: full
    description: Shows the VIPs on the interface and the unit file before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  name:
    description:
      - Identifier of this instance, used in the unit name. Instances with different names are independent.
      - Letters, digits, V(-) and V(_), at most 32 characters.
    type: str
    default: default
  vips:
    description:
      - The virtual IP addresses, IPv4 or IPv6, optionally written with a host prefix (V(192.0.2.10/32)).
      - Required when O(state=present). On a later run, a VIP dropped from the list is removed if this instance added it.
    type: list
    elements: str
  interface:
    description: The interface facing the real servers and the clients' router, which holds the VIPs. It must exist.
    type: str
    required: true
  label:
    description:
      - Address label of the IPv4 VIPs, as the classic recipe's C(eth0:0). It must start with O(interface) followed by V(:)
        and be at most 15 characters long.
      - Defaults to C(<interface>:lvs).
    type: str
  adopt_existing:
    description:
      - Record the VIPs of O(vips) that already exist on O(interface) as added by this instance, so a later run removes
        them when they leave O(vips). For taking over addresses that another unit or script placed (the
        M(lvs.dr.director) role uses it once, when it replaces its earlier VIP unit).
    type: bool
    default: false
  state:
    description: Whether the VIPs should be placed (V(present)) or the instance completely undone (V(absent)).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: lvs.dr.lvs_dr_realserver
  - module: lvs.dr.ipvs_table
  - name: LVS-DR
    description: The Linux Virtual Server direct routing documentation.
    link: http://www.linuxvirtualserver.org/VS-DRouting.html
"""

EXAMPLES = r"""
- name: The director's VIPs on eth0
  lvs.dr.director_vips:
    interface: eth0
    vips:
      - 192.0.2.100
      - 2001:db8::100

- name: Take a VIP out (the others stay untouched)
  lvs.dr.director_vips:
    interface: eth0
    vips:
      - 192.0.2.100

- name: Undo everything this instance placed
  lvs.dr.director_vips:
    interface: eth0
    state: absent
"""

RETURN = r"""
vips:
  description: The VIPs of this instance as host addresses with prefix (empty after O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.100/32", "2001:db8::100/128"]
addresses_added:
  description: VIPs that were added to O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.100/32"]
addresses_removed:
  description: VIPs that were removed from O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: []
unit:
  description: Name of this instance's boot-time systemd unit.
  returned: always
  type: str
  sample: lvs-dr-director-vips-default.service
state_file:
  description: Path of the record of the VIPs each instance added.
  returned: always
  type: str
  sample: /var/lib/lvs-dr/director-state.json
"""

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock
from ansible_collections.lvs.dr.plugins.module_utils._vips import DIRECTOR, build_director_module, run_module


def main():
    module = build_director_module()
    with HostLock(module, 'lvs.dr.director_vips'):
        result = run_module(module, DIRECTOR)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
