# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private iproute2 wrapper for lvs.dr modules: reads with ``ip -json``, writes with argv lists.

Not a public API: may change without notice. Needs iproute2 >= 4.14 (``-json`` for addr and neigh).
One class owns how options become ``ip`` arguments, so modules and tests agree on the command lines.
"""

from __future__ import annotations

import ipaddress
import json
import os

from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

SYS_CLASS_NET = '/sys/class/net'


def interface_exists(name, root=None):
    return os.path.isdir(os.path.join(root or SYS_CLASS_NET, name))


def parse_neigh_json(text):
    """``ip -json neigh show`` -> list of ``{'address', 'interface', 'mac', 'states'}``."""
    rows = []
    for item in json.loads(text or '[]'):
        if 'dst' not in item:
            continue
        rows.append({
            'address': item['dst'],
            'interface': item.get('dev'),
            'mac': (item.get('lladdr') or '').lower() or None,
            'states': [state.upper() for state in item.get('state', [])],
        })
    return rows


def parse_addr_json(text):
    """``ip -json addr show`` -> list of ``{'interface', 'address' ('ip/prefixlen'), 'family', 'label'}``."""
    rows = []
    for link in json.loads(text or '[]'):
        for info in link.get('addr_info', []):
            if 'local' not in info or info.get('family') not in ('inet', 'inet6'):
                continue
            address = ipaddress.ip_interface('%s/%s' % (info['local'], info['prefixlen']))
            rows.append({
                'interface': link.get('ifname'),
                'address': str(address),
                'family': info['family'],
                'label': info.get('label'),
            })
    return rows


class IpCommand(object):
    """Builds and runs ``ip`` command lines (through the module's one command runner)."""

    def __init__(self, module):
        self.command = Command(module, 'ip', hint='ip (iproute2) is not installed on this host')

    def _run(self, args, what):
        return self.command.run(args, what)[1]

    # reads
    def neighbours(self, family='-4'):
        return parse_neigh_json(self._run(['-json', family, 'neigh', 'show'], 'reading the neighbour table'))

    def addresses(self, interface=None):
        args = ['-json', 'addr', 'show']
        if interface:
            args += ['dev', interface]
        return parse_addr_json(self._run(args, 'reading addresses'))

    # argv builders (also used for systemd ExecStart= lines)
    def neigh_replace_argv(self, address, mac, interface):
        return self.command.argv('-4', 'neigh', 'replace', address, 'lladdr', mac, 'dev', interface, 'nud', 'permanent')

    def neigh_del_argv(self, address, interface):
        return self.command.argv('-4', 'neigh', 'del', address, 'dev', interface)

    def addr_replace_argv(self, address, interface, label=None):
        family = '-6' if ':' in address else '-4'
        argv = self.command.argv(family, 'addr', 'replace', address, 'dev', interface)
        if label and family == '-4':
            argv += ['label', label]
        return argv

    def addr_del_argv(self, address, interface):
        family = '-6' if ':' in address else '-4'
        return self.command.argv(family, 'addr', 'del', address, 'dev', interface)

    def run_argv(self, argv, what):
        """Run an argument list built by one of the *_argv methods."""
        return self._run(argv[1:], what)
