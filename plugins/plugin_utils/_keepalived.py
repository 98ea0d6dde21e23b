# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""keepalived.conf for a director: VRRP for the VIPs, one virtual_server per service of the director's plan.

Private to the collection (leading underscore); the filter lvs.dr.keepalived_config wraps ``keepalived_config()``.

The services are those ``director_plan()`` returns (present ones with their pools; absent ones are left out: keepalived
removes on reload what it no longer lists). Every service and real server goes through the collection's IPVS model
again, so the function is safe to call on its own. The syntax is that of keepalived 2.2.7 (Debian 12), read from its
parser (lib/parser.c, check/check_parser.c, check/check_data.c, vrrp/vrrp_parser.c, vrrp/vrrp.c,
core/global_parser.c), which also decides what is quoted and what is refused:

- ``#`` and ``!`` start a comment anywhere outside double quotes, ``{`` and ``}`` open and close blocks anywhere
  outside double quotes, ``$NAME`` and ``${NAME}`` are substituted even inside quotes (``_PWD``, ``_HASH``, ... are
  predefined), and a line is read into 1024 bytes. So a user-given string is written in double quotes and refused
  when it holds what the quotes do not protect (control characters, ``"``, ``\\``, ``$``) or is too long. Names
  (the VRRP instance, interfaces, the script user) must match a strict pattern and are written bare.
- ``misc_path`` is parsed twice: its double-quoted value is one word, which keepalived splits again into the program
  and its arguments, honouring single quotes and backslashes. Each argument is single-quoted when it is not plain,
  and may not hold a quote, a backslash, ``$`` or a control character.

Nothing is raised for bad input: ``keepalived_config()`` returns the text and a list of problems, each naming the
option, so a role can report all of them at once (and must not install a text that came with problems).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re
import shlex

from collections.abc import Mapping

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError, normalize_address
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_params import (
    dest_from_params, service_from_params, service_identity_from_params,
)
from ansible_collections.lvs.dr.plugins.plugin_utils._plan import IDENTITY_KEYS, SERVICE_KEYS

DEFAULT_VAR = 'director_keepalived'
DEFAULT_INSTANCE = 'LVS_DR'
CHECK_TYPES = ('TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK')
# The collection's forwarding methods (lvs.dr.ipvs_table) as keepalived's lvs_method.
LVS_METHODS = {'route': 'DR', 'masq': 'NAT', 'tunnel': 'TUN'}
HA_KEYS = ('instance', 'virtual_router_id', 'priority', 'state', 'interface', 'advert_int', 'unicast_src_ip',
           'unicast_peers', 'auth_pass', 'preempt', 'preempt_delay', 'startup_delay', 'router_id', 'script_user',
           'sync_daemon', 'sync_interface', 'sync_id', 'check', 'delay_loop', 'alpha', 'inhibit_on_failure',
           'services', 'global_defs_extra', 'vrrp_instance_extra')
CHECK_KEYS = ('type', 'port', 'connect_timeout', 'retry', 'delay_before_retry', 'path', 'status_code', 'virtualhost',
              'script', 'misc_timeout', 'extra')
# Options of each check type besides type, retry and delay_before_retry.
CHECK_OPTIONS = {
    'TCP_CHECK': ('port', 'connect_timeout'),
    'HTTP_GET': ('port', 'connect_timeout', 'path', 'status_code', 'virtualhost'),
    'SSL_GET': ('port', 'connect_timeout', 'path', 'status_code', 'virtualhost'),
    'MISC_CHECK': ('script', 'misc_timeout'),
}
SERVICE_SETTING_KEYS = IDENTITY_KEYS + ('check', 'delay_loop', 'alpha', 'inhibit_on_failure', 'quorum', 'hysteresis',
                                        'sorry_server', 'extra')
# The numeric options of checks, in the order they are written: (key, keyword, int or float (a timer), low, high).
_CHECK_NUMBERS = (
    ('port', 'connect_port', int, 1, 65535),
    ('connect_timeout', 'connect_timeout', float, 0.001, 3600),
    ('misc_timeout', 'misc_timeout', int, 1, 3600),
    ('retry', 'retry', int, 0, 100),
    ('delay_before_retry', 'delay_before_retry', float, 0, 3600),
)
DEFAULT_CHECK = {'type': 'TCP_CHECK', 'connect_timeout': 3, 'retry': 2, 'delay_before_retry': 2}
DEFAULT_DELAY_LOOP = 6
# keepalived 2.2.7 (check/check_api.c register_checkers_thread) starts each checker BOOTSTRAP_DELAY (1 s) plus a
# random share of its warmup (delay_loop unless set) after the checker process starts; a connection waits at most
# connect_timeout (5 s when unset, check/check_data.c), a MISC_CHECK script misc_timeout (else delay_loop).
BOOTSTRAP_DELAY = 1
DEFAULT_CONNECT_TIMEOUT = 5
# Added to the time the first round of checks takes, for scheduling and the netlink call that adds the server.
READY_MARGIN = 1
MAX_DELAY = 1000
MAX_STRING = 255
MAX_SCRIPT = 900           # keepalived reads a line into 1024 bytes
MAX_QUORUM = 2 ** 31 - 1

_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}\Z')
_IFNAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}\Z')      # IFNAMSIZ is 16 with the NUL
_USER = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z')
# What double quotes do not protect: control characters, the quote itself, the escape, parameter substitution.
_UNQUOTABLE = re.compile(r'[\x00-\x1f\x7f"\\$]')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
MAX_EXTRA_LINE = 900        # keepalived reads a line into 1024 bytes; the rest is indentation
_STATUS = re.compile(r'([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?\Z')
# A misc_path word that needs no single quotes.
_PLAIN_WORD = re.compile(r'[A-Za-z0-9_./:=@%+,-]+\Z')


