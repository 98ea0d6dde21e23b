# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One model of the kernel's IPVS table, shared by every IPVS module of lvs.dr.

This file is private to the collection (leading underscore): its API may change without notice.

The model reads the table with ``ipvsadm -S -n`` (everything but thresholds) and ``ipvsadm -L -n --thresholds``,
renders it back in the ``ipvsadm -R`` format, computes the minimal list of ``ipvsadm`` commands that turns one
table into another, and applies that list in one ``ipvsadm -R`` process that also lists the table afterwards, so
that a change costs one process and is verified by what the kernel reports, not by ipvsadm's exit status
(``ipvsadm -R`` goes on after kernel errors and returns the status of its last line only).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import time

from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

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

_FWD_SWITCH = {'route': '-g', 'masq': '-m', 'tunnel': '-i'}
_SWITCH_FWD = {'-g': 'route', '--gatewaying': 'route', '-m': 'masq', '--masquerading': 'masq',
               '-i': 'tunnel', '--ipip': 'tunnel'}
_PROTO_SWITCH = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}
_SWITCH_PROTO = {'-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp',
                 '--sctp-service': 'sctp'}
_LIST_PROTO = {'TCP': 'tcp', 'UDP': 'udp', 'SCTP': 'sctp'}
LIST_HEADER = 'IP Virtual Server version'

IPVSADM_INSTALL_HINT = ("ipvsadm is not installed on this host: install the 'ipvsadm' package "
                        "(Debian/Ubuntu: apt-get install ipvsadm; RHEL family: dnf install ipvsadm), "
                        "for instance with ansible.builtin.package")


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


# --------------------------------------------------------------------------------------------------------------------
# Parsing ipvsadm output
# --------------------------------------------------------------------------------------------------------------------

_ENDPOINTS = {}


def _split_endpoint(text):
    """'192.0.2.1:80' or '[2001:db8::1]:80' -> (address, port, family); memoized, as every real server of a
    table appears in both listings that a read parses."""
    known = _ENDPOINTS.get(text)
    if known is not None:
        return known
    if text.startswith('['):
        host, sep, port = text[1:].partition(']:')
    else:
        host, sep, port = text.rpartition(':')
    if not sep:
        raise IpvsError('cannot read the address and port in %r' % text)
    address, family = normalize_address(host, 'address')
    known = _ENDPOINTS[text] = (address, int(port), family)
    return known


def _parse_service_ident(tokens):
    """Consume the service identity from a tokenized -A/-a line; return (Service, remaining tokens)."""
    svc = Service()
    rest = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _SWITCH_PROTO:
            svc.protocol = _SWITCH_PROTO[tok]
            svc.address, svc.port, svc.family = _split_endpoint(tokens[i + 1])
            i += 2
        elif tok in ('-f', '--fwmark-service'):
            svc.fwmark = int(tokens[i + 1])
            svc.protocol = 'fwmark'
            i += 2
        elif tok in ('-6', '--ipv6'):
            svc.family = 'ipv6'
            i += 1
        else:
            rest.append(tok)
            i += 1
    if svc.protocol is None:
        raise IpvsError('no service in the ipvsadm line %r' % ' '.join(tokens))
    return svc, rest


def _parse_service_line(tokens):
    svc, rest = _parse_service_ident(tokens)
    flags = ()
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok in ('-s', '--scheduler'):
            svc.scheduler = rest[i + 1]
            i += 2
        elif tok in ('-p', '--persistent'):
            svc.persistence_timeout = int(rest[i + 1])
            i += 2
        elif tok in ('-M', '--netmask'):
            svc.persistence_netmask = normalize_netmask(rest[i + 1], svc.family, 'persistence_netmask')
            i += 2
        elif tok in ('--pe', 'pe'):
            svc.persistence_engine = rest[i + 1]
            i += 2
        elif tok in ('-b', '--sched-flags'):
            flags = rest[i + 1].split(',')
            i += 2
        elif tok in ('-o', '--ops', 'ops'):
            svc.one_packet = True
            i += 1
        else:
            raise IpvsError('unexpected %r in the ipvsadm line %r' % (tok, ' '.join(tokens)))
    svc.scheduler_flags = normalize_flags(flags, svc.scheduler, 'scheduler_flags')
    return svc


