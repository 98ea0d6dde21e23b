# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

import pytest

from ansible_collections.lvs.dr.plugins.module_utils import _ipvs_model as ipvs_model
from ansible_collections.lvs.dr.plugins.module_utils import _ipvs_params as ipvs_params
from ansible_collections.lvs.dr.plugins.module_utils import _ipvs_parse as ipvs_parse
from ansible_collections.lvs.dr.plugins.module_utils import _ipvs_plan as ipvs_plan

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


CORPUS = sorted(name for name in os.listdir(FIXTURES) if name.endswith('.rules'))


@pytest.mark.parametrize('name', CORPUS)
def test_round_trip_of_real_ipvsadm_save_output(name):
    text = fixture(name)
    table = ipvs_parse.parse_rules(text)
    assert len(table) > 0
    # ipvsadm -S prints no thresholds, so rendering without them must give back the exact lines (less the default
    # tunnel type that ipvsadm >= 1.30 prints and older ones cannot read).
    assert table.rules(thresholds=False) == [line.replace(' --tun-type ipip', '') for line in text.splitlines()
                                             if line.strip()]
    assert ipvs_parse.parse_rules('\n'.join(table.rules())) == table


@pytest.mark.parametrize('name', CORPUS)
def test_threshold_listing_matches_its_save_output(name):
    listing = name.replace('.rules', '.thresholds')
    if not os.path.exists(os.path.join(FIXTURES, listing)):
        pytest.fail('fixture %s has no threshold listing beside it' % name)
    table = ipvs_parse.parse_rules(fixture(name))
    conns = ipvs_parse.apply_thresholds(table, fixture(listing))
    assert set(conns) <= set(table.services)
    # Thresholds set in the captured table are rendered as -x/-y and survive a round trip.
    again = ipvs_parse.parse_rules('\n'.join(table.rules()))
    assert again == table


def test_parse_every_field():
    table = ipvs_parse.parse_rules(
        '-A -u 192.0.2.10:5060 -s sh -b sh-fallback,sh-port -p 300 -M 255.255.255.0 --pe sip -o\n'
        '-a -u 192.0.2.10:5060 -r 198.51.100.11:5060 -i -w 0 -x 10 -y 5\n'
        '-A -f 8 -6 -s mh -b mh-port -p 60 -M 64\n'
        '-a -f 8 -6 -r [2001:db8::11]:0 -m -w 3\n')
    svc = table.get(('udp', '192.0.2.10', 5060))
    assert svc.attrs() == ('sh', ('sh-fallback', 'sh-port'), 300, '255.255.255.0', True, 'sip')
    dest = svc.dests[('198.51.100.11', 5060)]
    assert dest.attrs() == ('tunnel', 0, 10, 5)
    fwm = table.get(('fwmark', 8, 'ipv6'))
    assert fwm.attrs() == ('mh', ('mh-port',), 60, '64', False, None)
    assert fwm.dests[('2001:db8::11', 0)].forwarding_method == 'masq'


def test_parse_thresholds_listing():
    table = ipvs_parse.parse_rules('-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1\n'
                                   '-A -f 7 -6 -s rr\n-a -f 7 -6 -r [2001:db8::1]:0 -g -w 1\n')
    conns = ipvs_parse.apply_thresholds(table, (
        'IP Virtual Server version 1.2.1 (size=4096)\n'
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn\n'
        '  -> RemoteAddress:Port\n'
        'TCP  192.0.2.10:80 wlc\n'
        '  -> 198.51.100.11:80             100        50         3          4\n'
        'FWM  7 IPv6 rr\n'
        '  -> [2001:db8::1]:0              0          0          0          0\n'))
    dest = table.get(('tcp', '192.0.2.10', 80)).dests[('198.51.100.11', 80)]
    assert (dest.upper_threshold, dest.lower_threshold) == (100, 50)
    expected = dict(active_connections=3, inactive_connections=4)
    assert conns[('tcp', '192.0.2.10', 80)][('198.51.100.11', 80)] == expected


def test_parse_stats_listing():
    stats = ipvs_parse.parse_stats(
        'IP Virtual Server version 1.2.1 (size=4096)\n'
        'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n'
        '  -> RemoteAddress:Port\n'
        'TCP  192.0.2.10:80                      12       72        0     4711        0\n'
        '  -> 198.51.100.11:80                    6       36        0     2355        0\n')
    entry = stats[('tcp', '192.0.2.10', 80)]
    assert entry['stats'] == dict(connections=12, in_packets=72, out_packets=0, in_bytes=4711, out_bytes=0)
    assert entry['dests'][('198.51.100.11', 80)]['in_packets'] == 36


