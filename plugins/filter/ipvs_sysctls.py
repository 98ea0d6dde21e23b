# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: ipvs_sysctls
short_description: The IPVS kernel settings of a direct-routing director, chosen for its kernel, with reasons
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
description:
  - Returns the C(net.ipv4.vs.*) settings the M(lvs.dr.director) role writes, for a director running the kernel
    O(_input), each with the reason it has that value.
  - C(expire_nodest_conn=1) - a connection to a real server that left the table is dropped at its next packet, so the
    client gets a reset and reconnects at once, instead of hanging until it times out.
  - C(expire_quiescent_template=1) - persistence templates that point to a real server at weight V(0) expire, so
    draining also works for persistent services.
  - C(conn_reuse_mode=2) - a new connection that reuses the port of a finished one is scheduled afresh when the old
    one is in C(TIME_WAIT) or C(FIN_WAIT), the last state a direct-routing director sees. A reused port then never
    lands on a drained or removed real server. V(1) only covers C(TIME_WAIT), which a DR director does not see.
    Exception - kernels before 5.9 with C(net.ipv4.vs.conntrack=1) get V(0). There, rescheduling a reused port
    drops its SYN, which costs the client one second (fixed in 5.9 by kernel commit f0a5e4d7a594, the reason
    kube-proxy picks V(0) on older kernels).
  - C(sloppy_tcp=1) with O(ha=true) - a director of an HA pair that takes over the VIPs creates state for a TCP
    packet of a connection it has not seen (its peer accepted it, and the sync daemon had not sent it yet) and
    forwards it, instead of resetting the connection.
  - Each key of O(overrides) replaces the chosen value (or adds a setting).
options:
  _input:
    description: The director's kernel release (C(ansible_facts.kernel), for example V(6.1.0-50-amd64)).
    type: str
    required: true
  overrides:
    description: Settings that replace the chosen ones, by C(net.ipv4.vs.*) name (C(director_ipvs_sysctls)).
    type: dict
    default: {}
  ha:
    description: The director is one of an HA pair (C(director_engine=keepalived)).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Show the settings chosen for this director's kernel, with their reasons
  ansible.builtin.debug:
    msg: "{{ ansible_facts.kernel | lvs.dr.ipvs_sysctls }}"
'''

RETURN = r'''
_value:
  description: The settings, sorted by name.
  type: list
  elements: dict
  contains:
    name:
      description: The sysctl name, for example C(net.ipv4.vs.conn_reuse_mode).
      type: str
    value:
      description: Its value.
      type: raw
    reason:
      description: Why it has that value (V(set by director_ipvs_sysctls) for an override).
      type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.dr.plugins.plugin_utils._sysctls import ipvs_sysctls


def _ipvs_sysctls(release, overrides=None, ha=False):
    try:
        return ipvs_sysctls(release, overrides, ha=ha)
    except ValueError as exc:
        raise AnsibleFilterError('lvs.dr.ipvs_sysctls: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'ipvs_sysctls': _ipvs_sysctls}