def _num(number):
    """A number as keepalived reads a <TIMER>: no exponent, at most 6 decimal places."""
    return ('%.6f' % number).rstrip('0').rstrip('.') or '0'


def _is_list(value):
    return isinstance(value, (list, tuple))


class _Problems(object):
    """Collects problems. Each check returns the value as keepalived.conf takes it, or None after recording why not."""

    def __init__(self):
        self.items = []

    def add(self, message):
        self.items.append(message)

    def integer(self, value, low, high, option):
        number = None
        if not isinstance(value, bool):
            try:
                number = int(value)
            except (TypeError, ValueError):
                pass
        if number is None or (isinstance(value, float) and value != number):
            self.add('%s: %r is not an integer' % (option, value))
            return None
        if not low <= number <= high:
            self.add('%s: %d is out of range %d..%d' % (option, number, low, high))
            return None
        return number

    def timer(self, value, low, high, option):
        """Seconds, with up to 6 decimal places, as text."""
        number = float('nan')
        if not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError):
                pass
        if math.isnan(number) or math.isinf(number):
            self.add('%s: %r is not a number of seconds' % (option, value))
            return None
        if not low <= number <= high:
            self.add('%s: %s is out of range %s..%s seconds' % (option, _num(number), _num(low), _num(high)))
            return None
        return _num(number)

    def boolean(self, value, option):
        if isinstance(value, bool):
            return value
        self.add('%s: %r is not a boolean (true or false)' % (option, value))
        return None

    def name(self, value, pattern, option, what):
        if isinstance(value, str) and pattern.match(value):
            return value
        self.add('%s: %r is not a valid %s' % (option, value, what))
        return None

    def address(self, value, option):
        """(canonical address, family), or (None, None)."""
        try:
            return normalize_address(value, option)
        except IpvsError as exc:
            self.add(str(exc))
            return None, None

    def string(self, value, option, max_len=MAX_STRING):
        """A user-given string, double-quoted; refused when the quotes cannot hold it as one value."""
        if not isinstance(value, str) or value == '':
            self.add('%s: expected a non-empty string, got %r' % (option, value))
            return None
        bad = _UNQUOTABLE.search(value)
        if bad:
            self.add('%s: %r holds %r, which keepalived.conf cannot carry in a quoted string (control characters, '
                     'double quotes, backslashes and $ are refused)' % (option, value, bad.group(0)))
            return None
        if len(value.encode('utf-8')) > max_len:
            self.add('%s: longer than %d bytes' % (option, max_len))
            return None
        return '"%s"' % value

    def listed(self, value, option, what):
        """A list option: the list, or [] after recording a problem."""
        if value is None:
            return []
        if _is_list(value):
            return list(value)
        self.add('%s: expected a list of %s, got %r' % (option, what, value))
        return []

    def unknown(self, mapping, known, option):
        unknown = sorted(str(key) for key in mapping if key not in known)
        if unknown:
            self.add('%s: unknown key%s %s (known: %s)'
                     % (option, 's' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(known)))

    def extra(self, value, option):
        """Lines written as they are (options this filter does not model): keepalived's own config test judges them.

        Each line is one line (no control character, so none can start another), and the braces outside double
        quotes balance over the list without closing the block the lines are written in.
        """
        lines = []
        for index, line in enumerate(self.listed(value, option, 'lines')):
            where = '%s[%d]' % (option, index)
            if not isinstance(line, str) or not line.strip():
                self.add('%s: expected a non-empty line of keepalived.conf, got %r' % (where, line))
                return []
            bad = _CONTROL.search(line)
            if bad:
                self.add('%s: %r holds the control character %r; each item is one line' % (where, line, bad.group(0)))
                return []
            if len(line.encode('utf-8')) > MAX_EXTRA_LINE:
                self.add('%s: longer than %d bytes' % (where, MAX_EXTRA_LINE))
                return []
            lines.append(line.strip())
        depth = 0
        for index, line in enumerate(lines):
            for step in _braces(line):
                depth += step
                if depth < 0:
                    self.add('%s[%d]: %r closes a block it did not open' % (option, index, line))
                    return []
        if depth:
            self.add('%s: %d block%s opened and not closed' % (option, depth, 's' if depth > 1 else ''))
            return []
        return lines

    def script(self, value, option):
        """misc_path's value: the program and its arguments, each single-quoted when needed, the whole double-quoted.

        A string is split like a shell command line (no shell ever runs it); a list gives the words as they are.
        """
        if isinstance(value, str):
            bad = _UNQUOTABLE.search(value)
            if bad:
                self.add('%s: %r holds %r (control characters, double quotes, backslashes and $ are refused)'
                         % (option, value, bad.group(0)))
                return None
            try:
                words = shlex.split(value)
            except ValueError as exc:
                self.add('%s: %r is not a command line: %s' % (option, value, exc))
                return None
        elif _is_list(value):
            words = list(value)
        else:
            self.add('%s: expected a command line or the list of its words, got %r' % (option, value))
            return None
        if not words:
            self.add('%s: no program given' % option)
            return None
        quoted = []
        for index, word in enumerate(words):
            if not isinstance(word, str) or word == '' or "'" in word or _UNQUOTABLE.search(word):
                self.add("%s[%d]: %r is refused (each word is a non-empty string without control characters, quotes, "
                         "backslashes or $)" % (option, index, word))
                return None
            quoted.append(word if _PLAIN_WORD.match(word) else "'%s'" % word)
        if not words[0].startswith('/'):
            self.add('%s: the program %r must be an absolute path' % (option, words[0]))
            return None
        return self.string(' '.join(quoted), option, MAX_SCRIPT)