def _svc(port=80, scheduler='wlc', dests=(), **kwargs):
    svc = ipvs_params.service_from_params(dict(virtual_address='192.0.2.10', virtual_port=port, scheduler=scheduler,
                                               **kwargs))
    ipvs_params.add_dests_from_params(svc, [dict(address=a, weight=w) for a, w in dests], '')
    return svc


def test_plan_identical_tables_is_empty():
    table = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1), ('198.51.100.12', 2)])])
    assert ipvs_plan.plan(table, table.copy()) == []


def test_plan_weight_change_is_one_edit_line():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1), ('198.51.100.12', 2)])])
    target = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1), ('198.51.100.12', 0)])])
    assert ipvs_plan.plan(current, target) == ['-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0']


def test_plan_scheduler_change_edits_the_service_in_place():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1)])])
    target = ipvs_model.Table([_svc(scheduler='rr', dests=[('198.51.100.11', 1)])])
    assert ipvs_plan.plan(current, target) == ['-E -t 192.0.2.10:80 -s rr']


def test_plan_removing_a_service_is_one_line():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1), ('198.51.100.12', 1)]), _svc(port=443)])
    target = ipvs_model.Table([_svc(port=443)])
    assert ipvs_plan.plan(current, target) == ['-D -t 192.0.2.10:80']


def test_plan_orders_deletes_before_adds():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1)])])
    target = ipvs_model.Table([_svc(dests=[('198.51.100.12', 1)])])
    assert ipvs_plan.plan(current, target) == ['-d -t 192.0.2.10:80 -r 198.51.100.11:80',
                                               '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 1']


def test_plan_clears_thresholds_explicitly_on_edit():
    current = ipvs_parse.parse_rules('-A -t 192.0.2.10:80 -s wlc\n'
                                     '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1 -x 9 -y 3')
    target = ipvs_parse.parse_rules('-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 2')
    assert ipvs_plan.plan(current, target) == ['-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 2 -x 0 -y 0']


def test_plan_of_a_large_table_from_empty_has_one_line_per_object():
    services = []
    for index in range(200):
        svc = ipvs_params.service_from_params(dict(virtual_address='192.0.2.%d' % (index % 250 + 1),
                                                   virtual_port=1000 + index))
        ipvs_params.add_dests_from_params(svc, [dict(address='10.%d.%d.%d' % (index, d // 250, d % 250 + 1))
                                                for d in range(50)], '')
        services.append(svc)
    target = ipvs_plan.merge(ipvs_model.Table(), services)
    commands = ipvs_plan.plan(ipvs_model.Table(), target)
    assert len(commands) == 200 + 200 * 50
    assert ipvs_plan.plan(target, target.copy()) == []


def test_merge_keeps_unlisted_services_and_realservers_when_asked():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1)]), _svc(port=443)])
    target = ipvs_plan.merge(current, [_svc(dests=[('198.51.100.12', 1)])], purge_dests=False)
    assert set(target.services) == {('tcp', '192.0.2.10', 80), ('tcp', '192.0.2.10', 443)}
    assert set(target.get(('tcp', '192.0.2.10', 80)).dests) == {('198.51.100.11', 80), ('198.51.100.12', 80)}
    purged = ipvs_plan.merge(current, [_svc(dests=[('198.51.100.12', 1)])], purge_services=True)
    assert list(purged.services) == [('tcp', '192.0.2.10', 80)]
    assert list(purged.get(('tcp', '192.0.2.10', 80)).dests) == [('198.51.100.12', 80)]


def test_merge_leaves_pool_alone_when_realservers_not_managed():
    current = ipvs_model.Table([_svc(dests=[('198.51.100.11', 1)])])
    target = ipvs_plan.merge(current, [_svc(scheduler='rr')], dests_managed=())
    assert list(target.get(('tcp', '192.0.2.10', 80)).dests) == [('198.51.100.11', 80)]


