#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: director_converge
short_description: Converge an LVS director's kernel, neighbour entries, IPVS table and VIPs in one pass
version_added: 0.2.0
description:
  - Runs, in one module execution on the host and under one host lock, what M(lvs.dr.director_kernel),
    M(lvs.dr.static_arp), M(lvs.dr.ipvs_table) and M(lvs.dr.director_vips) do, in that order, each with its own
    options - the same code, the same checks, the same results. A task per module costs a Python start and a round
    trip each; on a fleet that is most of what a run that changes nothing costs. O(standby_vips) runs last, with the
    code of M(lvs.dr.lvs_dr_realserver).
  - Every part's options are checked by its module's own argument spec before any part runs, so bad input in the
    last part changes nothing in the first. A part that fails stops the pass; the parts before it keep what they
    did, and the failure names the part (its message starts with the option, such as C(table).)
  - In check mode, a part that needs a program the host does not have yet (ipvsadm, arp, ...) is reported in
    RV(missing_programs) instead of failing, so a check before the packages are installed can still plan the other
    parts and say which packages are needed.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - What the modules of the parts given need on the managed host.
attributes:
  check_mode:
    support: full
    description: Each part in check mode; a part whose program is missing is skipped and named in RV(missing_programs).
  diff_mode:
    support: full
    description: The diffs of every part, in order.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  kernel:
    description:
      - The options of M(lvs.dr.director_kernel) (without O(lock_timeout)), checked as that module checks them.
      - Omitted, the kernel is not touched.
    type: dict
  static_arp:
    description:
      - The options of M(lvs.dr.static_arp) (without O(lock_timeout)), checked as that module checks them.
      - Omitted, no neighbour entry is touched.
    type: dict
  table:
    description:
      - The options of M(lvs.dr.ipvs_table) (without O(lock_timeout)), checked as that module checks them, including
        its removal limits and drain.
      - Omitted, the IPVS table is not touched.
    type: dict
  vips:
    description:
      - The options of M(lvs.dr.director_vips) (without O(lock_timeout)), checked as that module checks them.
      - Omitted, no VIP is touched.
    type: dict
  standby_vips:
    description:
      - The options of M(lvs.dr.lvs_dr_realserver) (without O(lock_timeout)), checked as that module checks them - VIPs
        held on an interface (C(lo)) with the ARP settings of a real server, so the host accepts packets for them
        without ever answering ARP for them. Runs last.
      - Meant for the directors of the keepalived engine, so that the director that gives a VIP up still forwards what
        reaches it for that VIP until every client has the new holder's address.
      - Omitted, nothing of it is touched.
    type: dict
    version_added: 0.2.0
  programs:
    description:
      - More programs to look for on the host (in C(PATH), C(/usr/sbin) and C(/sbin)), such as C(keepalived); the ones
        missing are added to RV(missing_programs). Nothing fails for them.
    type: list
    elements: str
    default: []
notes:
  - At least one of O(kernel), O(static_arp), O(table), O(vips) and O(standby_vips) is required.
seealso:
  - module: lvs.dr.director_kernel
  - module: lvs.dr.static_arp
  - module: lvs.dr.ipvs_table
  - module: lvs.dr.director_vips
"""

EXAMPLES = r"""
- name: A director in one pass
  lvs.dr.director_converge:
    kernel:
      modules: [ip_vs, ip_vs_wrr]
    static_arp:
      entries:
        - {address: 192.0.2.21, mac: "02:00:5e:00:53:21", interface: eth0}
        - {address: 192.0.2.22, mac: "02:00:5e:00:53:22", interface: eth0}
    table:
      services:
        - virtual_address: 192.0.2.10
          virtual_port: 80
          scheduler: wrr
          realservers:
            - {address: 192.0.2.21}
            - {address: 192.0.2.22}
      purge_realservers: true
      drain: true
      persist: {}
    vips:
      interface: eth0
      vips: [192.0.2.10]

- name: What a run would do, before the packages are installed
  lvs.dr.director_converge:
    table:
      services: []
      purge: true
    programs: [keepalived]
  check_mode: true
  register: check
"""

RETURN = r"""
parts:
  description:
    - The result of each part that ran, under its option's name, as its module returns it (without C(diff), which is
      the pass's own). A part skipped in check mode for a missing program has C(skipped=true) and its C(msg).
  returned: always
  type: dict
  sample: {"kernel": {"changed": false, "loaded": [], "set": {}, "files": []}, "table": {"changed": false, "commands": []}}
missing_programs:
  description: Programs missing on the host that a part needs (check mode only; else the part fails) or that
    O(programs) lists.
  returned: always
  type: list
  elements: str
  sample: [ipvsadm, arp]
part:
  description: On failure, the part that failed.
  returned: failure
  type: str
  sample: table
"""

from ansible_collections.lvs.dr.plugins.module_utils._converge import build_module, run
from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.director_converge'):
        result = run(module)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