def _parse_dest_tokens(rest, line):
    """The real-server part of an -a line: '-r ADDR:PORT -g -w 1 [-x N] [-y N] [--tun-type ipip]'."""
    dest = Dest(None, None)
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok in ('-r', '--real-server'):
            dest.address, dest.port, dummy = _split_endpoint(rest[i + 1])
            i += 2
        elif tok in _SWITCH_FWD:
            dest.forwarding_method = _SWITCH_FWD[tok]
            i += 1
        elif tok in ('-w', '--weight'):
            dest.weight = int(rest[i + 1])
            i += 2
        elif tok in ('-x', '--u-threshold'):
            dest.upper_threshold = int(rest[i + 1])
            i += 2
        elif tok in ('-y', '--l-threshold'):
            dest.lower_threshold = int(rest[i + 1])
            i += 2
        elif tok.startswith('--tun-'):
            # Tunnel encapsulation details (ipvsadm >= 1.30) are not modelled; skip the option and its value.
            i += 1 if tok in ('--tun-nocsum', '--tun-csum', '--tun-remcsum') else 2
        else:
            raise IpvsError('unexpected %r in the ipvsadm line %r' % (tok, line))
    if dest.address is None:
        raise IpvsError('no real server in the ipvsadm line %r' % line)
    return dest


def parse_rules(text):
    """Parse ``ipvsadm -S -n`` output (or any -A/-a rules file) into a Table.

    ipvsadm prints no quotes and no spaces inside a token, so a plain split is exact (and, on a table of ten
    thousand real servers, several times faster than shlex).
    """
    table = Table()
    idents = {}  # the service tokens of -a lines, parsed once per service
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0].startswith('#'):
            continue
        if tokens[0] in ('-A', '--add-service'):
            svc = _parse_service_line(tokens[1:])
            table.add(svc)
        elif tokens[0] in ('-a', '--add-server'):
            split = tokens.index('-r') if '-r' in tokens else len(tokens)
            ident = tuple(tokens[1:split])
            if ident not in idents:
                idents[ident] = _parse_service_ident(list(ident))[0].key
            svc = table.get(idents[ident])
            if svc is None:
                raise IpvsError('real server line before its service: %r' % line)
            svc.add_dest(_parse_dest_tokens(tokens[split:], line))
        else:
            raise IpvsError('unexpected ipvsadm line %r' % line)
    return table


def _parse_list_service(line):
    """A service line of ``ipvsadm -L -n``: 'TCP  192.0.2.1:80 wlc ...', 'FWM  7 IPv6 rr' -> (key, rest tokens)."""
    tokens = line.split()
    kind = tokens[0]
    if kind == 'FWM':
        family = 'ipv4'
        rest = tokens[2:]
        if rest and rest[0] == 'IPv6':
            family = 'ipv6'
            rest = rest[1:]
        return ('fwmark', int(tokens[1]), family), rest
    if kind not in _LIST_PROTO:
        raise IpvsError('unexpected ipvsadm list line %r' % line)
    address, port, dummy = _split_endpoint(tokens[1])
    return (_LIST_PROTO[kind], address, port), tokens[2:]


def _iter_list(text):
    """Yield ('service', key, tokens) and ('dest', (address, port), tokens) from an ipvsadm -L -n listing."""
    for line in text.splitlines():
        if not line.strip() or line.startswith(LIST_HEADER) or line.startswith('Prot '):
            continue
        stripped = line.strip()
        if stripped.startswith('-> RemoteAddress'):
            continue
        if stripped.startswith('->'):
            tokens = stripped[2:].split()
            address, port, dummy = _split_endpoint(tokens[0])
            yield 'dest', (address, port), tokens[1:]
        else:
            key, tokens = _parse_list_service(stripped)
            yield 'service', key, tokens


def apply_thresholds(table, text):
    """Fill in thresholds (and connection counts) from ``ipvsadm -L -n --thresholds``; returns {svc: {dest: conns}}.

    The two listings of one read are not one atomic snapshot: another tool (keepalived, an operator) may add or
    remove a service or real server between them. ``table`` (from ``ipvsadm -S``) is the snapshot; entries that
    only the later listing shows are skipped, and entries it no longer shows keep no thresholds.
    """
    svc = None
    conns = {}
    for kind, key, tokens in _iter_list(text):
        if kind == 'service':
            svc = table.get(key)
            continue
        dest = svc.dests.get(key) if svc is not None else None
        if dest is None:
            continue
        dest.upper_threshold, dest.lower_threshold = int(tokens[0]), int(tokens[1])
        conns.setdefault(svc.key, {})[key] = dict(active_connections=int(tokens[2]),
                                                  inactive_connections=int(tokens[3]))
    return conns


