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
