# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.dr.plugins.filter.keepalived_config import FilterModule

HA = {'virtual_router_id': 51, 'priority': 150, 'interface': 'eth0'}
RENDER = FilterModule().filters()['keepalived_config']
WEB = dict(protocol='tcp', virtual_address='192.0.2.10', virtual_port=8080, family='ipv4', scheduler='wrr')
EXTRA = dict(protocol='tcp', virtual_address='192.0.2.11', virtual_port=8081, family='ipv4', scheduler='rr')


def draining(address, service):
    return dict(service='tcp %s:%d' % (service['virtual_address'], service['virtual_port']),
                realserver='%s:%d' % (address, service['virtual_port']), active_connections=1, inactive_connections=0,
                removed=True, virtual_service=service,
                destination=dict(address=address, port=service['virtual_port'], forwarding_method='route',
                                 upper_threshold=0, lower_threshold=0))


def test_the_first_reload_keeps_the_leaving_servers_and_their_vips_at_weight_0():
    plan = dict(services=[dict(WEB, realservers=[dict(address='198.51.100.11', weight=3)]),
                          dict(virtual_address='192.0.2.11', virtual_port=8081, state='absent')])
    final = RENDER(plan, HA)
    staged = RENDER(plan, HA, draining=[draining('198.51.100.12', WEB), draining('198.51.100.12', EXTRA)])
    assert final['problems'] == [] and staged['problems'] == []
    assert 'real_server 198.51.100.12' not in final['config'] and '192.0.2.11' not in final['config']
    config = staged['config']
    # The leaving server of the web service: weight 0, and a failing check cannot remove it with its connections.
    web = config[config.index('virtual_server 192.0.2.10 8080'):config.index('virtual_server 192.0.2.11 8081')]
    block = web[web.index('real_server 198.51.100.12 8080'):]
    assert 'weight 0' in block and 'inhibit_on_failure' in block
    assert 'real_server 198.51.100.11 8080' in web
    # The service that goes stays, with its VIP, until the second reload.
    assert 'virtual_server 192.0.2.11 8081' in config
    assert '192.0.2.11/32' in config
