# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whole-module tests of lvs.dr.static_arp with run_command mocked: exact command lines, files, check/diff.

The kernel behaviour itself is proven by tests/integration/targets/static_arp against the lab VM.
"""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.module_utils import _iproute
from ansible_collections.lvs.dr.plugins.module_utils._ethers import BEGIN_MARKER, END_MARKER
from ansible_collections.lvs.dr.plugins.module_utils import _static_arp
from ansible_collections.lvs.dr.plugins.modules import static_arp
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args

IP = '/usr/sbin/ip'
SYSTEMCTL = '/usr/bin/systemctl'
ARP = '/usr/sbin/arp'
BINS = {'ip': IP, 'systemctl': SYSTEMCTL, 'arp': ARP}
NEIGH_READ = [IP, '-json', '-4', 'neigh', 'show']
UNIT = 'lvs-dr-static-arp.service'


@pytest.fixture
def host(tmp_path, monkeypatch, mocker):
    """A fake host: interfaces under tmp, a neighbour table, an enabled-units set; records every command."""
    net = tmp_path / 'sys-class-net'
    for name in ('lo', 'eth0', 'eth1'):
        (net / name).mkdir(parents=True)
    monkeypatch.setattr(_iproute, 'SYS_CLASS_NET', str(net))
    unit_dir = tmp_path / 'units'
    unit_dir.mkdir()
    monkeypatch.setattr(_static_arp, 'SYSTEMD_UNIT_DIR', str(unit_dir))

    class Host(object):
        neigh = []
        refuse = None
        enabled = set()
        calls = []
        ethers = tmp_path / 'ethers'
        units = unit_dir
        bins = dict(BINS)

        def run(self, args, check_mode=False, diff=False):
            self.calls = []

            def run_command(module, cmd, **kwargs):
                cmd = list(cmd)
                self.calls.append(cmd)
                if cmd == NEIGH_READ:
                    return 0, json.dumps(self.neigh), ''
                if self.refuse and cmd[0] == IP and self.refuse in cmd:
                    return 2, '', 'Error: Invalid argument'
                if cmd[:2] == [SYSTEMCTL, 'is-enabled']:
                    return (0, 'enabled\n', '') if cmd[2] in self.enabled else (1, 'disabled\n', '')
                if cmd[:2] == [SYSTEMCTL, 'enable']:
                    self.enabled.add(cmd[2])
                if cmd[:2] == [SYSTEMCTL, 'disable']:
                    self.enabled.discard(cmd[2])
                return 0, '', ''

            def get_bin_path(module, name, required=False, opt_dirs=None):
                if name not in self.bins and required:
                    module.fail_json(msg='Failed to find required executable "%s"' % name)
                return self.bins.get(name)

            mocker.patch.object(basic.AnsibleModule, 'run_command', run_command)
            mocker.patch.object(basic.AnsibleModule, 'get_bin_path', get_bin_path)
            mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
            mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
            full = dict(args, ethers_path=str(self.ethers), _ansible_check_mode=check_mode, _ansible_diff=diff)
            with patch_module_args(full):
                with pytest.raises(Exit) as exc:
                    static_arp.main()
            return exc.value.result, exc.value.failed

        def changing_calls(self):
            return [c for c in self.calls if c != NEIGH_READ and c[1] != 'is-enabled']

    return Host()


TWO = {'entries': [
    {'address': '192.0.2.12', 'mac': '0200.5E00.530C', 'interface': 'eth0'},
    {'address': '192.0.2.11', 'mac': '02-00-5e-00-53-0b', 'interface': 'eth0'},
]}
BLOCK = ('%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n02:00:5e:00:53:0c 192.0.2.12 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER))


def live(address, mac, dev='eth0', state='PERMANENT'):
    return {'dst': address, 'dev': dev, 'lladdr': mac, 'state': [state]}


def test_present_applies_live_writes_ethers_and_enables_loader(host):
    host.ethers.write_text('# mine\n08:00:20:00:61:ca pluto\n')
    result, failed = host.run(TWO)
    assert not failed and result['changed']
    assert host.changing_calls() == [
        [IP, '-4', 'neigh', 'replace', '192.0.2.12', 'lladdr', '02:00:5e:00:53:0c', 'dev', 'eth0', 'nud', 'permanent'],
        [IP, '-4', 'neigh', 'replace', '192.0.2.11', 'lladdr', '02:00:5e:00:53:0b', 'dev', 'eth0', 'nud', 'permanent'],
        [SYSTEMCTL, 'daemon-reload'],
        [SYSTEMCTL, 'enable', UNIT],
    ]
    assert host.ethers.read_text() == '# mine\n08:00:20:00:61:ca pluto\n' + BLOCK
    unit = (host.units / UNIT).read_text()
    assert 'ExecStart=%s -f %s\n' % (ARP, host.ethers) in unit
    assert 'After=network-online.target\n' in unit and unit.startswith('# Ansible managed')
    assert (host.units / UNIT).stat().st_mode & 0o777 == 0o644
    assert result['entries'][0] == {'address': '192.0.2.12', 'mac': '02:00:5e:00:53:0c', 'interface': 'eth0'}


def test_present_is_idempotent(host):
    host.ethers.write_text(BLOCK)
    (host.units / UNIT).write_text(_static_arp.loader_unit_content(ARP, str(host.ethers)))
    host.enabled.add(UNIT)
    host.neigh = [live('192.0.2.11', '02:00:5e:00:53:0b'), live('192.0.2.12', '02:00:5e:00:53:0c')]
    result, failed = host.run(TWO)
    assert not failed and not result['changed']
    assert host.changing_calls() == [] and result['commands'] == []


def test_dynamic_or_wrong_mac_entry_is_replaced(host):
    host.neigh = [live('192.0.2.11', '02:00:5e:00:53:0b', state='REACHABLE'), live('192.0.2.12', '02:00:5e:00:53:ff')]
    result, failed = host.run(TWO, check_mode=True)
    assert result['changed'] and [e['address'] for e in result['changed_entries']] == ['192.0.2.12', '192.0.2.11']


def test_check_mode_reports_and_touches_nothing(host):
    result, failed = host.run(TWO, check_mode=True, diff=True)
    assert not failed and result['changed']
    assert host.changing_calls() == []
    assert not host.ethers.exists() and not (host.units / UNIT).exists()
    live_diff, ethers_diff, unit_diff = result['diff']
    assert live_diff['before'] == '' and '192.0.2.11 dev eth0 lladdr 02:00:5e:00:53:0b PERMANENT' in live_diff['after']
    assert ethers_diff['before'] == '' and ethers_diff['after'] == BLOCK
    assert unit_diff['before'] == '' and 'arp -f' in unit_diff['after']
    assert len(result['commands']) == 2


def test_absent_removes_live_line_and_unit_and_file_it_created(host):
    host.ethers.write_text(BLOCK)
    (host.units / UNIT).write_text('old')
    host.enabled.add(UNIT)
    host.neigh = [live('192.0.2.11', '02:00:5e:00:53:0b'), live('192.0.2.12', '02:00:5e:00:53:0c')]
    result, failed = host.run({'entries': [{'address': '192.0.2.11', 'interface': 'eth0'},
                                           {'address': '192.0.2.12', 'interface': 'eth0'}], 'state': 'absent'})
    assert not failed and result['changed']
    assert host.changing_calls() == [
        [IP, '-4', 'neigh', 'del', '192.0.2.11', 'dev', 'eth0'],
        [IP, '-4', 'neigh', 'del', '192.0.2.12', 'dev', 'eth0'],
        [SYSTEMCTL, 'disable', UNIT],
        [SYSTEMCTL, 'daemon-reload'],
    ]
    assert not host.ethers.exists() and not (host.units / UNIT).exists()


def test_absent_one_of_two_keeps_the_other_and_foreign_lines(host):
    host.ethers.write_text('# mine\n' + BLOCK + '# after\n')
    (host.units / UNIT).write_text(_static_arp.loader_unit_content(ARP, str(host.ethers)))
    host.enabled.add(UNIT)
    host.neigh = [live('192.0.2.12', '02:00:5e:00:53:0c'), live('192.0.2.11', '02:00:5e:00:53:0b', dev='eth1')]
    result, failed = host.run({'address': '192.0.2.12', 'interface': 'eth0', 'state': 'absent'})
    assert result['changed']
    assert host.changing_calls() == [[IP, '-4', 'neigh', 'del', '192.0.2.12', 'dev', 'eth0']]
    assert host.ethers.read_text() == ('# mine\n%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n# after\n'
                                       % (BEGIN_MARKER, END_MARKER))


def test_absent_leaves_learned_entries_alone(host):
    host.neigh = [live('192.0.2.12', '02:00:5e:00:53:0c', state='STALE')]
    result, failed = host.run({'address': '192.0.2.12', 'interface': 'eth0', 'state': 'absent'})
    assert not failed and not result['changed'] and host.changing_calls() == []
    assert not host.ethers.exists()


def test_absent_on_foreign_file_without_newline_is_not_a_change(host):
    host.ethers.write_text('08:00:20:00:61:ca pluto')
    result, failed = host.run({'address': '192.0.2.12', 'interface': 'eth0', 'state': 'absent'})
    assert not result['changed'] and host.ethers.read_text() == '08:00:20:00:61:ca pluto'


def test_purge_removes_unlisted_managed_entries_only(host):
    host.ethers.write_text('# mine\n' + BLOCK)
    host.neigh = [live('192.0.2.11', '02:00:5e:00:53:0b'), live('192.0.2.12', '02:00:5e:00:53:0c'),
                  live('192.0.2.50', '02:00:5e:00:53:50')]  # not managed: never purged
    result, failed = host.run({'address': '192.0.2.11', 'mac': '02:00:5e:00:53:0b', 'interface': 'eth0', 'purge': True},
                              diff=True)
    assert not failed and result['changed']
    assert host.changing_calls() == [[IP, '-4', 'neigh', 'del', '192.0.2.12', 'dev', 'eth0'],
                                     [SYSTEMCTL, 'daemon-reload'], [SYSTEMCTL, 'enable', UNIT]]
    assert host.ethers.read_text() == '# mine\n%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER)
    assert '192.0.2.12' in result['diff'][0]['before'] and '192.0.2.12' not in result['diff'][0]['after']


def test_purge_needs_persist(host):
    result, failed = host.run({'address': '192.0.2.11', 'mac': '02:00:5e:00:53:0b', 'interface': 'eth0',
                               'purge': True, 'persist': False})
    assert failed and result['msg'].startswith('purge:') and host.calls == []


def test_persist_false_touches_only_the_kernel(host):
    result, failed = host.run({'address': '198.51.100.7', 'mac': '02:00:5e:00:53:07', 'interface': 'eth1', 'persist': False})
    assert result['changed'] and 'ethers_path' not in result
    assert host.changing_calls() == [
        [IP, '-4', 'neigh', 'replace', '198.51.100.7', 'lladdr', '02:00:5e:00:53:07', 'dev', 'eth1', 'nud', 'permanent']]
    assert not host.ethers.exists()


def test_existing_ethers_mode_is_kept(host):
    host.ethers.write_text('')
    host.ethers.chmod(0o640)
    host.run(TWO)
    assert host.ethers.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize('args, message', [
    ({'address': '192.0.2.300', 'mac': '02:00:5e:00:53:07', 'interface': 'eth0'}, 'address:'),
    ({'address': '2001:db8::1', 'mac': '02:00:5e:00:53:07', 'interface': 'eth0'}, 'address:'),
    ({'address': '192.0.2.7', 'mac': '02:00:5e:00:53', 'interface': 'eth0'}, 'mac:'),
    ({'address': '192.0.2.7', 'interface': 'eth0'}, 'mac: required'),
    ({'address': '192.0.2.7', 'mac': '01:00:5e:00:00:01', 'interface': 'eth0'}, 'mac: \'01:00:5e:00:00:01\' is a multicast'),
    ({'address': '192.0.2.7', 'mac': 'ff:ff:ff:ff:ff:ff', 'interface': 'eth0'}, 'is a broadcast MAC address'),
    ({'address': '192.0.2.7', 'mac': '00:00:00:00:00:00', 'interface': 'eth0'}, 'is the all-zero MAC address'),
    ({'address': '192.0.2.7', 'mac': '02:00:5e:00:53:07', 'interface': 'eth9'}, 'interface: no such interface'),
    ({'entries': [{'address': '192.0.2.7', 'mac': '02:00:5e:00:53:07', 'interface': 'eth0'},
                  {'address': '192.0.2.8', 'mac': 'zz', 'interface': 'eth0'}]}, 'entries[1].mac:'),
    ({'entries': [{'address': '192.0.2.7', 'mac': '02:00:5e:00:53:07', 'interface': 'eth0'},
                  {'address': '192.0.2.7', 'mac': '02:00:5e:00:53:08', 'interface': 'eth0'}]}, 'listed twice'),
    ({'entries': []}, 'entries:'),
    ({'address': '192.0.2.7', 'mac': '02:00:5e:00:53:07', 'interface': 'eth0', 'loader_unit': 'x.timer'}, 'loader_unit:'),
])
def test_bad_input_fails_before_any_command(host, args, message):
    host.ethers.write_text('keep\n')
    result, failed = host.run(args)
    assert failed and message in result['msg']
    assert host.calls == []
    assert host.ethers.read_text() == 'keep\n'


def test_missing_arp_fails_before_any_change(host):
    del host.bins['arp']
    result, failed = host.run(TWO)
    assert failed and result['msg'].startswith('persist:')
    assert host.changing_calls() == [] and not host.ethers.exists()


def test_corrupt_block_names_ethers_path(host):
    host.ethers.write_text(BEGIN_MARKER + '\n')
    result, failed = host.run(TWO)
    assert failed and result['msg'].startswith('ethers_path:')
    assert host.changing_calls() == []


def test_failing_ip_command_reports_evidence(host):
    host.refuse = 'neigh'
    host.ethers.write_text('keep\n')
    result, failed = host.run(TWO)
    assert failed and result['rc'] == 2 and result['stderr'] == 'Error: Invalid argument'
    assert result['cmd'][:4] == [IP, '-4', 'neigh', 'replace']
    assert host.ethers.read_text() == 'keep\n'  # live first: the file never claims what the kernel refused