STAT_FIELDS = ('connections', 'in_packets', 'out_packets', 'in_bytes', 'out_bytes')


def parse_stats(text):
    """``ipvsadm -L -n --stats --exact`` -> {service key: {'stats': {...}, 'dests': {dest key: {...}}}}."""
    result = {}
    current = None
    for kind, key, tokens in _iter_list(text):
        values = dict(zip(STAT_FIELDS, (int(t) for t in tokens[:5])))
        if kind == 'service':
            current = result.setdefault(key, {'stats': values, 'dests': {}})
        elif current is not None:
            current['dests'][key] = values
    return result


def split_listing(out):
    """Split the output of an ``ipvsadm -R`` that ran ``-S -n`` then ``-L -n ...`` listings into its sections."""
    sections = [[]]
    for line in out.splitlines(True):
        if line.startswith(LIST_HEADER):
            sections.append([])
        sections[-1].append(line)
    return [''.join(lines) for lines in sections]


def has_listing(out, stats=False):
    """Whether ``out`` holds every listing that READ_LINES (and STATS_LINE) print."""
    return len(split_listing(out)) >= (3 if stats else 2)


def parse_listing(out, stats=False):
    """The output of ``ipvsadm -R`` fed READ_LINES (+ STATS_LINE) -> (table, connection counts, stats or None).

    The rules section is everything before the first listing header: commands print nothing on stdout.
    """
    sections = split_listing(out)
    table = parse_rules(sections[0])
    conns = apply_thresholds(table, sections[1])
    return table, conns, parse_stats(sections[2]) if stats else None


# --------------------------------------------------------------------------------------------------------------------
# Desired state from module parameters
# --------------------------------------------------------------------------------------------------------------------

def service_identity_from_params(params, prefix=''):
    """Build and validate the identity of a Service (protocol, address and port, or firewall mark) from parameters.

    ``prefix`` is prepended to option names in error messages (for instance ``services[2].``).
    """
    def opt(name):
        return prefix + name

    fwmark = params.get('fwmark')
    if fwmark is not None:
        for name in ('virtual_address', 'virtual_port'):
            if params.get(name) is not None:
                raise IpvsError('%s and %s are mutually exclusive: a firewall-mark service has no address or port'
                                % (opt('fwmark'), opt(name)), opt(name))
        fwmark = _int_in_range(fwmark, 1, MAX_FWMARK, opt('fwmark'))
        return Service(protocol='fwmark', fwmark=fwmark, family=params.get('family') or 'ipv4')
    if params.get('virtual_address') is None:
        raise IpvsError('one of %s or %s is required' % (opt('virtual_address'), opt('fwmark')),
                        opt('virtual_address'))
    if params.get('virtual_port') is None:
        raise IpvsError('%s is required with %s' % (opt('virtual_port'), opt('virtual_address')),
                        opt('virtual_port'))
    address, family = normalize_address(params['virtual_address'], opt('virtual_address'))
    if params.get('family') and params['family'] != family:
        raise IpvsError('%s is %s but %s says %s' % (opt('virtual_address'), family, opt('family'),
                                                     params['family']), opt('family'))
    protocol = params.get('protocol') or 'tcp'
    if protocol not in PROTOCOLS:
        raise IpvsError('%s must be one of %s, got %r' % (opt('protocol'), ', '.join(PROTOCOLS), protocol),
                        opt('protocol'))
    port = _int_in_range(params['virtual_port'], 0, 65535, opt('virtual_port'))
    return Service(protocol=protocol, address=address, port=port, family=family)


