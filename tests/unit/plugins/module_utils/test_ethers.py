# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lvs.dr.plugins.module_utils._ethers import (
    BEGIN_MARKER,
    END_MARKER,
    EthersError,
    EthersFile,
    normalize_ipv4,
    normalize_mac,
    validate_ifname,
)


@pytest.mark.parametrize('value, expected', [
    ('02:00:5e:00:53:0a', '02:00:5e:00:53:0a'),
    ('02:00:5E:00:53:0A', '02:00:5e:00:53:0a'),
    ('02-00-5e-00-53-0a', '02:00:5e:00:53:0a'),
    ('0200.5e00.530a', '02:00:5e:00:53:0a'),
    ('0200.5E00.530A', '02:00:5e:00:53:0a'),
    ('02005e00530a', '02:00:5e:00:53:0a'),
    ('2:0:5e:0:53:a', '02:00:5e:00:53:0a'),  # ethers(5) allows dropping leading zeros
    ('  02:00:5e:00:53:0a ', '02:00:5e:00:53:0a'),
    ('ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff'),
])
def test_normalize_mac(value, expected):
    assert normalize_mac(value) == expected


@pytest.mark.parametrize('value', [
    '02:00:5e:00:53', '02:00:5e:00:53:0a:01', '02:00-5e:00:53:0a', '02:00:5e:00:53:0g', '0200.5e00.530', '0200:5e00:530a',
    '02.00.5e.00.53.0a', '', 'not-a-mac', '00:00:00:00:00:00', '000.000.000', '02:00:5e:00:53:100',
])
def test_normalize_mac_rejects(value):
    with pytest.raises(EthersError):
        normalize_mac(value)


@pytest.mark.parametrize('value, kind', [
    ('01:00:5e:00:00:01', 'multicast'), ('33:33:00:00:00:01', 'multicast'), ('ff:ff:ff:ff:ff:ff', 'broadcast'),
    ('0300.0000.0001', 'multicast'),
])
def test_normalize_mac_unicast_refuses_group_addresses(value, kind):
    with pytest.raises(EthersError, match='is a %s MAC address' % kind):
        normalize_mac(value, unicast=True)
    assert normalize_mac('02:00:5e:00:53:0a', unicast=True) == '02:00:5e:00:53:0a'


def test_normalize_mac_rejects_non_string():
    with pytest.raises(EthersError):
        normalize_mac(None)


@pytest.mark.parametrize('value, expected', [('192.0.2.10', '192.0.2.10'), (' 198.51.100.7', '198.51.100.7')])
def test_normalize_ipv4(value, expected):
    assert normalize_ipv4(value) == expected


@pytest.mark.parametrize('value', ['2001:db8::1', '192.0.2.300', '192.0.2', 'host.example', '224.0.0.1', '0.0.0.0',
                                   '127.0.0.1', '255.255.255.255', '192.0.2.10/32'])
def test_normalize_ipv4_rejects(value):
    with pytest.raises(EthersError):
        normalize_ipv4(value)


@pytest.mark.parametrize('value', ['eth0', 'eth0.100', 'br-lan', 'enp0s3', 'a' * 15])
def test_ifname_ok(value):
    assert validate_ifname(value) == value


@pytest.mark.parametrize('value', ['', 'a' * 16, 'eth 0', 'eth/0', '.', '..', 'lo:0'])
def test_ifname_rejects(value):
    with pytest.raises(EthersError):
        validate_ifname(value)


FOREIGN = '# hosts known by MAC\n08:00:20:00:61:ca pluto\n\n02:00:5e:00:53:99 192.0.2.99\n'


def entry(address, mac, interface):
    return {'address': address, 'mac': mac, 'interface': interface}


def test_new_block_appended_and_foreign_lines_kept():
    ethers = EthersFile(FOREIGN)
    assert not ethers.had_block and ethers.entries == {}
    ethers.set(entry('192.0.2.12', '02:00:5e:00:53:0c', 'eth0'))
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0b', 'eth0'))
    ethers.set(entry('198.51.100.7', '02:00:5e:00:53:07', 'eth1'))
    assert ethers.render() == FOREIGN + '\n'.join([
        BEGIN_MARKER,
        '02:00:5e:00:53:0b 192.0.2.11 dev eth0',
        '02:00:5e:00:53:0c 192.0.2.12 dev eth0',  # sorted numerically within an interface
        '02:00:5e:00:53:07 198.51.100.7 dev eth1',
        END_MARKER,
    ]) + '\n'


def test_round_trip_block_in_the_middle_stays_in_place():
    text = 'head line\n%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n# tail comment\n' % (BEGIN_MARKER, END_MARKER)
    ethers = EthersFile(text)
    assert ethers.had_block
    assert ethers.entries == {('192.0.2.11', 'eth0'): entry('192.0.2.11', '02:00:5e:00:53:0b', 'eth0')}
    assert ethers.render() == text
    ethers.set(entry('192.0.2.9', '02:00:5e:00:53:09', 'eth0'))
    assert ethers.render() == ('head line\n%s\n02:00:5e:00:53:09 192.0.2.9 dev eth0\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n'
                               '%s\n# tail comment\n' % (BEGIN_MARKER, END_MARKER))


def test_same_address_on_two_interfaces_are_two_entries():
    ethers = EthersFile('')
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0b', 'eth0'))
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0c', 'eth1'))
    assert len(ethers.entries) == 2
    assert ethers.remove('192.0.2.11', 'eth1')
    assert not ethers.remove('192.0.2.11', 'eth1')
    assert list(ethers.entries) == [('192.0.2.11', 'eth0')]


def test_removing_last_entry_drops_block_and_keeps_foreign():
    ethers = EthersFile(FOREIGN)
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0b', 'eth0'))
    again = EthersFile(ethers.render())
    again.remove('192.0.2.11', 'eth0')
    assert again.render() == FOREIGN


def test_only_block_then_empty():
    ethers = EthersFile('%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER))
    ethers.remove('192.0.2.11', 'eth0')
    assert ethers.render() == ''


def test_original_entries_track_the_file():
    ethers = EthersFile('%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER))
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0b', 'eth0'))
    assert ethers.entries == ethers.original_entries
    ethers.set(entry('192.0.2.11', '02:00:5e:00:53:0c', 'eth0'))
    assert ethers.entries != ethers.original_entries


def test_comments_and_blank_lines_inside_block_are_ignored():
    ethers = EthersFile('%s\n\n# note\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER))
    assert list(ethers.entries) == [('192.0.2.11', 'eth0')]


@pytest.mark.parametrize('text', [
    '%s\n02:00:5e:00:53:0b 192.0.2.11 dev eth0\n' % BEGIN_MARKER,  # unterminated
    '%s\n02:00:5e:00:53:0b 192.0.2.11\n%s\n' % (BEGIN_MARKER, END_MARKER),  # no dev
    '%s\nzz:00:5e:00:53:0b 192.0.2.11 dev eth0\n%s\n' % (BEGIN_MARKER, END_MARKER),
])
def test_corrupt_block_is_an_error(text):
    with pytest.raises(EthersError):
        EthersFile(text)


def test_end_marker_without_begin_is_foreign():
    text = '%s\nfoo bar\n' % END_MARKER
    assert EthersFile(text).render() == text
