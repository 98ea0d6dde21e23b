# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: director_plan
short_description: Resolve an LVS-DR director's services and pools against the inventory
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.inventory
description:
  - Turns C(director_services) into what the M(lvs.dr.director) role applies on one director, on the controller, before
    anything on the host changes. This is the role's planner; it is usable on its own.
  - A pool is an explicit C(realservers) list (inventory host names, addresses, or dicts with C(host) or
    C(address) and destination options), or the hosts of C(realserver_group) (default O(realserver_group)).
  - A pool member's weight is, first found, the C(weight) of its list item, the host's C(realserver_weight), the
    service's C(realserver_weight), then V(1). Its address is the item's C(address), the host's C(realserver_address),
    then its default IPv4 address from the gathered facts. Its MAC is the item's C(mac), the host's C(realserver_mac),
    then the MAC of the interface that holds its address.
  - Every service and pool member is validated with the collection's IPVS model, so the plan holds only what
    M(lvs.dr.ipvs_table) accepts. Problems are returned, not raised, so a role can report all of them at once.
  - A pool that resolves to no member (an unknown group, a group without hosts, an empty list) is a problem unless the
    service sets C(allow_empty_pool=true), so a misspelt group never empties a pool.
  - Services with C(state=absent) are passed on by identity; they place no VIP, pin no MAC, load no scheduler and are
    not checked against the topology.
  - A pool member can be taken out of service by the host's C(realserver_state) variable, or by the C(state) of its
    C(realservers) item, which wins. V(present) (the default) serves. V(drained) stays in the pool at weight V(0),
    keeps its MAC pinned and its VIPs, and takes no new connection. V(absent) leaves the pool once drained, and its
    VIPs are released. Both are listed in RV(_value.drain). A pool whose members are all drained or absent is a
    problem unless the service sets C(allow_empty_pool=true).
options:
  _input:
    description: The services (C(director_services)).
    type: list
    elements: dict
    required: true
  facts:
    description: The director's gathered facts (C(ansible_facts)), network subset at least.
    type: dict
    default: {}
  interface:
    description: The director's interface facing the real servers (segment checks, VIPs, static ARP entries).
    type: str
    default: ''
  realserver_group:
    description: The group whose hosts form the pool of a service without C(realservers) or C(realserver_group).
    type: str
    default: lvs_realservers
  kernel_modules:
    description: Kernel modules to load besides C(ip_vs) and the schedulers of the present services.
    type: list
    elements: str
    default: [ip_vs]
  manage_vips:
    description: Whether the director places the VIPs itself (V(false) returns no RV(_value.vips)).
    type: bool
    default: true
  static_arp:
    description: Whether the director pins its real servers' MACs (V(false) returns no RV(_value.arp) and needs no MAC).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Resolve the services of this director
  ansible.builtin.set_fact:
    plan: >-
      {{ director_services | lvs.dr.director_plan(groups=groups, hostvars=hostvars, facts=ansible_facts,
                                                  interface=ansible_facts.default_ipv4.interface) }}

- name: Fail on any problem
  ansible.builtin.assert:
    that: plan.problems | length == 0
    fail_msg: "{{ plan.problems | join('; ') }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    services:
      description:
        - "Input for O(lvs.dr.ipvs_table#module:services): present services with their C(realservers), absent services
          by identity with C(state=absent)."
      type: list
      elements: dict
    vips:
      description: VIPs to place on the interface (present services' addresses other than the interface's own).
      type: list
      elements: str
    arp:
      description: Static ARP entries (C(address), C(mac), C(interface)) of the IPv4 direct-routing real servers.
      type: list
      elements: dict
    modules:
      description: Kernel modules to load (C(ip_vs), the given ones, and C(ip_vs_<scheduler>) of every present service).
      type: list
      elements: str
    problems:
      description: Every reason the plan cannot be applied safely, one sentence each naming the service and variable.
      type: list
      elements: str
    unresolved_hosts:
      description: Pool members without gathered facts whose address or MAC is therefore unknown.
      type: list
      elements: str
    drain:
      description:
        - The pool members taken out of service, each as options of M(lvs.dr.ipvs_realserver) - the service's
          identity, C(address), C(port) when the item gives one, C(state) (V(drained) or V(absent)), and
          C(drain_last=true) in a service that sets C(allow_empty_pool).
      type: list
      elements: dict
'''

from ansible_collections.lvs.dr.plugins.plugin_utils._plan import director_plan


def _director_plan(services, groups, hostvars, facts=None, interface='', realserver_group='lvs_realservers',
                   kernel_modules=('ip_vs',), manage_vips=True, static_arp=True):
    return director_plan(services, groups, hostvars, facts=facts or {}, interface=interface,
                         realserver_group=realserver_group, kernel_modules=kernel_modules, manage_vips=manage_vips,
                         static_arp=static_arp)


class FilterModule(object):

    def filters(self):
        return {'director_plan': _director_plan}