def service_from_params(params, prefix=''):
    """Build and validate a Service (without destinations) from module-style parameters."""
    def opt(name):
        return prefix + name

    svc = service_identity_from_params(params, prefix)
    scheduler = params.get('scheduler') or DEFAULT_SCHEDULER
    if scheduler not in SCHEDULERS:
        raise IpvsError('%s: unknown scheduler %r (known: %s)' % (opt('scheduler'), scheduler, ', '.join(SCHEDULERS)),
                        opt('scheduler'))
    svc.scheduler = scheduler
    svc.scheduler_flags = normalize_flags(params.get('scheduler_flags'), scheduler, opt('scheduler_flags'))
    timeout = params.get('persistence_timeout') or 0
    svc.persistence_timeout = _int_in_range(timeout, 0, MAX_TIMEOUT, opt('persistence_timeout'))
    if params.get('persistence_netmask') not in (None, ''):
        if not svc.persistence_timeout:
            raise IpvsError('%s needs %s: the netmask is the granularity of persistence'
                            % (opt('persistence_netmask'), opt('persistence_timeout')), opt('persistence_netmask'))
        svc.persistence_netmask = normalize_netmask(params['persistence_netmask'], svc.family,
                                                    opt('persistence_netmask'))
    engine = params.get('persistence_engine')
    if engine:
        if engine not in PERSISTENCE_ENGINES:
            raise IpvsError('%s: unknown persistence engine %r (known: %s)'
                            % (opt('persistence_engine'), engine, ', '.join(PERSISTENCE_ENGINES)),
                            opt('persistence_engine'))
        if not svc.persistence_timeout:
            raise IpvsError('%s needs %s' % (opt('persistence_engine'), opt('persistence_timeout')),
                            opt('persistence_engine'))
        svc.persistence_engine = engine
    svc.one_packet = bool(params.get('one_packet'))
    if svc.one_packet and svc.protocol != 'udp' and not svc.fwmark:
        raise IpvsError('%s is only for UDP (or firewall-mark) services, not %s'
                        % (opt('one_packet'), svc.protocol), opt('one_packet'))
    if not svc.fwmark and svc.port == 0 and not svc.persistence_timeout:
        raise IpvsError('%s is 0 (any port), which the kernel only accepts for a persistent service: set %s'
                        % (opt('virtual_port'), opt('persistence_timeout')), opt('virtual_port'))
    return svc


def dest_from_params(svc, params, prefix=''):
    """Build and validate one destination of ``svc`` from module-style parameters."""
    def opt(name):
        return prefix + name

    address, family = normalize_address(params.get('address'), opt('address'))
    if family != svc.family:
        raise IpvsError('%s %s is %s but the service %s is %s: a service and its real servers must be of one '
                        'address family' % (opt('address'), address, family, svc.label(), svc.family), opt('address'))
    method = params.get('forwarding_method') or 'route'
    if method not in FORWARDING_METHODS:
        raise IpvsError('%s must be one of %s, got %r' % (opt('forwarding_method'), ', '.join(FORWARDING_METHODS),
                                                          method), opt('forwarding_method'))
    default_port = 0 if svc.fwmark else svc.port
    port = params.get('port')
    port = default_port if port is None else _int_in_range(port, 0, 65535, opt('port'))
    if not svc.fwmark and method in ('route', 'tunnel') and port != svc.port:
        raise IpvsError('%s %d differs from the service port %d: %s forwarding cannot remap ports (the packet '
                        'reaches the real server unchanged); use the service port or forwarding_method=masq'
                        % (opt('port'), port, svc.port, 'direct-routing' if method == 'route' else 'tunnel'),
                        opt('port'))
    weight = params.get('weight')
    weight = 1 if weight is None else _int_in_range(weight, 0, MAX_WEIGHT, opt('weight'))
    upper = params.get('upper_threshold') or 0
    lower = params.get('lower_threshold') or 0
    upper = _int_in_range(upper, 0, MAX_THRESHOLD, opt('upper_threshold'))
    lower = _int_in_range(lower, 0, MAX_THRESHOLD, opt('lower_threshold'))
    if lower > upper:
        detail = ' (no upper threshold)' if not upper else ''
        raise IpvsError('%s %d is above %s %d%s' % (opt('lower_threshold'), lower, opt('upper_threshold'), upper,
                                                    detail), opt('lower_threshold'))
    return Dest(address, port, method, weight, upper, lower)


def add_dests_from_params(svc, realservers, prefix):
    for index, rs in enumerate(realservers or ()):
        dest = dest_from_params(svc, rs, '%srealservers[%d].' % (prefix, index))
        if dest.key in svc.dests:
            raise IpvsError('%srealservers[%d]: real server %s is listed twice' % (prefix, index, dest.endpoint()),
                            '%srealservers' % prefix)
        svc.add_dest(dest)


