# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.director_kernel against a fake /sys/module, /proc/sys and modprobe (a temporary directory).

The same on a real kernel and systemd: the director_kernel integration target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.module_utils import _sysctl
from ansible_collections.lvs.dr.plugins.module_utils import _kernel
from ansible_collections.lvs.dr.plugins.modules import director_kernel
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args

SETTINGS = [dict(name='net.ipv4.vs.expire_nodest_conn', value='1', reason='Drop what has no destination.'),
            dict(name='net.ipv4.vs.conn_reuse_mode', value='2')]


class Kernel(object):
    """/sys/module and /proc/sys in a directory; modprobe creates the module's directory (and its settings)."""

    def __init__(self, root):
        self.root = root
        self.sys_module = root / 'sys-module'
        self.proc_sys = root / 'proc-sys'
        self.sys_module.mkdir()
        (self.proc_sys / 'net' / 'ipv4').mkdir(parents=True)
        self.commands = []
        self.refuse = False

    def load(self, name):
        (self.sys_module / name).mkdir(exist_ok=True)
        if name == 'ip_vs':
            (self.proc_sys / 'net' / 'ipv4' / 'vs').mkdir(exist_ok=True)
            for key, value in (('expire_nodest_conn', '0'), ('conn_reuse_mode', '1')):
                (self.proc_sys / 'net' / 'ipv4' / 'vs' / key).write_text(value + '\n')

    def value(self, key):
        return (self.proc_sys / key.replace('.', '/')).read_text().strip()

    def run_command(self, cmd, **kwargs):
        self.commands.append(list(cmd))
        if self.refuse:
            return 1, '', 'modprobe: FATAL: Module %s not found.\n' % cmd[-1]
        for name in cmd[2:]:
            self.load(name)
        return 0, '', ''


@pytest.fixture
def kernel(mocker, tmp_path):
    fake = Kernel(tmp_path)
    mocker.patch.object(_kernel, 'SYS_MODULE', str(fake.sys_module))
    mocker.patch.object(_sysctl, 'PROC_SYS', str(fake.proc_sys))
    mocker.patch.object(basic.AnsibleModule, 'run_command', lambda self, cmd, **kw: fake.run_command(cmd, **kw))
    mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
    mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
    mocker.patch.object(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/sbin/%s' % name)
    return fake


def run(kernel, check_mode=False, diff=False, **args):
    args.setdefault('modules', ['ip_vs', 'ip_vs_wrr'])
    args.setdefault('sysctls', SETTINGS)
    args.setdefault('modules_load_file', str(kernel.root / 'modules-load.conf'))
    args.setdefault('sysctl_file', str(kernel.root / 'sysctl.conf'))
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(Exit) as exc:
            director_kernel.main()
    return exc.value.result, exc.value.failed


def test_first_run_loads_the_missing_modules_in_one_process_sets_and_writes(kernel):
    result, failed = run(kernel)
    assert not failed, result
    assert result['changed']
    assert kernel.commands == [['/usr/sbin/modprobe', '-a', 'ip_vs', 'ip_vs_wrr']]
    assert result['loaded'] == ['ip_vs', 'ip_vs_wrr']
    assert result['set'] == {'net.ipv4.vs.expire_nodest_conn': '1', 'net.ipv4.vs.conn_reuse_mode': '2'}
    assert kernel.value('net.ipv4.vs.expire_nodest_conn') == '1'
    assert kernel.value('net.ipv4.vs.conn_reuse_mode') == '2'
    modules = (kernel.root / 'modules-load.conf').read_text()
    assert modules.startswith('# Ansible managed: written by lvs.dr.director_kernel')
    assert modules.endswith('\nip_vs\nip_vs_wrr\n')
    sysctl = (kernel.root / 'sysctl.conf').read_text()
    assert '\n# Drop what has no destination.\nnet.ipv4.vs.expire_nodest_conn = 1\n' in sysctl
    assert sysctl.endswith('\n\nnet.ipv4.vs.conn_reuse_mode = 2\n')
    assert stat.S_IMODE(os.stat(str(kernel.root / 'sysctl.conf')).st_mode) == 0o644


def test_a_rerun_starts_no_process_and_changes_nothing(kernel):
    run(kernel)
    kernel.commands = []
    result, failed = run(kernel)
    assert not failed and not result['changed'], result
    assert kernel.commands == []
    assert result['loaded'] == [] and result['set'] == {} and result['files'] == []


def test_drift_in_the_running_kernel_is_set_back_without_touching_the_files(kernel):
    run(kernel)
    (kernel.proc_sys / 'net' / 'ipv4' / 'vs' / 'conn_reuse_mode').write_text('1\n')
    result, failed = run(kernel)
    assert result['changed'] and result['set'] == {'net.ipv4.vs.conn_reuse_mode': '2'}
    assert result['files'] == []
    assert kernel.value('net.ipv4.vs.conn_reuse_mode') == '2'


def test_check_mode_reports_settings_of_modules_not_loaded_yet_and_touches_nothing(kernel):
    result, failed = run(kernel, check_mode=True, diff=True)
    assert not failed and result['changed'], result
    assert result['loaded'] == ['ip_vs', 'ip_vs_wrr']
    assert set(result['set']) == {'net.ipv4.vs.expire_nodest_conn', 'net.ipv4.vs.conn_reuse_mode'}
    assert kernel.commands == [] and os.listdir(str(kernel.sys_module)) == []
    assert not (kernel.root / 'sysctl.conf').exists()
    assert result['diff'][0]['before'] == ('net.ipv4.vs.expire_nodest_conn = (not loaded)\n'
                                           'net.ipv4.vs.conn_reuse_mode = (not loaded)\n')
    assert [d['before_header'] for d in result['diff'][1:]] == [str(kernel.root / 'modules-load.conf'),
                                                                str(kernel.root / 'sysctl.conf')]


def test_a_setting_the_kernel_does_not_have_fails_naming_it(kernel):
    result, failed = run(kernel, sysctls=[dict(name='net.ipv4.vs.no_such_setting', value='1')])
    assert failed
    assert 'net.ipv4.vs.no_such_setting' in result['msg'] and 'modules loaded: ip_vs, ip_vs_wrr' in result['msg']
    assert not (kernel.root / 'sysctl.conf').exists()


def test_modprobe_refusing_fails_with_its_message(kernel):
    kernel.refuse = True
    result, failed = run(kernel, modules=['ip_vs_nope'], sysctls=[])
    assert failed
    assert 'Module ip_vs_nope not found' in result['msg'] and result['rc'] == 1
    assert not (kernel.root / 'modules-load.conf').exists()


@pytest.mark.parametrize('args, option', [
    (dict(modules=['ip_vs', 'ip vs']), 'modules[1]'),
    (dict(sysctls=[dict(name='net..ipv4', value='1')]), 'sysctls[0].name'),
    (dict(sysctls=[dict(name='../etc/passwd', value='1')]), 'sysctls[0].name'),
    (dict(sysctls=SETTINGS + [dict(name='net/ipv4/vs/conn_reuse_mode', value='1')]), 'sysctls[2].name'),
    (dict(sysctls=[dict(name='net.ipv4.vs.conntrack', value='  ')]), 'sysctls[0].value'),
    (dict(sysctl_file='sysctl.conf'), 'sysctl_file'),
])
def test_bad_input_fails_naming_the_option_before_anything(kernel, args, option):
    result, failed = run(kernel, **args)
    assert failed
    assert result['msg'].startswith(option + ':'), result['msg']
    assert result['option'] == option
    assert kernel.commands == [] and os.listdir(str(kernel.sys_module)) == []
