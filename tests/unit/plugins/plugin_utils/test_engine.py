# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The director's engine, and the VRRP settings of a keepalived director completed from the inventory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.dr.plugins.filter.director_engine import FilterModule
from ansible_collections.lvs.dr.plugins.plugin_utils._engine import director_engine
from ansible_collections.lvs.dr.plugins.plugin_utils._keepalived import keepalived_config


def facts(address, iface='eth0', ipv6=None):
    iface_facts = {'ipv4': {'address': address, 'prefix': '24'}, 'macaddress': '02:00:00:00:00:01'}
    if ipv6:
        iface_facts['ipv6'] = [{'address': 'fe80::1', 'prefix': '64', 'scope': 'link'},
                               {'address': ipv6, 'prefix': '64', 'scope': 'global'}]
    return {'default_ipv4': {'interface': iface, 'address': address}, 'interfaces': [iface, 'lo'],
            iface.replace('-', '_'): iface_facts}


PLAN = {'services': [{'virtual_address': '192.0.2.100', 'virtual_port': 80,
                      'realservers': [{'address': '192.0.2.21', 'weight': 1}]}]}
PLAN6 = {'services': [{'virtual_address': '2001:db8::100', 'virtual_port': 80,
                       'realservers': [{'address': '2001:db8::21', 'weight': 1}]}]}
HA = {'virtual_router_id': 51}


def inventory(directors=None, extra=None):
    """(groups, hostvars): directors d1 (192.0.2.11), d2 (.12), d3 (.13) in lvs_directors."""
    directors = {'d1': '192.0.2.11', 'd2': '192.0.2.12', 'd3': '192.0.2.13'} if directors is None else directors
    hostvars = {}
    for index, (name, address) in enumerate(sorted(directors.items())):
        hostvars[name] = {'ansible_facts': facts(address, ipv6='2001:db8::%d' % (11 + index)),
                          'director_ha_priority': 200 - index}
    for name, values in (extra or {}).items():
        hostvars.setdefault(name, {}).update(values)
    groups = {'all': sorted(hostvars), 'lvs_directors': sorted(directors)}
    return groups, hostvars


def engine(name='keepalived', ha=None, plan=None, host='d1', groups=None, hostvars=None, **kwargs):
    if groups is None:
        groups, hostvars = inventory()
    kwargs.setdefault('interface', 'eth0')
    kwargs.setdefault('priority', hostvars.get(host, {}).get('director_ha_priority'))
    kwargs.setdefault('facts', hostvars.get(host, {}).get('ansible_facts'))
    return director_engine(name, ha=HA if ha is None else ha, plan=PLAN if plan is None else plan, hostname=host,
                           groups=groups, hostvars=hostvars, **kwargs)


def test_ipvsadm_needs_nothing_more():
    result = engine('ipvsadm', ha={'anything': 1}, priority=None)
    assert result == dict(engine='ipvsadm', ha={}, peers=[], problems=[], unresolved_hosts=[])


@pytest.mark.parametrize('name', ['ipvsadmm', 'keepalive', '', None, 'IPVSADM'])
def test_an_unknown_engine_is_refused(name):
    result = engine(name)
    assert result['problems'] == ["director_engine: %r is not an engine (known: ipvsadm, keepalived)" % (name,)]
    assert result['ha'] == {}


def test_peers_and_source_come_from_the_other_directors_facts():
    result = engine()
    assert result['problems'] == []
    assert result['peers'] == ['d2', 'd3']
    assert result['ha'] == dict(virtual_router_id=51, priority=200, interface='eth0', unicast_src_ip='192.0.2.11',
                                unicast_peers=['192.0.2.12', '192.0.2.13'])


def test_the_settings_render_a_config_without_problems():
    result = engine(host='d2')
    text, problems = keepalived_config(PLAN, result['ha'], hostname='d2')
    assert problems == []
    assert 'priority 199' in text
    assert 'unicast_src_ip 192.0.2.12' in text
    assert 'unicast_peer {\n        192.0.2.11\n        192.0.2.13\n    }' in text


def test_ipv6_vips_take_the_global_ipv6_addresses():
    result = engine(plan=PLAN6)
    assert result['problems'] == []
    assert result['ha']['unicast_src_ip'] == '2001:db8::11'
    assert result['ha']['unicast_peers'] == ['2001:db8::12', '2001:db8::13']


def test_given_values_are_kept():
    ha = dict(HA, interface='bond0', unicast_src_ip='192.0.2.99', unicast_peers=['192.0.2.98'])
    result = engine(ha=ha)
    assert result['problems'] == []
    assert result['ha'] == dict(ha, priority=200)


def test_an_empty_peer_list_is_kept_and_needs_no_source():
    result = engine(ha=dict(HA, unicast_peers=[]))
    assert result['problems'] == []
    assert 'unicast_src_ip' not in result['ha']


def test_a_peer_uses_its_own_director_interface():
    groups, hostvars = inventory(extra={'d2': {'director_interface': 'ens4'}})
    hostvars['d2']['ansible_facts'] = facts('192.0.2.12', iface='ens4')
    result = engine(groups=groups, hostvars=hostvars)
    assert result['problems'] == []
    assert result['ha']['unicast_peers'] == ['192.0.2.12', '192.0.2.13']


