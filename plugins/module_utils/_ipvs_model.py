# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One model of the kernel's IPVS table, shared by every IPVS module of lvs.dr: its vocabulary and the table itself.

Not a public API: may change without notice. This file holds the names the kernel and ipvsadm know (schedulers,
protocols, forwarding methods, scheduler flags, limits), ``IpvsError``, the normalization of addresses, netmasks and
scheduler flags, and the table (``Table`` of ``Service`` of ``Dest``) with its rendering in the ``ipvsadm -R``
format. It uses the standard library only. ``_ipvs_parse`` reads ipvsadm's output into this model, ``_ipvs_params``
builds it from module parameters, ``_ipvs_plan`` computes the commands that turn one table into another and
``_ipvsadm`` runs them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')
DEFAULT_SCHEDULER = 'wlc'
PROTOCOLS = ('tcp', 'udp', 'sctp')
FORWARDING_METHODS = ('route', 'masq', 'tunnel')
PERSISTENCE_ENGINES = ('sip',)
# Scheduler flags: the kernel has three bits; ipvsadm names them after the scheduler that reads them.
_FLAG_NAMES = {
    'sh': ('sh-fallback', 'sh-port', 'flag-3'),
    'mh': ('mh-fallback', 'mh-port', 'flag-3'),
}
_GENERIC_FLAGS = ('flag-1', 'flag-2', 'flag-3')
SCHEDULER_FLAGS = ('flag-1', 'flag-2', 'flag-3', 'sh-fallback', 'sh-port', 'mh-fallback', 'mh-port')
MAX_WEIGHT = 65535
MAX_THRESHOLD = 2147483647
MAX_TIMEOUT = 2147483647
MAX_FWMARK = 4294967295

# The switches ipvsadm takes for a forwarding method and a protocol (_ipvs_parse maps them back).
_FWD_SWITCH = {'route': '-g', 'masq': '-m', 'tunnel': '-i'}
_PROTO_SWITCH = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}


class IpvsError(Exception):
    """Invalid input or unreadable ipvsadm output. ``option`` names the module option at fault."""

    def __init__(self, msg, option=None):
        super(IpvsError, self).__init__(msg)
        self.option = option


# --------------------------------------------------------------------------------------------------------------------
# Value normalization
# --------------------------------------------------------------------------------------------------------------------

_IPV4_OCTET = r'(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
# A dotted quad in canonical form (no leading zeros): exactly what ipaddress accepts and prints back unchanged.
_CANONICAL_IPV4 = re.compile(r'%s(?:\.%s){3}\Z' % (_IPV4_OCTET, _IPV4_OCTET))


def normalize_address(value, option):
    """Return the canonical text of an IP address (what ipvsadm -n prints) and its family."""
    if isinstance(value, str) and _CANONICAL_IPV4.match(value):
        # The common case, on every real server of a large table: no need to build an ipaddress object.
        first = int(value[:value.index('.')])
        if 224 <= first <= 239 or value in ('0.0.0.0', '255.255.255.255'):
            raise IpvsError('%s: %s is not a unicast address' % (option, value), option)
        return value, 'ipv4'
    if value is None or str(value).strip() == '':
        raise IpvsError('%s is required' % option, option)
    text = str(value).strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise IpvsError('%s: %r is not a valid IPv4 or IPv6 address' % (option, value), option)
    if addr.is_multicast or addr.is_unspecified or addr == ipaddress.IPv4Address(u"255.255.255.255"):
        raise IpvsError('%s: %s is not a unicast address' % (option, addr), option)
    return addr.compressed, 'ipv6' if addr.version == 6 else 'ipv4'


def _int_in_range(value, low, high, option):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise IpvsError('%s: %r is not an integer' % (option, value), option)
    if number < low or number > high:
        raise IpvsError('%s: %d is out of range %d..%d' % (option, number, low, high), option)
    return number


