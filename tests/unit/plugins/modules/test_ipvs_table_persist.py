# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.ipvs_table's ``persist``: the rules file, the restore helper and the unit, written and started by the module.

systemctl and ipvsadm are faked here (the files go to a temporary directory); the same behaviour on a real kernel
and systemd is the ipvs_table integration target's persist.yml, and the director role's molecule scenario reboots.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.module_utils import _restore, _table_persist
from ansible_collections.lvs.dr.plugins.modules import ipvs_table
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args

RULES = ('-A -t 192.0.2.10:8080 -s rr\n'
         '-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1\n')
THRESHOLDS = ('TCP  192.0.2.10:8080 rr\n'
              '  -> 198.51.100.11:8080          0          0          0          0\n')
HEAD = ('IP Virtual Server version 1.2.1 (size=4096)\n'
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn\n'
        '  -> RemoteAddress:Port\n')
WEB = dict(virtual_address='192.0.2.10', virtual_port=8080, scheduler='rr', realservers=[dict(address='198.51.100.11')])


class Host(object):
    """A fake host: the IPVS table as ipvsadm lists it, and systemd's view of units (enabled, active)."""

    def __init__(self, tmp_path, table=RULES, thresholds=THRESHOLDS):
        self.root = tmp_path
        self.table, self.thresholds = table, thresholds
        self.enabled, self.active = set(), set()
        self.systemctl = []

    def run_command(self, module, cmd, data=None, **kwargs):
        if cmd[0].endswith('ipvsadm'):
            assert data == '-S -n\n-L -n --thresholds\n', 'the table is only read here'
            return 0, self.table + HEAD + self.thresholds, ''
        assert cmd[0].endswith('systemctl'), cmd
        args = list(cmd[1:])
        self.systemctl.append(args)
        verb, unit = args[0], args[1] if len(args) > 1 else None
        if verb == 'is-enabled':
            return (0, 'enabled\n', '') if unit in self.enabled else (1, 'disabled\n', '')
        if verb == 'is-active':
            return (0, 'active\n', '') if unit in self.active else (3, 'inactive\n', '')
        if verb == 'enable':
            self.enabled.add(unit)
        elif verb in ('start', 'restart'):
            self.active.add(unit)
        return 0, '', ''

    def path(self, name):
        return str(self.root / name)


