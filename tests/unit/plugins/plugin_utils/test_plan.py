# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The roles' planner: director_services and an inventory in, what each host applies out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError
from ansible_collections.lvs.dr.plugins.plugin_utils._plan import (
    director_plan, mac_from_facts, pool_entries, realserver_plan, with_draining,
)


def facts(address, mac, prefix=24, iface='eth0', ipv6=None):
    iface_facts = {'ipv4': {'address': address, 'prefix': str(prefix)}, 'macaddress': mac}
    if ipv6:
        iface_facts['ipv6'] = [{'address': a, 'prefix': '64', 'scope': 'global'} for a in ipv6]
    return {
        'default_ipv4': {'interface': iface, 'address': address, 'macaddress': mac},
        'interfaces': [iface, 'lo'],
        iface.replace('-', '_'): iface_facts,
    }


DIRECTOR_FACTS = facts('10.1.0.10', '02:00:00:00:00:10', ipv6=['2001:db8::10'])


def inventory(realservers=None, extra_groups=None, rs_vars=None, directors=None):
    """(groups, hostvars): real servers r1 (10.1.0.21) and r2 (10.1.0.22) in lvs_realservers, director d1."""
    realservers = {'r1': '10.1.0.21', 'r2': '10.1.0.22'} if realservers is None else realservers
    hostvars = {}
    groups = {'all': [], 'ungrouped': [], 'lvs_directors': [], 'lvs_realservers': list(realservers)}
    for name, address in realservers.items():
        hv = {'ansible_facts': facts(address, '02:00:00:00:00:%02x' % int(address.rsplit('.', 1)[1]))}
        hv.update((rs_vars or {}).get(name, {}))
        hostvars[name] = hv
    for name, dvars in (directors or {'d1': {}}).items():
        groups['lvs_directors'].append(name)
        hostvars[name] = dict(dvars, ansible_facts=DIRECTOR_FACTS)
    for group, hosts in (extra_groups or {}).items():
        groups[group] = list(hosts)
    for group, hosts in groups.items():
        for host in hosts:
            hostvars[host].setdefault('group_names', []).append(group)
    groups['all'] = list(hostvars)
    return groups, hostvars