class _Lines(object):
    """Lines of keepalived.conf, indented by block."""

    def __init__(self):
        self.lines = []
        self.depth = 0

    def line(self, text):
        self.lines.append('    ' * self.depth + text if text else '')

    def open(self, text):
        self.line(text + ' {')
        self.depth += 1

    def close(self):
        self.depth -= 1
        self.line('}')

    def block(self, text, lines):
        self.open(text)
        for line in lines:
            self.line(line)
        self.close()

    def insert(self, index, depth, text):
        """A line written later at a place kept earlier (``index`` and ``depth`` of that moment)."""
        self.lines.insert(index, '    ' * depth + text)


class _Check(object):
    """One validated health check: its type, its lines, the lines of its url block."""

    __slots__ = ('kind', 'lines', 'url', 'has_port', 'extra', 'timeout')

    def __init__(self, kind, lines, url, has_port, extra=(), timeout=None):
        self.kind = kind
        self.lines = lines
        self.url = url
        self.has_port = has_port
        self.extra = list(extra)
        # The longest a check can take, in seconds (None: a MISC_CHECK without misc_timeout, which waits delay_loop).
        self.timeout = timeout

    def ready(self, delay_loop):
        """Seconds from the checker's start until the first check of a real server has ended, at the latest."""
        timeout = delay_loop if self.timeout is None else self.timeout
        return BOOTSTRAP_DELAY + delay_loop + timeout

    def render(self, out):
        out.open(self.kind)
        for line in self.lines:
            out.line(line)
        if self.url:
            out.block('url', self.url)
        _extra(out, self.extra)
        out.close()


def _braces(line):
    """+1 for each ``{`` and -1 for each ``}`` of a line, in order, outside double quotes and comments."""
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in '#!':
            return
        elif not quoted and char in '{}':
            yield 1 if char == '{' else -1


def _extra(out, lines):
    """Writes extra lines, indented by the blocks they open (a line that starts with ``}`` one level out)."""
    for line in lines:
        closing = line.startswith('}')
        out.depth -= closing
        out.line(line)
        out.depth += closing + sum(_braces(line))


