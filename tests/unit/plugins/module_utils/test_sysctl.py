# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lvs.dr.plugins.module_utils import _sysctl


@pytest.mark.parametrize('key, shown', [
    ('net/ipv4/conf/all/arp_ignore', 'net.ipv4.conf.all.arp_ignore'),
    ('net/ipv4/conf/eth0.100/arp_ignore', 'net/ipv4/conf/eth0.100/arp_ignore'),  # VLAN name keeps the slash form
])
def test_display_and_parse_key(key, shown):
    assert _sysctl.display_key(key) == shown
    assert _sysctl.parse_key(shown) == key


def test_conf_key():
    assert _sysctl.conf_key('lo', 'arp_announce') == 'net/ipv4/conf/lo/arp_announce'


def test_render_and_parse_conf_round_trip():
    values = {'net/ipv4/conf/all/arp_ignore': '1', 'net/ipv4/conf/eth0.100/arp_announce': '2'}
    text = _sysctl.render_conf(values, ['Ansible managed', '', 'second'])
    assert text == ('# Ansible managed\n#\n# second\n'
                    'net.ipv4.conf.all.arp_ignore = 1\n'
                    'net/ipv4/conf/eth0.100/arp_announce = 2\n')
    assert _sysctl.parse_conf(text) == values


def test_parse_conf_syntax():
    text = '; comment\n  # other\n-net.ipv4.conf.lo.arp_ignore=1\nnet.ipv4.ip_local_port_range =  1024   65000 \nkernel.x = 1\nkernel.x = 2\n'
    assert _sysctl.parse_conf(text) == {
        'net/ipv4/conf/lo/arp_ignore': '1',
        'net/ipv4/ip_local_port_range': '1024 65000',
        'kernel/x': '2',
    }


def test_parse_conf_rejects_garbage():
    with pytest.raises(ValueError):
        _sysctl.parse_conf('net.ipv4.conf.all.arp_ignore 1\n')


def test_read_and_write_under_a_root(tmp_path):
    path = tmp_path / 'net' / 'ipv4' / 'conf' / 'all'
    path.mkdir(parents=True)
    (path / 'arp_ignore').write_text('0\n')
    (path / 'range').write_text('1024\t65000\n')
    assert _sysctl.read_value('net/ipv4/conf/all/arp_ignore', str(tmp_path)) == '0'
    assert _sysctl.read_value('net/ipv4/conf/all/range', str(tmp_path)) == '1024 65000'
    assert _sysctl.read_value('net/ipv4/conf/nope/arp_ignore', str(tmp_path)) is None
    _sysctl.write_value('net/ipv4/conf/all/arp_ignore', '1', str(tmp_path))
    assert (path / 'arp_ignore').read_text() == '1\n'
