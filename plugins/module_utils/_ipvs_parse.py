# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing ipvsadm's output into the IPVS model of lvs.dr (``_ipvs_model``).

Not a public API: may change without notice. A read lists the table with ``ipvsadm -S -n`` (everything but
thresholds) and ``ipvsadm -L -n --thresholds`` (``READ_LINES``), and optionally ``ipvsadm -L -n --stats --exact``
(``STATS_LINE``), all in one ``ipvsadm -R`` process whose output ``parse_listing()`` splits and reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import (
    Dest, IpvsError, Service, Table, normalize_address, normalize_flags, normalize_netmask,
)

_SWITCH_FWD = {'-g': 'route', '--gatewaying': 'route', '-m': 'masq', '--masquerading': 'masq',
               '-i': 'tunnel', '--ipip': 'tunnel'}
_SWITCH_PROTO = {'-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp',
                 '--sctp-service': 'sctp'}
_LIST_PROTO = {'TCP': 'tcp', 'UDP': 'udp', 'SCTP': 'sctp'}
LIST_HEADER = 'IP Virtual Server version'

# The lines of ipvsadm -R input that list the table (_ipvsadm.Ipvsadm runs them): parse_listing() reads their output.
READ_LINES = ['-S -n', '-L -n --thresholds']
STATS_LINE = '-L -n --stats --exact'

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
