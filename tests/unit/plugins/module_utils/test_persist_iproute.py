# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.lvs.dr.plugins.module_utils._iproute import parse_addr_json, parse_neigh_json
from ansible_collections.lvs.dr.plugins.module_utils._persist import quote_unit_arg, render_unit


def test_parse_neigh_json():
    text = json.dumps([
        {'dst': '192.0.2.11', 'dev': 'eth0', 'lladdr': '02:00:5E:00:53:0B', 'state': ['PERMANENT']},
        {'dst': '192.0.2.1', 'dev': 'eth0', 'lladdr': '02:00:5e:00:53:01', 'state': ['REACHABLE']},
        {'dst': '192.0.2.2', 'dev': 'eth0', 'state': ['FAILED']},
    ])
    assert parse_neigh_json(text) == [
        {'address': '192.0.2.11', 'interface': 'eth0', 'mac': '02:00:5e:00:53:0b', 'states': ['PERMANENT']},
        {'address': '192.0.2.1', 'interface': 'eth0', 'mac': '02:00:5e:00:53:01', 'states': ['REACHABLE']},
        {'address': '192.0.2.2', 'interface': 'eth0', 'mac': None, 'states': ['FAILED']},
    ]
    assert parse_neigh_json('') == []


def test_parse_addr_json():
    text = json.dumps([{'ifindex': 1, 'ifname': 'lo', 'addr_info': [
        {'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8, 'label': 'lo'},
        {'family': 'inet', 'local': '192.0.2.10', 'prefixlen': 32, 'label': 'lo:lvs'},
        {'family': 'inet6', 'local': '2001:0db8::0010', 'prefixlen': 128},
    ]}, {'ifindex': 2, 'ifname': 'eth0', 'addr_info': []}])
    assert [(r['interface'], r['address'], r['label']) for r in parse_addr_json(text)] == [
        ('lo', '127.0.0.1/8', 'lo'), ('lo', '192.0.2.10/32', 'lo:lvs'), ('lo', '2001:db8::10/128', None)]


@pytest.mark.parametrize('arg, quoted', [
    ('/usr/sbin/ip', '/usr/sbin/ip'),
    ('a b', '"a b"'),
    ('100%', '"100%%"'),
    ('$HOME', '"$$HOME"'),
    ('', '""'),
])
def test_quote_unit_arg(arg, quoted):
    assert quote_unit_arg(arg) == quoted


def test_render_unit_one_execstart_per_argv():
    text = render_unit('Demo', [['/usr/sbin/ip', '-4', 'addr', 'replace', '192.0.2.10/32', 'dev', 'lo', 'label', 'lo:lvs'],
                                ['/usr/sbin/arp', '-f', '/etc/my ethers']], 'lvs.dr.test',
                       unit=[('After', 'network-online.target')])
    assert text.splitlines() == [
        '# Ansible managed: written by lvs.dr.test, local changes will be overwritten.',
        '[Unit]', 'Description=Demo', 'After=network-online.target', '',
        '[Service]', 'Type=oneshot', 'RemainAfterExit=yes',
        'ExecStart=/usr/sbin/ip -4 addr replace 192.0.2.10/32 dev lo label lo:lvs',
        'ExecStart=/usr/sbin/arp -f "/etc/my ethers"',
        '', '[Install]', 'WantedBy=multi-user.target',
    ]


class FakeModule(object):
    check_mode = False

    def __init__(self, rc=0, err='', out=''):
        self.calls = []
        self.rc, self.err, self.out = rc, err, out

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name

    def run_command(self, cmd, data=None, binary_data=False, environ_update=None):
        assert environ_update == {'LANGUAGE': 'C', 'LC_ALL': 'C'}  # every run in the C locale
        self.calls.append(cmd)
        return self.rc, self.out, self.err

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_systemctl_failure_carries_evidence():
    from ansible_collections.lvs.dr.plugins.module_utils._persist import Systemd
    module = FakeModule(rc=1, err='Failed to enable unit: Unit file x.service does not exist.')
    with pytest.raises(AssertionError) as exc:
        Systemd(module).enable('x.service')
    evidence = exc.value.args[0]
    assert evidence['msg'] == 'systemctl enable x.service failed: Failed to enable unit: Unit file x.service does not exist.'
    assert evidence['cmd'] == ['/usr/bin/systemctl', 'enable', 'x.service'] and evidence['rc'] == 1


def test_ensure_unit_life_cycle(tmp_path):
    from ansible_collections.lvs.dr.plugins.module_utils._persist import Systemd, ensure_unit

    class Module(FakeModule):
        def atomic_move(self, src, dest):
            import os
            os.rename(src, dest)

    module = Module(rc=0)  # no unit file yet: is-enabled is not even asked
    changed, before, after, enabled = ensure_unit(module, Systemd(module), 'x.service', 'A\n', str(tmp_path))
    assert changed and before is None and after == 'A\n' and not enabled
    assert (tmp_path / 'x.service').read_text() == 'A\n'
    assert [c[1] for c in module.calls] == ['daemon-reload', 'enable']
    module = Module(rc=0, out='enabled\n')
    changed, before, after, enabled = ensure_unit(module, Systemd(module), 'x.service', None, str(tmp_path))
    assert changed and before == 'A\n' and enabled and not (tmp_path / 'x.service').exists()
    assert [c[1] for c in module.calls] == ['is-enabled', 'disable', 'daemon-reload']


class MissingModule(FakeModule):
    def get_bin_path(self, name, required=False, opt_dirs=None):
        self.calls.append(('lookup', name, tuple(opt_dirs or ())))
        return None


def test_command_finds_its_program_once_in_sbin_too_and_counts_runs():
    from ansible_collections.lvs.dr.plugins.module_utils._runner import Command
    module = FakeModule(out='ok\n')
    lookups = []
    real = module.get_bin_path
    module.get_bin_path = lambda name, required=False, opt_dirs=None: lookups.append((name, opt_dirs)) or real(name)
    command = Command(module, 'ipvsadm')
    assert command.run(['-Sn'], 'reading') == (0, 'ok\n', '')
    command.run(['-Ln'], 'reading')
    assert command.argv('-A', 7) == ['/usr/bin/ipvsadm', '-A', '7']
    assert lookups == [('ipvsadm', ['/usr/sbin', '/sbin'])]
    assert module.calls == [['/usr/bin/ipvsadm', '-Sn'], ['/usr/bin/ipvsadm', '-Ln']] and command.processes == 2


def test_command_failure_carries_evidence_and_extra_keys():
    from ansible_collections.lvs.dr.plugins.module_utils._runner import Command
    module = FakeModule(rc=2, err='  Memory allocation problem\n')
    with pytest.raises(AssertionError) as exc:
        Command(module, 'ipvsadm').run(['-A', '-t', '192.0.2.1:80'], 'adding the service', changed=False)
    evidence = exc.value.args[0]
    assert evidence == dict(msg='adding the service failed: Memory allocation problem', rc=2, stdout='',
                            stderr='  Memory allocation problem\n', cmd=['/usr/bin/ipvsadm', '-A', '-t', '192.0.2.1:80'],
                            changed=False)
    module = FakeModule(rc=3)
    with pytest.raises(AssertionError) as exc:
        Command(module, 'modprobe').run(['x'], 'loading x')
    assert exc.value.args[0]['msg'] == 'loading x failed: exit status 3'
    assert Command(FakeModule(rc=1), 'systemctl').run(['is-enabled', 'x'], 'asking', check_rc=False)[0] == 1


def test_a_missing_program_fails_with_its_hint_before_any_run_and_lazy_only_when_used():
    from ansible_collections.lvs.dr.plugins.module_utils._runner import Command
    module = MissingModule()
    with pytest.raises(AssertionError) as exc:
        Command(module, 'ipvsadm', hint='install ipvsadm', fail_extra=dict(ipvs_unavailable=True))
    assert exc.value.args[0] == dict(msg='install ipvsadm', missing_program='ipvsadm', ipvs_unavailable=True)
    lazy = Command(MissingModule(), 'arp', lazy=True)  # nothing looked up yet
    assert lazy.missing and lazy.module.calls == [('lookup', 'arp', ('/usr/sbin', '/sbin'))]
    with pytest.raises(AssertionError) as exc:
        lazy.run(['-f', '/etc/ethers'], 'loading')
    assert exc.value.args[0]['msg'] == 'arp is not installed on this host (looked for it in PATH, /usr/sbin, /sbin)'
    assert lazy.processes == 0 and lazy.module.calls == [('lookup', 'arp', ('/usr/sbin', '/sbin'))]
