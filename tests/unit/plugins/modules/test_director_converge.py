# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.director_converge: every part's options checked before any part runs, the parts in order in one process,
a failing part named, and check mode before the packages are installed. run_command is mocked here; the
integration target director_converge runs it on the lab's kernel."""

from __future__ import annotations

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.module_utils import _kernel, _sysctl
from ansible_collections.lvs.dr.plugins.modules import director_converge
from ansible_collections.lvs.dr.tests.unit.plugins.modules.test_ipvs_modules import (
    IPVSADM, READ, WEB, WEB_RULES, WEB_THRESHOLDS, listing,
)
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args


@pytest.fixture
def host(mocker, tmp_path):
    """IPVS loaded (/sys/module/ip_vs, /proc/sys/net/ipv4/vs), ipvsadm answering from a queue, programs by name."""
    sys_module = tmp_path / 'sys-module'
    (sys_module / 'ip_vs').mkdir(parents=True)
    vs = tmp_path / 'proc-sys' / 'net' / 'ipv4' / 'vs'
    vs.mkdir(parents=True)
    (vs / 'expire_nodest_conn').write_text('0\n')
    mocker.patch.object(_kernel, 'SYS_MODULE', str(sys_module))
    mocker.patch.object(_sysctl, 'PROC_SYS', str(tmp_path / 'proc-sys'))

    class Host(object):
        root = tmp_path
        programs = {'ipvsadm', 'modprobe', 'ip', 'systemctl'}
        responses = []
        calls = []

        def run(self, args, check_mode=False, diff=False):
            self.calls = []
            queue = list(self.responses)

            def run_command(module, cmd, data=None, **kwargs):
                self.calls.append((list(cmd), data))
                if not queue:
                    raise AssertionError('unexpected command %r' % (cmd,))
                return queue.pop(0)

            def get_bin_path(module, name, required=False, opt_dirs=None):
                return '/usr/sbin/%s' % name if name in self.programs else None

            mocker.patch.object(basic.AnsibleModule, 'run_command', run_command)
            mocker.patch.object(basic.AnsibleModule, 'get_bin_path', get_bin_path)
            mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
            mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
            with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
                with pytest.raises(Exit) as exc:
                    director_converge.main()
            return exc.value.result, exc.value.failed

    return Host()


def kernel(tmp_path, value='1'):
    return dict(modules=['ip_vs'], sysctls=[dict(name='net.ipv4.vs.expire_nodest_conn', value=value)],
                modules_load_file=str(tmp_path / 'modules.conf'), sysctl_file=str(tmp_path / 'sysctl.conf'))


def test_the_parts_run_in_order_in_one_process_and_a_second_pass_changes_nothing(host):
    host.responses = [(0, listing(), ''), (0, listing(WEB_RULES, WEB_THRESHOLDS), '')]
    result, failed = host.run(dict(kernel=kernel(host.root), table=dict(services=[WEB])), diff=True)
    assert not failed, result
    assert result['changed'] and result['missing_programs'] == []
    assert result['parts']['kernel']['set'] == {'net.ipv4.vs.expire_nodest_conn': '1'}
    assert (host.root / 'proc-sys' / 'net' / 'ipv4' / 'vs' / 'expire_nodest_conn').read_text().strip() == '1'
    assert result['parts']['table']['commands'][0] == '-A -t 192.0.2.10:8080 -s rr'
    assert [call[0] for call in host.calls] == [[IPVSADM, '-R'], [IPVSADM, '-R']] and host.calls[0][1] == READ
    # The diffs of both parts, the kernel's first.
    assert result['diff'][0]['before_header'] == 'running kernel' and 'diff' not in result['parts']['table']
    assert any(d.get('after', '').startswith('-A -t 192.0.2.10:8080 -s rr\n') for d in result['diff'])

    host.responses = [(0, listing(WEB_RULES, WEB_THRESHOLDS), '')]
    result, failed = host.run(dict(kernel=kernel(host.root), table=dict(services=[WEB])))
    assert not failed and not result['changed'], result
    assert len(host.calls) == 1  # one ipvsadm process to read the table; the kernel part starts none


def test_bad_options_in_a_later_part_fail_before_the_first_part_runs(host):
    for table, words in ((dict(services=[WEB], purge='maybe'), 'purge'),
                         (dict(services=[WEB], no_such_option=1), 'no_such_option'),
                         (dict(services=[WEB], lock_timeout=3), 'lock_timeout')):
        result, failed = host.run(dict(kernel=kernel(host.root, value='7'), table=table))
        assert failed and result['msg'].startswith('table') and words in result['msg'], result
        assert result['option'] == 'table'
        assert host.calls == []
        assert (host.root / 'proc-sys' / 'net' / 'ipv4' / 'vs' / 'expire_nodest_conn').read_text().strip() == '0'
        assert not (host.root / 'sysctl.conf').exists()


def test_a_failing_part_is_named_and_stops_the_pass_after_what_ran(host):
    # The table refuses to empty a pool beyond the limit: the kernel part before it ran, the VIPs part did not.
    host.responses = [(0, listing(WEB_RULES, WEB_THRESHOLDS), '')]
    result, failed = host.run(dict(kernel=kernel(host.root), table=dict(services=[], purge=True, max_removed_services=0),
                                   vips=dict(interface='lo', vips=['192.0.2.10'])))
    assert failed
    assert result['part'] == 'table' and result['msg'].startswith('table: refusing to change the IPVS table')
    assert result['parts']['kernel']['changed'] and 'vips' not in result['parts'] and result['changed']
    assert result['violations']


def test_check_mode_before_the_packages_names_the_missing_programs_and_plans_the_rest(host):
    host.programs = {'modprobe', 'systemctl'}
    result, failed = host.run(dict(kernel=kernel(host.root), table=dict(services=[WEB]), programs=['keepalived']),
                              check_mode=True)
    assert not failed, result
    assert result['missing_programs'] == ['keepalived', 'ipvsadm']
    assert result['parts']['kernel']['set'] == {'net.ipv4.vs.expire_nodest_conn': '1'}
    assert result['parts']['table']['skipped'] and result['parts']['table']['ipvs_unavailable']
    assert host.calls == []
    # Outside check mode the missing program fails the part, naming it.
    result, failed = host.run(dict(table=dict(services=[WEB])))
    assert failed and result['part'] == 'table' and result['missing_program'] == 'ipvsadm'
    assert result['msg'].startswith('table: ipvsadm is not installed')


def test_at_least_one_part(host):
    result, failed = host.run(dict(programs=['ipvsadm']))
    assert failed and 'kernel, static_arp, table, vips, standby_vips' in result['msg']


def test_the_standby_vips_are_checked_as_lvs_dr_realserver_checks_them(host):
    result, failed = host.run(dict(kernel=kernel(host.root, value='7'),
                                   standby_vips=dict(name='director-standby', vips=['192.0.2.10'], rp_filter='strict')))
    assert failed and result['option'] == 'standby_vips' and 'rp_filter' in result['msg'], result
    assert 'lvs.dr.lvs_dr_realserver' in result['msg'] and host.calls == []
    result, failed = host.run(dict(standby_vips=dict(name='director-standby', state='present')))
    assert failed and result['msg'].startswith('standby_vips: ') and 'vips' in result['msg'], result