def normalize_netmask(value, family, option):
    """Persistence granularity: a dotted mask (IPv4) or a prefix length (IPv6); None for a host mask."""
    if value is None or str(value).strip() == '':
        return None
    text = str(value).strip().lstrip('/')
    if family == 'ipv6':
        prefix = _int_in_range(text, 1, 128, option)
        return None if prefix == 128 else str(prefix)
    try:
        net = ipaddress.IPv4Network(u'0.0.0.0/%s' % text)
    except ValueError:
        raise IpvsError('%s: %r is neither a dotted IPv4 netmask nor a prefix length' % (option, value), option)
    mask = str(net.netmask)
    return None if mask == '255.255.255.255' else mask


def normalize_flags(flags, scheduler, option):
    """Map scheduler flag names to the kernel's three bits, named as ipvsadm prints them for ``scheduler``."""
    names = _FLAG_NAMES.get(scheduler, _GENERIC_FLAGS)
    bits = set()
    for flag in flags or ():
        flag = str(flag).strip()
        if flag in ('flag-1', 'flag-2', 'flag-3'):
            bits.add(int(flag[-1]) - 1)
        elif flag in ('sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'):
            prefix = flag.split('-', 1)[0]
            if prefix != scheduler:
                raise IpvsError('%s: flag %r only applies to the %s scheduler, not %s'
                                % (option, flag, prefix, scheduler), option)
            bits.add(0 if flag.endswith('fallback') else 1)
        else:
            raise IpvsError('%s: unknown scheduler flag %r (known: %s)'
                            % (option, flag, ', '.join(SCHEDULER_FLAGS)), option)
    return tuple(names[bit] for bit in sorted(bits))


# --------------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------------

class Dest(object):
    """One real server (destination) of a virtual service."""

    __slots__ = ('address', 'port', 'forwarding_method', 'weight', 'upper_threshold', 'lower_threshold')

    def __init__(self, address, port, forwarding_method='route', weight=1, upper_threshold=0, lower_threshold=0):
        self.address = address
        self.port = port
        self.forwarding_method = forwarding_method
        self.weight = weight
        self.upper_threshold = upper_threshold
        self.lower_threshold = lower_threshold

    @property
    def key(self):
        return (self.address, self.port)

    def attrs(self):
        return (self.forwarding_method, self.weight, self.upper_threshold, self.lower_threshold)

    def copy(self):
        return Dest(self.address, self.port, self.forwarding_method, self.weight,
                    self.upper_threshold, self.lower_threshold)

    def endpoint(self):
        return _endpoint(self.address, self.port)

    def args(self, thresholds=True):
        args = ['-r', self.endpoint(), _FWD_SWITCH[self.forwarding_method], '-w', str(self.weight)]
        if thresholds and self.upper_threshold:
            args += ['-x', str(self.upper_threshold)]
        if thresholds and self.lower_threshold:
            args += ['-y', str(self.lower_threshold)]
        return args

    def to_dict(self):
        return dict(address=self.address, port=self.port, forwarding_method=self.forwarding_method,
                    weight=self.weight, upper_threshold=self.upper_threshold, lower_threshold=self.lower_threshold)

    def __eq__(self, other):
        return isinstance(other, Dest) and self.key == other.key and self.attrs() == other.attrs()

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'Dest(%r)' % (self.to_dict(),)