def _check(check, where, problems):
    """A _Check from a check dict, or None."""
    if not isinstance(check, Mapping):
        problems.add('%s: a health check is a dict, got %r' % (where, check))
        return None
    problems.unknown(check, CHECK_KEYS, where)
    kind = check.get('type', 'TCP_CHECK')
    if kind not in CHECK_TYPES:
        problems.add('%s.type: unknown health check %r (known: %s)' % (where, kind, ', '.join(CHECK_TYPES)))
        return None
    allowed = CHECK_OPTIONS[kind] + ('retry', 'delay_before_retry', 'extra')
    for key in CHECK_KEYS[1:]:
        if key in check and key not in allowed:
            users = [name for name in CHECK_TYPES if key in CHECK_OPTIONS[name]]
            problems.add('%s.%s: not an option of %s (only of %s)' % (where, key, kind, ', '.join(users)))
    lines, url = [], []
    if kind == 'MISC_CHECK':
        if check.get('script') in (None, '', []):
            problems.add('%s.script: MISC_CHECK needs the script to run' % where)
        else:
            script = problems.script(check['script'], where + '.script')
            if script:
                lines.append('misc_path %s' % script)
    timeout = None if kind == 'MISC_CHECK' else DEFAULT_CONNECT_TIMEOUT
    for key, keyword, number, low, high in _CHECK_NUMBERS:
        if key in check and key in allowed:
            read = problems.integer if number is int else problems.timer
            value = read(check[key], low, high, '%s.%s' % (where, key))
            if value is not None:
                lines.append('%s %s' % (keyword, value))
                if key in ('connect_timeout', 'misc_timeout'):
                    timeout = float(value)
    if kind in ('HTTP_GET', 'SSL_GET'):
        if 'virtualhost' in check:
            host = problems.string(check['virtualhost'], where + '.virtualhost')
            if host:
                lines.append('virtualhost %s' % host)
        url = _url(check, kind, where, problems)
    extra = problems.extra(check.get('extra'), where + '.extra')
    return _Check(kind, lines, url, 'port' in check, extra, timeout)


def _url(check, kind, where, problems):
    """The lines of the url block of an HTTP_GET or SSL_GET check."""
    url = []
    path = check.get('path')
    if path in (None, ''):
        problems.add('%s.path: %s needs the path of the URL to get' % (where, kind))
    elif not isinstance(path, str) or not path.startswith('/'):
        problems.add('%s.path: %r must start with /' % (where, path))
    else:
        quoted = problems.string(path, where + '.path')
        if quoted:
            url.append('path %s' % quoted)
    codes = check.get('status_code')
    if codes is not None:
        texts = []
        for code in codes if _is_list(codes) else [codes]:
            match = _STATUS.match(str(code)) if not isinstance(code, bool) else None
            if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
                problems.add('%s.status_code: %r is not an HTTP status code (100-599) or range (200-299)'
                             % (where, code))
            else:
                texts.append(match.group(0))
        if texts:
            url.append('status_code %s' % ' '.join(texts))
    return url


