# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private sysctl helpers for lvs.dr modules: /proc/sys access and sysctl.d rendering.

Not a public API: may change without notice.

Keys are handled internally in slash form relative to /proc/sys (``net/ipv4/conf/eth0.100/arp_ignore``)
because interface names may contain dots (VLANs). They are rendered in the usual dotted form unless
a component contains a dot, in which case the slash form is written; sysctl.d(5) accepts both.
"""

from __future__ import annotations

import os

PROC_SYS = '/proc/sys'


def conf_key(interface, name, family='ipv4'):
    """``conf_key('eth0', 'arp_ignore')`` -> ``net/ipv4/conf/eth0/arp_ignore``."""
    return 'net/%s/conf/%s/%s' % (family, interface, name)


def display_key(key):
    """The form shown to users and written to sysctl.d files."""
    parts = key.split('/')
    if any('.' in part for part in parts):
        return key
    return '.'.join(parts)


def parse_key(text):
    """Inverse of :func:`display_key` (also accepts the slash form with dotted components)."""
    text = text.strip()
    if '/' in text:
        return text.strip('/')
    return text.replace('.', '/')


def proc_path(key, root=None):
    return os.path.join(root or PROC_SYS, key)


def read_value(key, root=None):
    """Current value as the kernel prints it, whitespace collapsed; None when the key does not exist."""
    try:
        with open(proc_path(key, root), 'r') as handle:
            return ' '.join(handle.read().split())
    except (IOError, OSError):
        return None


def write_value(key, value, root=None):
    """Write ``value`` to the running kernel. Raises OSError on failure."""
    with open(proc_path(key, root), 'w') as handle:
        handle.write('%s\n' % value)


def render_conf(values, header_lines):
    """Render a sysctl.d file from an ordered ``{key: value}`` mapping."""
    lines = ['# %s' % line if line else '#' for line in header_lines]
    for key, value in values.items():
        lines.append('%s = %s' % (display_key(key), value))
    return '\n'.join(lines) + '\n'


def parse_conf(text):
    """Parse sysctl.d text into an ordered ``{key: value}`` (slash-form keys); later lines win.

    Comments (``#``, ``;``) and blank lines are skipped, a leading ``-`` (ignore failure) is dropped.
    """
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if '=' not in line:
            raise ValueError("line '%s' has no '='" % raw)
        key, value = line.split('=', 1)
        key = key.strip().lstrip('-').strip()
        values[parse_key(key)] = ' '.join(value.split())
    return values
