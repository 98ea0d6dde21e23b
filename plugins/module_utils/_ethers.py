# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private helpers for lvs.dr.static_arp: MAC/IPv4 validation and the /etc/ethers managed block.

Not a public API: may change without notice.

The managed block is a run of lines between two marker comments, one entry a line in the
canonical ethers(5) order (hardware address first) followed by net-tools' ``dev`` keyword,
which C(arp -f) understands and glibc's ether_line() ignores::

    # BEGIN lvs.dr static_arp -- managed by Ansible, do not edit between these markers
    02:00:00:00:00:0a 192.0.2.10 dev eth0
    # END lvs.dr static_arp

Everything outside the markers is preserved byte for byte.
"""

from __future__ import annotations

import ipaddress
import re

BEGIN_MARKER = '# BEGIN lvs.dr static_arp -- managed by Ansible, do not edit between these markers'
END_MARKER = '# END lvs.dr static_arp'

_HEX = '[0-9A-Fa-f]'
_MAC_SEP_RE = re.compile(r'^(%s{1,2})([:-])(%s{1,2})\2(%s{1,2})\2(%s{1,2})\2(%s{1,2})\2(%s{1,2})$' % ((_HEX,) * 6))
_MAC_CISCO_RE = re.compile(r'^(%s{4})\.(%s{4})\.(%s{4})$' % ((_HEX,) * 3))
_MAC_BARE_RE = re.compile(r'^%s{12}$' % _HEX)
# Linux interface names: 1-15 bytes, no '/', no whitespace, not '.' or '..'.
_IFNAME_RE = re.compile(r'^[^/\s:]{1,15}$')


class EthersError(ValueError):
    """Raised for an invalid MAC, address or interface, or an unparsable managed block."""


def normalize_mac(value, unicast=False):
    """Return ``value`` as lower-case colon-separated MAC (``02:00:5e:00:53:01``).

    Accepts colons or dashes (one or two hex digits a group, as ethers(5) allows),
    Cisco dotted notation (``0200.5e00.5301``) and 12 bare hex digits. With ``unicast``, a
    multicast or broadcast MAC (the lowest bit of the first octet set) is refused: it cannot
    be one host's neighbour entry.
    """
    if not isinstance(value, str):
        raise EthersError('is not a string')
    text = value.strip()
    match = _MAC_SEP_RE.match(text)
    if match:
        octets = [int(match.group(i), 16) for i in (1, 3, 4, 5, 6, 7)]
    else:
        match = _MAC_CISCO_RE.match(text)
        if match:
            digits = ''.join(match.groups())
        elif _MAC_BARE_RE.match(text):
            digits = text
        else:
            raise EthersError("'%s' is not a MAC address (use 02:00:5e:00:53:01, 02-00-5e-00-53-01 or 0200.5e00.5301)" % value)
        octets = [int(digits[i:i + 2], 16) for i in range(0, 12, 2)]
    if not any(octets):
        raise EthersError("'%s' is the all-zero MAC address" % value)
    if unicast and octets[0] & 1:
        raise EthersError("'%s' is a %s MAC address, not the address of one host" % (
            value, 'broadcast' if octets == [255] * 6 else 'multicast'))
    return ':'.join('%02x' % octet for octet in octets)


def normalize_ipv4(value):
    """Return the canonical text of a unicast IPv4 host address (a neighbour entry's key)."""
    try:
        address = ipaddress.IPv4Address(str(value).strip())
    except (ipaddress.AddressValueError, ValueError):
        raise EthersError("'%s' is not an IPv4 address (static ARP entries are IPv4 only)" % value)
    if address.is_multicast or address.is_unspecified or address.is_loopback or address == ipaddress.IPv4Address('255.255.255.255'):
        raise EthersError("'%s' cannot have a neighbour entry (multicast, broadcast, loopback or unspecified)" % value)
    return str(address)


def validate_ifname(value):
    """Return ``value`` if it is a valid Linux interface name."""
    if not isinstance(value, str) or not _IFNAME_RE.match(value) or value in ('.', '..'):
        raise EthersError("'%s' is not a valid interface name" % (value,))
    return value


def _sort_key(entry):
    return (entry['interface'], int(ipaddress.IPv4Address(entry['address'])))


def render_entry(entry):
    """One managed line: ``MAC ADDRESS dev INTERFACE``."""
    return '%s %s dev %s' % (entry['mac'], entry['address'], entry['interface'])


def parse_entry(line):
    """Parse one managed line back into ``{'address', 'mac', 'interface'}``."""
    fields = line.split()
    if len(fields) != 4 or fields[2] != 'dev':
        raise EthersError("unexpected line in the lvs.dr managed block of the ethers file: '%s'" % line.strip())
    mac, address, interface = fields[0], fields[1], fields[3]
    return {'address': normalize_ipv4(address), 'mac': normalize_mac(mac), 'interface': interface}


class EthersFile(object):
    """An /etc/ethers text split into foreign lines and the managed block.

    ``head`` and ``tail`` are the foreign lines before and after the block (kept verbatim);
    ``entries`` maps ``(address, interface)`` to the entry dict.
    """

    def __init__(self, text=''):
        self.head = []
        self.tail = []
        self.entries = {}
        self.had_block = False
        lines = text.splitlines()
        begin = end = None
        for index, line in enumerate(lines):
            if line.strip() == BEGIN_MARKER and begin is None:
                begin = index
            elif line.strip() == END_MARKER and begin is not None and end is None:
                end = index
        self.original_entries = {}
        if begin is None:
            self.head = lines
            return
        if end is None:
            raise EthersError('line %d opens the lvs.dr managed block but no "%s" line closes it' % (begin + 1, END_MARKER))
        self.had_block = True
        self.head = lines[:begin]
        self.tail = lines[end + 1:]
        for line in lines[begin + 1:end]:
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            entry = parse_entry(line)
            self.entries[(entry['address'], entry['interface'])] = entry
        self.original_entries = dict((key, dict(value)) for key, value in self.entries.items())

    def set(self, entry):
        self.entries[(entry['address'], entry['interface'])] = dict(entry)

    def remove(self, address, interface):
        return self.entries.pop((address, interface), None) is not None

    def sorted_entries(self):
        return sorted(self.entries.values(), key=_sort_key)

    def render(self):
        """Return the whole file text; the block is dropped when it has no entries.

        A new block is appended at the end of the file: net-tools ``arp -f`` keeps the last
        ``dev`` it saw for the following lines, so foreign lines are best placed before it.
        """
        lines = list(self.head)
        if self.entries:
            lines.append(BEGIN_MARKER)
            lines.extend(render_entry(entry) for entry in self.sorted_entries())
            lines.append(END_MARKER)
        lines.extend(self.tail)
        if not lines:
            return ''
        return '\n'.join(lines) + '\n'
