# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.dr.plugins.plugin_utils._sysctls import ipvs_sysctls, kernel_version


def values(result):
    return dict((item['name'], item['value']) for item in result)


@pytest.mark.parametrize('release, expected', [
    ('6.1.0-50-amd64', (6, 1)), ('5.9.0', (5, 9)), ('4.19.0-27-cloud-amd64', (4, 19)), ('6.1um', (6, 1)),
    ('', None), (None, None), ('linux', None),
])
def test_kernel_version(release, expected):
    assert kernel_version(release) == expected


@pytest.mark.parametrize('release, overrides, reuse', [
    ('6.1.0-50-amd64', {}, 2),
    ('4.19.0-27-amd64', {}, 2),                                    # without conntrack no SYN is dropped
    ('4.19.0-27-amd64', {'net.ipv4.vs.conntrack': 1}, 0),         # the one-second delay before 5.9
    ('5.8.18', {'net.ipv4.vs.conntrack': '1'}, 0),
    ('5.9.0', {'net.ipv4.vs.conntrack': 1}, 2),                    # fixed in 5.9
    ('', {'net.ipv4.vs.conntrack': 1}, 2),                         # unknown kernel: assume a current one
    ('6.1.0-50-amd64', {'net.ipv4.vs.conn_reuse_mode': 1}, 1),    # an override wins
])
def test_conn_reuse_mode_follows_the_kernel(release, overrides, reuse):
    result = values(ipvs_sysctls(release, overrides))
    assert result['net.ipv4.vs.conn_reuse_mode'] == reuse
    assert result['net.ipv4.vs.expire_nodest_conn'] == 1
    assert result['net.ipv4.vs.expire_quiescent_template'] == 1


def test_every_setting_has_a_reason_and_overrides_say_so():
    result = ipvs_sysctls('4.19.0', {'net.ipv4.vs.conntrack': 1, 'net.ipv4.vs.expire_nodest_conn': 0})
    assert [item['name'] for item in result] == sorted(item['name'] for item in result)
    by_name = dict((item['name'], item) for item in result)
    assert by_name['net.ipv4.vs.expire_nodest_conn'] == dict(
        name='net.ipv4.vs.expire_nodest_conn', value=0, reason='set by director_ipvs_sysctls')
    assert 'f0a5e4d7a594' in by_name['net.ipv4.vs.conn_reuse_mode']['reason']
    assert all(item['reason'] for item in result)


@pytest.mark.parametrize('overrides, message', [
    ('conn_reuse_mode=2', 'must be a dict'),
    ({'net.ipv4.ip_forward': 1}, "'net.ipv4.ip_forward' is not an IPVS setting"),
])
def test_bad_overrides_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        ipvs_sysctls('6.1.0', overrides)


def test_a_director_of_an_ha_pair_takes_over_connections_it_has_not_seen():
    plain = dict((s['name'], s['value']) for s in ipvs_sysctls('6.1.0-50-amd64'))
    ha = dict((s['name'], s['value']) for s in ipvs_sysctls('6.1.0-50-amd64', ha=True))
    assert 'net.ipv4.vs.sloppy_tcp' not in plain
    assert ha == dict(plain, **{'net.ipv4.vs.sloppy_tcp': 1})
    # An override still wins.
    overridden = ipvs_sysctls('6.1.0-50-amd64', {'net.ipv4.vs.sloppy_tcp': 0}, ha=True)
    assert [(s['value'], s['reason']) for s in overridden if s['name'] == 'net.ipv4.vs.sloppy_tcp'] == [
        (0, 'set by director_ipvs_sysctls')]