# --------------------------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------------------------

def merge(current, desired_services, absent_keys=(), purge_services=False, purge_dests=True, dests_managed=None):
    """The table that results from applying ``desired_services`` to ``current``.

    ``dests_managed``: keys of desired services whose destination list is given (None: all of them).
    With ``purge_dests`` a managed list is exclusive; without it, listed destinations are added/updated and
    others are kept. Services in ``absent_keys`` are removed; with ``purge_services`` so is every unlisted one.
    """
    target = Table()
    wanted = dict((svc.key, svc) for svc in desired_services)
    for key, svc in current.services.items():
        if key in absent_keys:
            continue
        if key not in wanted:
            if not purge_services:
                target.add(svc.copy())
            continue
        target.add(_merge_service(svc, wanted[key], purge_dests, dests_managed is None or key in dests_managed))
    for key, svc in wanted.items():
        if key not in target.services and key not in absent_keys:
            target.add(svc.copy())
    return target


def _merge_service(current, desired, purge_dests, managed):
    new = desired.copy(with_dests=False)
    if not managed:
        for key, dest in current.dests.items():
            new.dests[key] = dest.copy()
        return new
    if not purge_dests:
        for key, dest in current.dests.items():
            if key not in desired.dests:
                new.dests[key] = dest.copy()
    for key, dest in desired.dests.items():
        new.dests[key] = dest.copy()
    return new


def plan(current, target):
    """The minimal ipvsadm -R lines that turn ``current`` into ``target``.

    Service and destination attributes are edited in place (-E/-e): the kernel accepts any attribute change on an
    existing service or destination, so nothing is ever deleted and re-added, and no moment exists in which a
    service that stays has lost its real servers. Deletions come first so that re-used identities are free.
    """
    deletes, service_edits, adds = [], [], []
    for key, svc in current.services.items():
        new = target.get(key)
        if new is None:
            deletes.append(join_args(['-D'] + svc.ident_args()))
            continue
        ident = svc.ident_args()
        for dkey, dest in svc.dests.items():
            if dkey not in new.dests:
                deletes.append(join_args(['-d'] + ident + ['-r', dest.endpoint()]))
        if svc.attrs() != new.attrs():
            service_edits.append(join_args(['-E'] + new.args()))
        for dkey, dest in new.dests.items():
            old = svc.dests.get(dkey)
            if old is None:
                adds.append(join_args(['-a'] + ident + dest.args()))
            elif old.attrs() != dest.attrs():
                # -e resets thresholds that are not given: always state them when they were set before.
                args = dest.args()
                if old.upper_threshold and not dest.upper_threshold:
                    args += ['-x', '0']
                if old.lower_threshold and not dest.lower_threshold:
                    args += ['-y', '0']
                adds.append(join_args(['-e'] + ident + args))
    for key, svc in target.services.items():
        if key not in current.services:
            service_edits.extend(service_rules(svc))
    return deletes + service_edits + adds


# --------------------------------------------------------------------------------------------------------------------
# Talking to the kernel
# --------------------------------------------------------------------------------------------------------------------

READ_LINES = ['-S -n', '-L -n --thresholds']
STATS_LINE = '-L -n --stats --exact'