class _Renderer(object):
    """Renders one director's keepalived.conf; ``problems`` collects what is wrong with the input."""

    def __init__(self, ha, var):
        self.problems = _Problems()
        if not isinstance(ha, Mapping):
            self.problems.add('%s must be a dict, got %r' % (var, ha))
            ha = {}
        self.problems.unknown(ha, HA_KEYS, var)
        self.ha = ha
        self.var = var
        self.scripts = False          # whether a MISC_CHECK runs a script
        self.ready = 0                # seconds until the first check of every real server has ended
        self.preempt_at = None        # where the default preempt_delay goes: (line index, depth)
        self.idents = []              # ipvsadm's arguments naming each virtual_server
        self.warnings = []            # what keepalived --config-test says of this file without it being wrong

    def opt(self, name):
        return '%s.%s' % (self.var, name)

    def required(self, name, low, high, why):
        if self.ha.get(name) is None:
            self.problems.add('%s is required (%s)' % (self.opt(name), why))
            return None
        return self.problems.integer(self.ha[name], low, high, self.opt(name))

    # ------------------------------------------------------------------------------------------------ VRRP

    def vrrp(self, vips, out):
        """The vrrp_instance block holding ``vips`` (validated addresses of one family)."""
        ha, p, opt = self.ha, self.problems, self.opt
        self.instance = p.name(ha.get('instance', DEFAULT_INSTANCE), _NAME, opt('instance'), 'VRRP instance name')
        self.interface = None
        if ha.get('interface') in (None, ''):
            p.add('%s is required: the interface that carries the VIPs and the VRRP adverts' % opt('interface'))
        else:
            self.interface = p.name(ha['interface'], _IFNAME, opt('interface'), 'interface name')
        vrid = self.required('virtual_router_id', 1, 255, '1-255, the same on both directors, unique on the segment')
        priority = self.required('priority', 1, 254, '1-254, different on each director; the highest holds the VIPs')
        state = ha.get('state', 'BACKUP')
        if state not in ('MASTER', 'BACKUP'):
            p.add('%s: must be MASTER or BACKUP, got %r' % (opt('state'), state))
        preempt = p.boolean(ha.get('preempt', True), opt('preempt'))
        delay = None
        if ha.get('preempt_delay') is not None:
            delay = p.timer(ha['preempt_delay'], 0, 1000, opt('preempt_delay'))
            if preempt is False:
                p.add('%s: keepalived ignores it with %s false' % (opt('preempt_delay'), opt('preempt')))
        if state == 'MASTER' and (preempt is False or delay not in (None, '0')):
            p.add('%s: MASTER does not work with %s and keepalived clears it; keep BACKUP on every director (the '
                  'priority elects the master)' % (opt('state'), opt('preempt') + ' false' if preempt is False
                                                   else opt('preempt_delay')))
        family = 'ipv6' if vips and ':' in vips[0] else 'ipv4'
        advert = self.advert_int(family)
        src, peers = self.unicast(family)
        auth = None
        if ha.get('auth_pass') is not None:
            auth = p.string(ha['auth_pass'], opt('auth_pass'), 8)
            if family == 'ipv6':
                p.add('%s: IPv6 instances use VRRP version 3, which has no authentication' % opt('auth_pass'))

        out.open('vrrp_instance %s' % self.instance)
        for line in ('state %s' % state, 'interface %s' % self.interface, 'virtual_router_id %s' % vrid,
                     'priority %s' % priority, 'advert_int %s' % advert):
            out.line(line)
        if preempt is False:
            out.line('nopreempt')
        elif delay is not None:
            out.line('preempt_delay %s' % delay)
        elif state == 'BACKUP':
            # The default, written once the services are known (ready_delay()).
            self.preempt_at = (len(out.lines), out.depth)
        if src:
            out.line('unicast_src_ip %s' % src)
        if peers:
            out.block('unicast_peer', peers)
        if auth:
            out.block('authentication', ['auth_type PASS', 'auth_pass %s' % auth])
        out.block('virtual_ipaddress', ['%s/%d dev %s' % (vip, 128 if ':' in vip else 32, self.interface)
                                        for vip in vips])
        _extra(out, p.extra(ha.get('vrrp_instance_extra'), opt('vrrp_instance_extra')))
        out.close()

    def advert_int(self, family):
        """VRRP version 2 (IPv4) adverts carry whole seconds (1-255), version 3 (IPv6) centiseconds (to 40.95)."""
        value = self.ha.get('advert_int', 1)
        if family == 'ipv6':
            advert = self.problems.timer(value, 0.01, 40.95, self.opt('advert_int'))
            if advert is not None and round(float(advert) * 100) != float(advert) * 100:
                self.problems.add('%s: %s is not a whole number of centiseconds (VRRP version 3)'
                                  % (self.opt('advert_int'), advert))
            return advert
        advert = self.problems.timer(value, 1, 255, self.opt('advert_int'))
        if advert is not None and '.' in advert:
            self.problems.add('%s: %s is not whole seconds, which VRRP version 2 (IPv4) needs'
                              % (self.opt('advert_int'), advert))
        return advert

    def unicast(self, family):
        """(unicast_src_ip or None, [unicast peers]), of the VIPs' family."""
        p, opt = self.problems, self.opt
        src = None
        if self.ha.get('unicast_src_ip') is not None:
            src, src_family = p.address(self.ha['unicast_src_ip'], opt('unicast_src_ip'))
            if src and src_family != family:
                p.add('%s: %s is %s but the VIPs are %s' % (opt('unicast_src_ip'), src, src_family, family))
        peers = []
        for index, value in enumerate(p.listed(self.ha.get('unicast_peers'), opt('unicast_peers'), 'addresses')):
            where = '%s[%d]' % (opt('unicast_peers'), index)
            peer, peer_family = p.address(value, where)
            if not peer:
                continue
            if peer_family != family:
                p.add('%s: %s is %s but the VIPs are %s' % (where, peer, peer_family, family))
            elif peer == src:
                p.add("%s: %s is this director's own %s" % (where, peer, opt('unicast_src_ip')))
            elif peer not in peers:
                peers.append(peer)
        if src and not peers:
            p.add('%s needs %s: without peers keepalived falls back to multicast'
                  % (opt('unicast_src_ip'), opt('unicast_peers')))
        return src, peers

    def vips(self, vips, present):
        """The VIPs as validated addresses of one family: ``vips``, or the present services' virtual addresses."""
        p = self.problems
        if vips is None:
            where = "the services' virtual addresses"
            vips = [s.get('virtual_address', s.get('vip')) for s in present
                    if s.get('virtual_address', s.get('vip')) is not None]
        else:
            where = 'vips'
            vips = p.listed(vips, where, 'addresses')
        result, families = [], {}
        for index, value in enumerate(vips):
            address, family = p.address(value, '%s[%d]' % (where, index))
            if address and address not in result:
                result.append(address)
                families.setdefault(family, []).append(address)
        if len(families) > 1:
            p.add('%s mix IPv4 and IPv6 (%s); a VRRP instance holds one address family'
                  % (where, ', '.join(families['ipv6'])))
        if not result:
            p.add('no VIP for the VRRP instance: no present service has a virtual_address (give the VIPs of '
                  'firewall-mark services in vips)')
        return result

    def ready_delay(self):
        """Whole seconds from keepalived's start until the first check of every real server has ended (or None).

        Each checker starts 1 s plus a random share of delay_loop after keepalived, and its check ends within its
        timeout; with alpha a server joins the table when that first check passes, without it a failing server leaves
        when it fails. Until then the table is not ready: VRRP must not take the VIPs.
        """
        if not self.ready:
            return None
        return _num(min(MAX_DELAY, math.ceil(self.ready) + READY_MARGIN))

    def delays(self, out):
        """The default preempt_delay, in the vrrp_instance block of ``out``: the table's ready time."""
        delay = self.ready_delay()
        if self.preempt_at and delay:
            out.insert(self.preempt_at[0], self.preempt_at[1], 'preempt_delay %s' % delay)

    # ------------------------------------------------------------------------------------------------ global_defs

    def global_defs(self, hostname, out):
        ha, p, opt = self.ha, self.problems, self.opt
        out.open('global_defs')
        if ha.get('router_id') or hostname:
            router_id = p.string(ha.get('router_id') or hostname, opt('router_id') if ha.get('router_id')
                                 else 'hostname')
            if router_id:
                out.line('router_id %s' % router_id)
        # Scripts run only when their files are safe; without MISC_CHECK this costs nothing.
        out.line('enable_script_security')
        # VRRP starts only once the table is ready, so a director that starts with no peer holding the VIPs (a boot
        # of both, a peer that is down) does not take them with an empty or unchecked table.
        startup = self.ready_delay()
        if ha.get('startup_delay') is not None:
            startup = p.timer(ha['startup_delay'], 0, MAX_DELAY, opt('startup_delay'))
        if startup not in (None, '0'):
            out.line('vrrp_startup_delay %s' % startup)
        if ha.get('script_user') is not None:
            user = p.name(ha['script_user'], _USER, opt('script_user'), 'user name')
            if user:
                out.line('script_user %s' % user)
        elif self.scripts:
            # keepalived's default user keepalived_script does not exist on Debian: without a user no script runs.
            out.line('script_user root')
        if p.boolean(ha.get('sync_daemon', False), opt('sync_daemon')):
            interface = self.interface
            if ha.get('sync_interface') not in (None, ''):
                interface = p.name(ha['sync_interface'], _IFNAME, opt('sync_interface'), 'interface name')
            line = 'lvs_sync_daemon %s inst %s' % (interface, self.instance)
            if ha.get('sync_id') is not None:
                line += ' id %s' % p.integer(ha['sync_id'], 0, 255, opt('sync_id'))
            out.line(line)
        else:
            for key in ('sync_interface', 'sync_id'):
                if ha.get(key) is not None:
                    p.add('%s: only with %s true' % (opt(key), opt('sync_daemon')))
        _extra(out, p.extra(ha.get('global_defs_extra'), opt('global_defs_extra')))
        out.close()

    # ------------------------------------------------------------------------------------------------ services

    def settings(self):
        """The per-service settings by service identity: {key: (where, item)}."""
        p, found = self.problems, {}
        for index, item in enumerate(p.listed(self.ha.get('services'), self.opt('services'), 'per-service settings')):
            where = '%s[%d]' % (self.opt('services'), index)
            if not isinstance(item, Mapping):
                p.add('%s: expected a dict, got %r' % (where, item))
                continue
            p.unknown(item, SERVICE_SETTING_KEYS, where)
            params = dict((key, item[key]) for key in IDENTITY_KEYS if key in item)
            if 'vip' in params and 'virtual_address' not in params:
                params['virtual_address'] = params.pop('vip')
            try:
                key = service_identity_from_params(params, where + '.').key
            except IpvsError as exc:
                p.add(str(exc))
                continue
            if key in found:
                p.add('%s: the same service as %s' % (where, found[key][0]))
                continue
            found[key] = (where, item)
        return found

    def service(self, item, settings, vips, out):
        """One present service of the plan as a virtual_server block."""
        p = self.problems
        params = dict((key, item[key]) for key in SERVICE_KEYS if key in item and key != 'state')
        if 'vip' in params and 'virtual_address' not in params:
            params['virtual_address'] = params.pop('vip')
        try:
            svc = service_from_params(params, 'service ')
        except IpvsError as exc:
            p.add(str(exc))
            return None
        label = 'service %s' % svc.label()
        where, own = settings.get(svc.key, (None, {}))

        def origin(name):
            """Where option ``name`` of this service comes from: its item of services, or the default."""
            return '%s.%s' % (where, name) if name in own else self.opt(name)

        if svc.address is not None and svc.address not in vips:
            p.add('%s: its VIP %s is not among the VIPs of the VRRP instance' % (label, svc.address))
        dests = self.dests(svc, label, item.get('realservers'))
        if not dests:
            p.add('%s: no real server; keepalived ignores a virtual_server without real_server' % label)
            return svc.key
        check = _check(own.get('check', self.ha.get('check', DEFAULT_CHECK)), origin('check'), p)
        if check and check.kind != 'MISC_CHECK' and not check.has_port and any(d.port == 0 for d in dests):
            p.add('%s.port: %s has real servers without a port (a firewall-mark or persistent port-0 service); the %s '
                  'needs the port to connect to' % (origin('check'), label, check.kind))
        delay_loop = p.timer(own.get('delay_loop', self.ha.get('delay_loop', DEFAULT_DELAY_LOOP)), 1, 86400,
                             origin('delay_loop'))
        inhibit = p.boolean(own.get('inhibit_on_failure', self.ha.get('inhibit_on_failure', False)),
                            origin('inhibit_on_failure'))
        alpha = p.boolean(own.get('alpha', self.ha.get('alpha', True)), origin('alpha'))
        if check and delay_loop is not None:
            self.ready = max(self.ready, check.ready(float(delay_loop)))

        self.idents.append(svc.ident_args())
        out.line('')
        if svc.fwmark:
            out.open('virtual_server fwmark %d' % svc.fwmark)
        else:
            out.open('virtual_server %s%s' % (svc.address, ' %d' % svc.port if svc.port else ''))
            out.line('protocol %s' % svc.protocol.upper())
        out.line('lvs_sched %s' % svc.scheduler)
        for flag in svc.scheduler_flags:
            out.line(flag)
        if svc.one_packet:
            out.line('ops')
        out.line('lvs_method DR')
        if svc.persistence_timeout:
            out.line('persistence_timeout %d' % svc.persistence_timeout)
            if svc.persistence_netmask:
                out.line('persistence_granularity %s' % svc.persistence_netmask)
            if svc.persistence_engine:
                out.line('persistence_engine %s' % svc.persistence_engine)
        out.line('delay_loop %s' % delay_loop)
        if alpha:
            # Real servers start as failed and join the table when their first check passes.
            out.line('alpha')
        if inhibit:
            out.line('inhibit_on_failure')
        self.quorum(own, where, label, sum(d.weight for d in dests), out)
        if not any(d.weight for d in dests) and 'quorum' not in own:
            self.warnings += _zero_weight_warnings(svc)
        if own.get('sorry_server') is not None:
            address, family = p.address(own['sorry_server'], '%s.sorry_server' % where)
            if address and family != svc.family:
                p.add('%s.sorry_server: %s is %s but %s is %s' % (where, address, family, label, svc.family))
            elif address:
                out.line('sorry_server %s%s' % (address, ' %d' % svc.port if svc.port else ''))
        _extra(out, p.extra(own.get('extra'), '%s.extra' % where) if 'extra' in own else [])
        for dest in dests:
            self.real_server(svc, dest, check, inhibit, out)
        out.close()
        return svc.key

    def dests(self, svc, label, realservers):
        """The validated real servers of a service."""
        p, dests = self.problems, []
        for index, member in enumerate(realservers or ()):
            if not isinstance(member, Mapping):
                p.add('%s realservers[%d]: expected a dict, got %r' % (label, index, member))
                continue
            name = '%s real server %s' % (label, member.get('address'))
            method = member.get('forwarding_method') or 'route'
            if method not in LVS_METHODS:
                p.add('%s: forwarding_method %r has no keepalived lvs_method (known: %s)'
                      % (name, method, ', '.join(sorted(LVS_METHODS))))
                continue
            try:
                dests.append(dest_from_params(svc, member, name + ': '))
            except IpvsError as exc:
                p.add(str(exc))
        return dests

    def quorum(self, own, where, label, total, out):
        p = self.problems
        if 'quorum' not in own:
            if 'hysteresis' in own:
                p.add('%s.hysteresis: only with a quorum' % where)
            return
        quorum = p.integer(own['quorum'], 1, MAX_QUORUM, '%s.quorum' % where)
        if quorum is None:
            return
        if quorum > total:
            p.add('%s.quorum: %d is above the total weight %d of the pool of %s; keepalived would lower it'
                  % (where, quorum, total, label))
        out.line('quorum %d' % quorum)
        if 'hysteresis' in own:
            hysteresis = p.integer(own['hysteresis'], 0, MAX_QUORUM, '%s.hysteresis' % where)
            if hysteresis is not None and hysteresis >= quorum:
                p.add('%s.hysteresis: %d must be below the quorum %d' % (where, hysteresis, quorum))
            elif hysteresis is not None:
                out.line('hysteresis %d' % hysteresis)

    def real_server(self, svc, dest, check, inhibit, out):
        # Direct routing and tunnels cannot remap ports: a firewall-mark service's real servers take no port.
        if dest.port and (not svc.fwmark or dest.forwarding_method == 'masq'):
            out.open('real_server %s %d' % (dest.address, dest.port))
        else:
            out.open('real_server %s' % dest.address)
        out.line('weight %d' % dest.weight)
        if dest.forwarding_method != 'route':
            out.line('lvs_method %s' % LVS_METHODS[dest.forwarding_method])
        if dest.upper_threshold:
            out.line('uthreshold %d' % dest.upper_threshold)
        if dest.lower_threshold:
            out.line('lthreshold %d' % dest.lower_threshold)
        if dest.weight == 0 and not inhibit:
            # Drained: a failing check must leave it at weight 0, not remove it and reset its open connections.
            out.line('inhibit_on_failure')
        if check:
            check.render(out)
            self.scripts = self.scripts or check.kind == 'MISC_CHECK'
        out.close()