class Service(object):
    """One virtual service and its destinations, in kernel order (or the order the user gave)."""

    __slots__ = ('protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags',
                 'persistence_timeout', 'persistence_netmask', 'one_packet', 'persistence_engine', 'dests')

    def __init__(self, protocol=None, address=None, port=None, fwmark=None, family='ipv4',
                 scheduler=DEFAULT_SCHEDULER, scheduler_flags=(), persistence_timeout=0, persistence_netmask=None,
                 one_packet=False, persistence_engine=None):
        self.protocol = protocol
        self.address = address
        self.port = port
        self.fwmark = fwmark
        self.family = family
        self.scheduler = scheduler
        self.scheduler_flags = tuple(scheduler_flags)
        self.persistence_timeout = persistence_timeout
        self.persistence_netmask = persistence_netmask
        self.one_packet = one_packet
        self.persistence_engine = persistence_engine
        self.dests = {}

    @property
    def key(self):
        if self.fwmark:
            return ('fwmark', self.fwmark, self.family)
        return (self.protocol, self.address, self.port)

    def attrs(self):
        return (self.scheduler, self.scheduler_flags, self.persistence_timeout, self.persistence_netmask,
                self.one_packet, self.persistence_engine)

    def copy(self, with_dests=True):
        new = Service(self.protocol, self.address, self.port, self.fwmark, self.family, self.scheduler,
                      self.scheduler_flags, self.persistence_timeout, self.persistence_netmask, self.one_packet,
                      self.persistence_engine)
        if with_dests:
            for key, dest in self.dests.items():
                new.dests[key] = dest.copy()
        return new

    def ident_args(self):
        if self.fwmark:
            args = ['-f', str(self.fwmark)]
            if self.family == 'ipv6':
                args.append('-6')
            return args
        return [_PROTO_SWITCH[self.protocol], _endpoint(self.address, self.port)]

    def args(self):
        # The order ipvsadm -S prints: -s, -p, -M, --pe, -o, -b.
        args = self.ident_args() + ['-s', self.scheduler]
        if self.persistence_timeout:
            args += ['-p', str(self.persistence_timeout)]
            if self.persistence_netmask:
                args += ['-M', self.persistence_netmask]
            if self.persistence_engine:
                args += ['--pe', self.persistence_engine]
        if self.one_packet:
            args.append('-o')
        if self.scheduler_flags:
            args += ['-b', ','.join(self.scheduler_flags)]
        return args

    def add_dest(self, dest):
        self.dests[dest.key] = dest

    def label(self):
        if self.fwmark:
            return 'fwmark %d%s' % (self.fwmark, ' (IPv6)' if self.family == 'ipv6' else '')
        return '%s %s' % (self.protocol, _endpoint(self.address, self.port))

    def to_dict(self, with_dests=True):
        result = dict(
            protocol=None if self.fwmark else self.protocol,
            virtual_address=self.address, virtual_port=self.port, fwmark=self.fwmark, family=self.family,
            scheduler=self.scheduler, scheduler_flags=list(self.scheduler_flags),
            persistence_timeout=self.persistence_timeout, persistence_netmask=self.persistence_netmask,
            one_packet=self.one_packet, persistence_engine=self.persistence_engine,
        )
        if with_dests:
            result['realservers'] = [d.to_dict() for d in self.dests.values()]
        return result

    def __eq__(self, other):
        return (isinstance(other, Service) and self.key == other.key and self.attrs() == other.attrs()
                and self.dests == other.dests)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'Service(%r)' % (self.to_dict(),)


class Table(object):
    """The IPVS table: services keyed by identity, in order."""

    def __init__(self, services=None):
        self.services = {}
        for svc in services or ():
            self.services[svc.key] = svc

    def add(self, svc):
        self.services[svc.key] = svc

    def copy(self):
        return Table(svc.copy() for svc in self.services.values())

    def get(self, key):
        return self.services.get(key)

    def rules(self, thresholds=True):
        """The table in ipvsadm -R format, one line per service and destination."""
        lines = []
        for svc in self.services.values():
            lines.extend(service_rules(svc, thresholds))
        return lines

    def destination_count(self):
        return sum(len(svc.dests) for svc in self.services.values())

    def __eq__(self, other):
        return isinstance(other, Table) and self.services == other.services

    def __ne__(self, other):
        return not self == other

    def __len__(self):
        return len(self.services)


def service_rules(svc, thresholds=True):
    lines = [join_args(['-A'] + svc.args())]
    ident = svc.ident_args()
    for dest in svc.dests.values():
        lines.append(join_args(['-a'] + ident + dest.args(thresholds)))
    return lines


def _endpoint(address, port):
    if ':' in address:
        return '[%s]:%d' % (address, port)
    return '%s:%d' % (address, port)


_UNSAFE_ARG = re.compile(r'[\s"\'\\#]')


def join_args(args):
    """One ipvsadm -R line. Tokens never contain spaces or quotes, so a plain join is an exact argv."""
    for arg in args:
        if not arg or _UNSAFE_ARG.search(arg):
            raise IpvsError('refusing to render the ipvsadm argument %r' % (arg,))
    return ' '.join(args)


def diff_text(lines):
    return '\n'.join(lines) + ('\n' if lines else '')