@pytest.fixture
def host(mocker, tmp_path):
    fake = Host(tmp_path)
    units = tmp_path / 'units'
    units.mkdir()
    mocker.patch.object(_table_persist, 'SYSTEMD_UNIT_DIR', str(units))
    mocker.patch.object(basic.AnsibleModule, 'run_command', lambda self, cmd, data=None, **kw: fake.run_command(
        self, cmd, data, **kw))
    mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
    mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
    mocker.patch.object(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/bin/%s' % name)
    return fake


def run(host, check_mode=False, diff=False, **persist):
    persist.setdefault('rules_file', host.path('ipvsadm.rules'))
    persist.setdefault('helper', host.path('lvs-dr-ipvsadm-restore'))
    args = dict(services=[WEB], persist=persist, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(Exit) as exc:
            ipvs_table.main()
    return exc.value.result, exc.value.failed


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_run_writes_the_three_files_enables_and_starts_the_unit(host):
    result, failed = run(host)
    assert not failed, result
    assert result['changed'] and result['commands'] == []
    assert result['persist']['changed'] == ['helper', 'rules_file', 'unit', 'started']
    rules = open(host.path('ipvsadm.rules')).read()
    assert rules.startswith('# Ansible managed: written by lvs.dr.ipvs_table')
    assert rules.endswith('\n' + RULES)
    assert mode(host.path('ipvsadm.rules')) == 0o644
    helper = open(host.path('lvs-dr-ipvsadm-restore')).read()
    assert helper.startswith('#!/usr/bin/python3\n# Ansible managed')
    assert mode(host.path('lvs-dr-ipvsadm-restore')) == 0o755
    unit = open(host.path('units/ipvsadm.service')).read()
    assert 'ExecStart=%s %s\n' % (host.path('lvs-dr-ipvsadm-restore'), host.path('ipvsadm.rules')) in unit
    assert 'ConditionPathExists=%s\n' % host.path('ipvsadm.rules') in unit
    assert 'Type=oneshot' in unit and 'RemainAfterExit=yes' in unit and 'ExecStop' not in unit
    assert host.systemctl == [['daemon-reload'], ['enable', 'ipvsadm.service'], ['is-active', 'ipvsadm.service'],
                              ['start', 'ipvsadm.service']]


def test_a_rerun_changes_nothing_and_asks_systemd_twice(host):
    run(host)
    host.systemctl = []
    result, failed = run(host)
    assert not failed and not result['changed'], result
    assert result['persist']['changed'] == []
    assert host.systemctl == [['is-enabled', 'ipvsadm.service'], ['is-active', 'ipvsadm.service']]


def test_check_mode_reports_what_would_change_and_writes_nothing(host):
    result, failed = run(host, check_mode=True, diff=True)
    assert not failed and result['changed']
    assert result['persist']['changed'] == ['helper', 'rules_file', 'unit', 'started']
    assert os.listdir(str(host.root / 'units')) == []
    assert not os.path.exists(host.path('ipvsadm.rules'))
    assert [d.get('before_header') for d in result['diff']] == [
        None, host.path('lvs-dr-ipvsadm-restore'), host.path('ipvsadm.rules'),
        os.path.join(str(host.root / 'units'), 'ipvsadm.service')]
    assert all(args[0] in ('is-active',) for args in host.systemctl), host.systemctl


def test_new_rules_are_saved_without_restarting_the_unit(host):
    run(host)
    host.table = RULES + '-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1\n'
    host.thresholds = THRESHOLDS + '  -> 198.51.100.12:8080          0          0          0          0\n'
    host.systemctl = []
    with_two = dict(WEB, realservers=WEB['realservers'] + [dict(address='198.51.100.12')])
    args = dict(services=[with_two], persist=dict(rules_file=host.path('ipvsadm.rules'),
                                                  helper=host.path('lvs-dr-ipvsadm-restore')))
    with patch_module_args(args):
        with pytest.raises(Exit) as exc:
            ipvs_table.main()
    result = exc.value.result
    assert result['persist']['changed'] == ['rules_file']
    assert '198.51.100.12:8080' in open(host.path('ipvsadm.rules')).read()
    assert host.systemctl == [['is-enabled', 'ipvsadm.service'], ['is-active', 'ipvsadm.service']]


def test_a_changed_unit_is_restarted(host):
    run(host)
    host.systemctl = []
    result, failed = run(host, rules_file=host.path('other.rules'))
    assert not failed
    assert result['persist']['changed'] == ['rules_file', 'unit', 'restarted']
    assert ['restart', 'ipvsadm.service'] in host.systemctl
    assert 'ExecStart=%s %s\n' % (host.path('lvs-dr-ipvsadm-restore'), host.path('other.rules')) in open(
        host.path('units/ipvsadm.service')).read()


def test_a_file_with_another_mode_is_set_back(host):
    run(host)
    os.chmod(host.path('ipvsadm.rules'), 0o600)
    result, failed = run(host)
    assert result['persist']['changed'] == ['rules_file']
    assert mode(host.path('ipvsadm.rules')) == 0o644


@pytest.mark.parametrize('persist, option', [
    (dict(unit='ipvsadm'), 'persist.unit'),
    (dict(unit='../x.service'), 'persist.unit'),
    (dict(rules_file='relative/rules'), 'persist.rules_file'),
    (dict(helper='/usr/local/sbin/'), 'persist.helper'),
])
def test_bad_persist_options_fail_before_anything_is_read(host, persist, option):
    if 'rules_file' in persist:
        args = dict(services=[WEB], persist=persist)
    else:
        args = dict(services=[WEB], persist=dict(persist, rules_file=host.path('r'), helper=persist.get(
            'helper', host.path('h'))))
    with patch_module_args(args):
        with pytest.raises(Exit) as exc:
            ipvs_table.main()
    assert exc.value.failed
    assert exc.value.result['msg'].startswith(option), exc.value.result['msg']
    assert host.systemctl == []
    assert not os.path.exists(host.path('r'))


def test_the_installed_helper_is_the_restore_module_and_runs_alone(host, tmp_path):
    run(host)
    helper = host.path('lvs-dr-ipvsadm-restore')
    source = open(helper).read()
    assert source.endswith(open(_restore.__file__).read())
    # A script of the standard library only: it runs with -I (no site, no collection on the path).
    proc = subprocess.run([sys.executable, '-I', helper], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert 'usage: lvs-dr-ipvsadm-restore RULES_FILE' in proc.stderr