def _zero_weight_warnings(svc):
    """What keepalived --config-test prints of a virtual_server whose real servers all have weight 0 (all drained).

    keepalived (check_data.c) lowers the default quorum 1 to the total weight 0, then the hysteresis 0 to "quorum -
    1", and reports both as configuration errors, so --config-test exits non-zero; at run time it only logs them,
    and without a sorry_server a lost quorum changes nothing in the table. Regular expressions of these two lines.
    """
    if svc.fwmark:
        name = r'FWM %d\b[^:]*' % svc.fwmark
    else:
        address = ipaddress.ip_address(svc.address).compressed
        name = re.escape('[%s]:%s:%d' % (address, svc.protocol, svc.port))
    return [r'^Warning - quorum \d+ for %s exceeds total weight of real servers 0, reducing quorum to 0$' % name,
            r'^Virtual server %s: hysteresis \d+ >= quorum 0; setting hysteresis to \d+$' % name]


def keepalived_config(plan, ha, hostname='', header='', vips=None, var=DEFAULT_VAR):
    """keepalived.conf for one director: (text, problems); ``keepalived_setup()`` tells more.

    ``plan``: the director's plan (``director_plan()``; its ``services`` are read) or its list of services.
    ``ha``: the VRRP and health-check settings (the keys of ``HA_KEYS``, documented in the filter
    lvs.dr.keepalived_config). ``hostname``: the default router_id. ``header``: text written first, each line as a
    comment. ``vips``: the VIPs the VRRP instance holds (default: the virtual addresses of the present services).
    ``var``: the name of the variable that holds ``ha``, to name options in problems.

    Returns (text, problems). The text is deterministic: services and real servers in the plan's order.
    """
    result = keepalived_setup(plan, ha, hostname=hostname, header=header, vips=vips, var=var)
    return result['config'], result['problems']


