# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: realserver_plan
short_description: The VIPs an LVS-DR real server holds, from its directors' services
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.inventory
description:
  - Derives, on the controller, the VIPs of the real server O(_input) - those of every present service of every director
    in O(director_group) whose pool holds it (by group membership, inventory host name or address) - with the same
    pool resolution as P(lvs.dr.director_plan#filter). This is the planner of the M(lvs.dr.realserver) role.
  - Pools the directors could not build (an unknown group, an empty pool, an unknown host name) are problems here too,
    and so is a director whose C(director_services) are not visible in C(hostvars) (for example defined as play
    variables), because the real server would otherwise remove VIPs that it still serves.
options:
  _input:
    description: The inventory host name of the real server (C(inventory_hostname)).
    type: str
    required: true
  director_group:
    description: The group of the directors whose C(director_services) are read.
    type: str
    default: lvs_directors
'''

EXAMPLES = r'''
- name: Derive the VIPs of this real server
  ansible.builtin.set_fact:
    plan: "{{ inventory_hostname | lvs.dr.realserver_plan(groups=groups, hostvars=hostvars) }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    vips:
      description: The VIPs, in the order the services list them, without duplicates.
      type: list
      elements: str
    directors:
      description: The directors whose C(director_services) were read.
      type: list
      elements: str
    problems:
      description: Every reason the VIPs cannot be derived safely, one sentence each.
      type: list
      elements: str
'''

from ansible_collections.lvs.dr.plugins.plugin_utils._plan import realserver_plan


def _realserver_plan(host, groups, hostvars, director_group='lvs_directors'):
    return realserver_plan(host, groups, hostvars, director_group=director_group)


class FilterModule(object):

    def filters(self):
        return {'realserver_plan': _realserver_plan}
