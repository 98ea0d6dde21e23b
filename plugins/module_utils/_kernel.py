# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.director_kernel: the kernel modules and settings of an LVS director, now and at boot.

Not a public API: may change without notice. ``build_module()`` is the module's argument spec, ``run(module)``
validates, reads, compares and acts, and returns the result (it fails the module on error). The module and
lvs.dr.director_converge, which runs it as one part of a director's pass, both call it.
"""

from __future__ import annotations

import os
import re
import textwrap

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._lock import lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._persist import MANAGED_HEADER, ensure_file
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command
from ansible_collections.lvs.dr.plugins.module_utils._sysctl import display_key, parse_key, read_value, write_value

BY = 'lvs.dr.director_kernel'
SYS_MODULE = '/sys/module'
MODULE_NAME = re.compile(r'^[A-Za-z0-9_-]+$')
SYSCTL_NAME = re.compile(r'^[A-Za-z0-9_-]+([./][A-Za-z0-9_.:@-]+)+$')


def module_spec():
    """The argument spec, as AnsibleModule takes it."""
    return dict(argument_spec=dict(
        modules=dict(type='list', elements='str', default=[]),
        sysctls=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            value=dict(type='str', required=True),
            reason=dict(type='str'),
        )),
        modules_load_file=dict(type='path', default='/etc/modules-load.d/lvs-dr-director.conf'),
        sysctl_file=dict(type='path', default='/etc/sysctl.d/90-lvs-dr-director.conf'),
        **lock_spec()
    ))


def build_module():
    return AnsibleModule(supports_check_mode=True, **module_spec())


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
    return result