BAD_SERVICES = [
    (dict(virtual_address='192.0.2.300', virtual_port=80), 'virtual_address'),
    (dict(virtual_address='not-an-ip', virtual_port=80), 'virtual_address'),
    (dict(virtual_address='192.0.2.10', virtual_port=65536), 'virtual_port'),
    (dict(virtual_address='192.0.2.10', virtual_port=-1), 'virtual_port'),
    (dict(virtual_address='192.0.2.10', virtual_port=0), 'virtual_port'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, scheduler='fastest'), 'scheduler'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, scheduler_flags=['turbo']), 'scheduler_flags'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, scheduler='rr', scheduler_flags=['sh-port']),
     'scheduler_flags'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, one_packet=True), 'one_packet'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, persistence_netmask='255.255.255.0'), 'persistence_netmask'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, persistence_timeout=60, persistence_netmask='255.0.255.0'),
     'persistence_netmask'),
    (dict(virtual_address='2001:db8::10', virtual_port=80, persistence_timeout=60, persistence_netmask='129'),
     'persistence_netmask'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, persistence_engine='sip'), 'persistence_engine'),
    (dict(virtual_address='192.0.2.10', virtual_port=80, family='ipv6'), 'family'),
    (dict(fwmark=0), 'fwmark'),
    (dict(fwmark=4294967296), 'fwmark'),
    (dict(fwmark=7, virtual_address='192.0.2.10'), 'virtual_address'),
    (dict(), 'virtual_address'),
]


@pytest.mark.parametrize('params, option', BAD_SERVICES)
def test_bad_service_input_names_the_option(params, option):
    with pytest.raises(ipvs_model.IpvsError) as err:
        ipvs_params.service_from_params(params, 'services[3].')
    assert err.value.option == 'services[3].' + option
    assert option in str(err.value)


BAD_DESTS = [
    (dict(address='198.51.100.256'), 'address'),
    (dict(address='2001:db8::11'), 'address'),  # IPv6 real server behind an IPv4 service
    (dict(address='198.51.100.11', port=8080), 'port'),  # DR cannot remap ports
    (dict(address='198.51.100.11', port=8080, forwarding_method='tunnel'), 'port'),
    (dict(address='198.51.100.11', port=70000, forwarding_method='masq'), 'port'),
    (dict(address='198.51.100.11', weight=65536), 'weight'),
    (dict(address='198.51.100.11', weight=-1), 'weight'),
    (dict(address='198.51.100.11', upper_threshold=10, lower_threshold=11), 'lower_threshold'),
    (dict(address='198.51.100.11', upper_threshold=-1), 'upper_threshold'),
    (dict(address='198.51.100.11', lower_threshold=5), 'lower_threshold'),  # the kernel wants lower <= upper
    (dict(address='224.0.0.1'), 'address'),
    (dict(address='0.0.0.0'), 'address'),
    (dict(address='198.51.100.11', forwarding_method='nat'), 'forwarding_method'),
]


@pytest.mark.parametrize('params, option', BAD_DESTS)
def test_bad_realserver_input_names_the_option(params, option):
    svc = _svc()
    with pytest.raises(ipvs_model.IpvsError) as err:
        ipvs_params.add_dests_from_params(svc, [params], 'services[0].')
    assert err.value.option == 'services[0].realservers[0].' + option


def test_masq_may_remap_ports_and_fwmark_dest_port_defaults_to_zero():
    svc = _svc()
    ipvs_params.add_dests_from_params(svc, [dict(address='198.51.100.11', port=8080, forwarding_method='masq')], '')
    assert list(svc.dests) == [('198.51.100.11', 8080)]
    fwm = ipvs_params.service_from_params(dict(fwmark=7))
    ipvs_params.add_dests_from_params(fwm, [dict(address='198.51.100.11')], '')
    assert list(fwm.dests) == [('198.51.100.11', 0)]


def test_duplicate_realserver_is_an_error():
    with pytest.raises(ipvs_model.IpvsError) as err:
        ipvs_params.add_dests_from_params(_svc(), [dict(address='198.51.100.11'), dict(address='198.51.100.11')], '')
    assert 'listed twice' in str(err.value)


@pytest.mark.parametrize('value, family, expected', [
    ('24', 'ipv4', '255.255.255.0'), ('/16', 'ipv4', '255.255.0.0'), ('255.255.255.0', 'ipv4', '255.255.255.0'),
    ('32', 'ipv4', None), ('255.255.255.255', 'ipv4', None), ('64', 'ipv6', '64'), ('128', 'ipv6', None),
])
def test_netmask_normalization(value, family, expected):
    assert ipvs_model.normalize_netmask(value, family, 'persistence_netmask') == expected


