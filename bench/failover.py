# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of director failover on keepalived: time without an answer, failed requests; lvs.dr vs as packaged.

The longest time a client goes without an answer and its failed requests while the master director's keepalived
stops and starts again, lvs.dr (keepalived with --dont-release-ipvs) beside keepalived as packaged, in the same run.

On the ha molecule scenario's topology (molecule/ha: directors lvs-dr-director1, priority 150, the master, and
lvs-dr-director2, 100, on keepalived; real servers lvs-dr-ha-rs1/rs2; client lvs-dr-ha-client; the service
192.168.89.100:8080, rr, on 192.168.89.0/24 in the lab VM's Docker), brought up by the run (lab/lab up, molecule
create, prepare and converge -s ha; molecule destroy at the end, and lab/lab down when the run started the lab) or,
with --reuse, an already converged one that is left as it was found. Two sides, --rounds rounds each (default 5),
the side that goes first alternating from round to round, so a slow minute on the shared host hits both:

  baseline  keepalived as packaged: the role's systemd drop-in (/etc/systemd/system/keepalived.service.d/lvs-dr.conf,
            which adds --dont-release-ipvs) removed on both directors; a stopping keepalived empties its IPVS table
  lvs.dr    the drop-in in place, byte for byte the file the role installed (read before anything is changed;
            director_ha_keep_table_on_stop: true, the role's default); a stopping keepalived leaves its table

Before each side's round, not measured: the drop-in removed or put back on both directors, systemctl daemon-reload,
keepalived restarted on the backup and then on the master; the round starts once the master's keepalived runs with
(lvs.dr) or without (baseline) --dont-release-ipvs, director1 alone holds the VIP, the client's neighbour entry for
the VIP has director1's MAC, both directors' tables hold both real servers and requests reach both.

Each round, two probes: the client runs the scenario's load generator (/usr/local/bin/lvs_dr_load.py, from
molecule/default/files: one request per TCP connection, one after another, a 0.5 s timeout each, so a lost SYN
costs 0.5 s, not the kernel's 1 s retransmission) for --before s (3), then

  failover  `systemctl stop keepalived` on the master (docker exec), --after s more (8), stop
  failback  `systemctl start keepalived` on director1, which takes the VIP back by preemption; --after s more

Recorded per probe (the load generator's summary): max_gap, the longest time between two answered requests; the
requests sent and failed, the failures by kind: refused or reset (an RST: a director that held the VIP without the
service) and timeouts (lost in the handover).

Checked after every probe, so every figure is a real failover or failback: the VIP on director2 alone (failover) or
director1 alone (failback) and the client's neighbour entry for the VIP with that director's MAC; answers from both
real servers during the probe; after the failover, the stopped master's IPVS table (ipvsadm -Sn) still holds the
service on the lvs.dr side and does not on the baseline side; before each round, the master's keepalived command
line. A failed check stops the run with its reason.

Reported per side, failover and failback: medians [min - max] of the rounds of max_gap, failed requests, refused +
reset, timeouts; the ratios lvs.dr / baseline of the medians of failed requests and of max_gap (no ratio when the
baseline's median is 0).

Run as `bench/run --failover [OPTIONS]` (this file is the --failover mode of bench/run). The lab instance is
$LVS_DR_LAB_INSTANCE, as for lab/lab.

Usage: bench/run --failover [--rounds 5] [--reuse] [--venv DIR] [--before 3] [--after 8]
                            [--no-write] [--results NAME] [--render]
Writes bench/results/failover-latest.json and failover-latest.md (NAME.json and NAME.md with --results) unless
--no-write.
"""

import argparse
import datetime
import importlib.machinery
import importlib.util
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


plan = _load('lvs_dr_bench_plan', BENCH / 'plan.py')  # the lab over SSH, the machine, figures, results files
bench_run = _load('lvs_dr_bench_run', BENCH / 'run')  # the lab command, the engine's name, other Ansible runs
BenchError, log, run, fmt_s, fmt_ratio = plan.BenchError, plan.log, plan.run, plan.fmt_s, plan.fmt_ratio

VIP, PORT, NETWORK = '192.168.89.100', 8080, '192.168.89.0/24'
SERVICE = '%s:%d' % (VIP, PORT)
URL = 'http://%s/' % SERVICE
MASTER, BACKUP = 'lvs-dr-director1', 'lvs-dr-director2'
DIRECTORS = (MASTER, BACKUP)
CLIENT = 'lvs-dr-ha-client'
REALSERVERS = {'lvs-dr-ha-rs1': '192.168.89.21', 'lvs-dr-ha-rs2': '192.168.89.22'}
CONTAINERS = DIRECTORS + tuple(REALSERVERS) + (CLIENT,)
LOAD = '/usr/local/bin/lvs_dr_load.py'
DROPIN = '/etc/systemd/system/keepalived.service.d/lvs-dr.conf'
KEEP_FLAG = '--dont-release-ipvs'
SIDES = ('baseline', 'lvsdr')
SIDE_NAMES = dict(baseline='keepalived as packaged (baseline)', lvsdr='lvs.dr (--dont-release-ipvs)')
PHASES = ('failover', 'failback')
SETTLE_TIMEOUT = 90  # s: after the restarts, until the topology is ready for a round
HOLDER_TIMEOUT = 10  # s: after a probe ended, for the VIP to be where it must be


class Docker(object):
    """docker exec into the scenario's containers, on the lab's engine."""

    def __init__(self, env):
        self.env = env

    def run(self, *args, stdin=None, check=True, timeout=120):
        try:
            out = run(['docker'] + list(args), env=self.env, input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError('docker %s: no answer in %d s' % (shlex.join(args), timeout)) from None
        if check and out.returncode:
            raise BenchError('docker %s failed (rc=%d): %s%s' % (shlex.join(args), out.returncode, out.stdout[-2000:],
                                                                 out.stderr[-2000:]))
        return out

    def exec(self, name, *cmd, stdin=None, check=True):
        return self.run(*(['exec'] + (['-i'] if stdin is not None else []) + [name] + list(cmd)),
                        stdin=stdin, check=check).stdout

    def running(self, name):
        out = self.run('inspect', '--format', '{{.State.Running}}', name, check=False)
        return out.returncode == 0 and out.stdout.strip() == 'true'

    def exists(self, name):
        return self.run('inspect', '--format', '{{.Id}}', name, check=False).returncode == 0


class Topology(object):
    """The ha scenario's containers: the VIP, the neighbour entry, the tables, keepalived's drop-in and restarts."""

    def __init__(self, docker):
        self.docker = docker
        self.macs = {}
        self.dropins = {}  # director -> the drop-in as the role installed it
        self.side = None  # which side keepalived was last restarted for

    def holders(self):
        return [name for name in DIRECTORS
                if '%s/32' % VIP in self.docker.exec(name, 'ip', '-4', '-o', 'address', 'show', 'dev', 'eth0')]

    def mac(self, name):
        if name not in self.macs:
            self.macs[name] = self.docker.exec(name, 'cat', '/sys/class/net/eth0/address').strip().lower()
        return self.macs[name]

    def neighbour(self):
        """The client's neighbour entry for the VIP: its MAC ('' when there is none) and the whole line."""
        line = self.docker.exec(CLIENT, 'ip', '-4', 'neigh', 'show', VIP, 'dev', 'eth0').strip().lower()
        words = line.split()
        return (words[words.index('lladdr') + 1] if 'lladdr' in words[:-1] else ''), line

    def table(self, name):
        return self.docker.exec(name, 'ipvsadm', '-Sn')

    def has_service(self, name, realservers=False):
        rules = self.table(name)
        return '-A -t %s' % SERVICE in rules and (not realservers or all(
            '-a -t %s -r %s:%d' % (SERVICE, address, PORT) in rules for address in REALSERVERS.values()))

    def keepalived_args(self, name):
        pid = self.docker.exec(name, 'systemctl', 'show', '--property', 'MainPID', '--value', 'keepalived').strip()
        if not pid or pid == '0':
            return ''
        return self.docker.exec(name, 'ps', '-o', 'args=', '-p', pid, check=False).strip()

    def fetch(self, count=20):
        """count requests to the VIP from the client, one connection each: the answering hosts."""
        out = self.docker.exec(CLIENT, 'curl', '--silent', '--show-error', '--max-time', '5', '--header',
                               'Connection: close', '%s?n=[1-%d]' % (URL, count), check=False)
        return out.split()

    def wait(self, what, test, timeout):
        """Wait until test() is true: the seconds it took; BenchError after timeout."""
        start = time.monotonic()
        while True:
            result = test()
            if result:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise BenchError('%s: not so %d s later' % (what, timeout))
            time.sleep(0.5)

    def wait_holder(self, name, timeout):
        seen = []

        def alone():
            seen[:] = [self.holders()]
            return seen[0] == [name]
        try:
            return self.wait('the VIP held by %s alone' % name, alone, timeout)
        except BenchError as exc:
            raise BenchError('%s (held by %s)' % (exc, seen[0] if seen else '?')) from None

    def read_dropins(self):
        for name in DIRECTORS:
            text = self.docker.exec(name, 'cat', DROPIN, check=False)
            if KEEP_FLAG not in text:
                raise BenchError('%s: no drop-in %s with %s: the topology is not converged with '
                                 'director_ha_keep_table_on_stop: true (the role\'s default)'
                                 % (name, DROPIN, KEEP_FLAG))
            self.dropins[name] = text

    def put_dropins(self, side):
        """The drop-in removed (baseline) or put back as the role installed it (lvs.dr), then daemon-reload."""
        for name in DIRECTORS:
            if side == 'baseline':
                self.docker.exec(name, 'rm', '-f', DROPIN)
            else:
                self.docker.exec(name, 'sh', '-c', 'set -e; mkdir -p "${1%/*}"; cat > "$1.tmp"; chmod 0644 "$1.tmp"; '
                                 'chown root:root "$1.tmp"; mv "$1.tmp" "$1"', 'sh', DROPIN,
                                 stdin=self.dropins[name])
                if self.docker.exec(name, 'cat', DROPIN) != self.dropins[name]:
                    raise BenchError('%s: %s differs from the file the role installed' % (name, DROPIN))
            self.docker.exec(name, 'systemctl', 'daemon-reload')

    def restart(self, side):
        """keepalived restarted for `side` on the backup, then the master; wait until the topology is ready."""
        start = time.monotonic()
        self.put_dropins(side)
        self.side = side
        for name in (BACKUP, MASTER):
            self.docker.exec(name, 'systemctl', 'restart', 'keepalived')
            args = self.keepalived_args(name)
            if not args or (KEEP_FLAG in args) != (side == 'lvsdr'):
                raise BenchError('%s: keepalived runs as %r after its restart for the %s side' % (name, args, side))
        self.ready()
        return time.monotonic() - start

    def ready(self):
        """director1 alone holds the VIP and the client's neighbour entry follows; both tables full; both answer."""
        self.wait_holder(MASTER, SETTLE_TIMEOUT)
        for name in DIRECTORS:
            self.wait('%s\'s table with both real servers' % name, lambda: self.has_service(name, True),
                      SETTLE_TIMEOUT)
        # The requests also make the client's neighbour entry for the VIP if it has none (a gratuitous ARP only
        # updates an entry that exists).
        self.wait('requests answered by both real servers', lambda: set(self.fetch()) == set(REALSERVERS),
                  SETTLE_TIMEOUT)
        self.wait('the client\'s neighbour entry for the VIP with %s\'s MAC' % MASTER,
                  lambda: self.neighbour()[0] == self.mac(MASTER), SETTLE_TIMEOUT)
        self.wait_holder(MASTER, 5)

    def ensure_keepalived(self):
        for name in DIRECTORS:
            if not self.docker.exec(name, 'systemctl', 'is-active', 'keepalived', check=False).strip() == 'active':
                self.docker.exec(name, 'systemctl', 'start', 'keepalived', check=False)

    def put_back(self):
        """As the role left it: its drop-in on both directors, keepalived running with it (restarted if needed)."""
        if not self.dropins:
            return
        self.ensure_keepalived()
        self.put_dropins('lvsdr')
        if any(KEEP_FLAG not in self.keepalived_args(name) for name in DIRECTORS):
            for name in (BACKUP, MASTER):
                self.docker.exec(name, 'systemctl', 'restart', 'keepalived')
        self.ready()


class Probe(object):
    """The load generator on the client, --before s, the action, --after s, stopped: its summary."""

    def __init__(self, docker, before, after, timeout):
        self.docker, self.before, self.after, self.timeout = docker, before, after, timeout
        self.number = 0

    def __call__(self, tag, action):
        self.number += 1
        unit = 'lvs-dr-bench-%d-%s' % (self.number, tag)
        result, stop = '/tmp/%s.json' % unit, '/tmp/%s.stop' % unit
        self.docker.exec(CLIENT, 'rm', '-f', result, stop)
        self.docker.exec(CLIENT, 'systemd-run', '--unit', unit, '--collect', '/usr/bin/python3', LOAD, URL, result,
                         '--stop-file', stop, '--max-seconds', '900', '--max-requests', '1000000',
                         '--timeout', str(self.timeout), '--allow', NETWORK)
        started = time.monotonic()
        time.sleep(self.before)
        action_at = time.monotonic() - started
        action()
        action_seconds = time.monotonic() - started - action_at
        time.sleep(self.after)
        self.docker.exec(CLIENT, 'touch', stop)
        deadline = time.monotonic() + 60
        while True:
            out = self.docker.run('exec', CLIENT, 'cat', result, check=False)
            if out.returncode == 0 and out.stdout.strip():
                break
            if time.monotonic() > deadline:
                raise BenchError('the probe %s wrote no result' % unit)
            time.sleep(0.5)
        self.docker.exec(CLIENT, 'rm', '-f', result, stop)
        summary = json.loads(out.stdout)
        if 'error_kinds' not in summary:
            raise BenchError('%s on the client does not count errors by kind (error_kinds): run the scenario\'s '
                             'prepare again' % LOAD)
        kinds = summary['error_kinds']
        return dict(max_gap=summary['max_gap'], gap_start=summary['gap_start'], gap_end=summary['gap_end'],
                    sent=summary['sent'], ok=summary['ok'], failed=summary['failed'],
                    refused=kinds['refused'], reset=kinds['reset'], refused_reset=kinds['refused'] + kinds['reset'],
                    timeout=kinds['timeout'], other=kinds['other'], answers=summary['answers'],
                    errors=summary['errors'][:5], seconds=summary['seconds'], action_at=round(action_at, 3),
                    action_seconds=round(action_seconds, 3))


def check_probe(topo, probe, side, phase, what):
    """The checks after a probe; the figures that come from them are added to the probe's row."""
    holder = BACKUP if phase == 'failover' else MASTER
    problems = []
    if set(probe['answers']) != set(REALSERVERS):
        problems.append('answers from %s only, not both real servers' % sorted(probe['answers']))
    if probe['sent'] != probe['ok'] + probe['failed'] or probe['failed'] != sum(
            probe[k] for k in ('refused', 'reset', 'timeout', 'other')):
        problems.append('the counts do not add up: %s' % json.dumps(probe))
    try:
        # How long the check took (docker exec included), not when the VIP moved: it is there when the probe ends.
        probe['holder_wait'] = round(topo.wait_holder(holder, HOLDER_TIMEOUT), 3)
    except BenchError as exc:
        problems.append(str(exc))
    mac, line = topo.neighbour()
    if mac != topo.mac(holder):
        problems.append('the client\'s neighbour entry for the VIP is %r, not %s\'s MAC %s' % (
            line, holder, topo.mac(holder)))
    if phase == 'failover':
        kept = topo.has_service(MASTER)
        probe['table_kept'] = kept
        if kept != (side == 'lvsdr'):
            problems.append('the stopped master\'s table %s the service (%s side): %s' % (
                'still holds' if kept else 'no longer holds', side, topo.table(MASTER).strip() or 'empty'))
    if problems:
        raise BenchError('%s: %s' % (what, '; '.join(problems)))


def measure(topo, probe, data):
    rounds = data['rounds']
    for number in range(rounds):
        order = SIDES if number % 2 == 0 else SIDES[::-1]
        for side in order:
            what = 'round %d/%d, %s' % (number + 1, rounds, side)
            restart = topo.restart(side)
            data['restarts'].append(dict(round=number + 1, side=side, seconds=round(restart, 2)))
            row = dict(round=number + 1, first=side == order[0])
            row['failover'] = probe('failover', lambda: topo.docker.exec(MASTER, 'systemctl', 'stop', 'keepalived'))
            check_probe(topo, row['failover'], side, 'failover', what + ', failover')
            row['failback'] = probe('failback', lambda: topo.docker.exec(MASTER, 'systemctl', 'start', 'keepalived'))
            check_probe(topo, row['failback'], side, 'failback', what + ', failback')
            data['sides'][side].append(row)
            log('%s (restart %.1f s): failover gap %.2f s, %d/%d failed (%d refused/reset, %d timeouts); failback '
                'gap %.2f s, %d/%d failed (%d refused/reset, %d timeouts)' % (
                    what, restart, *(row[phase][key] for phase in PHASES
                                     for key in ('max_gap', 'failed', 'sent', 'refused_reset', 'timeout'))))


# ------------------------------------------------------------------------------------------------------ topology

def venv_bin(option):
    """The directory holding molecule: --venv DIR(/bin), this checkout's .venv, else molecule on PATH."""
    for candidate in filter(None, [option, str(REPO / '.venv')]):
        path = Path(candidate)
        for directory in (path / 'bin', path):
            if (directory / 'molecule').exists():
                return directory
    found = shutil.which('molecule')
    return Path(found).parent if found else None


class Molecule(object):
    """molecule create/prepare/converge/destroy -s ha against the lab's engine, with this checkout as lvs.dr."""

    def __init__(self, workdir, bindir, docker_env):
        self.workdir = workdir
        state = Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'lvs-dr-bench' / (
            'molecule-ha-%s' % (os.environ.get('LVS_DR_LAB_INSTANCE') or 'default'))
        state.mkdir(parents=True, exist_ok=True)
        self.env = dict(docker_env, PATH='%s:%s' % (bindir, docker_env.get('PATH', '')),
                        ANSIBLE_COLLECTIONS_PATH=str(plan.collections_path(workdir)),
                        # molecule's state of its own: by default it is shared by every checkout of the same name
                        MOLECULE_EPHEMERAL_DIRECTORY=str(state), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                        NO_COLOR='1')
        self.bindir = bindir
        self.logfile = workdir / 'molecule.log'

    def __call__(self, command):
        start = time.monotonic()
        log('molecule %s -s ha' % command)
        with open(self.logfile, 'a') as handle:
            proc = subprocess.run([str(self.bindir / 'molecule'), command, '-s', 'ha'], cwd=str(REPO), env=self.env,
                                  stdout=handle, stderr=subprocess.STDOUT, check=False)
        if proc.returncode:
            tail = self.logfile.read_text()[-4000:]
            raise BenchError('molecule %s -s ha failed (rc=%d):\n%s' % (command, proc.returncode, tail))
        return round(time.monotonic() - start, 1)


def ansible_version(bindir):
    found = (bindir / 'ansible-playbook') if bindir and (bindir / 'ansible-playbook').exists() else \
        shutil.which('ansible-playbook')
    out = run([str(found), '--version']) if found else None
    return out.stdout.splitlines()[0].strip() if out and out.returncode == 0 and out.stdout else ''


def docker_env():
    out = run([str(bench_run.LAB), 'env'])
    if out.returncode:
        raise BenchError('lab/lab env failed: %s' % out.stderr)
    env = dict(os.environ)
    for line in out.stdout.splitlines():
        words = shlex.split(line)
        if words[:1] == ['export'] and '=' in words[1]:
            key, value = words[1].split('=', 1)
            env[key] = value
    return env


# ------------------------------------------------------------------------------------------------------- report

FIGURES = (('max_gap', 'longest time without an answer (max_gap)', 's'), ('failed', 'failed requests', 'n'),
           ('refused_reset', 'refused + reset', 'n'), ('timeout', 'timeouts', 'n'),
           ('other', 'other errors', 'n'), ('sent', 'requests sent', 'n'))


def summarize(data):
    summary = {}
    for side in SIDES:
        for phase in PHASES:
            rows = [r[phase] for r in data['sides'][side]]
            summary['%s_%s' % (side, phase)] = dict(
                (key, dict(median=statistics.median(r[key] for r in rows), min=min(r[key] for r in rows),
                           max=max(r[key] for r in rows))) for key, _header, _kind in FIGURES)
    return summary


def cell(figure, kind):
    show = fmt_s if kind == 's' else (lambda v: '%g' % v)
    if figure['min'] == figure['max']:
        return show(figure['median'])
    return '%s [%s - %s]' % (show(figure['median']), show(figure['min']), show(figure['max']))


def ratio(subject, baseline):
    """subject / baseline of the medians, or a note when the baseline's median is 0."""
    if baseline == 0:
        return 'baseline median 0: %s' % ('no ratio (both 0)' if subject == 0 else 'no ratio (lvs.dr %g)' % subject)
    return fmt_ratio(subject / baseline)


def report(data):
    mach, summary = data['machine'], data['summary']
    shown = [f for f in FIGURES if f[0] != 'other' or any(
        summary[k]['other']['max'] for k in summary)]
    lines = ['# lvs.dr benchmark: director failover on keepalived, with and without --dont-release-ipvs', '',
             '%s. Host: %s cores, %s, Python %s, %s (host load %.2f at the start, %.2f at the end). Lab VM%s: %s, '
             '%s vCPU(s), kernel %s, %s. Directors: %s. Topology: molecule scenario ha (%s), %d rounds per side, '
             'the run took %s.' % (
                 data['date'], mach['host_nproc'], mach['host_cpu'], mach['python'], mach.get('ansible') or
                 'ansible-core ?', data['host_load_start'], mach['host_load_1min'],
                 (' (instance %s)' % data['instance']) if data.get('instance') else '', bench_run.engine_name(mach),
                 mach['vm_vcpus'], mach['vm_kernel'], mach['vm_ipvsadm'], data['keepalived'],
                 'an already converged one, --reuse' if data['reuse'] else setup_text(data['setup_seconds']),
                 data['rounds'],
                 fmt_min(data['duration_seconds'])), '']
    if data.get('other_ansible_at_start'):
        lines += ['Measured while other sessions used the host: %d other Ansible or molecule processes at the start.'
                  % data['other_ansible_at_start'], '']
    for phase in PHASES:
        lines += ['%s: %s' % (phase.capitalize(), PHASE_TEXT[phase]), '',
                  '| side | %s |' % ' | '.join(header for _key, header, _kind in shown),
                  '|---|%s' % ('---:|' * len(shown))]
        for side in SIDES:
            figures = summary['%s_%s' % (side, phase)]
            lines.append('| %s | %s |' % (SIDE_NAMES[side], ' | '.join(
                cell(figures[key], kind) for key, _header, kind in shown)))
        base, subject = summary['baseline_%s' % phase], summary['lvsdr_%s' % phase]
        lines += ['| **lvs.dr / baseline** (of the medians) | %s |' % ' | '.join(
            ratio(subject[key]['median'], base[key]['median']) if key in ('max_gap', 'failed') else ''
            for key, _header, _kind in shown), '']
    lines += ['Per round (failover, then failback: max_gap / failed / refused+reset / timeouts; "first": the side '
              'that went first in that round):', '',
              '| round | baseline failover | baseline failback | lvs.dr failover | lvs.dr failback |',
              '|---:|---:|---:|---:|---:|']
    for number in range(data['rounds']):
        rows = dict((side, data['sides'][side][number]) for side in SIDES)
        first = [side for side in SIDES if rows[side]['first']][0]
        lines.append('| %d (%s first) | %s |' % (number + 1, 'lvs.dr' if first == 'lvsdr' else first, ' | '.join(
            '%s / %d / %d / %d' % (fmt_s(rows[side][phase]['max_gap']), rows[side][phase]['failed'],
                                   rows[side][phase]['refused_reset'], rows[side][phase]['timeout'])
            for side in SIDES for phase in PHASES)))
    restarts = [r['seconds'] for r in data['restarts']]
    lines += ['', NOTES % dict(
        rounds=data['rounds'], before=fmt_s(data['before']), after=fmt_s(data['after']),
        timeout=fmt_s(data['timeout']), restarts=len(restarts), restart_min=fmt_s(min(restarts)),
        restart_max=fmt_s(max(restarts)))]
    return '\n'.join(lines) + '\n'


def setup_text(seconds):
    done = sum(seconds.get(command, 0) for command in ('create', 'prepare', 'converge'))
    steps = (('lab_up', 'lab/lab up'), ('destroy', 'molecule destroy'))
    extra = ['%s %s' % (what, fmt_s(seconds[key])) for key, what in steps if key in seconds]
    return 'molecule create, prepare and converge by the run in %s%s' % (
        fmt_s(done), (', besides %s' % ' and '.join(extra)) if extra else '')


def fmt_min(seconds):
    return '%.1f min' % (seconds / 60) if seconds >= 120 else fmt_s(seconds)


PHASE_TEXT = dict(
    failover='`systemctl stop keepalived` on the master, director1; director2 takes the VIP.',
    failback='`systemctl start keepalived` on director1 again; it takes the VIP back (preemption, priority 150 '
             'against 100).')

NOTES = (
    'Medians of %(rounds)d rounds per side, [min - max] of the rounds; the side that goes first alternates from round '
    'to round. Each probe: the client sends one request after another (lvs_dr_load.py, one TCP connection each, a '
    '%(timeout)s timeout) for %(before)s, the action (docker exec), %(after)s more. "max_gap": the longest time '
    'between two answered requests in the probe. "refused + reset": requests that got an RST (a director that held '
    'the VIP but no longer had the service); "timeouts": requests without an answer within the timeout (lost while '
    'the VIP and the neighbour entries moved). "baseline": keepalived as packaged, the role\'s drop-in '
    '(keepalived.service.d/lvs-dr.conf, --dont-release-ipvs) removed, so a stopping keepalived empties its IPVS table '
    'before VRRP gives the VIP up; "lvs.dr": the drop-in as the role installs it (director_ha_keep_table_on_stop: '
    'true, the default). Before each side\'s round, not measured: keepalived restarted for that side on the backup, '
    'then on the master (%(restarts)d restarts of both, %(restart_min)s to %(restart_max)s each until the topology '
    'was ready). Checked in every round: before it, the master\'s keepalived command line has --dont-release-ipvs '
    'on the lvs.dr side only, director1 alone holds the VIP, the client\'s neighbour entry has its MAC, both tables '
    'hold both real servers and both answer; after each probe, the VIP on the director expected (director2 after the '
    'failover, director1 after the failback) alone, the client\'s neighbour entry for the VIP with that director\'s '
    'MAC, answers from both real servers during the probe; after each failover, the stopped master\'s table still '
    'holds the service on the lvs.dr side and does not on the baseline side.')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench/run --failover', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5,
                        help='rounds per side, 5 or more (fewer only with --no-write, for a quick look)')
    parser.add_argument('--reuse', action='store_true',
                        help='use the ha topology already converged in the lab and leave it (no lab up, no molecule)')
    parser.add_argument('--venv', help='a virtualenv (or its bin/) holding molecule (default: .venv, else PATH)')
    parser.add_argument('--before', type=float, default=3.0, help='seconds of requests before the action')
    parser.add_argument('--after', type=float, default=8.0, help='seconds of requests after the action')
    parser.add_argument('--timeout', type=float, default=0.5, help='the load generator\'s timeout per request (s)')
    plan.output_options(parser, 'failover-latest')
    args = parser.parse_args(argv)
    paths = plan.results_paths(parser, args)
    if args.render:
        paths[1].write_text(report(json.loads(paths[0].read_text())))
        return 0
    if args.rounds < 1 or (args.rounds < 5 and not args.no_write):
        parser.error('--rounds: 5 or more (fewer only with --no-write)')
    if not 1 <= args.before <= 60 or not 2 <= args.after <= 60 or not 0.1 <= args.timeout <= 5:
        parser.error('--before 1-60 s, --after 2-60 s, --timeout 0.1-5 s')
    started = time.monotonic()
    data = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                rounds=args.rounds, before=args.before, after=args.after, timeout=args.timeout, reuse=args.reuse,
                instance=os.environ.get('LVS_DR_LAB_INSTANCE', ''), host_load_start=os.getloadavg()[0],
                other_ansible_at_start=len(bench_run.others_busy()), setup_seconds={}, restarts=[],
                sides=dict((side, []) for side in SIDES))
    lab = plan.Lab(str(bench_run.LAB), '')
    bindir = venv_bin(args.venv)
    if not args.reuse and not bindir:
        parser.error('no molecule: run scripts/bootstrap.sh (makes .venv/), give --venv DIR, or use --reuse')
    lab_started = created = False
    topo = molecule = None
    failed = None
    with tempfile.TemporaryDirectory(prefix='lvs-dr-bench-failover-') as tmp:
        try:
            status = lab.status()
            if status.get('status') != 'running':
                if args.reuse:
                    raise BenchError('the lab is not running: --reuse needs the converged ha topology in it')
                log('lab/lab up%s' % (' (instance %s)' % data['instance'] if data['instance'] else ''))
                up_start = time.monotonic()
                if run([str(bench_run.LAB), 'up'], capture_output=False).returncode:
                    raise BenchError('lab/lab up failed')
                lab_started = True
                data['setup_seconds']['lab_up'] = round(time.monotonic() - up_start, 1)
                status = lab.status()
            docker = Docker(docker_env())
            if not args.reuse:
                found = [name for name in CONTAINERS if docker.exists(name)]
                if found:
                    raise BenchError('%s already exist in this lab: use --reuse, or molecule destroy -s ha first'
                                     % ', '.join(found))
                molecule = Molecule(Path(tmp), bindir, docker.env)
                created = True
                for command in ('create', 'prepare', 'converge'):
                    data['setup_seconds'][command] = molecule(command)
            missing = [name for name in CONTAINERS if not docker.running(name)]
            if missing:
                raise BenchError('%s not running in this lab: converge the ha scenario first (or drop --reuse)'
                                 % ', '.join(missing))
            topo = Topology(docker)
            topo.read_dropins()
            data['dropin'] = topo.dropins[MASTER]
            version = docker.run('exec', MASTER, 'keepalived', '--version', check=False)
            data['keepalived'] = ((version.stderr + version.stdout).strip().splitlines() or ['keepalived ?'])[0]
            lab_info = lab.info()
            ansible = ansible_version(bindir)
            log('%d rounds per side on the lab engine: %s' % (args.rounds, bench_run.engine_name(
                dict(status, lab_mode=status.get('mode')))))
            probe = Probe(docker, args.before, args.after, args.timeout)
            measure(topo, probe, data)
        except BenchError as exc:
            failed = exc
            log('ERROR: %s' % exc)
        finally:
            if topo:
                try:
                    topo.put_back()
                except BenchError as exc:
                    log('ERROR while putting keepalived back as the role installed it: %s' % exc)
                    failed = failed or exc
            if created:
                try:
                    data['setup_seconds']['destroy'] = molecule('destroy')
                except BenchError as exc:
                    log('ERROR: %s' % exc)
                    failed = failed or exc
            if lab_started:
                log('lab/lab down')
                run([str(bench_run.LAB), 'down'], capture_output=False)
        if failed:
            return 1
    data['duration_seconds'] = round(time.monotonic() - started, 1)
    data['machine'] = plan.machine(None, lab_info, status)
    data['machine']['ansible'] = ansible.replace('ansible-playbook [core ', 'ansible-core ').rstrip(']')
    data['summary'] = summarize(data)
    text = report(data)
    print(text)
    if not args.no_write:
        plan.write_results(paths, data, text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
