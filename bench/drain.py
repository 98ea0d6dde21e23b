# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of draining a real server: from the request to the removal, beside the connection's own remaining time.

In the lab VM, in a topology of network namespaces of its own (bench/drain_vm.py: a client, a director, two real
servers on a bridge, 198.18.77.0/24; created by the run, which refuses to start if they exist, and deleted at the
end), for each case -- the connection's remaining time R (--remaining, default 3 and 10 s) x drain_poll_interval
(--intervals, default 1.0 and 0.2 s) -- in --repeat rounds, the cases in a rotating order:

  download  the client starts a download through the director from real server rs1 that ends R seconds after its
            first chunk (the integration test's slow web server, one chunk a second); rs2 joins the service
  drain     at t0, ONE task lvs.dr.ipvs_realserver (state=absent, drain=true) for rs1, run by ansible-playbook on
            the controller against the VM (module in the director's namespace), timed by
            callback_plugins/bench_timer.py from its start to its result
  floor     rs1 put back with no connection, and the same task again: what it costs when there is nothing to wait for

Measured in the VM meanwhile: when the download really ended (the client, after its last byte), and, by reading the
director's table every 10 ms, when rs1's weight became 0, when its active connection ended and when it left the
table. The controller's and the VM's clocks are related by the fastest of a few exchanges over one SSH channel,
before and after each round. Reported per case, medians [min - max] of the rounds: the connection's own remaining
time from t0 (the baseline), the task's time, request to removal in the VM, the overhead (removal minus the
connection's end), the task / remaining ratio (per round), the module's drain.seconds and polls, and the floor.

Every round is checked, so a figure is a real drain: the download completed, byte for byte; the drain began while
the connection was open and removed rs1 only after it ended; rs1 is gone from the table afterwards; from the moment
its weight was 0 until it left, a new request every 0.5 s reached the service, all answered, none by rs1 (its request
log holds the download alone).

Run as `bench/run --drain [OPTIONS]` (this file is the --drain mode of bench/run).

Usage: bench/run --drain [--remaining 3,10] [--intervals 1.0,0.2] [--repeat 7] [--prefix lvsdrain]
                         [--no-write] [--results NAME] [--render]
Writes bench/results/drain-latest.json and drain-latest.md (NAME.json and NAME.md with --results) unless --no-write.
"""

import argparse
import datetime
import importlib.machinery
import importlib.util
import itertools
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VM_DIR = '/tmp/lvs-dr-bench-drain'
RETRIES = 3  # times a round is repeated when the connection ended before the drain began (a very slow start)
SLOW_HTTP = REPO / 'tests' / 'integration' / 'targets' / 'ipvs_realserver' / 'files' / 'slow_http.py'


def _load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


plan = _load('lvs_dr_bench_plan', BENCH / 'plan.py')  # the lab over SSH, the machine, figures
bench_run = _load('lvs_dr_bench_run', BENCH / 'run')  # the playbook runner, the engine's name
vm = _load('lvs_dr_bench_drain_vm', BENCH / 'drain_vm.py')  # the topology's addresses
BenchError, log, run, fmt_s, fmt_ratio = plan.BenchError, plan.log, plan.run, plan.fmt_s, plan.fmt_ratio
RS1 = vm.NODES['r1']


class TooLate(BenchError):
    """The connection ended before the drain began: the round measured no drain (it is repeated)."""


class Lab(plan.Lab):
    """The lab VM, with this benchmark's directory and its topology (PREFIX-c, -d, -r1, -r2, -sw)."""

    vm_dir = VM_DIR
    owned = False  # whether the namespaces PREFIX-* and VM_DIR are this run's (teardown deletes them)

    def vm(self, *args):
        return self.ssh('python3', '%s/drain_vm.py' % VM_DIR, *args)

    def setup(self):
        taken = [line.split()[0] for line in self.ssh('ip', 'netns', 'list').splitlines()
                 if line.split() and line.split()[0].startswith(self.netns + '-')]
        if self.ssh('sh', '-c', 'test -e %s && echo exists; true' % VM_DIR).strip():
            taken.append(VM_DIR)
        if taken:
            raise BenchError('%s exist in the VM: another drain benchmark running, or one left over (delete them '
                             'first)' % ', '.join(taken))
        self.ssh('mkdir', VM_DIR)
        self.owned = True
        self.put('drain_vm.py', (BENCH / 'drain_vm.py').read_text())
        self.put('slow_http.py', SLOW_HTTP.read_text())
        # The module's interpreter runs in the director's namespace (IPVS tables are per namespace); when it starts
        # and ends is logged (bash's clock, no process of its own).
        self.put('python3', '#!/bin/bash\necho "$EPOCHREALTIME" >> %s/interpreter.log\n%s "$@"\nrc=$?\n'
                 'echo "$EPOCHREALTIME" >> %s/interpreter.log\nexit $rc\n'
                 % (VM_DIR, shlex.join(vm.in_ns(self.netns, 'd', '/usr/bin/python3')), VM_DIR), mode='0755')
        self.vm('up', VM_DIR, self.netns)

    def teardown(self):
        if self.owned:
            self.ssh('python3', '%s/drain_vm.py' % VM_DIR, 'down', VM_DIR, self.netns, check=False)


class Clock(object):
    """The VM's time.time() minus the controller's: the fastest of a few exchanges over one SSH channel."""

    def __init__(self, lab):
        self.proc = subprocess.Popen([lab.lab, 'ssh', '--', 'python3', '-u', '%s/drain_vm.py' % VM_DIR, 'clock'],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def offset(self, samples=9):
        best = None
        for _sample in range(samples):
            sent = time.time()
            self.proc.stdin.write('t\n')
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            got = time.time()
            if not line:
                raise BenchError('the clock channel to the VM closed')
            if best is None or got - sent < best['rtt']:
                best = dict(offset=float(line) - (sent + got) / 2, rtt=got - sent)
        return best

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Ansible(bench_run.Ansible):
    """bench/run's runner (lab inventory, the bench_timer callback, pipelining, SSH masters of its own)."""

    def round(self, play, tag):
        path = self.workdir / ('play-%s.json' % tag)
        path.write_text(json.dumps(play, indent=1))
        timer, logfile = self.workdir / ('timer-%s.json' % tag), self.workdir / ('log-%s.txt' % tag)
        proc = run([self.playbook_bin, '-i', str(self.inventory), str(path)],
                   env=dict(self.env, LVS_DR_BENCH_TIMER_OUT=str(timer)))
        output = proc.stdout + proc.stderr
        logfile.write_text(output)
        if proc.returncode:
            raise BenchError('round %s failed (rc=%d), log: %s\n%s' % (tag, proc.returncode, logfile, output[-3000:]))
        return dict((task['name'], task) for task in json.loads(timer.read_text()))


def round_play(interval, drain_timeout):
    """The playbook of one round: the download starts, the drain (timed), rs1 back with no connection, the floor."""
    remove = {'virtual_address': vm.VIP, 'virtual_port': vm.PORT, 'address': RS1, 'port': vm.PORT,
              'state': 'absent', 'drain': True, 'drain_poll_interval': interval, 'drain_timeout': drain_timeout}

    def start(tag):
        return {'name': 'bench start %s' % tag, 'changed_when': False,
                'ansible.builtin.raw': shlex.join(['python3', '%s/drain_vm.py' % VM_DIR, 'start', VM_DIR, tag])}

    # The warm-up builds the module's payload on the controller once, as the floor finds it built: both timed tasks
    # then cost the same before the module starts.
    tasks = [{'name': 'Open the SSH connection (not counted)', 'ansible.builtin.raw': 'true', 'changed_when': False},
             {'name': 'Warm up: the same module, nothing to do (not counted)', 'check_mode': True,
              'lvs.dr.ipvs_realserver': dict(remove, address=vm.NODES['r2'])},
             start('drain'),
             {'name': 'bench drain', 'lvs.dr.ipvs_realserver': remove},
             start('floor'),
             {'name': 'bench floor', 'lvs.dr.ipvs_realserver': remove}]
    return [dict(name='Drain a real server with an open connection, then one without', hosts='lvs-lab',
                 gather_facts=False, vars=dict(ansible_python_interpreter='%s/python3' % VM_DIR), tasks=tasks)]


def check_task(task, what):
    drain = task.get('drain') or {}
    dest = '%s:%d' % (RS1, vm.PORT)
    if (task['failed'] or not task['changed'] or drain.get('timed_out') or drain.get('active_connections')
            or not task['commands'] or not task['commands'][-1].startswith('-d ') or dest not in task['commands'][-1]):
        raise BenchError('%s: the task did not drain and remove %s: %s' % (what, dest, json.dumps(task)[:2000]))


def evaluate(data, tasks, clocks, what):
    """One round's figures from what the controller and the VM recorded; raises when a check fails."""
    drain, floor = tasks['bench drain'], tasks['bench floor']
    client, watch, watch_floor = data['client-drain'], data['watch-drain'], data['watch-floor']
    check_task(drain, what + ', drain')
    check_task(floor, what + ', floor')
    offset = statistics.mean(c['offset'] for c in clocks)
    t0, result_at = drain['wall_start'] + offset, drain['wall_end'] + offset
    dest = '%s:%d' % (RS1, vm.PORT)
    probes = client['probes']
    problems = []
    if not client['complete']:
        problems.append('the download is incomplete: %d of %d bytes' % (client['bytes'], client['expected_bytes']))
    if client['complete'] and watch.get('at_quiesce', {}).get('active') == 0 and client['end'] < watch['quiesced']:
        raise TooLate('%s: the download ended %.2f s before the weight became 0' % (
            what, watch['quiesced'] - client['end']))
    if watch.get('at_quiesce', {}).get('active') != 1 or 'no_active' not in watch:
        problems.append('the drain did not begin while the connection was open: %s' % json.dumps(watch))
    elif not client['end'] < watch['removed']:
        problems.append('rs1 left the table %.3f s before the download ended' % (client['end'] - watch['removed']))
    if any(dest in line for line in data['table']):
        problems.append('rs1 is still in the table: %s' % data['table'])
    if data['requests_r1'] != ['GET /download-drain HTTP/1.1']:
        problems.append('rs1 got other requests than the download: %s' % data['requests_r1'])
    if not probes or not all(p['ok'] for p in probes):
        problems.append('new requests during the drain: %d sent, %d failed' % (
            len(probes), sum(1 for p in probes if not p['ok'])))
    elif sorted(data['requests_r2']) != sorted('GET /probe-drain-%d HTTP/1.1' % p['number'] for p in probes):
        problems.append('rs2 did not answer every new request: %s' % data['requests_r2'])
    if len(data.get('interpreter', [])) != 3:
        problems.append('%d module runs logged in the VM, 3 expected' % len(data.get('interpreter', [])))
    if problems:
        raise BenchError('%s: %s' % (what, '; '.join(problems)))
    remaining = client['end'] - t0
    (drain_start, drain_end), (floor_start, floor_end) = data['interpreter'][1:]
    floor_t0 = floor['wall_start'] + offset
    return dict(
        remaining=remaining, task=drain['seconds'], ratio=drain['seconds'] / remaining,
        removal=watch['removed'] - t0, removal_ratio=(watch['removed'] - t0) / remaining,
        overhead=watch['removed'] - client['end'],
        overhead_task=result_at - client['end'], weight0=watch['quiesced'] - t0,
        kernel_end=watch['no_active'] - client['end'],
        module_seconds=drain['drain']['seconds'], polls=drain['drain']['polls'],
        module_start=drain_start - t0, quiesce=watch['quiesced'] - drain_start, module_run=drain_end - drain_start,
        result_back=result_at - drain_end,
        floor=floor['seconds'], floor_removal=watch_floor['removed'] - floor_t0,
        floor_module_start=floor_start - floor_t0, floor_module_run=floor_end - floor_start,
        floor_result_back=floor['wall_end'] + offset - floor_end,
        floor_module_seconds=floor['drain']['seconds'], floor_polls=floor['drain']['polls'],
        connection_age=t0 - client['request'], probes=len(probes),
        watch_gap=max(watch['largest_gap'], watch_floor['largest_gap']),
        clock_offset=offset, clock_uncertainty=abs(clocks[0]['offset'] - clocks[1]['offset']) / 2
        + max(c['rtt'] for c in clocks) / 2)


FIGURES = ('remaining', 'task', 'ratio', 'removal', 'removal_ratio', 'overhead', 'overhead_task', 'weight0',
           'kernel_end', 'module_seconds', 'polls', 'module_start', 'quiesce', 'module_run', 'result_back', 'floor',
           'floor_removal', 'floor_module_seconds', 'floor_polls', 'floor_module_start', 'floor_module_run',
           'floor_result_back', 'probes', 'connection_age', 'clock_offset')


def summarize(rounds):
    return dict((key, dict(median=statistics.median(r[key] for r in rounds), min=min(r[key] for r in rounds),
                           max=max(r[key] for r in rounds))) for key in FIGURES)


def measure(lab, ansible, clock, cases, repeat, drain_timeout):
    chunks = None
    for number in range(repeat):
        shift = number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            what = 'R=%g s, poll %g s, round %d' % (case['remaining'], case['interval'], number + 1)
            if chunks != case['remaining'] + 1:
                # The download ends R s after its first chunk: R + 1 chunks, one a second.
                chunks = case['remaining'] + 1
                lab.vm('servers', VM_DIR, str(chunks))
            for attempt in range(1, RETRIES + 2):
                lab.vm('service', VM_DIR)
                clocks = [clock.offset()]
                tasks = ansible.round(round_play(case['interval'], drain_timeout),
                                      '%d-%d-%d' % (number + 1, case['index'], attempt))
                clocks.append(clock.offset())
                data = json.loads(lab.vm('collect', VM_DIR, 'drain', 'floor'))
                try:
                    case['rounds'].append(evaluate(data, tasks, clocks, what))
                    break
                except TooLate as exc:
                    if attempt > RETRIES:
                        raise
                    log('%s; the round is repeated' % exc)
                    case['repeated'] = case.get('repeated', 0) + 1
            row = case['rounds'][-1]
            log('%s: remaining %.2f s, task %.2f s (%.2fx), removal %.2f s, overhead %.2f s, polls %d, floor %.2f s'
                % (what, row['remaining'], row['task'], row['ratio'], row['removal'], row['overhead'], row['polls'],
                   row['floor']))


# ------------------------------------------------------------------------------------------------------- report

def cell(figure, kind='s'):
    show = fmt_ratio if kind == 'x' else (lambda v: '%g' % v) if kind == 'n' else fmt_s
    if figure['min'] == figure['max']:
        return show(figure['median'])
    return '%s [%s - %s]' % (show(figure['median']), show(figure['min']), show(figure['max']))


MAIN = (('connection\'s own remaining time (baseline)', 'remaining'), ('drain task: request to result', 'task'),
        ('task / remaining', 'ratio'), ('request to removal (in the VM)', 'removal'),
        ('removal / remaining', 'removal_ratio'),
        ('overhead: removal - connection end (in the VM)', 'overhead'),
        ('task result - connection end', 'overhead_task'), ('floor: same task, no connection', 'floor'))
INSIDE = (('request to module start (controller, SSH)', 'module_start'),
          ('module start to weight 0 (in the VM)', 'quiesce'), ('module\'s drain.seconds', 'module_seconds'),
          ('polls', 'polls'), ('module end to result', 'result_back'),
          ('kernel saw the connection end, minus the client\'s end', 'kernel_end'),
          ('new requests during the drain (all answered by the other real server)', 'probes'))
FLOOR = (('floor task: request to result', 'floor'), ('request to module start', 'floor_module_start'),
         ('module run (in the VM)', 'floor_module_run'), ('of which drain.seconds', 'floor_module_seconds'),
         ('polls', 'floor_polls'), ('module end to result', 'floor_result_back'),
         ('request to removal (in the VM)', 'floor_removal'))
COUNTS = ('polls', 'floor_polls', 'probes')


def table(cases, columns):
    lines = ['| R, drain_poll_interval | %s |' % ' | '.join(header for header, _key in columns),
             '|---|%s' % ('---:|' * len(columns))]
    for case in cases:
        cells = [cell(case['summary'][key], 'x' if key.endswith('ratio') else 'n' if key in COUNTS else 's')
                 for _header, key in columns]
        lines.append('| %g s, %g s | %s |' % (case['remaining'], case['interval'], ' | '.join(cells)))
    return lines


def report(data):
    mach = data['machine']
    rounds = [r for case in data['cases'] for r in case['rounds']]
    lines = ['# lvs.dr benchmark: draining a real server before removing it', '',
             '%s. Host: %s cores, %s, Python %s, %s (host load at the end %.2f). Lab VM: %s, %s vCPU(s), kernel %s, '
             '%s, %s (VM load at start %.2f). Network namespaces %s-* of the VM.' % (
                 data['date'], mach['host_nproc'], mach['host_cpu'], mach['python'], mach['ansible'],
                 mach['host_load_1min'], bench_run.engine_name(mach), mach['vm_vcpus'], mach['vm_kernel'],
                 mach['vm_ipvsadm'], mach['vm_python'], mach['vm_load_1min'], data['prefix']), '']
    lines += table(data['cases'], MAIN)
    lines += ['', 'Inside the drain task, the same rounds:', ''] + table(data['cases'], INSIDE)
    lines += ['', 'The floor, the same rounds:', ''] + table(data['cases'], FLOOR)
    repeated = ['R = %g s, interval %g s: %d' % (c['remaining'], c['interval'], c['repeated'])
                for c in data['cases'] if c.get('repeated')]
    if repeated:
        lines += ['', 'Rounds measured again because the download had ended before the drain began (the module '
                  'started too slowly to catch it): %s.' % '; '.join(repeated)]
    lines += ['', NOTES % dict(
        repeat=data['repeat'], age=fmt_s(statistics.median(r['connection_age'] for r in rounds)),
        gap=fmt_s(max(r['watch_gap'] for r in rounds)),
        offset=fmt_s(abs(statistics.median(r['clock_offset'] for r in rounds))),
        uncertainty=fmt_s(max(r['clock_uncertainty'] for r in rounds)))]
    return '\n'.join(lines) + '\n'


NOTES = (
    'Medians of %(repeat)d rounds per case, [min - max] of the rounds; "task / remaining" and "removal / remaining" '
    'are medians of per-round ratios. R: the download ends R s after its first chunk; the drain is requested (t0: the '
    'start of the task on the controller) a moment later, once the kernel counts the connection as active (it was '
    '%(age)s old then, median), so the measured remaining time is a little under R. "connection\'s own remaining '
    'time": t0 to the client\'s last byte read and its socket closed, in the VM; the baseline, what an operator waits '
    'for anyway. "drain task": ONE lvs.dr.ipvs_realserver task (state=absent, drain=true, the interval given) from '
    'its start to its result on the controller (bench_timer callback; the module runs in the director\'s network '
    'namespace through `ip netns exec`; a warm-up task of the same module ran first, so its payload is built). '
    '"request to removal": t0 to the first reading of the director\'s table (every 10 ms; largest gap between '
    'readings %(gap)s) without the real server. "overhead": the real server\'s removal (in the VM), or the task\'s '
    'result (on the controller), minus the connection\'s end: the wait for the next poll, that poll, the removal (and '
    'the result\'s way back). "module start" and "module end": when the module\'s interpreter started and ended in '
    'the VM (logged by its wrapper); "weight 0": when the director\'s table first showed it; "drain.seconds" and '
    '"polls": the module\'s own return value; "kernel saw the connection end": the first reading without an active '
    'connection minus the client\'s end, two processes sharing the VM\'s one CPU, so it shows how precise these in-VM '
    'times are (negative: the client was scheduled after the kernel had counted the end). "floor": the same task on '
    'the same real server put back with no connection, right after, in the same playbook: what the task costs when '
    'there is nothing to wait for. Controller and VM times are related by the fastest of 9 exchanges over one SSH '
    'channel before and after each round (the VM\'s clock was %(offset)s off the controller\'s; uncertainty at most '
    '%(uncertainty)s). Checked in every round: the download complete byte for byte; the drain began with the '
    'connection active and removed the real server only after it ended; the real server gone from the table '
    'afterwards; from its weight 0 until its removal a new request to the service every 0.5 s, all answered, none by '
    'the drained server (its request log holds the download alone).')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench/run --drain', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--remaining', default='3,10', help='comma-separated remaining times R of the connection (s)')
    parser.add_argument('--intervals', default='1.0,0.2', help='comma-separated drain_poll_interval values (s)')
    parser.add_argument('--repeat', type=int, default=7, help='rounds per case; medians are reported')
    parser.add_argument('--prefix', default='lvsdrain', help='prefix of the network namespaces made in the VM')
    plan.output_options(parser, 'drain-latest')
    args = parser.parse_args(argv)
    paths = plan.results_paths(parser, args)
    if args.render:
        paths[1].write_text(report(json.loads(paths[0].read_text())))
        return 0
    try:
        remaining = sorted({int(v) for v in args.remaining.split(',') if v.strip()})
        intervals = sorted({float(v) for v in args.intervals.split(',') if v.strip()}, reverse=True)
    except ValueError:
        parser.error('--remaining: whole seconds; --intervals: seconds')
    if not remaining or not 2 <= min(remaining) <= max(remaining) <= 120 or not intervals \
            or not 0.1 <= min(intervals) <= max(intervals) <= 10 or args.repeat < 1:
        parser.error('--remaining 2-120 s, --intervals 0.1-10 s, --repeat 1 or more')
    if not args.prefix.isalnum() or len(args.prefix) > 10:
        parser.error('--prefix: up to 10 letters and digits')
    cases = [dict(index=index, remaining=r, interval=i, rounds=[])
             for index, (r, i) in enumerate(itertools.product(remaining, intervals))]

    lab = Lab(str(bench_run.LAB), args.prefix)
    status = lab.status()
    if status.get('status') != 'running':
        raise SystemExit('bench: the lab is not running: start it with lab/lab up')
    data = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                repeat=args.repeat, prefix=args.prefix, drain_timeout=max(remaining) * 3 + 30)
    with tempfile.TemporaryDirectory(prefix='lvs-dr-bench-drain-') as tmp:
        ansible = clock = None
        try:
            lab.setup()
            info = lab.info()
            ansible = Ansible(Path(tmp), lab)
            clock = Clock(lab)
            log('%d cases x %d rounds on the lab engine: %s' % (len(cases), args.repeat, bench_run.engine_name(
                dict(status, lab_mode=status.get('mode')))))
            measure(lab, ansible, clock, cases, args.repeat, data['drain_timeout'])
        except BenchError as exc:
            log('ERROR: %s' % exc)
            return 1
        finally:
            if clock:
                clock.close()
            lab.teardown()
            if ansible:
                ansible.close()
        data['machine'] = plan.machine(ansible, info, status)
        data['machine']['engine'] = status.get('engine')
    for case in cases:
        case['summary'] = summarize(case['rounds'])
    data['cases'] = cases
    text = report(data)
    print(text)
    if not args.no_write:
        plan.write_results(paths, data, text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
