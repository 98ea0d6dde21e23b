# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: director_engine
short_description: The engine of an LVS-DR director, and the VRRP settings of a keepalived director from the inventory
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
description:
  - Checks the engine of a director of the M(lvs.dr.director) role - V(ipvsadm) (M(lvs.dr.ipvs_table), the rules file
    and its restore unit, M(lvs.dr.director_vips)) or V(keepalived) (C(keepalived.conf) from
    P(lvs.dr.keepalived_config#filter); keepalived places the VIPs and fills the table).
  - For V(keepalived), completes O(ha) from the inventory, keeping every value it gives - C(priority) from
    O(priority), C(interface) from O(interface), C(unicast_peers) the addresses of the other hosts of O(group) on their
    C(director_interface) (or this director's interface name when they set none) from their facts, C(unicast_src_ip)
    this director's address on C(interface) from O(facts). Addresses are of the family of the VIPs of O(plan).
  - Problems are returned, not raised, each naming the variable - an unknown engine, a missing or shared priority, a
    priority given twice, an unknown group, a director of the group that declares the other engine, a director
    without facts.
options:
  _input:
    description: The director's engine (C(director_engine)).
    type: str
    required: true
  ha:
    description: The director's VRRP and health-check settings (C(director_ha)), as P(lvs.dr.keepalived_config#filter) takes them.
    type: dict
    default: {}
  plan:
    description: The director's plan (P(lvs.dr.director_plan#filter)); the family of its VIPs chooses the addresses.
    type: raw
  hostname:
    description: The director's inventory name (C(inventory_hostname)).
    type: str
    default: ''
  groups:
    description: The inventory's groups (C(groups)).
    type: dict
  hostvars:
    description:
      - The inventory's host variables (C(hostvars)); the other directors' facts, C(director_interface),
        C(director_engine) and C(director_ha_priority) are read.
    type: raw
  facts:
    description: The director's facts (C(ansible_facts)).
    type: dict
  interface:
    description: The director's C(director_interface).
    type: str
    default: ''
  priority:
    description: The director's VRRP priority (C(director_ha_priority), 1-254).
    type: int
  group:
    description: The inventory group of the directors that share the VIPs (C(director_ha_group)).
    type: str
    default: lvs_directors
'''

EXAMPLES = r'''
- name: Check the engine and complete the VRRP settings
  ansible.builtin.set_fact:
    _director_engine: >-
      {{ director_engine | lvs.dr.director_engine(ha=director_ha, plan=_director_plan, hostname=inventory_hostname,
         groups=groups, hostvars=hostvars, facts=ansible_facts, interface=director_interface,
         priority=director_ha_priority, group='lvs_directors') }}
'''

RETURN = r'''
_value:
  description: The engine, its settings and its problems.
  type: dict
  contains:
    engine:
      description: The engine, as given.
      type: str
    ha:
      description: The completed VRRP settings for P(lvs.dr.keepalived_config#filter); empty for V(ipvsadm).
      type: dict
    peers:
      description: The inventory names of the other directors of O(group) (V(keepalived) only).
      type: list
      elements: str
    problems:
      description: Every reason the engine cannot be configured, one sentence each naming the variable.
      type: list
      elements: str
    unresolved_hosts:
      description: Directors of O(group) whose facts are missing (gather them and ask again).
      type: list
      elements: str
'''

from ansible_collections.lvs.dr.plugins.plugin_utils._engine import DEFAULT_GROUP, director_engine


def _director_engine(engine, ha=None, plan=None, hostname='', groups=None, hostvars=None, facts=None, interface='',
                     priority=None, group=DEFAULT_GROUP):
    return director_engine(engine, ha=ha, plan=plan, hostname=hostname, groups=groups, hostvars=hostvars, facts=facts,
                           interface=interface, priority=priority, group=group)


class FilterModule(object):

    def filters(self):
        return {'director_engine': _director_engine}