def keepalived_setup(plan, ha, hostname='', header='', vips=None, var=DEFAULT_VAR):
    """``keepalived_config()`` as a dict, with what a start of keepalived needs besides the file.

    ``config``, ``problems``: the text and its problems. ``services``: ipvsadm's arguments naming each virtual_server
    (``-t 192.0.2.10:80``, ``-f 7 -6``): deleted from the table before keepalived starts, so that keepalived builds
    them from its checks (with ``alpha``, from real servers that passed theirs) and never adopts a real server a
    stopped keepalived left behind, which it would neither check into nor out of the table. ``ready``: the seconds
    until the first check of every real server has ended (``vrrp_startup_delay`` and the default
    ``preempt_delay``), or None. ``warnings``: regular expressions of the lines keepalived --config-test prints for
    this file although nothing is wrong in it (a service whose real servers all have weight 0: every one drained).
    """
    renderer = _Renderer(ha, var)
    services = plan.get('services') if isinstance(plan, Mapping) else plan
    if not _is_list(services):
        renderer.problems.add('the plan must be a director plan or a list of services, got %r' % (plan,))
        services = []
    present = [s for s in services if isinstance(s, Mapping) and s.get('state', 'present') != 'absent']

    body = _Lines()
    addresses = renderer.vips(vips, present)
    body.line('')
    renderer.vrrp(addresses, body)
    settings = renderer.settings()
    used = set()
    for item in present:
        used.add(renderer.service(item, settings, addresses, body))
    for key, (where, _item) in settings.items():
        if key not in used:
            renderer.problems.add('%s: no present service of the plan has this identity; refusing to ignore its '
                                  'settings' % where)
    renderer.delays(body)

    head = _Lines()
    for text in str(header or '').splitlines():
        head.line(text if text.startswith(('#', '!')) else ('# ' + text).rstrip())
    renderer.global_defs(hostname, head)
    ready = renderer.ready_delay()
    return {'config': '\n'.join(head.lines + body.lines) + '\n', 'problems': renderer.problems.items,
            'services': renderer.idents, 'ready': float(ready) if ready else None, 'warnings': renderer.warnings,
            'vips': [str(address) for address in addresses]}