def test_addresses_are_canonical():
    assert ipvs_model.normalize_address('2001:DB8:0:0::10', 'x') == ('2001:db8::10', 'ipv6')
    assert ipvs_model.normalize_address('[2001:db8::10]', 'x') == ('2001:db8::10', 'ipv6')


@pytest.mark.parametrize('value', [
    '10.0.0.1', '1.2.3.4', '0.0.0.1', '223.255.255.255', '240.0.0.1', '255.255.255.254', '192.0.2.250', '9.99.199.249',
])
def test_canonical_ipv4_fast_path_agrees_with_ipaddress(value):
    # The regular-expression path must return exactly what the ipaddress path returns.
    assert ipvs_model.normalize_address(value, 'x') == (str(ipaddress.ip_address(value)), 'ipv4')
    assert ipvs_model.normalize_address(' %s ' % value, 'x') == (str(ipaddress.ip_address(value)), 'ipv4')


@pytest.mark.parametrize('value, message', [
    ('224.0.0.1', 'not a unicast address'), ('239.255.255.255', 'not a unicast address'),
    ('0.0.0.0', 'not a unicast address'), ('255.255.255.255', 'not a unicast address'),
    ('010.0.0.1', 'not a valid'), ('1.2.3.256', 'not a valid'), ('1.2.3', 'not a valid'), ('1.2.3.4.5', 'not a valid'),
])
def test_bad_ipv4_addresses_name_the_option(value, message):
    with pytest.raises(ipvs_model.IpvsError) as err:
        ipvs_model.normalize_address(value, 'services[0].realservers[3].address')
    assert message in str(err.value) and err.value.option == 'services[0].realservers[3].address'


@pytest.mark.parametrize('arg', ['', 'a b', 'a\tb', '"x"', "x'", 'a\\b', '#x', 'x\n'])
def test_join_args_refuses_what_ipvsadm_r_would_split(arg):
    with pytest.raises(ipvs_model.IpvsError):
        ipvs_model.join_args(['-A', '-t', arg])


def test_split_listing_sections():
    out = '-A -t 192.0.2.10:80 -s wlc\nIP Virtual Server version 1.2.1 (size=4096)\nProt\nIP Virtual Server version x\n'
    sections = ipvs_parse.split_listing(out)
    assert len(sections) == 3
    assert sections[0] == '-A -t 192.0.2.10:80 -s wlc\n'


def test_the_corpus_of_captured_outputs_is_there():
    assert len(CORPUS) >= 4, 'the corpus of real ipvsadm -S -n outputs is missing from %s' % FIXTURES


def test_thresholds_from_the_captured_listing():
    table = ipvs_parse.parse_rules(fixture('ipvsadm-1.31-ipv4_dr.rules'))
    ipvs_parse.apply_thresholds(table, fixture('ipvsadm-1.31-ipv4_dr.thresholds'))
    dest = table.get(('tcp', '192.0.2.10', 8080)).dests[('198.51.100.11', 8080)]
    assert (dest.weight, dest.upper_threshold, dest.lower_threshold) == (3, 100, 50)
    assert '-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3 -x 100 -y 50' in table.rules()


def test_a_service_added_between_the_two_listings_is_skipped():
    # Another tool added tcp 203.0.113.90:15 (and a real server to the web service) after ipvsadm -S ran and before
    # the threshold listing: the -S snapshot stands, the newcomers are not read half-way.
    table = ipvs_parse.parse_rules('-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1\n')
    conns = ipvs_parse.apply_thresholds(table, (
        'IP Virtual Server version 1.2.1 (size=4096)\n'
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn\n'
        '  -> RemoteAddress:Port\n'
        'TCP  192.0.2.10:80 rr\n'
        '  -> 198.51.100.11:80            50         10         2          3\n'
        '  -> 198.51.100.19:80            0          0          0          0\n'
        'TCP  203.0.113.90:15 rr\n'
        '  -> 198.51.100.12:15            0          0          0          0\n'))
    assert table.rules() == ['-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1 -x 50 -y 10']
    assert conns == {('tcp', '192.0.2.10', 80): {('198.51.100.11', 80): dict(active_connections=2,
                                                                             inactive_connections=3)}}
