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

import os
import re
import textwrap

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock, lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._persist import MANAGED_HEADER, ensure_file
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command
from ansible_collections.lvs.dr.plugins.module_utils._sysctl import display_key, parse_key, read_value, write_value

BY = 'lvs.dr.director_kernel'
SYS_MODULE = '/sys/module'
MODULE_NAME = re.compile(r'^[A-Za-z0-9_-]+$')
SYSCTL_NAME = re.compile(r'^[A-Za-z0-9_-]+([./][A-Za-z0-9_.:@-]+)+$')


def build_module():
    module = AnsibleModule(
        argument_spec=dict(
            modules=dict(type='list', elements='str', default=[]),
            sysctls=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                value=dict(type='str', required=True),
                reason=dict(type='str'),
            )),
            modules_load_file=dict(type='path', default='/etc/modules-load.d/lvs-dr-director.conf'),
            sysctl_file=dict(type='path', default='/etc/sysctl.d/90-lvs-dr-director.conf'),
            **lock_spec()
        ),
        supports_check_mode=True,
    )
    return module


def validate(params):
    """Everything the argument spec cannot say, before anything is read; a ValueError starts with the option."""
    seen = set()
    for index, name in enumerate(params['modules']):
        if not MODULE_NAME.match(name):
            raise ValueError('modules[%d]: %r is not the name of a kernel module' % (index, name))
    settings = []
    for index, item in enumerate(params['sysctls']):
        name = item['name'].strip()
        if not SYSCTL_NAME.match(name) or '..' in name:
            raise ValueError('sysctls[%d].name: %r is not the name of a kernel setting' % (index, item['name']))
        key = parse_key(name)
        if key in seen:
            raise ValueError('sysctls[%d].name: %s is listed twice' % (index, name))
        seen.add(key)
        value = ' '.join(str(item['value']).split())
        if not value or '\n' in str(item['value']).strip():
            raise ValueError('sysctls[%d].value: %r is not one line' % (index, item['value']))
        settings.append((key, value, item.get('reason')))
    for option in ('modules_load_file', 'sysctl_file'):
        if not os.path.isabs(params[option]) or params[option].endswith('/'):
            raise ValueError('%s: %r is not the absolute path of a file' % (option, params[option]))
    return settings


def loaded(name):
    # /sys/module names use '_' where modprobe accepts '-' too.
    return os.path.isdir(os.path.join(SYS_MODULE, name.replace('-', '_')))


def modules_text(modules):
    lines = ['# %s' % (MANAGED_HEADER % BY),
             '# Kernel modules of the LVS director, loaded at boot by systemd-modules-load.']
    return '\n'.join(lines + list(modules)) + '\n'


def sysctl_text(settings):
    lines = ['# %s' % (MANAGED_HEADER % BY),
             '# Kernel settings of the LVS director, applied at boot by systemd-sysctl (after the modules are loaded).']
    for key, value, reason in settings:
        lines.append('')
        for line in textwrap.wrap(' '.join((reason or '').split()), 100):
            lines.append('# %s' % line)
        lines.append('%s = %s' % (display_key(key), value))
    return '\n'.join(lines) + '\n'


def run(module):
    params = module.params
    try:
        settings = validate(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), option=str(exc).split(':', maxsplit=1)[0])
    modules = list(dict.fromkeys(params['modules']))
    missing = [name for name in modules if not loaded(name)]
    if missing:
        hint = 'modprobe (kmod) is not installed on this host: it is needed to load %s' % ', '.join(missing)
        modprobe = Command(module, 'modprobe', hint=hint)
        if not module.check_mode:
            modprobe.run(['-a'] + missing, 'modprobe -a %s' % ' '.join(missing), loaded=[])
    changed_set, before_live, after_live = {}, [], []
    for key, value, dummy in settings:
        current = read_value(key)
        if current is None and not (module.check_mode and missing):
            module.fail_json(msg='sysctls: the running kernel has no setting %s (%s does not exist)%s. Nothing of '
                                 'the settings was changed.' % (display_key(key), os.path.join('/proc/sys', key),
                                                                '; modules loaded: %s' % ', '.join(missing)
                                                                if missing else ''), loaded=missing)
        if current != value:
            changed_set[display_key(key)] = value
            before_live.append('%s = %s' % (display_key(key), current if current is not None else '(not loaded)'))
            after_live.append('%s = %s' % (display_key(key), value))
    if not module.check_mode:
        for key, value, dummy in settings:
            if display_key(key) in changed_set:
                try:
                    write_value(key, value)
                except (IOError, OSError) as exc:
                    module.fail_json(msg='sysctls: the kernel refused %s = %s: %s' % (display_key(key), value, exc),
                                     loaded=missing, set=changed_set)
    written, diffs = [], []
    for path, content in ((params['modules_load_file'], modules_text(modules)),
                          (params['sysctl_file'], sysctl_text(settings))):
        if ensure_file(module, path, content, 0o644, diffs):
            written.append(path)
    result = dict(changed=bool(missing or changed_set or written), loaded=missing, set=changed_set, files=written)
    if module._diff:
        result['diff'] = [dict(before_header='running kernel', after_header='running kernel',
                               before=''.join(line + '\n' for line in before_live),
                               after=''.join(line + '\n' for line in after_live))] + diffs
    module.exit_json(**result)


def main():
    module = build_module()
    with HostLock(module, BY):
        run(module)


if __name__ == '__main__':
    main()
