# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: pool_entries
short_description: Where one real server is in a director's plan, as options of lvs.dr.ipvs_realserver
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
description:
  - Given a director's plan (the output of P(lvs.dr.director_plan#filter)) and a real server's address, returns one
    entry per present service whose pool holds that address, each ready to pass to M(lvs.dr.ipvs_realserver) - to
    drain that real server, or to put it back with the weight the plan gives it.
  - The playbooks C(lvs.dr.drain) and C(lvs.dr.rolling) use it, so they never loop over a whole pool.
options:
  _input:
    description: A director's plan (P(lvs.dr.director_plan#filter)).
    type: dict
    required: true
  address:
    description: The real server's address (IPv4 or IPv6).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Drain 198.51.100.11 in every service of this director
  lvs.dr.ipvs_realserver: "{{ item | combine({'state': 'drained'}) }}"
  loop: "{{ _director_plan | lvs.dr.pool_entries('198.51.100.11') }}"
'''

RETURN = r'''
_value:
  description:
    - One dict per service whose pool holds the address, in the order of the plan. The service's identity
      (C(virtual_address), C(virtual_port), C(protocol), C(fwmark), C(family) as the plan gives them), then the real
      server as the plan sets it (C(address), C(weight), and C(port), C(forwarding_method), C(upper_threshold),
      C(lower_threshold) when given).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError
from ansible_collections.lvs.dr.plugins.plugin_utils._plan import pool_entries


def _pool_entries(plan, address):
    try:
        return pool_entries(plan, address)
    except IpvsError as exc:
        raise AnsibleFilterError('lvs.dr.pool_entries: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'pool_entries': _pool_entries}
