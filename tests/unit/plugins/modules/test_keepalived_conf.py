# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.keepalived_conf with a fake keepalived --config-test (what it says is given per test).

keepalived's real parser on the lines it prints: test_keepalived.py (tests/keepalived/check-config.sh); the module
on a director: the ha molecule scenario (every run writes keepalived.conf through it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.modules import keepalived_conf
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args

QUORUM = ('Warning - quorum 1 for [192.0.2.10]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0\n'
          'Virtual server [192.0.2.10]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295\n')
ACCEPT = [r'^Warning - quorum \d+ for \[192\.0\.2\.10\]:tcp:80 exceeds total weight of real servers 0, reducing '
          r'quorum to 0$',
          r'^Virtual server \[192\.0\.2\.10\]:tcp:80: hysteresis \d+ >= quorum 0; setting hysteresis to \d+$']


@pytest.fixture
def keepalived(mocker):
    state = dict(answer=(0, '', ''), calls=[], seen=[])

    def run_command(self, cmd, **kwargs):
        state['calls'].append(list(cmd))
        with open(cmd[-1].split('=', 1)[1]) as handle:  # --use-file=TMP: what keepalived would read
            state['seen'].append(handle.read())
        return state['answer']

    mocker.patch.object(basic.AnsibleModule, 'run_command', run_command)
    mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
    mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
    mocker.patch.object(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/sbin/%s' % name)
    return state


@pytest.fixture
def etc(tmp_path):
    # Not tmp_path itself, which holds the test's host lock.
    path = tmp_path / 'etc'
    path.mkdir()
    return path


def run(etc, content='global_defs {\n}\n', check_mode=False, **args):
    args = dict(args, content=content, path=str(etc / 'keepalived.conf'), _ansible_check_mode=check_mode,
                _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(Exit) as exc:
            keepalived_conf.main()
    return exc.value.result, exc.value.failed


def test_a_new_file_is_checked_by_keepalived_then_installed(keepalived, etc):
    result, failed = run(etc)
    assert not failed and result['changed']
    assert keepalived['calls'][0][:2] == ['/usr/sbin/keepalived', '--config-test']
    assert keepalived['seen'] == ['global_defs {\n}\n']
    path = str(etc / 'keepalived.conf')
    assert open(path).read() == 'global_defs {\n}\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(str(etc)) == ['keepalived.conf']  # no temporary file left


def test_the_same_file_runs_nothing(keepalived, etc):
    run(etc)
    keepalived['calls'] = []
    result, failed = run(etc)
    assert not failed and not result['changed']
    assert keepalived['calls'] == []


def test_a_refused_file_leaves_the_old_one_and_names_what_keepalived_said(keepalived, etc):
    run(etc)
    keepalived['answer'] = (1, '', "Invalid lvs_scheduler 'fastest'\n")
    result, failed = run(etc, content='virtual_server 192.0.2.10 80 {\n lvs_sched fastest\n}\n')
    assert failed
    assert "Invalid lvs_scheduler 'fastest'" in result['msg']
    assert open(str(etc / 'keepalived.conf')).read() == 'global_defs {\n}\n'
    assert os.listdir(str(etc)) == ['keepalived.conf']


def test_the_warnings_of_a_drained_service_are_accepted_and_nothing_else(keepalived, etc):
    keepalived['answer'] = (5, '', QUORUM)
    result, failed = run(etc, accept_warnings=ACCEPT)
    assert not failed, result
    assert result['warnings_accepted'] == QUORUM.splitlines()
    keepalived['answer'] = (5, '', QUORUM + 'Unknown keyword \'lvs_shed\'\n')
    result, failed = run(etc, content='other\n', accept_warnings=ACCEPT)
    assert failed and result['msg'].endswith("Unknown keyword 'lvs_shed'")
    keepalived['answer'] = (5, '', QUORUM)
    result, failed = run(etc, content='other\n')
    assert failed and 'reducing quorum to 0' in result['msg']
    assert open(str(etc / 'keepalived.conf')).read() == 'global_defs {\n}\n'


def test_a_silent_failure_is_a_failure(keepalived, etc):
    keepalived['answer'] = (5, '', '')
    result, failed = run(etc, accept_warnings=ACCEPT)
    assert failed and 'exited 5 without a word' in result['msg']


def test_check_mode_reports_the_diff_and_runs_nothing(keepalived, etc):
    result, failed = run(etc, check_mode=True)
    assert not failed and result['changed']
    assert result['diff']['after'] == 'global_defs {\n}\n' and result['diff']['before'] == ''
    assert keepalived['calls'] == [] and os.listdir(str(etc)) == []


def test_a_bad_expression_fails_naming_it(keepalived, etc):
    result, failed = run(etc, accept_warnings=['ok', '(unclosed'])
    assert failed and result['msg'].startswith('accept_warnings[1]:')
    assert keepalived['calls'] == [] and os.listdir(str(etc)) == []
