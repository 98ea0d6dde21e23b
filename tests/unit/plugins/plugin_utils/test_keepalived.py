# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""keepalived.conf from a director's plan: the text, the problems, and what no input may inject."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
import subprocess

import pytest

from ansible_collections.lvs.dr.plugins.filter.keepalived_config import FilterModule
from ansible_collections.lvs.dr.plugins.plugin_utils._keepalived import keepalived_config, keepalived_setup

WEB = {'virtual_address': '192.0.2.10', 'virtual_port': 80, 'scheduler': 'wrr',
       'realservers': [{'address': '192.0.2.21', 'weight': 3}, {'address': '192.0.2.22', 'weight': 1}]}
HA = {'virtual_router_id': 51, 'priority': 150, 'interface': 'eth0'}


def render(services=None, ha=None, **kwargs):
    plan = {'services': [WEB] if services is None else services}
    return keepalived_config(plan, HA if ha is None else ha, **kwargs)


def block(text, start):
    """The lines of the block that opens with ``start`` (without its braces)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == start + ' {')
    depth, out = 0, []
    for line in lines[first:]:
        depth += line.count('{') - line.count('}')
        out.append(line.strip())
        if depth == 0:
            return out[1:-1]
    raise AssertionError('unterminated block %s' % start)


def test_a_whole_config():
    text, problems = render(hostname='d1', header='#\n# Ansible managed\n#')
    assert problems == []
    assert text == '''#
# Ansible managed
#
global_defs {
    router_id "d1"
    enable_script_security
    vrrp_startup_delay 11
}

vrrp_instance LVS_DR {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    preempt_delay 11
    virtual_ipaddress {
        192.0.2.10/32 dev eth0
    }
}

virtual_server 192.0.2.10 80 {
    protocol TCP
    lvs_sched wrr
    lvs_method DR
    delay_loop 6
    alpha
    real_server 192.0.2.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 3
            retry 2
            delay_before_retry 2
        }
    }
    real_server 192.0.2.22 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 2
            delay_before_retry 2
        }
    }
}
'''
    # Deterministic, and the filter returns the same.
    assert render(hostname='d1', header='#\n# Ansible managed\n#')[0] == text
    keepalived_filter = FilterModule().filters()['keepalived_config']
    result = keepalived_filter({'services': [WEB]}, HA, hostname='d1', header='#\n# Ansible managed\n#')
    assert result == {'config': text, 'problems': [], 'services': [['-t', '192.0.2.10:80']], 'ready': 11.0,
                      'warnings': [], 'vips': ['192.0.2.10']}


# ---------------------------------------------------------------------------------------- a director that starts

FAST = dict(HA, delay_loop=2, check={'type': 'TCP_CHECK', 'connect_timeout': 1, 'retry': 1, 'delay_before_retry': 1})


def test_a_starting_director_waits_for_its_checks():
    """alpha, and VRRP held back until the first check of every real server has ended: 1 s (keepalived's bootstrap
    delay) + delay_loop (the random warmup) + connect_timeout, plus 1 s."""
    text, problems = render(ha=FAST)
    assert problems == []
    assert 'alpha' in block(text, 'virtual_server 192.0.2.10 80')
    assert 'vrrp_startup_delay 5' in block(text, 'global_defs')
    vrrp = block(text, 'vrrp_instance LVS_DR')
    assert vrrp.index('advert_int 1') + 1 == vrrp.index('preempt_delay 5')
    assert keepalived_setup({'services': [WEB]}, FAST)['ready'] == 5.0


@pytest.mark.parametrize('ha, ready', [
    (HA, 11),                                                   # 1 + 6 + 3, + 1
    (dict(HA, check={'type': 'TCP_CHECK'}), 13),                # keepalived's connect_timeout: 5 s
    (dict(FAST, delay_loop=2.5, check={'type': 'HTTP_GET', 'path': '/', 'connect_timeout': 0.5}), 5),  # 4 -> 4, + 1
    (dict(HA, check={'type': 'MISC_CHECK', 'script': '/bin/true', 'misc_timeout': 20}), 28),
    (dict(HA, check={'type': 'MISC_CHECK', 'script': '/bin/true'}), 14),      # misc_timeout: delay_loop
    (dict(HA, delay_loop=1200), 1000),                          # at most keepalived's limit of preempt_delay
])
def test_the_ready_time_follows_the_checks(ha, ready):
    result = keepalived_setup({'services': [WEB]}, ha)
    assert result['problems'] == []
    assert result['ready'] == ready
    assert 'vrrp_startup_delay %d' % ready in block(result['config'], 'global_defs')
    assert 'preempt_delay %d' % ready in block(result['config'], 'vrrp_instance LVS_DR')


def test_the_slowest_service_sets_the_ready_time():
    ha = dict(FAST, services=[{'virtual_address': '192.0.2.11', 'virtual_port': 80, 'delay_loop': 30}])
    result = keepalived_setup({'services': [WEB, dict(WEB, virtual_address='192.0.2.11')]}, ha)
    assert result['problems'] == []
    assert result['ready'] == 33.0        # 1 + delay_loop 30 + connect_timeout 1, + 1
    assert result['services'] == [['-t', '192.0.2.10:80'], ['-t', '192.0.2.11:80']]


@pytest.mark.parametrize('extra, global_line, vrrp_line', [
    ({'preempt_delay': 30}, 'vrrp_startup_delay 5', 'preempt_delay 30'),
    ({'preempt_delay': 0}, 'vrrp_startup_delay 5', 'preempt_delay 0'),
    ({'startup_delay': 0}, None, 'preempt_delay 5'),
    ({'startup_delay': 2.5}, 'vrrp_startup_delay 2.5', 'preempt_delay 5'),
    ({'preempt': False}, 'vrrp_startup_delay 5', 'nopreempt'),
    ({'state': 'MASTER'}, 'vrrp_startup_delay 5', None),       # keepalived clears preempt_delay on a MASTER
], ids=['preempt-delay', 'no-preempt-delay', 'no-startup-delay', 'startup-delay', 'nopreempt', 'master'])
def test_the_delays_can_be_set(extra, global_line, vrrp_line):
    text, problems = render(ha=dict(FAST, **extra))
    assert problems == []
    global_defs, vrrp = block(text, 'global_defs'), block(text, 'vrrp_instance LVS_DR')
    assert [line for line in global_defs if line.startswith('vrrp_startup_delay')] == ([global_line] if global_line else [])
    assert [line for line in vrrp if line.startswith(('preempt_delay', 'nopreempt'))] == ([vrrp_line] if vrrp_line else [])


def test_alpha_can_be_turned_off_for_all_or_one_service():
    services = [WEB, dict(WEB, virtual_address='192.0.2.11')]
    text, problems = render(services, ha=dict(HA, alpha=False, services=[
        {'virtual_address': '192.0.2.11', 'virtual_port': 80, 'alpha': True}]))
    assert problems == []
    assert 'alpha' not in block(text, 'virtual_server 192.0.2.10 80')
    assert 'alpha' in block(text, 'virtual_server 192.0.2.11 80')


def test_the_services_keepalived_owns_as_ipvsadm_names_them():
    services = [WEB, {'fwmark': 7, 'realservers': [{'address': '192.0.2.21'}]},
                {'virtual_address': '2001:db8::10', 'virtual_port': 443, 'state': 'absent'}]
    result = keepalived_setup({'services': services}, dict(HA, check={'type': 'TCP_CHECK', 'port': 80}),
                              vips=['192.0.2.10'])
    assert result['problems'] == []
    assert result['services'] == [['-t', '192.0.2.10:80'], ['-f', '7']]


def test_no_service_no_delay():
    result = keepalived_setup({'services': []}, HA, vips=['192.0.2.10'])
    assert result['ready'] is None and result['services'] == []
    assert 'vrrp_startup_delay' not in result['config'] and 'preempt_delay' not in result['config']


@pytest.mark.parametrize('extra, expected', [
    ({}, ['state BACKUP', 'interface eth0', 'virtual_router_id 51', 'priority 150', 'advert_int 1']),
    ({'state': 'MASTER', 'advert_int': 3, 'instance': 'VI_web'},
     ['state MASTER', 'interface eth0', 'virtual_router_id 51', 'priority 150', 'advert_int 3']),
    ({'preempt': False}, ['nopreempt']),
    ({'preempt_delay': 300}, ['preempt_delay 300']),
    ({'unicast_src_ip': '192.0.2.2', 'unicast_peers': ['192.0.2.3', '192.0.2.4', '192.0.2.3']},
     ['unicast_src_ip 192.0.2.2', 'unicast_peer {', '192.0.2.3', '192.0.2.4', '}']),
    ({'auth_pass': 'pa ss#!'}, ['authentication {', 'auth_type PASS', 'auth_pass "pa ss#!"', '}']),
], ids=['defaults', 'master-name-advert', 'nopreempt', 'preempt-delay', 'unicast', 'auth'])
def test_vrrp_options(extra, expected):
    text, problems = render(ha=dict(HA, **extra))
    assert problems == []
    name = extra.get('instance', 'LVS_DR')
    lines = block(text, 'vrrp_instance %s' % name)
    position = 0
    for line in expected:      # in this order
        position = lines.index(line, position) + 1
    assert lines[-3:] == ['virtual_ipaddress {', '192.0.2.10/32 dev eth0', '}']


@pytest.mark.parametrize('extra, line', [
    ({'sync_daemon': True}, 'lvs_sync_daemon eth0 inst LVS_DR'),
    ({'sync_daemon': True, 'sync_interface': 'eth1', 'sync_id': 7}, 'lvs_sync_daemon eth1 inst LVS_DR id 7'),
    ({'router_id': 'director one'}, 'router_id "director one"'),
    ({'script_user': 'keepalived_script'}, 'script_user keepalived_script'),
])
def test_global_defs(extra, line):
    text, problems = render(ha=dict(HA, **extra), hostname='d1')
    assert problems == []
    assert line in block(text, 'global_defs')
    if 'sync_daemon' not in extra:
        assert not any(item.startswith('lvs_sync_daemon') for item in block(text, 'global_defs'))


def test_vips_default_to_the_services_and_can_be_given():
    services = [WEB, dict(WEB, virtual_address='192.0.2.11'), {'virtual_address': '192.0.2.12', 'virtual_port': 80,
                                                               'state': 'absent'}]
    text, problems = render(services)
    assert problems == []
    assert block(text, 'virtual_ipaddress') == ['192.0.2.10/32 dev eth0', '192.0.2.11/32 dev eth0']
    assert 'virtual_server 192.0.2.12 80 {' not in text      # absent services are left out
    text, problems = render(services, vips=['192.0.2.10', '192.0.2.11', '192.0.2.50'])
    assert problems == []
    assert block(text, 'virtual_ipaddress')[-1] == '192.0.2.50/32 dev eth0'


def test_ipv6():
    service = {'virtual_address': '2001:db8::10', 'virtual_port': 443, 'realservers': [{'address': '2001:db8::21'}]}
    text, problems = render([service], ha=dict(HA, unicast_src_ip='2001:db8::2', unicast_peers=['2001:db8::3']))
    assert problems == []
    assert '2001:db8::10/128 dev eth0' in block(text, 'virtual_ipaddress')
    assert 'real_server 2001:db8::21 443 {' in text


def test_service_options():
    services = [
        dict(WEB, persistence_timeout=600, persistence_netmask='255.255.255.0'),
        {'fwmark': 7, 'scheduler': 'sh', 'scheduler_flags': ['sh-port', 'sh-fallback'],
         'realservers': [{'address': '192.0.2.21'}]},
        {'virtual_address': '192.0.2.11', 'virtual_port': 53, 'protocol': 'udp', 'one_packet': True,
         'persistence_timeout': 60, 'persistence_engine': 'sip', 'realservers': [{'address': '192.0.2.21'}]},
        {'virtual_address': '192.0.2.12', 'virtual_port': 8080, 'protocol': 'sctp',
         'realservers': [{'address': '192.0.2.21', 'weight': 2, 'upper_threshold': 100, 'lower_threshold': 10},
                         {'address': '192.0.2.23', 'forwarding_method': 'tunnel'},
                         {'address': '192.0.2.24', 'port': 9090, 'forwarding_method': 'masq'}]},
    ]
    ha = dict(HA, services=[{'fwmark': 7, 'check': {'type': 'TCP_CHECK', 'port': 443}}])
    text, problems = render(services, ha=ha, vips=['192.0.2.10', '192.0.2.11', '192.0.2.12'])
    assert problems == []
    web = block(text, 'virtual_server 192.0.2.10 80')
    assert web[:6] == ['protocol TCP', 'lvs_sched wrr', 'lvs_method DR', 'persistence_timeout 600',
                       'persistence_granularity 255.255.255.0', 'delay_loop 6']
    mark = block(text, 'virtual_server fwmark 7')
    assert mark[:5] == ['lvs_sched sh', 'sh-fallback', 'sh-port', 'lvs_method DR', 'delay_loop 6']
    assert 'protocol TCP' not in mark
    assert block(text, 'real_server 192.0.2.21')[:3] == ['weight 1', 'TCP_CHECK {', 'connect_port 443']
    dns = block(text, 'virtual_server 192.0.2.11 53')
    assert dns[:7] == ['protocol UDP', 'lvs_sched wlc', 'ops', 'lvs_method DR', 'persistence_timeout 60',
                       'persistence_engine sip', 'delay_loop 6']
    sctp = block(text, 'virtual_server 192.0.2.12 8080')
    assert sctp[0] == 'protocol SCTP'
    first = sctp.index('real_server 192.0.2.21 8080 {') + 1
    assert sctp[first:first + 3] == ['weight 2', 'uthreshold 100', 'lthreshold 10']
    assert sctp[sctp.index('real_server 192.0.2.23 8080 {') + 1:][:2] == ['weight 1', 'lvs_method TUN']
    assert sctp[sctp.index('real_server 192.0.2.24 9090 {') + 1:][:2] == ['weight 1', 'lvs_method NAT']


def test_a_drained_server_keeps_weight_0_with_inhibit():
    service = dict(WEB, realservers=[{'address': '192.0.2.21', 'weight': 3}, {'address': '192.0.2.22', 'weight': 0}])
    text, problems = render([service])
    assert problems == []
    assert block(text, 'real_server 192.0.2.22 80')[:2] == ['weight 0', 'inhibit_on_failure']
    assert 'inhibit_on_failure' not in block(text, 'real_server 192.0.2.21 80')
    # inhibit_on_failure on the service covers every server once.
    text, problems = render([service], ha=dict(HA, inhibit_on_failure=True))
    assert 'inhibit_on_failure' in block(text, 'virtual_server 192.0.2.10 80')
    assert 'inhibit_on_failure' not in block(text, 'real_server 192.0.2.22 80')


@pytest.mark.parametrize('check, expected', [
    ({'type': 'TCP_CHECK'}, ['TCP_CHECK {', '}']),
    ({'type': 'TCP_CHECK', 'port': 8081, 'connect_timeout': 1.5, 'retry': 0, 'delay_before_retry': 0.25},
     ['TCP_CHECK {', 'connect_port 8081', 'connect_timeout 1.5', 'retry 0', 'delay_before_retry 0.25', '}']),
    ({'type': 'HTTP_GET', 'path': '/healthz'}, ['HTTP_GET {', 'url {', 'path "/healthz"', '}', '}']),
    ({'type': 'HTTP_GET', 'path': '/h?a=1&b=#!{x}', 'status_code': [200, '301-302'], 'virtualhost': 'www.example.org'},
     ['HTTP_GET {', 'virtualhost "www.example.org"', 'url {', 'path "/h?a=1&b=#!{x}"', 'status_code 200 301-302',
      '}', '}']),
    ({'type': 'SSL_GET', 'path': '/', 'status_code': 204},
     ['SSL_GET {', 'url {', 'path "/"', 'status_code 204', '}', '}']),
    ({'type': 'MISC_CHECK', 'script': '/usr/local/bin/check-web --port 80', 'misc_timeout': 5, 'retry': 1},
     ['MISC_CHECK {', 'misc_path "/usr/local/bin/check-web --port 80"', 'misc_timeout 5', 'retry 1', '}']),
    ({'type': 'MISC_CHECK', 'script': ['/opt/my checks/web', 'a b', '#1', '{x}']},
     ['MISC_CHECK {', "misc_path \"'/opt/my checks/web' 'a b' '#1' '{x}'\"", '}']),
], ids=['tcp', 'tcp-options', 'http', 'http-options', 'ssl', 'misc', 'misc-quoted'])
def test_health_checks(check, expected):
    text, problems = render(ha=dict(HA, check=check))
    assert problems == []
    lines = block(text, 'real_server 192.0.2.21 80')
    assert lines[1:] == expected
    assert ('script_user root' in block(text, 'global_defs')) == (check['type'] == 'MISC_CHECK')


def test_per_service_settings():
    services = [WEB, dict(WEB, virtual_address='192.0.2.11')]
    ha = dict(HA, delay_loop=10, services=[{
        'virtual_address': '192.0.2.11', 'virtual_port': 80, 'protocol': 'tcp',
        'check': {'type': 'HTTP_GET', 'path': '/'}, 'delay_loop': 2.5, 'quorum': 3, 'hysteresis': 1,
        'sorry_server': '192.0.2.99', 'inhibit_on_failure': True}])
    text, problems = render(services, ha=ha)
    assert problems == []
    first = block(text, 'virtual_server 192.0.2.10 80')
    assert 'delay_loop 10' in first and 'TCP_CHECK {' in first and 'quorum 3' not in first
    second = block(text, 'virtual_server 192.0.2.11 80')
    assert second[:10] == ['protocol TCP', 'lvs_sched wrr', 'lvs_method DR', 'delay_loop 2.5', 'alpha',
                           'inhibit_on_failure', 'quorum 3', 'hysteresis 1', 'sorry_server 192.0.2.99 80',
                           'real_server 192.0.2.21 80 {']
    assert 'HTTP_GET {' in second


P = 'director_keepalived.'


@pytest.mark.parametrize('ha, services, message', [
    ({'virtual_router_id': 0}, None, P + 'virtual_router_id: 0 is out of range 1..255'),
    ({'virtual_router_id': 256}, None, P + 'virtual_router_id: 256 is out of range 1..255'),
    ({'virtual_router_id': None}, None, P + 'virtual_router_id is required'),
    ({'priority': 255}, None, P + 'priority: 255 is out of range 1..254'),
    ({'priority': 'high'}, None, P + "priority: 'high' is not an integer"),
    ({'interface': None}, None, P + 'interface is required'),
    ({'interface': 'eth0 x'}, None, P + "interface: 'eth0 x' is not a valid interface name"),
    ({'instance': 'VI {'}, None, P + "instance: 'VI {' is not a valid VRRP instance name"),
    ({'state': 'master'}, None, P + "state: must be MASTER or BACKUP, got 'master'"),
    ({'state': 'MASTER', 'preempt': False}, None, P + 'state: MASTER does not work with director_keepalived.preempt false'),
    ({'preempt': False, 'preempt_delay': 10}, None, P + 'preempt_delay: keepalived ignores it'),
    ({'preempt': 'no'}, None, P + "preempt: 'no' is not a boolean"),
    ({'advert_int': 0}, None, P + 'advert_int: 0 is out of range 1..255 seconds'),
    ({'advert_int': 1.5}, None, P + 'advert_int: 1.5 is not whole seconds, which VRRP version 2 (IPv4) needs'),
    ({'advert_int': 0.005}, [{'virtual_address': '2001:db8::10', 'virtual_port': 80,
                              'realservers': [{'address': '2001:db8::21'}]}],
     P + 'advert_int: 0.005 is out of range 0.01..40.95 seconds'),
    ({'advert_int': 0.125}, [{'virtual_address': '2001:db8::10', 'virtual_port': 80,
                              'realservers': [{'address': '2001:db8::21'}]}],
     P + 'advert_int: 0.125 is not a whole number of centiseconds'),
    ({'preempt_delay': 1001}, None, P + 'preempt_delay: 1001 is out of range 0..1000 seconds'),
    ({'startup_delay': 1001}, None, P + 'startup_delay: 1001 is out of range 0..1000 seconds'),
    ({'startup_delay': 'soon'}, None, P + "startup_delay: 'soon' is not a number of seconds"),
    ({'alpha': 'yes'}, None, P + "alpha: 'yes' is not a boolean"),
    ({'auth_pass': '123456789'}, None, P + 'auth_pass: longer than 8 bytes'),
    ({'unicast_src_ip': '192.0.2.2'}, None, P + 'unicast_src_ip needs director_keepalived.unicast_peers'),
    ({'unicast_peers': ['2001:db8::3']}, None, P + 'unicast_peers[0]: 2001:db8::3 is ipv6 but the VIPs are ipv4'),
    ({'unicast_peers': ['not-an-ip']}, None, P + "unicast_peers[0]: 'not-an-ip' is not a valid IPv4 or IPv6"),
    ({'sync_id': 3}, None, P + 'sync_id: only with director_keepalived.sync_daemon true'),
    ({'sync_daemon': True, 'sync_id': 256}, None, P + 'sync_id: 256 is out of range 0..255'),
    ({'script_user': 'root; x'}, None, P + "script_user: 'root; x' is not a valid user name"),
    ({'bogus': 1}, None, P[:-1] + ': unknown key bogus'),
    ({'check': {'type': 'PING_CHECK'}}, None, P + "check.type: unknown health check 'PING_CHECK'"),
    ({'check': {'type': 'MISC_CHECK'}}, None, P + 'check.script: MISC_CHECK needs the script to run'),
    ({'check': {'type': 'MISC_CHECK', 'script': 'check.sh'}}, None,
     P + "check.script: the program 'check.sh' must be an absolute path"),
    ({'check': {'type': 'MISC_CHECK', 'script': '/bin/check "x'}}, None, P + 'check.script: '),
    ({'check': {'type': 'MISC_CHECK', 'script': '/bin/true', 'path': '/'}}, None,
     P + 'check.path: not an option of MISC_CHECK (only of HTTP_GET, SSL_GET)'),
    ({'check': {'type': 'HTTP_GET'}}, None, P + 'check.path: HTTP_GET needs the path'),
    ({'check': {'type': 'HTTP_GET', 'path': 'healthz'}}, None, P + "check.path: 'healthz' must start with /"),
    ({'check': {'type': 'HTTP_GET', 'path': '/', 'status_code': [700]}}, None,
     P + 'check.status_code: 700 is not an HTTP status code'),
    ({'check': {'type': 'HTTP_GET', 'path': '/', 'status_code': '299-200'}}, None,
     P + "check.status_code: '299-200' is not"),
    ({'check': {'type': 'TCP_CHECK', 'path': '/'}}, None, P + 'check.path: not an option of TCP_CHECK'),
    ({'check': {'type': 'TCP_CHECK', 'script': '/bin/true'}}, None, P + 'check.script: not an option of TCP_CHECK (only of MISC_CHECK)'),
    ({'check': {'type': 'TCP_CHECK', 'port': 0}}, None, P + 'check.port: 0 is out of range 1..65535'),
    ({'check': {'type': 'TCP_CHECK', 'connect_timeout': -1}}, None, P + 'check.connect_timeout: -1 is out of range'),
    ({'check': {'type': 'TCP_CHECK', 'retry': 'x'}}, None, P + "check.retry: 'x' is not an integer"),
    ({'delay_loop': 0}, None, P + 'delay_loop: 0 is out of range 1..86400 seconds'),
    ({'services': [{'virtual_address': '192.0.2.99', 'virtual_port': 80}]}, None,
     P + 'services[0]: no present service of the plan has this identity'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'quorum': 5}]}, None,
     P + 'services[0].quorum: 5 is above the total weight 4'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'quorum': 2, 'hysteresis': 2}]}, None,
     P + 'services[0].hysteresis: 2 must be below the quorum 2'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'hysteresis': 1}]}, None,
     P + 'services[0].hysteresis: only with a quorum'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'sorry_server': '2001:db8::9'}]}, None,
     P + 'services[0].sorry_server: 2001:db8::9 is ipv6 but service tcp 192.0.2.10:80 is ipv4'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80},
                   {'virtual_address': '192.0.2.10', 'virtual_port': 80}]}, None,
     P + 'services[1]: the same service as director_keepalived.services[0]'),
    ({'services': [{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'check': {'type': 'X'}}]}, None,
     P + "services[0].check.type: unknown health check 'X'"),
    ({}, [{'fwmark': 3, 'realservers': [{'address': '192.0.2.21'}]}], 'no VIP for the VRRP instance'),
    ({}, [dict(WEB, realservers=[])], 'service tcp 192.0.2.10:80: no real server'),
    ({}, [dict(WEB, realservers=[{'address': '192.0.2.21', 'forwarding_method': 'bridge'}])],
     "forwarding_method 'bridge' has no keepalived lvs_method"),
    ({}, [dict(WEB, realservers=[{'address': '192.0.2.21', 'weight': 70000}])], 'weight: 70000 is out of range'),
    ({}, [dict(WEB), dict(WEB, virtual_address='2001:db8::10', realservers=[{'address': '2001:db8::21'}])],
     'mix IPv4 and IPv6 (2001:db8::10)'),
    ({'auth_pass': 'x'}, [{'virtual_address': '2001:db8::10', 'virtual_port': 80,
                           'realservers': [{'address': '2001:db8::21'}]}],
     P + 'auth_pass: IPv6 instances use VRRP version 3'),
], ids=lambda value: None)
def test_problems_name_the_option(ha, services, message):
    _text, problems = render(services, ha=dict(HA, **ha))
    assert any(problem.startswith(message) or message in problem for problem in problems), problems


def test_a_firewall_mark_service_needs_a_check_port_and_its_vips():
    service = {'fwmark': 3, 'realservers': [{'address': '192.0.2.21'}]}
    _text, problems = render([service], vips=['192.0.2.10'])
    assert problems == ['director_keepalived.check.port: service fwmark 3 has real servers without a port (a '
                        'firewall-mark or persistent port-0 service); the TCP_CHECK needs the port to connect to']
    text, problems = render([service], ha=dict(HA, check={'type': 'TCP_CHECK', 'port': 80}), vips=['192.0.2.10'])
    assert problems == []
    assert 'real_server 192.0.2.21 {' in text
    # Every service's VIP must be held by the instance.
    _text, problems = render([WEB], vips=['192.0.2.11'])
    assert problems == ['service tcp 192.0.2.10:80: its VIP 192.0.2.10 is not among the VIPs of the VRRP instance']


def test_a_persistent_port_0_service():
    service = dict(WEB, virtual_port=0, persistence_timeout=300)
    text, problems = render([service], ha=dict(HA, check={'type': 'TCP_CHECK', 'port': 443},
                                               services=[{'virtual_address': '192.0.2.10', 'virtual_port': 0,
                                                          'sorry_server': '192.0.2.99'}]))
    assert problems == []
    lines = block(text, 'virtual_server 192.0.2.10')
    assert 'persistence_timeout 300' in lines and 'sorry_server 192.0.2.99' in lines
    assert 'real_server 192.0.2.21 {' in lines


# Anything a user gives that would reach the file as more than one value.
INJECTIONS = ['x\ny', 'x\r\n}', 'x"y', 'x\\ny', '${_HASH}', '$_PWD x', 'x\ty', '\x00']


@pytest.mark.parametrize('value', INJECTIONS)
@pytest.mark.parametrize('where', ['path', 'virtualhost', 'script', 'script-list', 'router_id', 'auth_pass'])
def test_no_input_injects_config(value, where):
    ha = dict(HA)
    if where == 'path':
        ha['check'] = {'type': 'HTTP_GET', 'path': '/' + value}
    elif where == 'virtualhost':
        ha['check'] = {'type': 'HTTP_GET', 'path': '/', 'virtualhost': value}
    elif where == 'script':
        ha['check'] = {'type': 'MISC_CHECK', 'script': '/bin/check ' + value}
    elif where == 'script-list':
        ha['check'] = {'type': 'MISC_CHECK', 'script': ['/bin/check', value]}
    else:
        ha[where] = value[:8]
    text, problems = render(ha=ha)
    assert len(problems) == 1, problems
    assert problems[0].startswith(P + {'path': 'check.path', 'virtualhost': 'check.virtualhost', 'script': 'check.script',
                                       'script-list': 'check.script[1]'}.get(where, where) + ': ')
    # The value is refused, not rendered: the text is the config without it.
    assert value[:8] not in text
    assert text.count('{') == text.count('}')


@pytest.mark.parametrize('value', ["it's", "a'b"])
def test_a_single_quote_in_a_script_argument_is_refused(value):
    _text, problems = render(ha=dict(HA, check={'type': 'MISC_CHECK', 'script': ['/bin/check', value]}))
    assert problems and problems[0].startswith('director_keepalived.check.script[1]: ')


def test_the_input_is_not_modified():
    services = [copy.deepcopy(WEB)]
    ha = dict(HA, services=[{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'quorum': 1}])
    before = copy.deepcopy((services, ha))
    render(services, ha=ha)
    assert (services, ha) == before


@pytest.mark.parametrize('plan', ['text', None, {'services': 'x'}])
def test_a_plan_that_is_not_one(plan):
    _text, problems = keepalived_config(plan, HA)
    assert problems[0].startswith('the plan must be a director plan or a list of services')


# ---------------------------------------------------------------------------------------- extra lines

def test_extra_lines_go_to_the_end_of_their_blocks():
    text, problems = render(ha=dict(
        HA, global_defs_extra=['vrrp_garp_master_refresh 60'],
        vrrp_instance_extra=['track_interface {', 'eth1', '}'],
        check={'type': 'TCP_CHECK', 'extra': ['bindto 192.0.2.2']},
        services=[{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'extra': ['  ha_suspend  ']}]))
    assert problems == []
    assert block(text, 'global_defs')[-1] == 'vrrp_garp_master_refresh 60'
    assert block(text, 'vrrp_instance LVS_DR')[-3:] == ['track_interface {', 'eth1', '}']
    # Indented by the blocks they open, like the rest of the file.
    assert '\n    track_interface {\n        eth1\n    }\n}\n' in text
    server = block(text, 'virtual_server 192.0.2.10 80')
    assert server.index('ha_suspend') < server.index('real_server 192.0.2.21 80 {')
    assert block(text, 'TCP_CHECK')[-1] == 'bindto 192.0.2.2'
    assert text.count('bindto 192.0.2.2') == 2      # the check of each real server


def test_no_extra_lines_no_change():
    assert render(ha=dict(HA, global_defs_extra=[], services=[
        {'virtual_address': '192.0.2.10', 'virtual_port': 80, 'extra': []}])) == render()


@pytest.mark.parametrize('extra, message', [
    ('alpha', "director_keepalived.services[0].extra: expected a list of lines, got 'alpha'"),
    ([''], "director_keepalived.services[0].extra[0]: expected a non-empty line of keepalived.conf, got ''"),
    ([3], 'director_keepalived.services[0].extra[0]: expected a non-empty line of keepalived.conf, got 3'),
    (['alpha\n}\nvirtual_server 10.0.0.1 80 {'],
     "director_keepalived.services[0].extra[0]: 'alpha\\n}\\nvirtual_server 10.0.0.1 80 {' holds the control "
     "character '\\n'; each item is one line"),
    (['}', 'virtual_server 10.0.0.1 80 {'],
     "director_keepalived.services[0].extra[0]: '}' closes a block it did not open"),
    (['track_interface {', 'eth1'], 'director_keepalived.services[0].extra: 1 block opened and not closed'),
    (['x' * 901], 'director_keepalived.services[0].extra[0]: longer than 900 bytes'),
])
def test_extra_lines_stay_inside_their_block(extra, message):
    service = {'virtual_address': '192.0.2.10', 'virtual_port': 80, 'extra': extra}
    _text, problems = render(ha=dict(HA, services=[service]))
    assert problems == [message]


def test_braces_in_quotes_and_comments_do_not_count():
    _text, problems = render(ha=dict(HA, global_defs_extra=['router_id "a}b"', 'notification_email_from x # }{']))
    assert problems == []


@pytest.mark.parametrize('where, ha', [
    ('director_keepalived.global_defs_extra[0]', dict(HA, global_defs_extra=['}'])),
    ('director_keepalived.vrrp_instance_extra[0]', dict(HA, vrrp_instance_extra=['}'])),
    ('director_keepalived.check.extra[0]', dict(HA, check={'type': 'TCP_CHECK', 'extra': ['}']})),
])
def test_every_extra_option_is_checked_and_named(where, ha):
    _text, problems = render(ha=ha)
    assert problems == ["%s: '}' closes a block it did not open" % where]


# ---------------------------------------------------------------------------------------- keepalived's own parser

# tests/keepalived/check-config.sh: keepalived --config-test of Debian 12's keepalived, which units do not fetch.
KEEPALIVED = os.environ.get('LVS_DR_KEEPALIVED_CHECK', '')


def samples():
    """Configs that cover every option, by name: what keepalived's own parser must accept."""
    return {
        'single': render(hostname='d1'),
        'full': render([dict(WEB, persistence_timeout=600, persistence_netmask='255.255.255.0',
                             realservers=[{'address': '192.0.2.21', 'weight': 3},
                                          {'address': '192.0.2.22', 'weight': 0}]),
                        {'fwmark': 7, 'scheduler': 'sh', 'scheduler_flags': ['sh-port'],
                         'realservers': [{'address': '192.0.2.21'}]},
                        {'virtual_address': '192.0.2.11', 'virtual_port': 53, 'protocol': 'udp', 'one_packet': True,
                         'realservers': [{'address': '192.0.2.21'}]},
                        {'virtual_address': '192.0.2.12', 'virtual_port': 8080, 'protocol': 'sctp',
                         'persistence_timeout': 60,
                         'realservers': [{'address': '192.0.2.21', 'weight': 2, 'upper_threshold': 100,
                                          'lower_threshold': 10},
                                         {'address': '192.0.2.23', 'forwarding_method': 'tunnel'},
                                         {'address': '192.0.2.24', 'port': 9090, 'forwarding_method': 'masq'}]},
                        {'virtual_address': '192.0.2.13', 'virtual_port': 0, 'persistence_timeout': 300,
                         'realservers': [{'address': '192.0.2.21'}]}],
                       ha=dict(HA, unicast_src_ip='192.0.2.2', unicast_peers=['192.0.2.3'], auth_pass='s3cr#t!',
                               sync_daemon=True, sync_id=9, preempt_delay=30, advert_int=2, delay_loop=10,
                               check={'type': 'TCP_CHECK', 'connect_timeout': 1.5, 'retry': 0,
                                      'delay_before_retry': 0.25, 'extra': ['bindto 192.0.2.2']},
                               global_defs_extra=['vrrp_garp_master_refresh 60', 'lvs_timeouts tcp 900 udp 60'],
                               vrrp_instance_extra=['garp_master_delay 2', 'garp_master_refresh 60'],
                               services=[
                                   {'virtual_address': '192.0.2.10', 'virtual_port': 80, 'quorum': 2, 'hysteresis': 1,
                                    'sorry_server': '192.0.2.99', 'inhibit_on_failure': True, 'delay_loop': 2.5,
                                    'extra': ['ha_suspend', 'virtualhost "www.example.org"  # {not a block}'],
                                    'check': {'type': 'HTTP_GET', 'path': '/h?a=#!{x}', 'status_code': [200, '301-302'],
                                              'virtualhost': 'www.example.org'}},
                                   {'fwmark': 7, 'check': {'type': 'MISC_CHECK', 'misc_timeout': 5, 'retry': 1,
                                                           'script': ['/opt/my checks/web', 'a b', '#1', '{x}']}},
                                   {'virtual_address': '192.0.2.11', 'virtual_port': 53, 'protocol': 'udp',
                                    'check': {'type': 'SSL_GET', 'path': '/', 'port': 443}},
                                   {'virtual_address': '192.0.2.13', 'virtual_port': 0,
                                    'check': {'type': 'TCP_CHECK', 'port': 22}}]),
                       vips=['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13'], hostname='director 1',
                       header='#\n# Ansible managed\n#'),
        'ipv6': render([{'virtual_address': '2001:db8::10', 'virtual_port': 443,
                         'realservers': [{'address': '2001:db8::21'}, {'address': '2001:db8::22', 'weight': 0}]}],
                       ha=dict(HA, preempt=False, unicast_src_ip='2001:db8::2', unicast_peers=['2001:db8::3'],
                               advert_int=0.25,
                               check={'type': 'SSL_GET', 'path': '/healthz', 'status_code': '200-204'})),
        'master': render(ha=dict(HA, state='MASTER', priority=254, instance='VI_1', interface='eth1',
                                 sync_daemon=True, sync_interface='eth2', script_user='root',
                                 check={'type': 'MISC_CHECK', 'script': '/usr/lib/nagios/plugins/check_http -H x'})),
    }