def test_a_single_director_has_no_peers():
    groups, hostvars = inventory(directors={'d1': '192.0.2.11'})
    result = engine(groups=groups, hostvars=hostvars)
    assert result['problems'] == []
    assert result['ha']['unicast_peers'] == []
    assert 'unicast_src_ip' not in result['ha']


def test_a_peer_without_facts_is_named_and_listed_for_gathering():
    groups, hostvars = inventory()
    hostvars['d3'] = {'director_ha_priority': 1}
    result = engine(groups=groups, hostvars=hostvars)
    assert result['unresolved_hosts'] == ['d3']
    assert result['problems'] == [
        'director d3 (group lvs_directors) has no facts: its address on eth0, a unicast VRRP peer, is unknown. '
        'Gather its facts (lvs.dr.site does) or give director_ha.unicast_peers']


def test_a_peer_without_an_address_on_the_interface():
    groups, hostvars = inventory()
    hostvars['d2']['ansible_facts'] = facts('192.0.2.12', iface='ens4')
    result = engine(groups=groups, hostvars=hostvars)
    assert result['problems'] == [
        'director d2 (group lvs_directors) has no ipv4 address on eth0 in its facts: give its director_interface or '
        'director_ha.unicast_peers']


def test_no_own_address_on_the_interface():
    result = engine(interface='ens9')
    assert result['problems'] == [
        'director d2 (group lvs_directors) has no ipv4 address on ens9 in its facts: give its director_interface or '
        'director_ha.unicast_peers',
        'director d3 (group lvs_directors) has no ipv4 address on ens9 in its facts: give its director_interface or '
        'director_ha.unicast_peers']
    result = engine(interface='ens9', ha=dict(HA, unicast_peers=['192.0.2.12']))
    assert result['problems'] == [
        'this director has no ipv4 address on ens9 in its facts: the source of its VRRP adverts is unknown. Fix '
        'director_interface or give director_ha.unicast_src_ip']


def test_the_priority_is_required():
    result = engine(priority=None)
    assert result['problems'] == [
        'director_ha_priority is required with director_engine keepalived: set it in the host_vars of each director '
        '(1-254, a different value on each; the highest holds the VIPs)']


def test_the_priority_is_given_once():
    result = engine(ha=dict(HA, priority=100))
    assert result['problems'] == [
        'director_ha.priority and director_ha_priority are both set: give the priority once, as the host variable '
        'director_ha_priority of each director']
    result = engine(ha=dict(HA, priority=100), priority=None)
    assert result['problems'] == []
    assert result['ha']['priority'] == 100


@pytest.mark.parametrize('value, problem', [
    (0, 'director_ha_priority: 0 is out of range 1..254'),
    (255, 'director_ha_priority: 255 is out of range 1..254'),
    ('high', "director_ha_priority: 'high' is not an integer"),
    (True, 'director_ha_priority: True is not an integer'),
])
def test_a_bad_priority(value, problem):
    assert engine(priority=value)['problems'] == [problem]


def test_the_string_priority_of_an_inventory_is_an_integer():
    assert engine(priority='150')['ha']['priority'] == 150


def test_a_shared_priority_is_refused():
    groups, hostvars = inventory()
    hostvars['d3']['director_ha_priority'] = 200
    result = engine(groups=groups, hostvars=hostvars)
    assert result['problems'] == [
        'director_ha_priority: 200 is also the priority of director d3; each director of group lvs_directors needs '
        'its own']


def test_mixed_engines_in_one_group_are_refused():
    groups, hostvars = inventory(extra={'d2': {'director_engine': 'ipvsadm'}, 'd3': {'director_engine': 'keepalived'}})
    result = engine(groups=groups, hostvars=hostvars)
    assert result['problems'] == [
        'director d2 of group lvs_directors has director_engine ipvsadm, this one keepalived: the directors that share '
        'the VIPs must run one engine (both would place the VIPs and fill the table)']


def test_an_unknown_group_is_refused():
    result = engine(group='lvs_director')
    assert result['problems'] == [
        "director_ha_group 'lvs_director' is not a group of the inventory: the unicast peers are its other hosts. Fix "
        "the group name or give director_ha.unicast_peers"]


def test_a_group_without_this_director_is_refused():
    result = engine(host='d9', priority=10, facts=facts('192.0.2.19'))
    assert result['problems'] == [
        "director_ha_group 'lvs_directors' does not hold this director (d9): its VRRP peers would be wrong"]


@pytest.mark.parametrize('ha', [[], 'x', 5])
def test_ha_must_be_a_dict(ha):
    assert engine(ha=ha)['problems'] == ['director_ha must be a dict, got %r' % (ha,)]


def test_the_input_is_not_changed():
    ha = dict(HA)
    engine(ha=ha)
    assert ha == HA


def test_the_filter():
    groups, hostvars = inventory()
    result = FilterModule().filters()['director_engine'](
        'keepalived', ha=HA, plan=PLAN, hostname='d1', groups=groups, hostvars=hostvars,
        facts=hostvars['d1']['ansible_facts'], interface='eth0', priority=200)
    assert result['problems'] == []
    assert result['ha']['unicast_peers'] == ['192.0.2.12', '192.0.2.13']