class Ipvsadm(object):
    """Runs ipvsadm for a module: reads the table in one process, applies a plan in one process."""

    def __init__(self, module):
        self.module = module
        self.command = Command(module, 'ipvsadm', hint=IPVSADM_INSTALL_HINT, fail_extra=dict(ipvs_unavailable=True))

    @property
    def processes(self):
        """How many ipvsadm processes this task started."""
        return self.command.processes

    def _run(self, lines):
        data = '\n'.join(lines) + '\n'
        rc, out, err = self.command.run(['-R'], 'ipvsadm -R', data=data, binary_data=True, check_rc=False)
        return self.command.argv('-R'), data, rc, out, err

    def _read_output(self, cmd, data, rc, out, err, stats=False):
        if not has_listing(out, stats):
            self._fail_read(cmd, data, rc, out, err)
        try:
            return parse_listing(out, stats)
        except (IpvsError, IndexError, ValueError) as exc:
            self.module.fail_json(msg='cannot read the output of ipvsadm: %s' % exc, rc=rc, stdout=out, stderr=err,
                                  cmd=cmd)

    def _fail_read(self, cmd, data, rc, out, err):
        hint = ''
        unavailable = 'Protocol not available' in err or "Can't initialize ipvs" in err
        if unavailable:
            hint = (' The kernel has no IPVS: load the ip_vs module (modprobe ip_vs) on this host; '
                    'containers must have it loaded by their host.')
        self.module.fail_json(msg='ipvsadm could not list the IPVS table: %s%s' % (err.strip() or out.strip(), hint),
                              rc=rc, stdout=out, stderr=err, cmd=cmd, ipvs_unavailable=unavailable)

    def read(self, stats=False):
        """Return (table, per-destination connection counts, stats or None) from ONE ipvsadm process."""
        lines = READ_LINES + ([STATS_LINE] if stats else [])
        result = self._run(lines)
        return self._read_output(*result, stats=stats)

    def apply(self, before, target, commands):
        """Apply ``commands`` (from plan(before, target)) and verify what they change; on a mismatch undo them and fail.

        Only what the plan changes is verified and, on failure, undone: services and real servers that another tool
        (keepalived, an operator) changes while the task runs are left as that tool made them.
        """
        cmd, data, rc, out, err = self._run(commands + READ_LINES)
        if not has_listing(out):
            # A parse error stops ipvsadm -R at once, before our listing: read the table on its own.
            after = self.read()[0]
        else:
            after = self._read_output(cmd, data, rc, out, err)[0]
        scope = changes(before, target)
        unexpected = mismatches(after, target, scope)
        if not unexpected:
            return after
        undo = plan(*restrict(after, before, scope))
        restored = after
        undo_err = ''
        if undo:
            ucmd, udata, urc, uout, undo_err = self._run(undo + READ_LINES)
            restored = self._read_output(ucmd, udata, urc, uout, undo_err)[0] if has_listing(uout) else \
                self.read()[0]
        state = ('what this task changed was restored to its state before the task' if not mismatches(restored, before, scope)
                 else 'RESTORING THE PREVIOUS STATE FAILED TOO (%s); check ipvsadm -Sn' % undo_err.strip())
        self.module.fail_json(
            msg='ipvsadm could not apply the change: %s; %s' % (err.strip() or 'the kernel table does not match '
                                                                'the plan', state),
            rc=rc, stdout=out, stderr=err, cmd=cmd, commands=commands, unexpected=unexpected)
        return None  # not reached


def wait_drained(ipvsadm, svc_key, dest_key, timeout, interval, clock=None, sleep=None):
    """Poll the connection counts of one real server until it has no active connection or ``timeout`` seconds passed.

    One ipvsadm process per poll. Returns (the table at the last poll, a dict: ``active_connections`` and
    ``inactive_connections`` at the last poll, ``timed_out``, ``seconds`` waited, ``polls`` and ``gone`` (the real
    server or its service left the table while we waited: nothing is left to wait for)).
    """
    table, counts, seconds, polls = wait_all_drained(ipvsadm, [(svc_key, dest_key)], timeout, interval, clock, sleep)
    count = counts[(svc_key, dest_key)]
    return table, dict(active_connections=count['active_connections'],
                       inactive_connections=count['inactive_connections'],
                       timed_out=not count['gone'] and count['active_connections'] > 0, seconds=seconds, polls=polls,
                       gone=count['gone'])


