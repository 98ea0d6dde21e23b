# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore the IPVS services of an ipvsadm rules file at boot, without ever emptying the table.

Usage: lvs-dr-ipvsadm-restore RULES_FILE

lvs.dr.ipvs_table (option ``persist``) installs this file, as it is, as the boot restore helper of the rules file it
saves; nothing else of the collection runs on the host at boot. Not a public API of the collection.

RULES_FILE holds ``-A``/``-a`` lines in the ``ipvsadm -R`` format (lvs.dr.ipvs_table writes the services it
manages, and only those). Unlike ``ipvsadm-restore`` (``ipvsadm -C`` then ``ipvsadm -R``) this never clears the
table, and it leaves alone every service and real server that is not in the file (keepalived's, an operator's):

1. reads the table once (``ipvsadm -S -n``);
2. feeds ONE ``ipvsadm -R`` the lines of the file that are missing (``-A``/``-a``) or differ (as ``-E``/``-e``);
3. reads the table again and checks that every rule of the file is there. Thresholds (``-x``/``-y``) are applied
   but cannot be checked: ``ipvsadm -S`` does not print them.

Every step is linear in the number of rules: each line is split once, and compared as text through a dict.
Exit status: 0 when the table holds every rule of the file; 1 when it does not (each missing or different rule and
ipvsadm's own errors go to stderr, which systemd sends to the journal); 2 on usage or read errors.
Python 3 standard library only; it does not depend on Ansible or on the lvs.dr collection.
"""

import os
import shutil
import subprocess
import sys

PROG = 'lvs-dr-ipvsadm-restore'
ENV = dict(os.environ, LANGUAGE='C', LC_ALL='C')
SERVICE_SWITCHES = ('-t', '--tcp-service', '-u', '--udp-service', '--sctp-service', '-f', '--fwmark-service')
# Options of a rule that take a value; every other token is a flag.
VALUED = ('-s', '--scheduler', '-p', '--persistent', '-M', '--netmask', '--pe', '-b', '--sched-flags', '-r',
          '--real-server', '-w', '--weight', '-x', '--u-threshold', '-y', '--l-threshold', '--tun-type',
          '--tun-port')
# Not printed by ipvsadm -S (thresholds), or printed by it but not part of what the file states (tunnel details).
UNCHECKED = ('-x', '--u-threshold', '-y', '--l-threshold', '--tun-type', '--tun-port', '--tun-nocsum',
             '--tun-csum', '--tun-remcsum')
UNCHECKED_SET = frozenset(UNCHECKED)
VALUED_SET = frozenset(VALUED)


class RuleError(Exception):
    pass


def parse(line):
    """One rule -> (key, checked options, tokens). The key is the service (and real server) the rule is about.

    The checked options are the rule's text after the service, without what ipvsadm -S does not print: the
    collection writes rules in the order ipvsadm -S prints them, so equal rules have equal text.
    """
    tokens = line.split()
    if len(tokens) < 3 or tokens[0] not in ('-A', '-a') or tokens[1] not in SERVICE_SWITCHES:
        raise RuleError('not an -A/-a rule: %r' % line)
    rest = tokens[3:]
    ipv6_fwmark = False
    if tokens[1] in ('-f', '--fwmark-service') and '-6' in rest:
        ipv6_fwmark = True
        rest = [tok for tok in rest if tok != '-6']
    if not UNCHECKED_SET.isdisjoint(rest):
        kept = []
        skip = False
        for tok in rest:
            if skip:
                skip = False
            elif tok in UNCHECKED_SET:
                skip = tok in VALUED_SET
            else:
                kept.append(tok)
        rest = kept
    server = None
    if tokens[0] == '-a':
        for switch in ('-r', '--real-server'):
            if switch in rest:
                position = rest.index(switch)
                server = rest[position + 1] if position + 1 < len(rest) else None
                break
        if server is None:
            raise RuleError('no real server (-r) in %r' % line)
    return ((tokens[1], tokens[2], ipv6_fwmark), server), ' '.join(rest), tokens


def parse_text(text, what):
    """Rules text -> {key: (options, tokens)}, in order; comment and blank lines are skipped."""
    rules = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        try:
            key, options, tokens = parse(stripped)
        except RuleError as exc:
            raise RuleError('%s line %d: %s' % (what, number, exc))
        rules[key] = (options, tokens)
    return rules


def log(message):
    sys.stderr.write('%s: %s\n' % (PROG, message))


def ipvsadm(binary, args, data=None):
    return subprocess.run([binary] + args, input=data, capture_output=True, text=True, env=ENV, check=False)


def read_table(binary):
    proc = ipvsadm(binary, ['-S', '-n'])
    if proc.returncode != 0:
        raise RuleError('ipvsadm -S -n failed: %s' % (proc.stderr.strip() or proc.stdout.strip()))
    return parse_text(proc.stdout, 'ipvsadm -S -n')


def plan(wanted, current):
    """The ipvsadm -R lines that add what is missing and edit what differs; nothing is ever deleted."""
    lines = []
    for key, (options, tokens) in wanted.items():
        have = current.get(key)
        if have is None:
            lines.append(' '.join(tokens))
        elif have[0] != options:
            lines.append(' '.join(['-E' if tokens[0] == '-A' else '-e'] + tokens[1:]))
    return lines


def missing(wanted, current):
    return [' '.join(tokens) for key, (options, tokens) in wanted.items()
            if key not in current or current[key][0] != options]


def main(argv):
    if len(argv) != 2:
        log('usage: %s RULES_FILE' % PROG)
        return 2
    binary = shutil.which('ipvsadm')
    if binary is None:
        log('ipvsadm is not installed')
        return 2
    try:
        with open(argv[1]) as handle:
            wanted = parse_text(handle.read(), argv[1])
        current = read_table(binary)
    except (OSError, RuleError) as exc:
        log('cannot read: %s' % exc)
        return 2
    services = sum(1 for key in wanted if key[1] is None)
    others = sum(1 for key in current if key[1] is None and key not in wanted)
    if others:
        log('left alone: %d services that are not in %s' % (others, argv[1]))
    lines = plan(wanted, current)
    if not lines:
        log('the table holds all %d rules (%d services) of %s' % (len(wanted), services, argv[1]))
        return 0
    proc = ipvsadm(binary, ['-R'], '\n'.join(lines) + '\n')
    try:
        after = read_table(binary)
    except RuleError as exc:
        log(str(exc))
        return 1
    absent = missing(wanted, after)
    if absent:
        for line in absent:
            log('missing: %s' % line)
        if proc.stderr.strip():
            log('ipvsadm said: %s' % proc.stderr.strip().replace('\n', '; '))
        log('PARTIAL RESTORE: %d of the %d rules of %s are missing or different; the rest is in place'
            % (len(absent), len(wanted), argv[1]))
        return 1
    log('applied %d ipvsadm lines without emptying the table; it holds all %d rules (%d services) of %s'
        % (len(lines), len(wanted), services, argv[1]))
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv))
