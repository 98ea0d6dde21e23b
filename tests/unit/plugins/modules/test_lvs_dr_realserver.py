# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.lvs_dr_realserver: the planning logic, rendering, and whole-module runs with run_command mocked.

The kernel behaviour itself is proven by tests/integration/targets/lvs_dr_realserver against the lab VM.
"""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.dr.plugins.module_utils import _iproute, _sysctl, _vips
from ansible_collections.lvs.dr.plugins.modules import director_vips
from ansible_collections.lvs.dr.plugins.modules import lvs_dr_realserver as rs
from ansible_collections.lvs.dr.tests.unit.plugins.modules.utils import Exit, exit_json, fail_json, patch_module_args

IP = '/usr/sbin/ip'
SYSTEMCTL = '/usr/bin/systemctl'
ADDR_READ = [IP, '-json', 'addr', 'show']

ARP = {
    'net/ipv4/conf/all/arp_ignore': '1', 'net/ipv4/conf/all/arp_announce': '2',
    'net/ipv4/conf/lo/arp_ignore': '1', 'net/ipv4/conf/lo/arp_announce': '2',
}


# ------------------------------------------------------------------------ pure functions

@pytest.mark.parametrize('values, expected', [
    (['192.0.2.10'], ['192.0.2.10/32']),
    (['192.0.2.10/32', '2001:DB8::10', '192.0.2.10'], ['192.0.2.10/32', '2001:db8::10/128']),
    (['2001:db8::10/128'], ['2001:db8::10/128']),
])
def test_normalize_vips(values, expected):
    assert _vips.normalize_vips(values) == expected


@pytest.mark.parametrize('values, message', [
    (['192.0.2.10', 'nope'], 'vips[1]:'),
    (['192.0.2.0/24'], 'host address (/32)'),
    (['2001:db8::/64'], 'host address (/128)'),
    (['224.0.0.1'], 'cannot be a VIP'),
    (['127.0.0.2'], 'cannot be a VIP'),
    (['fe80::1'], 'cannot be a VIP'),
])
def test_normalize_vips_rejects(values, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[').replace(']', r'\]')):
        _vips.normalize_vips(values)


def params(**kwargs):
    base = dict(name='web', vips=['192.0.2.10'], interface='lo', label=None, arp_interfaces=[], rp_filter='loose', state='present')
    base.update(kwargs)
    return base


@pytest.mark.parametrize('kwargs, label', [
    ({}, 'lo:lvs'),
    ({'label': 'lo:0'}, 'lo:0'),
    ({'interface': 'dummy0'}, 'dummy0:lvs'),
])
def test_validate_label(kwargs, label):
    assert _vips.validate(params(**kwargs))[1] == label


@pytest.mark.parametrize('kwargs, option', [
    ({'name': 'a b'}, 'name:'),
    ({'name': 'x' * 33}, 'name:'),
    ({'name': '../etc'}, 'name:'),
    ({'interface': 'all'}, 'interface:'),
    ({'interface': 'eth/0'}, 'interface:'),
    ({'arp_interfaces': ['eth0', 'default']}, 'arp_interfaces[1]:'),
    ({'label': 'eth0:0'}, 'label:'),
    ({'label': 'lo:'}, 'label:'),
    ({'label': 'lo:0123456789abc'}, 'label:'),
    ({'vips': ['192.0.2.10', '192.0.2.300']}, 'vips[1]:'),
])
def test_validate_rejects(kwargs, option):
    with pytest.raises(ValueError) as exc:
        _vips.validate(params(**kwargs))
    assert str(exc.value).startswith(option)


def test_desired_sysctls_loose_default():
    assert _vips.desired_sysctls('lo', [], 'loose') == dict(ARP, **{'net/ipv4/conf/all/rp_filter': '2'})


def test_desired_sysctls_off_and_named_interfaces():
    values = _vips.desired_sysctls('lo', ['eth0', 'eth0.100', 'lo'], 'off')
    assert list(values) == [
        'net/ipv4/conf/all/arp_ignore', 'net/ipv4/conf/all/arp_announce',
        'net/ipv4/conf/lo/arp_ignore', 'net/ipv4/conf/lo/arp_announce',
        'net/ipv4/conf/eth0/arp_ignore', 'net/ipv4/conf/eth0/arp_announce',
        'net/ipv4/conf/eth0.100/arp_ignore', 'net/ipv4/conf/eth0.100/arp_announce',
        'net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/eth0/rp_filter',
        'net/ipv4/conf/eth0.100/rp_filter', 'net/ipv4/conf/lo/rp_filter',
    ]
    assert set(v for k, v in values.items() if k.endswith('rp_filter')) == {'0'}


def test_desired_sysctls_unchanged():
    assert _vips.desired_sysctls('lo', [], 'unchanged') == ARP


def test_sysctl_conf_content_is_parsable_and_headed():
    text = _vips.sysctl_conf_content('web', _vips.desired_sysctls('lo', ['eth0.100'], 'loose'))
    assert text.startswith('# Ansible managed')
    assert _sysctl.parse_conf(text) == _vips.desired_sysctls('lo', ['eth0.100'], 'loose')
    assert 'net/ipv4/conf/eth0.100/arp_ignore = 1\n' in text


def test_unit_content_exec_lines():
    text = _vips.unit_content('web', [[IP, '-4', 'addr', 'replace', '192.0.2.10/32', 'dev', 'lo', 'label', 'lo:lvs']],
                              '/usr/lib/systemd/systemd-sysctl', '/etc/sysctl.d/90-lvs-dr-web.conf')
    exec_lines = [line for line in text.splitlines() if line.startswith('ExecStart=')]
    assert exec_lines == ['ExecStart=/usr/lib/systemd/systemd-sysctl /etc/sysctl.d/90-lvs-dr-web.conf',
                          'ExecStart=/usr/sbin/ip -4 addr replace 192.0.2.10/32 dev lo label lo:lvs']
    assert 'Before=network.target network-online.target' in text and 'rc.local' not in text


# ------------------------------------------------------------------------ plan()

ZERO = dict((k, '0') for k in dict(ARP, **{'net/ipv4/conf/all/rp_filter': '0'}))


def instance(vips=('192.0.2.10/32',), rp='loose', arp=()):
    return {'interface': 'lo', 'label': 'lo:lvs', 'vips': list(vips), 'sysctl': _vips.desired_sysctls('lo', list(arp), rp)}


def apply(live_sysctl, live_addresses, actions):
    for action in actions:
        if action[0] == 'sysctl':
            live_sysctl[action[1]] = action[2]
        elif action[0] == 'addr_add':
            live_addresses.add(_vips.address_key(action[1], action[2]))
        else:
            live_addresses.discard(_vips.address_key(action[1], action[2]))


def test_plan_present_orders_arp_sysctls_before_the_vip():
    added, final, actions = _vips.plan(_vips.empty_state(), 'web', instance(), dict(ZERO), set())
    assert actions[-1] == ('addr_add', 'lo', '192.0.2.10/32', 'lo:lvs')
    assert [a[1] for a in actions[:-1]] == list(instance()['sysctl'])
    assert final['sysctl']['net/ipv4/conf/all/arp_ignore'] == {'original': '0', 'owners': ['web']}
    assert final['addresses']['lo 192.0.2.10/32'] == {'preexisting': False, 'owners': ['web']}
    assert added == final


def test_plan_present_then_absent_restores_exactly():
    live = dict(ZERO, **{'net/ipv4/conf/lo/arp_announce': '1'})
    before = dict(live)
    addresses = {'lo 127.0.0.1/8'}
    dummy, state, actions = _vips.plan(_vips.empty_state(), 'web', instance(), live, addresses)
    apply(live, addresses, actions)
    # idempotent
    dummy, state2, actions = _vips.plan(state, 'web', instance(), live, addresses)
    assert actions == [] and state2 == state
    # absent: VIP removed first, then sysctls restored to their previous (not default) values
    added, final, actions = _vips.plan(state, 'web', None, live, addresses)
    assert actions[0] == ('addr_del', 'lo', '192.0.2.10/32')
    apply(live, addresses, actions)
    assert live == before and addresses == {'lo 127.0.0.1/8'}
    assert final == _vips.empty_state()


def test_plan_preexisting_vip_is_kept_on_absent():
    live = dict(ZERO)
    addresses = {'lo 192.0.2.10/32'}
    dummy, state, actions = _vips.plan(_vips.empty_state(), 'web', instance(), live, addresses)
    assert not [a for a in actions if a[0] != 'sysctl']
    apply(live, addresses, actions)
    dummy, final, actions = _vips.plan(state, 'web', None, live, addresses)
    assert not [a for a in actions if a[0] != 'sysctl']
    apply(live, addresses, actions)
    assert addresses == {'lo 192.0.2.10/32'}


def test_plan_dropped_vip_is_removed_and_new_one_added():
    live, addresses = dict(ZERO), set()
    dummy, state, actions = _vips.plan(_vips.empty_state(), 'web', instance(['192.0.2.10/32', '192.0.2.11/32']), live, addresses)
    apply(live, addresses, actions)
    dummy, state, actions = _vips.plan(state, 'web', instance(['192.0.2.11/32', '2001:db8::10/128']), live, addresses)
    assert [a for a in actions if a[0] != 'sysctl'] == [('addr_del', 'lo', '192.0.2.10/32'),
                                                        ('addr_add', 'lo', '2001:db8::10/128', 'lo:lvs')]
    assert sorted(state['addresses']) == ['lo 192.0.2.11/32', 'lo 2001:db8::10/128']


def test_plan_two_instances_share_sysctls_and_vips():
    live, addresses = dict(ZERO), set()
    dummy, state, actions = _vips.plan(_vips.empty_state(), 'a', instance(), live, addresses)
    apply(live, addresses, actions)
    dummy, state, actions = _vips.plan(state, 'b', instance(['192.0.2.10/32', '192.0.2.20/32']), live, addresses)
    apply(live, addresses, actions)
    assert actions == [('addr_add', 'lo', '192.0.2.20/32', 'lo:lvs')]
    assert state['sysctl']['net/ipv4/conf/all/arp_ignore'] == {'original': '0', 'owners': ['a', 'b']}
    # a goes: nothing it shares with b changes
    dummy, state, actions = _vips.plan(state, 'a', None, live, addresses)
    assert actions == []
    # b goes: everything returns to the values before a
    dummy, state, actions = _vips.plan(state, 'b', None, live, addresses)
    apply(live, addresses, actions)
    assert live == ZERO and addresses == set() and state == _vips.empty_state()


def test_plan_shared_key_with_different_values_goes_to_remaining_owner():
    live, addresses = dict(ZERO), set()
    dummy, state, actions = _vips.plan(_vips.empty_state(), 'a', instance(rp='off'), live, addresses)
    apply(live, addresses, actions)
    dummy, state, actions = _vips.plan(state, 'b', instance(rp='loose'), live, addresses)
    apply(live, addresses, actions)
    assert live['net/ipv4/conf/all/rp_filter'] == '2'
    dummy, state, actions = _vips.plan(state, 'b', None, live, addresses)
    assert ('sysctl', 'net/ipv4/conf/all/rp_filter', '0') in actions


def test_plan_absent_without_record_does_nothing():
    added, final, actions = _vips.plan(_vips.empty_state(), 'web', None, {}, {'lo 192.0.2.10/32'})
    assert actions == [] and final == _vips.empty_state()


# ------------------------------------------------------------------------ whole module

@pytest.fixture
def host(tmp_path, monkeypatch, mocker):
    net = tmp_path / 'net'
    for name in ('lo', 'eth0'):
        (net / name).mkdir(parents=True)
    proc = tmp_path / 'proc'
    for iface in ('all', 'lo', 'eth0'):
        conf = proc / 'net' / 'ipv4' / 'conf' / iface
        conf.mkdir(parents=True)
        for name in ('arp_ignore', 'arp_announce', 'rp_filter'):
            (conf / name).write_text('0\n')
    for d in ('units', 'sysctl.d'):
        (tmp_path / d).mkdir()
    monkeypatch.setattr(_iproute, 'SYS_CLASS_NET', str(net))
    monkeypatch.setattr(_sysctl, 'PROC_SYS', str(proc))
    monkeypatch.setattr(_vips, 'SYSTEMD_UNIT_DIR', str(tmp_path / 'units'))
    monkeypatch.setattr(_vips, 'SYSCTL_DIR', str(tmp_path / 'sysctl.d'))
    monkeypatch.setattr(_vips, 'STATE_DIR', str(tmp_path / 'lib' / 'lvs-dr'))
    monkeypatch.setattr(_vips, 'SYSTEMD_SYSCTL_CANDIDATES', ('/usr/lib/systemd/systemd-sysctl',))
    monkeypatch.setattr(_vips.os.path, 'exists', lambda p, _real=_vips.os.path.exists: p == '/usr/lib/systemd/systemd-sysctl' or _real(p))

    class Host(object):
        addresses = {'lo': ['127.0.0.1/8']}
        enabled = set()
        root = tmp_path

        def sysctl(self, key):
            return _sysctl.read_value(key)

        def run(self, args, check_mode=False, diff=False, module=rs):
            self.calls = []

            def run_command(module, cmd, **kwargs):
                cmd = list(cmd)
                self.calls.append(cmd)
                if cmd == ADDR_READ:
                    links = [{'ifname': k, 'addr_info': [
                        {'family': 'inet6' if ':' in a else 'inet', 'local': a.partition('/')[0], 'prefixlen': int(a.partition('/')[2])}
                        for a in v]} for k, v in self.addresses.items()]
                    return 0, json.dumps(links), ''
                if cmd[:2] == [SYSTEMCTL, 'is-enabled']:
                    return (0, 'enabled\n', '') if cmd[2] in self.enabled else (1, 'disabled\n', '')
                if cmd[:2] == [SYSTEMCTL, 'enable']:
                    self.enabled.add(cmd[2])
                if cmd[:2] == [SYSTEMCTL, 'disable']:
                    self.enabled.discard(cmd[2])
                if cmd[0] == IP and cmd[2:4] == ['addr', 'replace']:
                    self.addresses.setdefault(cmd[6], []).append(cmd[4])
                if cmd[0] == IP and cmd[2:4] == ['addr', 'del']:
                    self.addresses[cmd[6]].remove(cmd[4])
                return 0, '', ''

            mocker.patch.object(basic.AnsibleModule, 'run_command', run_command)
            mocker.patch.object(basic.AnsibleModule, 'get_bin_path',
                                lambda m, name, required=False, opt_dirs=None: {'ip': IP, 'systemctl': SYSTEMCTL}[name])
            mocker.patch.object(basic.AnsibleModule, 'exit_json', exit_json)
            mocker.patch.object(basic.AnsibleModule, 'fail_json', fail_json)
            with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
                with pytest.raises(Exit) as exc:
                    module.main()
            return exc.value.result, exc.value.failed

        def changing_calls(self):
            return [c for c in self.calls if c != ADDR_READ and c[1] != 'is-enabled']

    h = Host()
    h.addresses = {'lo': ['127.0.0.1/8'], 'eth0': []}
    h.enabled = set()
    return h


WEB = {'name': 'web', 'vips': ['192.0.2.10', '2001:db8::10'], 'arp_interfaces': ['eth0']}
UNIT = 'lvs-dr-realserver-web.service'


def test_module_present_idempotent_absent(host):
    result, failed = host.run(WEB, diff=True)
    assert not failed and result['changed']
    assert host.changing_calls() == [
        [IP, '-4', 'addr', 'replace', '192.0.2.10/32', 'dev', 'lo', 'label', 'lo:lvs'],
        [IP, '-6', 'addr', 'replace', '2001:db8::10/128', 'dev', 'lo'],
        [SYSTEMCTL, 'daemon-reload'],
        [SYSTEMCTL, 'enable', UNIT],
    ]
    assert host.sysctl('net/ipv4/conf/eth0/arp_ignore') == '1' and host.sysctl('net/ipv4/conf/all/rp_filter') == '2'
    conf = host.root / 'sysctl.d' / '90-lvs-dr-web.conf'
    assert conf.stat().st_mode & 0o777 == 0o644
    assert _sysctl.parse_conf(conf.read_text())['net/ipv4/conf/eth0/arp_announce'] == '2'
    unit = (host.root / 'units' / UNIT).read_text()
    assert 'ExecStart=/usr/sbin/ip -6 addr replace 2001:db8::10/128 dev lo\n' in unit
    assert result['sysctl_changes']['net.ipv4.conf.all.arp_ignore'] == {'before': '0', 'after': '1'}
    assert result['addresses_added'] == ['192.0.2.10/32', '2001:db8::10/128']
    live_diff = result['diff'][0]
    assert '  lo 192.0.2.10/32\n' in live_diff['after'] and '  lo 192.0.2.10/32\n' not in live_diff['before']
    assert '  net.ipv4.conf.all.arp_ignore = 0\n' in live_diff['before']

    result, failed = host.run(WEB)
    assert not failed and not result['changed'] and host.changing_calls() == []

    result, failed = host.run({'name': 'web', 'state': 'absent'})
    assert not failed and result['changed']
    assert host.changing_calls() == [
        [IP, '-4', 'addr', 'del', '192.0.2.10/32', 'dev', 'lo'],
        [IP, '-6', 'addr', 'del', '2001:db8::10/128', 'dev', 'lo'],
        [SYSTEMCTL, 'disable', UNIT],
        [SYSTEMCTL, 'daemon-reload'],
    ]
    assert host.sysctl('net/ipv4/conf/eth0/arp_ignore') == '0' and host.sysctl('net/ipv4/conf/all/rp_filter') == '0'
    assert not conf.exists() and not (host.root / 'units' / UNIT).exists()
    assert not (host.root / 'lib' / 'lvs-dr').exists()
    result, failed = host.run({'name': 'web', 'state': 'absent'})
    assert not result['changed']


def test_module_check_mode_touches_nothing(host):
    result, failed = host.run(WEB, check_mode=True, diff=True)
    assert not failed and result['changed']
    assert host.changing_calls() == []
    assert host.sysctl('net/ipv4/conf/all/arp_ignore') == '0'
    assert not list((host.root / 'sysctl.d').iterdir()) and not list((host.root / 'units').iterdir())
    assert not (host.root / 'lib').exists()
    assert result['diff'][1]['after'].startswith('# Ansible managed')


def test_module_bad_input_changes_nothing(host):
    result, failed = host.run({'name': 'web', 'vips': ['192.0.2.10', 'bogus']})
    assert failed and result['msg'].startswith('vips[1]:') and host.calls == []
    result, failed = host.run({'name': 'web', 'vips': ['192.0.2.10'], 'arp_interfaces': ['eth9']})
    assert failed and result['msg'].startswith('arp_interfaces:') and host.calls == []
    assert host.sysctl('net/ipv4/conf/all/arp_ignore') == '0'


def test_purge_false_only_adds_and_a_later_purge_removes(host):
    host.run(WEB)
    result, failed = host.run(dict(WEB, vips=['192.0.2.11'], purge=False), diff=True)
    assert not failed and result['changed']
    assert host.changing_calls()[0] == [IP, '-4', 'addr', 'replace', '192.0.2.11/32', 'dev', 'lo', 'label', 'lo:lvs']
    assert not any(call[2:4] == ['addr', 'del'] for call in host.changing_calls())
    assert result['vips'] == ['192.0.2.11/32', '192.0.2.10/32', '2001:db8::10/128']
    assert result['vips_kept'] == ['192.0.2.10/32', '2001:db8::10/128']  # lvs.dr.site's release play runs
    assert result['addresses_added'] == ['192.0.2.11/32'] and result['addresses_removed'] == []
    unit = (host.root / 'units' / UNIT).read_text()
    assert '192.0.2.10/32' in unit and '192.0.2.11/32' in unit  # a reboot in between keeps every VIP
    assert sorted(host.addresses['lo']) == ['127.0.0.1/8', '192.0.2.10/32', '192.0.2.11/32', '2001:db8::10/128']

    result, failed = host.run(dict(WEB, vips=['192.0.2.11'], purge=False))
    assert not failed and not result['changed'] and host.changing_calls() == []

    result, failed = host.run(dict(WEB, vips=['192.0.2.11']))
    assert not failed and result['changed']
    assert result['addresses_removed'] == ['192.0.2.10/32', '2001:db8::10/128']
    assert sorted(host.addresses['lo']) == ['127.0.0.1/8', '192.0.2.11/32']
    assert '192.0.2.10/32' not in (host.root / 'units' / UNIT).read_text()

    # Nothing kept: a run with purge=true and the same VIPs changes nothing (lvs.dr.site skips its release play).
    result, failed = host.run(dict(WEB, vips=['192.0.2.11'], purge=False))
    assert not failed and not result['changed'] and result['vips_kept'] == []
    result, failed = host.run(dict(WEB, vips=['192.0.2.11']))
    assert not failed and not result['changed'] and host.changing_calls() == [] and result['vips_kept'] == []


def test_purge_false_refuses_to_move_the_vips_to_another_interface(host):
    host.run(WEB)
    host.addresses['dummy0'] = []
    (host.root / 'net' / 'dummy0').mkdir()
    result, failed = host.run(dict(WEB, interface='dummy0', purge=False))
    assert failed and result['msg'].startswith('purge: false cannot move instance "web" from interface lo to dummy0')
    assert host.changing_calls() == []
    assert sorted(host.addresses['lo']) == ['127.0.0.1/8', '192.0.2.10/32', '2001:db8::10/128']


def test_module_present_requires_vips(host):
    result, failed = host.run({'name': 'web'})
    assert failed and 'vips' in result['msg']


# ------------------------------------------------------------------------ lvs.dr.director_vips (same code, other profile)

DIRECTOR_UNIT = 'lvs-dr-director-vips-default.service'


def test_director_vips_change_one_by_one_and_set_no_sysctl(host):
    args = {'interface': 'eth0', 'vips': ['192.0.2.100', '192.0.2.101']}
    result, failed = host.run(args, module=director_vips, diff=True)
    assert not failed and result['changed']
    assert host.changing_calls() == [
        [IP, '-4', 'addr', 'replace', '192.0.2.100/32', 'dev', 'eth0', 'label', 'eth0:lvs'],
        [IP, '-4', 'addr', 'replace', '192.0.2.101/32', 'dev', 'eth0', 'label', 'eth0:lvs'],
        [SYSTEMCTL, 'daemon-reload'],
        [SYSTEMCTL, 'enable', DIRECTOR_UNIT],
    ]
    # The director answers ARP for its VIPs: nothing silenced, no sysctl file.
    assert host.sysctl('net/ipv4/conf/all/arp_ignore') == '0' and host.sysctl('net/ipv4/conf/eth0/arp_announce') == '0'
    assert not list((host.root / 'sysctl.d').iterdir())
    assert 'sysctl' not in result
    unit = (host.root / 'units' / DIRECTOR_UNIT).read_text()
    assert 'ExecStart=/usr/sbin/ip -4 addr replace 192.0.2.101/32 dev eth0 label eth0:lvs\n' in unit
    assert 'ExecStop' not in unit and 'Before=ipvsadm.service' in unit
    assert (host.root / 'lib' / 'lvs-dr' / 'director-state.json').exists()

    # Adding one VIP adds that one; removing one removes that one: no other address is touched.
    result, failed = host.run(dict(args, vips=['192.0.2.100', '192.0.2.101', '192.0.2.102']), module=director_vips)
    assert [c for c in host.changing_calls() if c[0] == IP] == [
        [IP, '-4', 'addr', 'replace', '192.0.2.102/32', 'dev', 'eth0', 'label', 'eth0:lvs']]
    result, failed = host.run(dict(args, vips=['192.0.2.100', '192.0.2.102']), module=director_vips)
    assert [c for c in host.changing_calls() if c[0] == IP] == [[IP, '-4', 'addr', 'del', '192.0.2.101/32', 'dev', 'eth0']]
    assert result['addresses_removed'] == ['192.0.2.101/32']
    result, failed = host.run(dict(args, vips=['192.0.2.100', '192.0.2.102']), module=director_vips)
    assert not result['changed'] and host.changing_calls() == []


def test_director_vips_leave_foreign_addresses_unless_adopted(host):
    host.addresses['eth0'] = ['192.0.2.5/24', '192.0.2.100/32', '192.0.2.101/32']
    args = {'interface': 'eth0', 'vips': ['192.0.2.100']}
    host.run(args, module=director_vips)
    host.run(dict(args, vips=['192.0.2.102']), module=director_vips)
    assert '192.0.2.100/32' in host.addresses['eth0']  # it was there before: not ours to remove
    host.run(dict(args, vips=['192.0.2.101'], adopt_existing=True), module=director_vips)
    result, failed = host.run(dict(args, vips=['192.0.2.102']), module=director_vips)
    assert result['addresses_removed'] == ['192.0.2.101/32']
    assert host.addresses['eth0'] == ['192.0.2.5/24', '192.0.2.100/32', '192.0.2.102/32']
