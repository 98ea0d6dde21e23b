# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args


@pytest.fixture(autouse=True)
def host_lock(mocker, tmp_path):
    """Every module test takes the lvs.dr host lock in a file of its own, not /run/lvs-dr.lock."""
    path = str(tmp_path / 'lvs-dr.lock')
    mocker.patch('ansible_collections.lvs.dr.plugins.module_utils._lock.LOCK_PATH', path)
    return path


@pytest.fixture(autouse=True)
def proc_ipvs(mocker, tmp_path):
    """A host whose kernel has IPVS (/proc/net/ip_vs exists), as the module tests assume unless they say otherwise."""
    path = tmp_path / 'ip_vs'
    path.write_text('')
    mocker.patch('ansible_collections.lvs.dr.plugins.module_utils._table.PROC_IPVS', str(path))
    return path


@pytest.fixture
def run_module(mocker):
    """Run a module's main() with arguments; return (result, failed, [(cmd, stdin), ...])."""

    def runner(module, args, responses, check_mode=False, diff=False, binary='/usr/sbin/ipvsadm'):
        calls = []
        queue = list(responses)

        def run_command(self, cmd, data=None, **kwargs):
            calls.append((list(cmd), data))
            if not queue:
                raise AssertionError('unexpected command %r' % (cmd,))
            return queue.pop(0)

        mocker.patch.object(basic.AnsibleModule, 'run_command', run_command)
        mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
        mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
        mocker.patch.object(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: binary)
        full = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(full):
            with pytest.raises(Exit) as exc:
                module.main()
        return exc.value.result, exc.value.failed, calls

    return runner
