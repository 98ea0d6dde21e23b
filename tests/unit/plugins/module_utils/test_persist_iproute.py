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

    def get_bin_path(self, name, required=False):
        return '/usr/bin/' + name

    def run_command(self, cmd):
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
