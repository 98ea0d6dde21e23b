#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: director_kernel
short_description: Load an LVS director's kernel modules and set its kernel settings, now and at boot
version_added: 0.2.0
description:
  - Loads the kernel modules of O(modules) that are not loaded (one C(modprobe -a) for all of them) and lists them all
    in O(modules_load_file), which C(systemd-modules-load) reads at boot.
  - Sets each kernel setting of O(sysctls) in the running kernel when its value differs, and writes them all, each
    under a comment giving its reason, to O(sysctl_file), which C(systemd-sysctl) applies at boot (after the modules
    are loaded, so the C(net.ipv4.vs.*) settings of C(ip_vs) exist).
  - One task for what would otherwise be a template, a search of C(/sys/module), a C(modprobe) and a C(sysctl --load)
    handler; a run that changes nothing starts no process.
  - Owns only its two files and the settings it lists. Other modules and settings of the host are left alone; a
    module dropped from O(modules) stays loaded (unloading IPVS would empty the table) and is no longer loaded at boot.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - C(modprobe) (kmod) and systemd (C(systemd-modules-load), C(systemd-sysctl)) on the managed host.
attributes:
  check_mode:
    support: full
    description: Reports the modules that would be loaded, the settings and the files that would change; touches
      nothing. A setting of a module that is not loaded yet is reported as a change.
  diff_mode:
    support: full
    description: The live settings, and each file, before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  modules:
    description:
      - Kernel modules to load now and at every boot, such as V(ip_vs) and its schedulers (V(ip_vs_wrr)).
    type: list
    elements: str
    default: []
  sysctls:
    description:
      - Kernel settings to hold now and at every boot, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The setting, in C(sysctl) form, such as V(net.ipv4.vs.expire_nodest_conn).
        type: str
        required: true
      value:
        description: Its value, as C(sysctl) prints it (whitespace is not significant).
        type: str
        required: true
      reason:
        description: Why it is set; written above it in O(sysctl_file) as a comment.
        type: str
  modules_load_file:
    description: The C(modules-load.d) file (mode C(0644)); it holds O(modules) alone.
    type: path
    default: /etc/modules-load.d/lvs-dr-director.conf
  sysctl_file:
    description: The C(sysctl.d) file (mode C(0644)); it holds O(sysctls) alone.
    type: path
    default: /etc/sysctl.d/90-lvs-dr-director.conf
seealso:
  - module: lvs.dr.ipvs_table
  - plugin: lvs.dr.ipvs_sysctls
    plugin_type: filter
"""

EXAMPLES = r"""
- name: IPVS with two schedulers, and the settings a direct-routing director needs
  lvs.dr.director_kernel:
    modules: [ip_vs, ip_vs_rr, ip_vs_wrr]
    sysctls:
      - name: net.ipv4.vs.expire_nodest_conn
        value: "1"
        reason: A connection to a real server that left the table is dropped at once, so the client retries.
      - name: net.ipv4.vs.conntrack
        value: "0"

- name: The settings the lvs.dr.ipvs_sysctls filter chooses for this kernel
  lvs.dr.director_kernel:
    modules: [ip_vs, ip_vs_wlc]
    sysctls: "{{ ansible_facts.kernel | lvs.dr.ipvs_sysctls }}"
"""

RETURN = r"""
loaded:
  description: The modules this task loaded (in check mode, would load).
  returned: always
  type: list
  elements: str
  sample: [ip_vs, ip_vs_wrr]
set:
  description: The settings this task changed in the running kernel (in check mode, would change), with their values.
  returned: always
  type: dict
  sample: {"net.ipv4.vs.expire_nodest_conn": "1"}
files:
  description: The files this task wrote (in check mode, would write).
  returned: always
  type: list
  elements: str
  sample: [/etc/sysctl.d/90-lvs-dr-director.conf]
"""

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock
from ansible_collections.lvs.dr.plugins.module_utils._kernel import build_module, run


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.director_kernel'):
        result = run(module)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