def wait_all_drained(ipvsadm, pairs, timeout, interval, clock=None, sleep=None):
    """Poll the connection counts of real servers until none of them has an active connection (or is still in the
    table) or ``timeout`` seconds passed; ``pairs`` are (service key, destination key).

    One ipvsadm process per poll, however many real servers wait. Returns (the table at the last poll, {pair: dict of
    ``active_connections``, ``inactive_connections`` and ``gone`` (it or its service left the table meanwhile)},
    seconds waited, polls).
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    start = clock()
    polls = 0
    while True:
        table, conns = ipvsadm.read()[:2]
        polls += 1
        counts = {}
        for key, dkey in pairs:
            svc = table.get(key)
            gone = svc is None or dkey not in svc.dests
            count = {} if gone else conns.get(key, {}).get(dkey, {})
            counts[(key, dkey)] = dict(active_connections=count.get('active_connections', 0),
                                       inactive_connections=count.get('inactive_connections', 0), gone=gone)
        elapsed = clock() - start
        if elapsed >= timeout or not any(c['active_connections'] for c in counts.values()):
            return table, counts, round(elapsed, 3), polls
        sleep(min(interval, max(timeout - elapsed, 0)))


def drain_stage(current, target, conns):
    """The table on the way from ``current`` to ``target`` in which real servers leave gracefully.

    Every real server that ``target`` removes - from a pool, or with its whole service - and that may still carry
    traffic (a weight above 0, or active connections in ``conns``) stays in the stage at weight 0: it takes no new
    connection and keeps those it has. A service that leaves stays with those real servers alone. Returns (stage,
    waiting): ``waiting`` lists them as (service key, destination key), in table order; with none, the stage is
    ``target`` itself (no copy of a large table on a run that removes nothing).
    """
    waiting = []
    for key, svc in current.services.items():
        new = target.get(key)
        for dkey, dest in svc.dests.items():
            if new is not None and dkey in new.dests:
                continue
            if dest.weight == 0 and not conns.get(key, {}).get(dkey, {}).get('active_connections', 0):
                continue
            waiting.append((key, dkey))
    if not waiting:
        return target, waiting
    stage = target.copy()
    for key, dkey in waiting:
        kept = stage.get(key)
        if kept is None:
            kept = current.get(key).copy(with_dests=False)
            stage.add(kept)
        quiet = current.get(key).dests[dkey].copy()
        quiet.weight = 0
        kept.add_dest(quiet)
    return stage, waiting


def drain_finish(table, target, waiting, done):
    """``table`` with the drained real servers (``done``, a subset of ``waiting`` from drain_stage()) removed, and
    each service that ``target`` removes gone once none of its real servers is still waiting."""
    final = table.copy()
    for key, dkey in done:
        svc = final.get(key)
        if svc is not None:
            svc.dests.pop(dkey, None)
    done = set(done)
    pending = set(key for key, dkey in waiting if (key, dkey) not in done)
    for key in set(key for key, dkey in waiting):
        if target.get(key) is None and key not in pending:
            final.services.pop(key, None)
    return final


def changes(current, target):
    """What turning ``current`` into ``target`` changes: (service keys, (service key, destination key) pairs).

    A service is in the first set when it is added, removed or edited; a destination is in the second when it is
    added, removed or edited, including every destination of an added or removed service.
    """
    services, dests = set(), set()
    for key in set(current.services) | set(target.services):
        old, new = current.get(key), target.get(key)
        if old is None or new is None or old.attrs() != new.attrs():
            services.add(key)
        old_dests = old.dests if old is not None else {}
        new_dests = new.dests if new is not None else {}
        for dkey in set(old_dests) | set(new_dests):
            if old_dests.get(dkey) != new_dests.get(dkey):
                dests.add((key, dkey))
    return services, dests


def mismatches(table, expected, scope):
    """The rules, within ``scope`` (from changes()), where ``table`` differs from ``expected``: sorted lines."""
    services, dests = scope
    lines = set()
    for key in services:
        have, want = table.get(key), expected.get(key)
        if (have is None) != (want is None) or (have is not None and have.attrs() != want.attrs()):
            lines.update(join_args(['-A'] + svc.args()) for svc in (have, want) if svc is not None)
    for key, dkey in dests:
        have_svc, want_svc = table.get(key), expected.get(key)
        have = have_svc.dests.get(dkey) if have_svc is not None else None
        want = want_svc.dests.get(dkey) if want_svc is not None else None
        if have != want:
            ident = (have_svc or want_svc).ident_args()
            lines.update(join_args(['-a'] + ident + dest.args()) for dest in (have, want) if dest is not None)
    return sorted(lines)


def restrict(after, before, scope):
    """(after, before) reduced to ``scope``, so that plan() of the pair undoes exactly what a task changed.

    A service that the task changed only through its destinations keeps the attributes it has now on both sides, so
    the undo never edits it; a destination outside the scope appears on neither side, so it is never touched.
    """
    services, dests = scope
    by_service = {}
    for key, dkey in dests:
        by_service.setdefault(key, []).append(dkey)
    sides = (Table(), Table())
    for key in services | set(by_service):
        now, then = after.get(key), before.get(key)
        if key not in services:
            if now is None:
                continue  # another tool removed it meanwhile: nothing of ours to undo
            then = now if then is None else then
        for side, svc in zip(sides, (now, then)):
            if svc is None:
                continue
            base = svc if key in services else now
            copy = base.copy(with_dests=False)
            for dkey in by_service.get(key, ()):
                if dkey in svc.dests:
                    copy.dests[dkey] = svc.dests[dkey].copy()
            side.add(copy)
    return sides


def removals(current, target):
    """What ``target`` removes from ``current``: (removed services, {service key: (removed destinations, count)})."""
    services = [svc for key, svc in current.services.items() if key not in target.services]
    dests = {}
    for key, svc in current.services.items():
        new = target.get(key)
        if new is None or not svc.dests:
            continue
        gone = [dest for dkey, dest in svc.dests.items() if dkey not in new.dests]
        if gone:
            dests[key] = (gone, len(svc.dests))
    return services, dests


def removal_violations(current, target, max_share=None, max_services=None):
    """Messages naming each removal beyond the limits (None: no limit); empty when the plan is within them."""
    services, dests = removals(current, target)
    problems = []
    if max_services is not None and len(services) > max_services:
        problems.append('it would remove %d services (at most %d allowed): %s'
                        % (len(services), max_services, ', '.join(svc.label() for svc in services)))
    if max_share is not None:
        for key, (gone, count) in dests.items():
            if float(len(gone)) / count > max_share:
                problems.append('it would remove %d of the %d real servers of %s (at most %d%% allowed): %s'
                                % (len(gone), count, current.get(key).label(), round(max_share * 100),
                                   ', '.join(dest.endpoint() for dest in gone)))
    return problems


def diff_text(lines):
    return '\n'.join(lines) + ('\n' if lines else '')


# --------------------------------------------------------------------------------------------------------------------
# Argument specs shared by the modules (documented by the lvs.dr.ipvs doc fragment)
# --------------------------------------------------------------------------------------------------------------------

def service_identity_spec():
    return dict(
        protocol=dict(type='str', choices=list(PROTOCOLS)),
        virtual_address=dict(type='str', aliases=['vip']),
        virtual_port=dict(type='int'),
        fwmark=dict(type='int'),
        family=dict(type='str', choices=['ipv4', 'ipv6']),
    )


def service_spec():
    spec = service_identity_spec()
    spec.update(
        scheduler=dict(type='str', default=DEFAULT_SCHEDULER, choices=list(SCHEDULERS)),
        scheduler_flags=dict(type='list', elements='str', default=[], choices=list(SCHEDULER_FLAGS)),
        persistence_timeout=dict(type='int', default=0),
        persistence_netmask=dict(type='str'),
        one_packet=dict(type='bool', default=False),
        persistence_engine=dict(type='str', choices=list(PERSISTENCE_ENGINES)),
    )
    return spec


def drain_timing_spec():
    """drain_timeout and drain_poll_interval, shared by the modules that drain."""
    return dict(drain_timeout=dict(type='int', default=300), drain_poll_interval=dict(type='float', default=1.0))


def validate_drain_timing(params):
    """Raise IpvsError naming drain_timeout or drain_poll_interval when it is out of range."""
    if params['drain_timeout'] < 0:
        raise IpvsError('drain_timeout: must be 0 or more seconds, got %d' % params['drain_timeout'], 'drain_timeout')
    if not 0.1 <= params['drain_poll_interval'] <= 3600:
        raise IpvsError('drain_poll_interval: must be between 0.1 and 3600 seconds, got %s'
                        % params['drain_poll_interval'], 'drain_poll_interval')


def realserver_spec():
    return dict(
        address=dict(type='str', required=True),
        port=dict(type='int'),
        weight=dict(type='int', default=1),
        forwarding_method=dict(type='str', default='route', choices=list(FORWARDING_METHODS)),
        upper_threshold=dict(type='int', default=0),
        lower_threshold=dict(type='int', default=0),
    )


SERVICE_CONSTRAINTS = dict(
    mutually_exclusive=[('fwmark', 'virtual_address'), ('fwmark', 'virtual_port'), ('fwmark', 'protocol')],
    required_one_of=[('fwmark', 'virtual_address')],
    required_together=[('virtual_address', 'virtual_port')],
)


def fail_invalid(module, exc):
    """Report invalid input before anything was read or changed."""
    module.fail_json(msg=str(exc), option=exc.option)