WEB = {'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'scheduler': 'wrr'}


def plan(services, groups=None, hostvars=None, **kwargs):
    if groups is None:
        groups, hostvars = inventory()
    kwargs.setdefault('facts', DIRECTOR_FACTS)
    kwargs.setdefault('interface', 'eth0')
    return director_plan(services, groups, hostvars, **kwargs)


def pool(result, index=0):
    return [(rs['address'], rs['weight']) for rs in result['services'][index]['realservers']]


# --------------------------------------------------------------------------------------------------- director side

def test_the_default_group_is_the_pool():
    result = plan([WEB])
    assert result['problems'] == []
    assert result['services'] == [dict(WEB, realservers=[{'address': '10.1.0.21', 'weight': 1},
                                                         {'address': '10.1.0.22', 'weight': 1}])]
    assert result['vips'] == ['10.1.0.100']
    assert result['arp'] == [{'address': '10.1.0.21', 'mac': '02:00:00:00:00:15', 'interface': 'eth0'},
                             {'address': '10.1.0.22', 'mac': '02:00:00:00:00:16', 'interface': 'eth0'}]
    assert result['modules'] == ['ip_vs', 'ip_vs_wrr']
    assert result['unresolved_hosts'] == []


@pytest.mark.parametrize('members, expected', [
    # Inventory host names, addresses and dicts, in the order given.
    (['r2', '10.1.0.30'], [('10.1.0.22', 1), ('10.1.0.30', 1)]),
    ([{'host': 'r1', 'weight': 4}, {'address': '10.1.0.31', 'mac': '02:00:5e:00:53:01', 'weight': 0}],
     [('10.1.0.21', 4), ('10.1.0.31', 0)]),
    # A dict may override a host's address.
    ([{'host': 'r1', 'address': '10.1.0.41'}], [('10.1.0.41', 1)]),
], ids=['names-and-addresses', 'dicts', 'host-with-address'])
def test_explicit_pools(members, expected):
    result = plan([dict(WEB, realservers=members)])
    assert pool(result) == expected
    problems = [p for p in result['problems'] if 'no MAC' not in p]
    assert problems == []


def test_a_bare_address_needs_a_mac_for_static_arp_only():
    result = plan([dict(WEB, realservers=['10.1.0.30'])])
    assert result['problems'] == ["director_services[0] (tcp 10.1.0.100:8080): no MAC for real server 10.1.0.30 "
                                  "(gather its facts, set its realserver_mac or the mac of its realservers item, or "
                                  "director_static_arp: false)"]
    assert plan([dict(WEB, realservers=['10.1.0.30'])], static_arp=False)['problems'] == []


@pytest.mark.parametrize('item_weight, host_weight, service_weight, expected', [
    (5, 3, 2, 5),
    (None, 3, 2, 3),
    (None, None, 2, 2),
    (None, None, None, 1),
    (0, 3, 2, 0),
])
def test_weight_precedence(item_weight, host_weight, service_weight, expected):
    rs_vars = {'r1': {'realserver_weight': host_weight}} if host_weight is not None else {}
    groups, hostvars = inventory(rs_vars=rs_vars)
    item = {'host': 'r1'}
    if item_weight is not None:
        item['weight'] = item_weight
    service = dict(WEB, realservers=[item])
    if service_weight is not None:
        service['realserver_weight'] = service_weight
    result = plan([service], groups, hostvars)
    assert result['problems'] == []
    assert pool(result) == [('10.1.0.21', expected)]
    # Group pools take the same precedence, without the item.
    service = dict(WEB, realserver_weight=service_weight) if service_weight is not None else dict(WEB)
    result = plan([service], groups, hostvars)
    assert dict(pool(result))['10.1.0.21'] == (host_weight or service_weight or 1)


def test_realserver_address_and_mac_variables_win_over_facts():
    groups, hostvars = inventory(rs_vars={'r1': {'realserver_address': '10.1.0.51', 'realserver_mac': '02:AA:00:00:00:01'}})
    result = plan([WEB], groups, hostvars)
    assert result['problems'] == []
    assert pool(result) == [('10.1.0.51', 1), ('10.1.0.22', 1)]
    assert result['arp'][0] == {'address': '10.1.0.51', 'mac': '02:aa:00:00:00:01', 'interface': 'eth0'}


def test_the_mac_comes_from_the_interface_that_holds_the_address():
    host_facts = facts('10.9.0.5', '02:00:00:00:09:05')
    host_facts['interfaces'].append('br-lan')
    host_facts['br_lan'] = {'ipv4': {'address': '10.1.0.77', 'prefix': '24'},
                            'ipv4_secondaries': [{'address': '10.1.0.78', 'prefix': '24'}],
                            'macaddress': '02:00:00:00:01:77'}
    assert mac_from_facts(host_facts, '10.1.0.77') == '02:00:00:00:01:77'
    assert mac_from_facts(host_facts, '10.1.0.78') == '02:00:00:00:01:77'
    assert mac_from_facts(host_facts, '10.9.0.5') == '02:00:00:00:09:05'
    assert mac_from_facts(host_facts, '10.1.0.79') is None


def test_named_group_pool_and_several_services():
    groups, hostvars = inventory(realservers={'r1': '10.1.0.21', 'r2': '10.1.0.22', 'r3': '10.1.0.23'},
                                 extra_groups={'web_b': ['r3']})
    services = [WEB, {'protocol': 'udp', 'virtual_address': '10.1.0.100', 'virtual_port': 53, 'scheduler': 'rr',
                      'realserver_group': 'web_b'}]
    result = plan(services, groups, hostvars)
    assert result['problems'] == []
    assert [a for a, _w in pool(result, 0)] == ['10.1.0.21', '10.1.0.22', '10.1.0.23']
    assert pool(result, 1) == [('10.1.0.23', 1)]
    assert result['vips'] == ['10.1.0.100']  # one VIP for both services
    assert result['modules'] == ['ip_vs', 'ip_vs_wrr', 'ip_vs_rr']
    assert [e['address'] for e in result['arp']] == ['10.1.0.21', '10.1.0.22', '10.1.0.23']


@pytest.mark.parametrize('service, message', [
    (dict(WEB, realserver_group='lvs_realsevers'),
     "director_services[0] (tcp 10.1.0.100:8080): realserver_group 'lvs_realsevers' is not a group of the inventory"),
    (dict(WEB, realserver_group='empty'),
     "director_services[0] (tcp 10.1.0.100:8080): realserver_group 'empty' has no hosts; refusing to empty the pool"),
    (dict(WEB, realservers=[]), "director_services[0] (tcp 10.1.0.100:8080): realservers is empty"),
    (dict(WEB, realservers=['rr1']),
     "director_services[0] (tcp 10.1.0.100:8080) realservers[0]: 'rr1' is neither a host of the inventory nor an IP"),
    (dict(WEB, realservers=[{'host': 'rr1'}]),
     "director_services[0] (tcp 10.1.0.100:8080) realservers[0]: host 'rr1' is not in the inventory"),
    (dict(WEB, realservers=[{'host': 'r1', 'wieght': 2}]),
     "director_services[0] (tcp 10.1.0.100:8080) realservers[0]: unknown key wieght"),
    (dict(WEB, schedular='rr'), "director_services[0]: unknown key schedular"),
    (dict(WEB, virtual_port=70000), "director_services[0].virtual_port: 70000 is out of range"),
    (dict(WEB, realservers=[{'host': 'r1', 'port': 80}]),
     "real server r1: port 80 differs from the service port 8080: direct-routing forwarding cannot remap ports"),
    (dict(WEB, realservers=['r1', {'address': '10.1.0.21', 'mac': '02:00:00:00:00:15'}]),
     "real server 10.1.0.21 (10.1.0.21:8080) is in the pool twice"),
    (dict(WEB, realservers=['r1', '10.2.0.5']),
     "real server 10.2.0.5 (10.2.0.5) is not on the segment of the director (10.1.0.0/24, 2001:db8::/64 on eth0)"),
    (dict(WEB, realservers=['r1', {'address': '10.1.0.100', 'mac': '02:00:00:00:00:64'}]),
     "VIP 10.1.0.100 is also the address of real server 10.1.0.100"),
    ('web', "director_services[0]: each service is a dict"),
], ids=['misspelt-group', 'empty-group', 'empty-list', 'unknown-name', 'unknown-host', 'member-key', 'service-key',
        'bad-port', 'port-remap', 'twice', 'wrong-segment', 'vip-is-a-real-server', 'not-a-dict'])
def test_problems_name_the_service_and_the_variable(service, message):
    groups, hostvars = inventory(extra_groups={'empty': []})
    result = plan([service], groups, hostvars)
    assert any(message in problem for problem in result['problems']), result['problems']


def test_an_empty_pool_can_be_allowed_explicitly():
    groups, hostvars = inventory(extra_groups={'empty': []})
    for service in (dict(WEB, realserver_group='empty', allow_empty_pool=True),
                    dict(WEB, realservers=[], allow_empty_pool=True)):
        result = plan([service], groups, hostvars)
        assert result['problems'] == []
        assert result['services'][0]['realservers'] == []
        assert 'allow_empty_pool' not in result['services'][0]


def test_no_services_is_a_problem_not_a_teardown():
    assert 'director_services is empty' in plan([])['problems'][0]
    assert 'must be a list' in plan('web')['problems'][-1]


def test_duplicate_services():
    result = plan([WEB, dict(WEB, virtual_address='10.1.0.100', scheduler='rr')])
    assert "director_services[1] (tcp 10.1.0.100:8080): the same service as director_services[0]" in result['problems']


def test_absent_services_pass_by_identity_and_place_nothing():
    gone = {'virtual_address': '10.1.0.101', 'virtual_port': 0, 'scheduler': 'sh', 'state': 'absent',
            'realserver_group': 'no-such-group'}
    result = plan([WEB, gone])
    assert result['problems'] == []
    assert result['services'][1] == {'virtual_address': '10.1.0.101', 'virtual_port': 0, 'state': 'absent'}
    assert result['vips'] == ['10.1.0.100']
    assert 'ip_vs_sh' not in result['modules']


def test_absent_service_keeps_a_vip_another_service_uses():
    result = plan([WEB, dict(WEB, virtual_port=443, state='absent')])
    assert result['vips'] == ['10.1.0.100']


def test_the_directors_own_address_is_not_placed():
    result = plan([dict(WEB, virtual_address='10.1.0.10')])
    assert result['problems'] == [] and result['vips'] == []
    assert plan([WEB], manage_vips=False)['vips'] == []


def test_ipv6_and_fwmark_services():
    groups, hostvars = inventory()
    services = [
        {'virtual_address': '2001:db8::100', 'virtual_port': 80, 'scheduler': 'rr',
         'realservers': ['2001:db8::21', '2001:db8::22']},
        {'fwmark': 7, 'scheduler': 'mh', 'realservers': ['r1', 'r2']},
        {'virtual_address': '2001:db8::100', 'virtual_port': 81, 'realservers': ['2001:db9::1']},
    ]
    result = plan(services, groups, hostvars)
    assert result['services'][0]['realservers'] == [{'address': '2001:db8::21', 'weight': 1},
                                                    {'address': '2001:db8::22', 'weight': 1}]
    assert result['services'][1]['realservers'] == [{'address': '10.1.0.21', 'weight': 1},
                                                    {'address': '10.1.0.22', 'weight': 1}]
    assert result['vips'] == ['2001:db8::100']
    # No static ARP for IPv6; the fwmark service pins the IPv4 real servers.
    assert [e['address'] for e in result['arp']] == ['10.1.0.21', '10.1.0.22']
    assert result['problems'] == [
        "director_services[2] (tcp [2001:db8::100]:81): real server 2001:db9::1 (2001:db9::1) is not on the segment "
        "of the director (10.1.0.0/24, 2001:db8::/64 on eth0); direct routing needs one L2 segment"]


def test_non_route_members_skip_segment_and_arp():
    result = plan([dict(WEB, realservers=[{'address': '10.7.0.1', 'forwarding_method': 'tunnel'},
                                          {'address': '10.7.0.2', 'forwarding_method': 'masq', 'port': 80}])])
    assert result['problems'] == []
    assert result['arp'] == []
    assert result['services'][0]['realservers'][1] == {
        'address': '10.7.0.2', 'weight': 1, 'port': 80, 'forwarding_method': 'masq'}


def test_missing_facts_name_the_hosts_to_gather():
    groups, hostvars = inventory()
    del hostvars['r2']['ansible_facts']
    result = plan([WEB], groups, hostvars)
    assert result['unresolved_hosts'] == ['r2']
    assert result['problems'] == ["director_services[0] (tcp 10.1.0.100:8080): real server r2 has no address: gather "
                                  "its facts (lvs.dr.site gathers them in its first play) or set its realserver_address"]


def test_a_director_without_interface_facts():
    result = plan([WEB], facts={}, interface='eth9')
    assert result['problems'][0] == "director_interface 'eth9' has no IPv4 address in the gathered facts of this director"


def test_the_input_is_not_modified():
    services = [dict(WEB, realservers=[{'host': 'r1', 'weight': 2}], vip=None)]
    del services[0]['vip']
    before = copy.deepcopy(services)
    plan(services)
    assert services == before


def test_ten_thousand_members_are_resolved_once_each():
    names = dict(('r%05d' % i, '10.1.%d.%d' % (i // 250, i % 250 + 1)) for i in range(10000))
    groups, hostvars = inventory(realservers=names)

    class Counting(dict):
        reads = 0

        def __getitem__(self, key):
            Counting.reads += 1
            return dict.__getitem__(self, key)

    counting = Counting(hostvars)
    wide = dict(DIRECTOR_FACTS, eth0={'ipv4': {'address': '10.1.0.10', 'prefix': '16'}})
    far = dict(WEB, virtual_address='10.9.0.100')
    result = plan([far, dict(far, virtual_port=443)], groups, counting, facts=wide)
    assert result['problems'] == []
    assert len(result['services'][0]['realservers']) == len(result['services'][1]['realservers']) == 10000
    assert Counting.reads == 10000  # each host's variables read once, for both services


# ---------------------------------------------------------------------------------------- drained and absent members

def test_a_drained_host_stays_at_weight_0_and_an_absent_one_leaves_after_its_drain():
    groups, hostvars = inventory(realservers={'r1': '10.1.0.21', 'r2': '10.1.0.22', 'r3': '10.1.0.23'},
                                 rs_vars={'r2': {'realserver_state': 'drained'}, 'r3': {'realserver_state': 'absent'}})
    result = plan([WEB], groups, hostvars)
    assert result['problems'] == []
    assert pool(result, 0) == [('10.1.0.21', 1), ('10.1.0.22', 0)]
    assert result['drain'] == [
        {'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'address': '10.1.0.22', 'state': 'drained'},
        {'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'address': '10.1.0.23', 'state': 'absent'},
    ]
    # The drained host is still pinned (it still serves its open connections); the absent one is not.
    assert [e['address'] for e in result['arp']] == ['10.1.0.21', '10.1.0.22']


def test_a_realservers_item_state_overrides_the_host_variable():
    groups, hostvars = inventory(rs_vars={'r1': {'realserver_state': 'drained'}})
    service = dict(WEB, vip='10.1.0.100', realservers=[{'host': 'r1', 'state': 'present'},
                                                       {'address': '10.1.0.30', 'mac': '02:00:00:00:00:1e',
                                                        'state': 'drained', 'port': 8080}])
    del service['virtual_address']
    result = plan([service], groups, hostvars)
    assert result['problems'] == []
    assert pool(result, 0) == [('10.1.0.21', 1), ('10.1.0.30', 0)]
    # The identity is given as lvs.dr.ipvs_realserver takes it (vip becomes virtual_address).
    assert result['drain'] == [{'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'address': '10.1.0.30',
                                'state': 'drained', 'port': 8080}]


def test_a_pool_with_every_member_out_is_a_problem_unless_allowed():
    groups, hostvars = inventory(rs_vars={'r1': {'realserver_state': 'drained'}, 'r2': {'realserver_state': 'absent'}})
    result = plan([WEB], groups, hostvars)
    assert any('every real server of the pool is drained or absent' in p for p in result['problems'])
    allowed = plan([dict(WEB, allow_empty_pool=True)], groups, hostvars)
    assert allowed['problems'] == []
    assert [entry.get('drain_last') for entry in allowed['drain']] == [True, True]
    assert all('drain_last' not in entry for entry in plan([WEB], *inventory(
        rs_vars={'r1': {'realserver_state': 'drained'}}))['drain'])


def test_a_misspelt_state_is_a_problem_naming_the_host_and_variable():
    groups, hostvars = inventory(rs_vars={'r1': {'realserver_state': 'drainned'}})
    result = plan([WEB], groups, hostvars)
    assert result['problems'] == ["director_services[0] (tcp 10.1.0.100:8080): real server r1: realserver_state "
                                  "must be present, drained or absent, got 'drainned'"]


def test_an_absent_host_holds_no_vip_a_drained_one_keeps_it():
    services = [WEB, dict(WEB, virtual_address='10.1.0.101', realservers=['r1', 'r2'])]
    groups, hostvars = inventory(directors={'d1': {'director_services': services}},
                                 rs_vars={'r1': {'realserver_state': 'absent'}, 'r2': {'realserver_state': 'drained'}})
    assert realserver_plan('r1', groups, hostvars)['vips'] == []
    assert realserver_plan('r2', groups, hostvars)['vips'] == ['10.1.0.100', '10.1.0.101']


# --------------------------------------------------------------------------------------------------- real-server side

def rs_plan(host, services=None, directors=None, **kwargs):
    groups, hostvars = inventory(directors=directors or {'d1': {'director_services': services}}, **kwargs)
    return realserver_plan(host, groups, hostvars)


def test_a_real_server_holds_the_vips_of_the_pools_it_is_in():
    services = [WEB,
                {'virtual_address': '10.1.0.101', 'virtual_port': 80, 'realservers': ['r2']},
                {'virtual_address': '10.1.0.102', 'virtual_port': 80, 'realservers': [{'address': '10.1.0.21'}]},
                {'virtual_address': '10.1.0.103', 'virtual_port': 80, 'realservers': [{'host': 'r1'}], 'state': 'absent'},
                {'fwmark': 3, 'realservers': ['r1']}]
    assert rs_plan('r1', services) == {'vips': ['10.1.0.100', '10.1.0.102'], 'directors': ['d1'], 'problems': []}
    assert rs_plan('r2', services)['vips'] == ['10.1.0.100', '10.1.0.101']


def test_several_directors_share_vips_without_duplicates():
    directors = {'d1': {'director_services': [WEB]},
                 'd2': {'director_services': [WEB, dict(WEB, virtual_address='10.1.0.104', realserver_group='b')],
                        'director_realserver_group': 'lvs_realservers'}}
    result = rs_plan('r1', directors=directors, extra_groups={'b': ['r1']})
    assert result == {'vips': ['10.1.0.100', '10.1.0.104'], 'directors': ['d1', 'd2'], 'problems': []}


@pytest.mark.parametrize('directors, message', [
    ({'d1': {}}, 'director d1 (group lvs_directors) has no director_services visible from this real server'),
    ({'d1': {'director_services': [dict(WEB, realserver_group='lvs_realsevers')]}},
     "director d1: director_services[0] (tcp 10.1.0.100:8080): realserver_group 'lvs_realsevers' is not a group"),
    ({'d1': {'director_services': [dict(WEB, realservers=['r1', 'rr2'])]}},
     "'rr2' is neither a host of the inventory nor an IP address"),
    ({'d1': {'director_services': [dict(WEB, virtual_address='10.1.0.21')]}},
     'the address 10.1.0.21 of r1 is also a VIP of a service whose pool holds it'),
    ({'d1': {'director_services': [dict(WEB, schedular='rr')]}}, 'director d1: director_services[0]: unknown key'),
    ({'d1': {'director_services': []}}, 'director d1: director_services is empty'),
], ids=['invisible', 'misspelt-group', 'unknown-name', 'own-address', 'unknown-key', 'empty'])
def test_real_server_problems(directors, message):
    result = rs_plan('r1', directors=directors)
    assert any(message in p for p in result['problems']), result['problems']


@pytest.mark.parametrize('service', [
    dict(WEB, realserver_group='lvs_realsevers'),
    dict(WEB, realserver_group='empty'),
    dict(WEB, realservers=[]),
    dict(WEB, realservers=None),
    dict(WEB, realservers='r1'),
    dict(WEB, realservers=['r1', 'rr1']),
    dict(WEB, realservers=['r1', {'host': 'rr1'}]),
    dict(WEB, realservers=['r1', {'mac': '02:00:00:00:00:99'}]),
    dict(WEB, realservers=['r1', {'host': 'r2', 'wieght': 2}]),
    dict(WEB, realservers=['r1', 7]),
], ids=['misspelt-group', 'empty-group', 'empty-list', 'null-list', 'string', 'unknown-name', 'unknown-host',
        'no-identity', 'member-key', 'not-a-member'])
def test_both_sides_report_a_broken_pool_in_the_same_words(service):
    groups, hostvars = inventory(extra_groups={'empty': []}, directors={'d1': {'director_services': [service]}})
    director = plan([service], groups, hostvars)['problems']
    realserver = realserver_plan('r1', groups, hostvars)['problems']
    assert director and realserver == ['director d1: %s' % problem for problem in director]


def test_a_real_server_reads_no_other_pool_member():
    groups, hostvars = inventory(realservers=dict(('r%d' % i, '10.1.%d.%d' % (i // 250, 1 + i % 250))
                                                  for i in range(1, 1001)))
    hostvars['d1']['director_services'] = [WEB, dict(WEB, virtual_port=443, realservers=sorted(groups['lvs_realservers']))]
    reads = []

    class Recording(dict):
        def __getitem__(self, key):
            reads.append(key)
            return dict.__getitem__(self, key)

    assert realserver_plan('r7', groups, Recording(hostvars))['vips'] == ['10.1.0.100']
    assert sorted(set(reads)) == ['d1', 'r7']


def test_a_misspelt_director_group_is_a_problem():
    groups, hostvars = inventory(directors={'d1': {'director_services': [WEB]}})
    result = realserver_plan('r1', groups, hostvars, director_group='lvs_director')
    assert result['vips'] == [] and "'lvs_director' is not a group of the inventory" in result['problems'][0]


def test_a_real_server_in_no_pool_has_no_vips_and_no_problem():
    result = rs_plan('r2', [dict(WEB, realservers=['r1'])])
    assert result == {'vips': [], 'directors': ['d1'], 'problems': []}


# ------------------------------------------------------------------------------------------------------- pool_entries

def test_pool_entries_give_the_options_to_drain_or_restore_one_real_server():
    groups, hostvars = inventory(rs_vars={'r1': {'realserver_weight': 3}})
    services = [WEB,
                {'vip': '10.1.0.101', 'virtual_port': 80, 'realservers': [{'host': 'r1', 'weight': 5},
                                                                          {'host': 'r2', 'upper_threshold': 9}]},
                {'fwmark': 7, 'realservers': ['r2']},
                dict(WEB, virtual_address='10.1.0.102', state='absent')]
    result = plan(services, groups, hostvars)
    assert result['problems'] == []
    assert pool_entries(result, '10.1.0.21') == [
        {'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'address': '10.1.0.21', 'weight': 3},
        {'virtual_address': '10.1.0.101', 'virtual_port': 80, 'address': '10.1.0.21', 'weight': 5},
    ]
    assert pool_entries(result, '10.1.0.22') == [
        {'virtual_address': '10.1.0.100', 'virtual_port': 8080, 'address': '10.1.0.22', 'weight': 1},
        {'virtual_address': '10.1.0.101', 'virtual_port': 80, 'address': '10.1.0.22', 'weight': 1,
         'upper_threshold': 9},
        {'fwmark': 7, 'address': '10.1.0.22', 'weight': 1},
    ]
    assert pool_entries(result, '10.1.0.99') == []
    with pytest.raises(IpvsError):
        pool_entries(result, 'web1')


# ------------------------------------------------------------------------------------------ draining through a plan

WEB_SERVICE = dict(protocol='tcp', virtual_address='192.0.2.10', virtual_port=8080, family='ipv4', scheduler='wrr')


def _draining(address, service=None):
    return dict(service='tcp 192.0.2.10:8080', realserver='%s:8080' % address, active_connections=1,
                inactive_connections=0, removed=True, virtual_service=dict(service or WEB_SERVICE),
                destination=dict(address=address, port=8080, forwarding_method='route', upper_threshold=0,
                                 lower_threshold=0))


def test_a_draining_real_server_joins_its_pool_at_weight_0_and_the_plan_is_not_changed():
    plan = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=8080, scheduler='wrr',
                               realservers=[dict(address='198.51.100.11', weight=3)])], vips=['192.0.2.10'])
    before = copy.deepcopy(plan)
    staged = with_draining(plan, [_draining('198.51.100.12'), _draining('198.51.100.11')])
    assert plan == before
    assert staged['vips'] == ['192.0.2.10']
    assert staged['services'][0]['realservers'] == [
        dict(address='198.51.100.11', weight=3),  # still in the pool: it keeps its weight
        dict(address='198.51.100.12', port=8080, forwarding_method='route', upper_threshold=0, lower_threshold=0,
             weight=0)]


@pytest.mark.parametrize('services', [
    [dict(virtual_address='192.0.2.10', virtual_port=8080, state='absent')],  # set absent
    [],                                                                      # left director_services
], ids=['absent', 'gone'])
def test_a_service_that_leaves_stays_as_the_table_holds_it_with_its_draining_servers_alone(services):
    staged = with_draining(dict(services=services), [_draining('198.51.100.12')])
    assert staged['services'] == [dict(WEB_SERVICE, realservers=[dict(
        address='198.51.100.12', port=8080, forwarding_method='route', upper_threshold=0, lower_threshold=0,
        weight=0)])]


def test_nothing_draining_is_the_plan():
    plan = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=8080, realservers=[])])
    assert with_draining(plan, []) == plan
