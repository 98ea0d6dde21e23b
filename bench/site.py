# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of a whole lvs.dr.site run: the first and the no-op run beside the floor playbook, per host modules.

What users wait for on every run of the site playbook, on the molecule default scenario's topology (one director
lvs-dr-director, real servers lvs-dr-rs1 and lvs-dr-rs2, and a client, as privileged systemd containers in the lab
VM's Docker; the scenario's inventory and group variables: one service, 192.168.88.100:8080, wrr, the ipvsadm engine),
brought up by the run (lab/lab up when the lab is not running, molecule create and prepare -s default; molecule
destroy at the end) for each collection measured:

  current   this checkout
  baseline  --baseline REF (a git commit; default: none), checked out into a temporary git worktree

For each collection, on fresh containers:

  first     lvs.dr.site on hosts that have never run it (after molecule prepare), once
  no-op     lvs.dr.site again, nothing to change: must report changed=0 on every host; --rounds times
  floor     the least any playbook pays on the same hosts, inventory and connection: gather the network facts of the
            directors and real servers (the site's first play does the same) and one ansible.builtin.ping per host;
            --rounds times, alternating with the no-op run (which goes first alternates from round to round)

Each run is one ansible-playbook process, timed from its start to its end on the controller (wall clock: what a
user waits for). Pipelining on, as the scenario has it. Per host, the modules executed on it are counted by
callback_plugins/bench_modules.py, which counts every module an action plugin sends (gather_facts' setup,
template's stat and copy), not only tasks.

Reported per collection: first-run seconds; no-op and floor medians [min - max]; no-op / floor as the median of
the per-round ratios; modules executed per host in the first and the no-op run.

Run as `bench/run --site [OPTIONS]`. The lab instance is $LVS_DR_LAB_INSTANCE, as for lab/lab; the scenario's
containers must not exist in it (another molecule default run), or the run stops before anything.

Usage: bench/run --site [--rounds 5] [--baseline REF] [--venv DIR] [--no-write] [--results NAME] [--render]
Writes bench/results/site-latest.json and site-latest.md (NAME.json and NAME.md with --results) unless --no-write.
"""

import argparse
import datetime
import importlib.machinery
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


plan = _load('lvs_dr_bench_plan', BENCH / 'plan.py')
bench_run = _load('lvs_dr_bench_run', BENCH / 'run')
failover = _load('lvs_dr_bench_failover', BENCH / 'failover.py')  # docker_env(), venv_bin()
BenchError, log, run, fmt_s, fmt_ratio = plan.BenchError, plan.log, plan.run, plan.fmt_s, plan.fmt_ratio

HOSTS = ('lvs-dr-director', 'lvs-dr-rs1', 'lvs-dr-rs2')
CONTAINERS = HOSTS + ('lvs-dr-client',)
FLOOR_PLAY = '''\
- name: The floor - network facts and one ping per host, as any playbook on these hosts pays
  hosts: lvs_directors:lvs_realservers
  gather_facts: true
  gather_subset:
    - "!all"
    - network
  tasks:
    - name: Ping
      ansible.builtin.ping:
'''
RECAP = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


class Collection(object):
    """One lvs.dr to measure: a checkout (this one, or a worktree of --baseline REF) as ansible_collections/lvs/dr."""

    def __init__(self, name, checkout, workdir):
        self.name, self.checkout = name, Path(checkout)
        self.root = workdir / ('collections-%s' % name)
        link = self.root / 'ansible_collections' / 'lvs' / 'dr'
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(self.checkout)
        out = run(['git', '-C', str(self.checkout), 'rev-parse', '--short', 'HEAD'])
        self.commit = out.stdout.strip()


class Site(object):
    """molecule -s default for the topology; ansible-playbook runs timed, with the modules counted per host."""

    def __init__(self, workdir, bindir, docker_env):
        self.workdir, self.bindir = workdir, bindir
        self.state = workdir / 'molecule-state'
        self.base_env = dict(docker_env, PATH='%s:%s' % (bindir, docker_env.get('PATH', '')),
                             MOLECULE_EPHEMERAL_DIRECTORY=str(self.state), ANSIBLE_NOCOLOR='1',
                             ANSIBLE_FORCE_COLOR='0', NO_COLOR='1')
        self.logfile = workdir / 'runs.log'
        self.floor = workdir / 'floor.yml'
        self.floor.write_text(FLOOR_PLAY)

    def molecule(self, command, collection):
        start = time.monotonic()
        log('molecule %s -s default (%s)' % (command, collection.name))
        env = dict(self.base_env, ANSIBLE_COLLECTIONS_PATH=str(collection.root))
        with open(self.logfile, 'a') as handle:
            proc = subprocess.run([str(self.bindir / 'molecule'), command, '-s', 'default'], cwd=str(REPO), env=env,
                                  stdout=handle, stderr=subprocess.STDOUT, check=False)
        if proc.returncode:
            raise BenchError('molecule %s -s default failed (rc=%d):\n%s'
                             % (command, proc.returncode, self.logfile.read_text()[-4000:]))
        return round(time.monotonic() - start, 1)

    def playbook(self, what, collection):
        """Run the site (what='site') or the floor; return (seconds, {host: modules}, {host: changed})."""
        counts = self.workdir / 'modules.txt'
        if counts.exists():
            counts.unlink()
        env = dict(self.base_env, ANSIBLE_COLLECTIONS_PATH=str(collection.root), ANSIBLE_PIPELINING='True',
                   ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3', DOCKER_TIMEOUT='300',
                   ANSIBLE_CALLBACK_PLUGINS=str(BENCH / 'callback_plugins'), ANSIBLE_CALLBACKS_ENABLED='bench_modules',
                   LVS_DR_BENCH_MODULES_OUT=str(counts))
        cmd = [str(self.bindir / 'ansible-playbook'), '-i', str(self.state / 'inventory'),
               'lvs.dr.site' if what == 'site' else str(self.floor)]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=str(self.workdir), env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        with open(self.logfile, 'a') as handle:
            handle.write('### %s %s (%s): rc=%d, %.1f s\n%s\n'
                         % (what, collection.name, collection.commit, proc.returncode, seconds, proc.stdout[-20000:]))
        if proc.returncode:
            raise BenchError('%s (%s) failed (rc=%d):\n%s'
                             % (what, collection.name, proc.returncode, (proc.stdout + proc.stderr)[-4000:]))
        modules = Counter(line.split('\t', 1)[0] for line in counts.read_text().splitlines()) \
            if counts.exists() else Counter()
        changed = dict((host, int(n)) for host, _ok, n, _u, _f in RECAP.findall(proc.stdout))
        return round(seconds, 2), dict((host, modules.get(host, 0)) for host in HOSTS), changed


def measure(site, collection, rounds, data):
    """Fresh containers, the first run, then ``rounds`` rounds of the no-op run beside the floor."""
    side = dict(collection=collection.name, commit=collection.commit, setup_seconds={}, noop=[], floor=[])
    for command in ('destroy', 'create', 'prepare'):
        side['setup_seconds'][command] = site.molecule(command, collection)
    seconds, modules, changed = site.playbook('site', collection)
    side['first'] = dict(seconds=seconds, modules=modules, changed=changed)
    log('%s: first run %.1f s, modules %s' % (collection.name, seconds, modules))
    for index in range(rounds):
        order = ('site', 'floor') if index % 2 == 0 else ('floor', 'site')
        for what in order:
            seconds, modules, changed = site.playbook(what, collection)
            if what == 'site':
                busy = dict((host, n) for host, n in changed.items() if n)
                if busy or set(changed) != set(HOSTS):
                    raise BenchError('the no-op run of %s changed something or missed a host: %s'
                                     % (collection.name, changed))
                side['noop'].append(dict(seconds=seconds, modules=modules))
            else:
                side['floor'].append(dict(seconds=seconds, modules=modules))
        log('%s round %d: no-op %.1f s, floor %.1f s' % (collection.name, index + 1, side['noop'][-1]['seconds'],
                                                         side['floor'][-1]['seconds']))
    side['setup_seconds']['destroy'] = site.molecule('destroy', collection)
    data['sides'].append(side)


def summarize(side):
    noop = [r['seconds'] for r in side['noop']]
    floor = [r['seconds'] for r in side['floor']]
    ratios = [n / f for n, f in zip(noop, floor) if f]
    return dict(noop=statistics.median(noop), noop_min=min(noop), noop_max=max(noop),
                floor=statistics.median(floor), floor_min=min(floor), floor_max=max(floor),
                ratio=statistics.median(ratios) if ratios else None,
                noop_modules=side['noop'][-1]['modules'], floor_modules=side['floor'][-1]['modules'])


def report(data):
    mach = data['machine']
    lines = ['# lvs.dr.site: the first and the no-op run beside the floor', '',
             '%s, %s; %s vCPU(s) on the host (%s), lab: %s, %s. %d rounds (no-op and floor alternating which goes '
             'first), medians [min - max]. Topology: molecule scenario default (one director, two real servers, '
             'a client; the ipvsadm engine), fresh containers per collection.'
             % (data['date'], mach.get('ansible', ''), mach.get('host_nproc'), mach.get('host_cpu', ''),
                bench_run.engine_name(mach), mach.get('vm_kernel', ''), data['rounds']), '',
             '| collection | first run | no-op run | floor | no-op / floor | modules per host, first run | '
             'modules per host, no-op run | modules per host, floor |',
             '|---|---|---|---|---|---|---|---|']
    for side in data['sides']:
        s = summarize(side)

        def per_host(modules):
            return ', '.join('%s %d' % (host.replace('lvs-dr-', ''), modules.get(host, 0)) for host in HOSTS)

        lines.append('| %s (%s) | %s | %s [%s - %s] | %s [%s - %s] | %s | %s | %s | %s |' % (
            side['collection'], side['commit'], fmt_s(side['first']['seconds']), fmt_s(s['noop']),
            fmt_s(s['noop_min']), fmt_s(s['noop_max']), fmt_s(s['floor']), fmt_s(s['floor_min']),
            fmt_s(s['floor_max']), fmt_ratio(s['ratio']) if s['ratio'] else '-', per_host(side['first']['modules']),
            per_host(s['noop_modules']), per_host(s['floor_modules'])))
    lines += ['', 'Each figure is one ansible-playbook process from start to end on the controller. Modules: every '
              'module executed on the host (facts included), counted by bench/callback_plugins/bench_modules.py.',
              'The keepalived engine is not measured by this mode yet.', '']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench/run --site', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5,
                        help='no-op and floor runs per collection, 5 or more (fewer only with --no-write)')
    parser.add_argument('--baseline', metavar='REF', help='also measure the collection at this git commit, first')
    parser.add_argument('--venv', help='a virtualenv (or its bin/) holding molecule (default: .venv, else PATH)')
    plan.output_options(parser, 'site-latest')
    args = parser.parse_args(argv)
    paths = plan.results_paths(parser, args)
    if args.render:
        paths[1].write_text(report(json.loads(paths[0].read_text())))
        return 0
    if args.rounds < 1 or (args.rounds < 5 and not args.no_write):
        parser.error('--rounds: 5 or more (fewer only with --no-write)')
    bindir = failover.venv_bin(args.venv)
    if not bindir:
        parser.error('no molecule: run scripts/bootstrap.sh (makes .venv/) or give --venv DIR')
    started = time.monotonic()
    data = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                rounds=args.rounds, baseline=args.baseline, instance=os.environ.get('LVS_DR_LAB_INSTANCE', ''),
                host_load_start=os.getloadavg()[0], other_ansible_at_start=len(bench_run.others_busy()), sides=[])
    lab = plan.Lab(str(bench_run.LAB), '')
    lab_started, worktree, failed = False, None, None
    with tempfile.TemporaryDirectory(prefix='lvs-dr-bench-site-') as tmp:
        workdir = Path(tmp)
        try:
            status = lab.status()
            if status.get('status') != 'running':
                log('lab/lab up')
                if run([str(bench_run.LAB), 'up'], capture_output=False).returncode:
                    raise BenchError('lab/lab up failed')
                lab_started = True
                status = lab.status()
            env = failover.docker_env()
            docker = failover.Docker(env)
            found = [name for name in CONTAINERS if docker.exists(name)]
            if found:
                raise BenchError('%s already exist in this lab (a molecule default run?): use another '
                                 'LVS_DR_LAB_INSTANCE, or molecule destroy -s default first' % ', '.join(found))
            collections = []
            if args.baseline:
                worktree = workdir / 'baseline'
                out = run(['git', '-C', str(REPO), 'worktree', 'add', '--detach', str(worktree), args.baseline])
                if out.returncode:
                    raise BenchError('git worktree add %s failed: %s' % (args.baseline, out.stderr))
                collections.append(Collection('baseline', worktree, workdir))
            collections.append(Collection('current', REPO, workdir))
            site = Site(workdir, bindir, env)
            lab_info = lab.info()
            for collection in collections:
                measure(site, collection, args.rounds, data)
        except BenchError as exc:
            failed = exc
            log('ERROR: %s' % exc)
            try:
                Site(workdir, bindir, failover.docker_env()).molecule('destroy', Collection(
                    'cleanup', REPO, workdir))
            except (BenchError, OSError) as again:
                log('ERROR while destroying the containers: %s' % again)
        finally:
            if worktree is not None:
                run(['git', '-C', str(REPO), 'worktree', 'remove', '--force', str(worktree)])
            if lab_started:
                log('lab/lab down')
                run([str(bench_run.LAB), 'down'], capture_output=False)
        if failed:
            return 1
    data['duration_seconds'] = round(time.monotonic() - started, 1)
    data['machine'] = plan.machine(None, lab_info, status)
    data['machine']['ansible'] = failover.ansible_version(bindir).replace(
        'ansible-playbook [core ', 'ansible-core ').rstrip(']')
    text = report(data)
    print(text)
    if not args.no_write:
        plan.write_results(paths, data, text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
