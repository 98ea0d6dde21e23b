# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The IPVS kernel settings of a direct-routing director, chosen for its kernel, each with its reason.

Private to the collection (leading underscore); the filter lvs.dr.ipvs_sysctls wraps ``ipvs_sysctls()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from collections.abc import Mapping

EXPIRE_NODEST_CONN = (
    'a connection to a real server that left the table is dropped at its next packet, so the client gets a reset '
    'and reconnects at once instead of waiting until the connection times out')
EXPIRE_QUIESCENT_TEMPLATE = (
    'persistence templates that point to a real server at weight 0 expire, so the next connection of a persistent '
    'client goes to a server in service: draining also works for persistent services')
CONN_REUSE_DR = (
    'a new connection that reuses the port of a finished one (TIME_WAIT, or FIN_WAIT: the last state a '
    'direct-routing director sees) is scheduled afresh, so it never lands on a drained or removed real server '
    '(bit 2 of the bitmap, for DR; 1 covers only TIME_WAIT, which a DR director never sees)')
CONN_REUSE_OLD_CONNTRACK = (
    'kernel %s with net.ipv4.vs.conntrack=1: before Linux 5.9 rescheduling a reused port drops its SYN while the old '
    'conntrack entry expires, a one-second delay for the client (fixed by kernel commit f0a5e4d7a594), so reused '
    'ports stay on their previous real server; a drained real server can still get them')
SLOPPY_TCP_HA = (
    'a director of an HA pair that takes over the VIPs creates state for a TCP packet of a connection it has not '
    'seen (its peer accepted it; the sync daemon had not sent it yet), instead of resetting that connection')
OVERRIDDEN = 'set by director_ipvs_sysctls'

_RELEASE_RE = re.compile(r'^(\d+)\.(\d+)')


def kernel_version(release):
    """(major, minor) of a kernel release string such as '6.1.0-50-amd64', or None when it is not one."""
    match = _RELEASE_RE.match(str(release or '').strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def ipvs_sysctls(release, overrides=None, ha=False):
    """The net.ipv4.vs.* settings for a director running kernel ``release``: a list of {name, value, reason},
    sorted by name, with ``overrides`` (name -> value) applied on top. Raises ValueError for overrides that are
    not a dict of net.ipv4.vs.* names. ``ha``: the director is one of an HA pair (keepalived), which adds
    sloppy_tcp=1."""
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, Mapping):
        raise ValueError('director_ipvs_sysctls must be a dict of net.ipv4.vs.* settings, got %r' % (overrides,))
    for name in overrides:
        if not str(name).startswith('net.ipv4.vs.'):
            raise ValueError('director_ipvs_sysctls: %r is not an IPVS setting (net.ipv4.vs.*)' % (name,))
    version = kernel_version(release)
    conntrack = str(overrides.get('net.ipv4.vs.conntrack', '0')).strip() not in ('0', '')
    if conntrack and version is not None and version < (5, 9):
        reuse = (0, CONN_REUSE_OLD_CONNTRACK % release)
    else:
        reuse = (2, CONN_REUSE_DR)
    chosen = {
        'net.ipv4.vs.expire_nodest_conn': (1, EXPIRE_NODEST_CONN),
        'net.ipv4.vs.expire_quiescent_template': (1, EXPIRE_QUIESCENT_TEMPLATE),
        'net.ipv4.vs.conn_reuse_mode': reuse,
    }
    if ha:
        chosen['net.ipv4.vs.sloppy_tcp'] = (1, SLOPPY_TCP_HA)
    for name, value in overrides.items():
        chosen[str(name)] = (value, OVERRIDDEN)
    return [dict(name=name, value=chosen[name][0], reason=chosen[name][1]) for name in sorted(chosen)]
