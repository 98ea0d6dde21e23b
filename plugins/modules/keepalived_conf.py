#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: keepalived_conf
short_description: Install a keepalived configuration once keepalived's own parser has accepted it
version_added: 0.2.0
description:
  - Writes O(content) to O(path) (mode C(0640)) when it differs, after C(keepalived --config-test) has read it from a
    temporary file beside O(path). A configuration keepalived refuses never replaces the file in place.
  - Unlike the C(validate) option of M(ansible.builtin.template), it can tell the lines keepalived prints of a
    configuration that is right from those of one that is wrong (O(accept_warnings)). keepalived 2.2 reports a
    C(virtual_server) whose real servers all have weight 0 - every one drained - as a configuration error and exits
    non-zero, although at run time it only logs it; the P(lvs.dr.keepalived_config#filter) filter returns the
    expressions of these lines for the file it renders.
  - Does not reload keepalived; notify a handler on a change.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - keepalived 2.0 or later on the managed host (C(--config-test)).
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change, with the diff; neither writes nor runs keepalived.
  diff_mode:
    support: full
    description: The file before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with keepalived.
options:
  content:
    description: The whole configuration.
    type: str
    required: true
  path:
    description: The configuration file.
    type: path
    default: /etc/keepalived/keepalived.conf
  accept_warnings:
    description:
      - Regular expressions (Python C(re), searched in each line) of the lines of C(keepalived --config-test) that do
        not make the configuration wrong. The configuration is accepted when keepalived exits 0, or when every line it
        printed matches one of them.
    type: list
    elements: str
    default: []
seealso:
  - plugin: lvs.dr.keepalived_config
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Install the director's keepalived.conf, checked by keepalived first
  lvs.dr.keepalived_conf:
    content: "{{ setup.config }}"
    accept_warnings: "{{ setup.warnings }}"
  vars:
    setup: "{{ plan | lvs.dr.keepalived_config(ha=director_ha, hostname=inventory_hostname) }}"
  notify: Reload keepalived
"""

RETURN = r"""
warnings_accepted:
  description: The lines keepalived printed that O(accept_warnings) accepted (empty in check mode).
  returned: always
  type: list
  elements: str
  sample: ["Warning - quorum 1 for [192.0.2.10]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0"]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock, lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._persist import read_text, write_text
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

MODE = 0o640


def build_module():
    module = AnsibleModule(
        argument_spec=dict(
            content=dict(type='str', required=True),
            path=dict(type='path', default='/etc/keepalived/keepalived.conf'),
            accept_warnings=dict(type='list', elements='str', default=[]),
            **lock_spec()
        ),
        supports_check_mode=True,
    )
    return module


def compile_patterns(patterns):
    """The accept_warnings expressions, compiled; a ValueError names the one that is not an expression."""
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError('accept_warnings[%d]: %r is not a regular expression: %s' % (index, pattern, exc))
    return compiled


def judge(rc, output, patterns):
    """(accepted, lines accepted, lines refused) for keepalived --config-test's exit status and output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    refused = [line for line in lines if not any(p.search(line) for p in patterns)]
    if rc == 0:
        return True, [line for line in lines if line not in refused], []
    if not lines:
        return False, [], ['keepalived --config-test exited %d without a word' % rc]
    return not refused, [line for line in lines if line not in refused], refused


def run(module):
    params = module.params
    try:
        patterns = compile_patterns(params['accept_warnings'])
    except ValueError as exc:
        module.fail_json(msg=str(exc), option='accept_warnings')
    path, content = params['path'], params['content']
    if not os.path.isabs(path) or path.endswith('/'):
        module.fail_json(msg='path: %r is not the absolute path of a file' % path, option='path')
    before = read_text(path)
    same_mode = before is not None and os.stat(path).st_mode & 0o7777 == MODE
    result = dict(changed=before != content or not same_mode, warnings_accepted=[], path=path)
    if module._diff:
        result['diff'] = dict(before_header=path, after_header=path, before=before or '', after=content)
    if not result['changed'] or module.check_mode:
        module.exit_json(**result)
    hint = 'keepalived is not installed on this host: its own parser checks %s before it is installed' % path
    keepalived = Command(module, 'keepalived', hint=hint)

    def config_test(tmp):
        args = ['--config-test', '--use-file=%s' % tmp]
        cmd = keepalived.argv(*args)
        rc, out, err = keepalived.run(args, 'keepalived --config-test', check_rc=False)
        accepted, lines, refused = judge(rc, err + out, patterns)
        if not accepted:
            module.fail_json(msg='keepalived refuses the configuration; %s was left as it was: %s'
                                 % (path, '; '.join(refused)), cmd=cmd, rc=rc, stdout=out, stderr=err)
        result['warnings_accepted'] = lines

    write_text(module, path, content, MODE, check=config_test)
    module.exit_json(**result)


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.keepalived_conf'):
        run(module)


if __name__ == '__main__':
    main()