@pytest.mark.parametrize('name, sample', sorted(samples().items()))
def test_the_samples_have_no_problem(name, sample):
    assert sample[1] == [], name


@pytest.mark.skipif(not KEEPALIVED, reason='LVS_DR_KEEPALIVED_CHECK (tests/keepalived/check-config.sh) not set')
def test_keepalived_accepts_the_rendered_configs(tmp_path):
    paths = []
    for name, (text, _problems) in sorted(samples().items()):
        path = tmp_path / ('%s.conf' % name)
        path.write_text(text)
        paths.append(str(path))
    result = subprocess.run([KEEPALIVED] + paths, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    if result.returncode == 77:
        pytest.skip(result.stdout)
    assert result.returncode == 0, result.stdout
    assert len(re.findall(r'^OK ', result.stdout, re.M)) == len(paths), result.stdout
    # The check is not vacuous: what keepalived refuses fails it.
    broken = tmp_path / 'broken.conf'
    broken.write_text(samples()['single'][0].replace('lvs_sched wrr', 'lvs_sched fastest'))
    result = subprocess.run([KEEPALIVED, str(broken)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    assert result.returncode == 1, result.stdout
    assert "Invalid lvs_scheduler 'fastest'" in result.stdout


@pytest.mark.skipif(not KEEPALIVED, reason='LVS_DR_KEEPALIVED_CHECK (tests/keepalived/check-config.sh) not set')
def test_keepalived_judges_the_extra_lines(tmp_path):
    """The filter passes an unknown keyword in extra lines; keepalived's config test refuses it, naming it."""
    text, problems = render(ha=dict(HA, check={'type': 'TCP_CHECK', 'extra': ['connect_bogus 1']}))
    assert problems == []
    path = tmp_path / 'extra.conf'
    path.write_text(text)
    result = subprocess.run([KEEPALIVED, str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    assert result.returncode == 1, result.stdout
    assert "Unknown keyword 'connect_bogus'" in result.stdout


DRAINED = [{'virtual_address': '192.0.2.10', 'virtual_port': 80,
            'realservers': [{'address': '192.0.2.21', 'weight': 0}, {'address': '192.0.2.22', 'weight': 0}]},
           {'fwmark': 7, 'realservers': [{'address': '192.0.2.21', 'weight': 0}]},
           {'virtual_address': '192.0.2.11', 'virtual_port': 443, 'realservers': [{'address': '192.0.2.21'},
                                                                                  {'address': '192.0.2.22', 'weight': 0}]}]


DRAINED_HA = dict(HA, check={'type': 'TCP_CHECK', 'port': 80})


def test_a_service_with_every_real_server_at_weight_0_has_its_two_warnings():
    result = keepalived_setup({'services': DRAINED}, DRAINED_HA)
    assert result['problems'] == []
    assert len(result['warnings']) == 4  # two services without weight; the third has one real server above 0
    quorum = 'Warning - quorum 1 for [192.0.2.10]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0'
    assert [bool(re.search(p, quorum)) for p in result['warnings']] == [True, False, False, False]
    fwmark = 'Virtual server FWM 7: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295'
    assert re.search(result['warnings'][3], fwmark)
    assert keepalived_setup({'services': [WEB]}, HA)['warnings'] == []
    # An explicit quorum is the user's: above the pool's weight it is a problem (named), not a warning to accept.
    quorum = keepalived_setup({'services': DRAINED[:1]}, dict(HA, services=[{'virtual_address': '192.0.2.10', 'virtual_port': 80, 'quorum': 1}]))
    assert quorum['warnings'] == [] and 'quorum: 1 is above the total weight 0' in quorum['problems'][0]


@pytest.mark.skipif(not KEEPALIVED, reason='LVS_DR_KEEPALIVED_CHECK (tests/keepalived/check-config.sh) not set')
def test_keepalived_prints_no_more_than_the_warnings_of_a_drained_service(tmp_path):
    """keepalived --config-test refuses a service whose real servers are all at weight 0, with exactly the lines of
    ``warnings`` (each of them once per such service); lvs.dr.keepalived_conf accepts the file for them."""
    result = keepalived_setup({'services': DRAINED}, DRAINED_HA, hostname='d1')
    path = tmp_path / 'drained.conf'
    path.write_text(result['config'])
    check = subprocess.run([KEEPALIVED, str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, check=False)
    assert check.returncode == 1, check.stdout
    said = [line.strip() for line in check.stdout.splitlines()[2:] if line.strip()]
    assert len(said) == 4, check.stdout
    assert all(any(re.search(p, line) for p in result['warnings']) for line in said), check.stdout
    assert all(any(re.search(p, line) for line in said) for p in result['warnings']), check.stdout
