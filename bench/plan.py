# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the director role's controller-side planning and of its boot restore, with their baselines.

Planning (on the controller, no VM): for each size N (default 1,000 and 10,000 real servers) and each way of
giving a pool -- "group" (the hosts of an inventory group, each with gathered-looking facts in a fact cache),
"group-noinject" (the same with `inject_facts_as_vars = False`, the setting README recommends for large inventories)
and "list" (an explicit list of N {address, mac} dicts) -- ONE ansible-playbook run (connection local, the director
and its facts in the same fact cache) times, interleaved, --repeat times each:

  planner  the role's own planning task: `include_role: lvs.dr.director, tasks_from: preflight.yml` and, inside it,
           the task "Resolve the services and their pools from the inventory" (the lvs.dr.director_plan filter as
           the role calls it)
  read     the baseline every inventory-driven planner pays: reading each pool member's address once (group:
           `groups[g] | map('extract', hostvars, ['ansible_facts', 'default_ipv4', 'address'])`; list:
           `director_services | map(attribute='realservers') | flatten | map(attribute='address')`)
  jinja    the previous Jinja planner (bench/jinja_plan.json.j2, from commit 3df608c), in the first --jinja-rounds
           rounds (default 1: about 4 minutes at 10,000), up to --jinja-max real servers and extrapolated above
           that (N^2 from the largest measured N, marked "~": an upper bound)
  floor    a set_fact of a constant: what any task costs with this inventory loaded

Each is one task, timed by bench/callback_plugins/bench_timer.py from its start to its result: ansible-playbook's
start-up and the inventory loading are not counted. A warm-up task reads every member once first (not counted),
so the fact cache is loaded before anything is timed. The plans are checked: N real servers and N ARP entries,
no problems, the read baseline counts N.

Boot restore (in the lab VM, in a network namespace of its own, --netns, deleted at the end): a rules file of
--restore-rules destinations (ceil(N/50) services of 50; 10,200 lines for 10,000) written as the role writes it
(lvs.dr.ipvs_table's persist: a comment header, then the lines of its managed_rules),
restored into an EMPTY table by plugins/module_utils/_restore.py (the helper, copied into the VM) vs a bare
`ipvsadm -R` of the same lines without comments, in alternating order, plus the helper's no-op re-run on the full
table; --restore-repeat times, medians. Timed inside the VM around each process (bench/restore.py). After every
run the table must hold exactly the file's rules.

Run as `bench/run --plan [OPTIONS]` (this file is the --plan mode of bench/run).

Usage: bench/run --plan [--sizes 1000,10000] [--repeat 3] [--jinja-max 10000] [--jinja-rounds 1]
                        [--restore-rules 10000]
                        [--restore-repeat 5] [--netns lvsbench2] [--no-restore | --no-planning] [--no-write]
                        [--results NAME] [--keep DIR]
Writes bench/results/plan-latest.json and plan-latest.md (NAME.json and NAME.md with --results) unless --no-write.
With --keep DIR the planning runs work in DIR instead of a temporary directory and leave there, per size and
representation (DIR/list-10000, ...), the inventory, fact cache, playbook, timings and log: what bench/profile_task.py
profiles.
"""

import argparse
import atexit
import contextlib
import datetime
import importlib
import importlib.util
import json
import math
import os
import platform
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
HELPER = REPO / 'plugins' / 'module_utils' / '_restore.py'  # installed by lvs.dr.ipvs_table (persist)
JINJA_PLAN = BENCH / 'jinja_plan.json.j2'
VM_DIR = '/tmp/lvs-dr-bench-plan'
RESOLVE_TASK = 'Resolve the services and their pools from the inventory'
SIDES = ('planner', 'read', 'jinja', 'floor')


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


per_rule = _load('lvs_dr_bench_per_rule', BENCH / 'per_rule.py')


def _import_collection():
    """Put this checkout on sys.path as ansible_collections.lvs.dr (a temporary root, removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix='lvs-dr-bench-collection.'))
    atexit.register(shutil.rmtree, str(root), True)
    (root / 'ansible_collections' / 'lvs').mkdir(parents=True)
    (root / 'ansible_collections' / 'lvs' / 'dr').symlink_to(REPO)
    sys.path.insert(0, str(root))


# The collection's IPVS model writes the rules file's lines, as lvs.dr.ipvs_table does.
_import_collection()
ipvs_model = importlib.import_module('ansible_collections.lvs.dr.plugins.module_utils._ipvs_model')
ipvs_params = importlib.import_module('ansible_collections.lvs.dr.plugins.module_utils._ipvs_params')


class BenchError(Exception):
    pass


def log(msg):
    print('bench: %s' % msg, file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    kwargs.setdefault('capture_output', True)
    kwargs.setdefault('text', True)
    return subprocess.run(cmd, check=False, **kwargs)


# ------------------------------------------------------------------------------------------------------ planning

def realserver_facts(address, mac, hostname):
    """What `setup` (network subset) puts in the fact cache for a one-interface host, ansible_ prefixed."""
    network = address.rsplit('.', 2)[0] + '.0.0'
    iface = dict(device='eth0', active=True, type='ether', mtu=1500, macaddress=mac, module='virtio_net',
                 ipv4=dict(address=address, broadcast=network[:-3] + '255.255', netmask='255.255.0.0',
                           network=network, prefix='16'),
                 ipv6=[dict(address='fe80::ff:fe%s:%s' % (mac[-5:-3], mac[-2:]), prefix='64', scope='link')])
    return dict(ansible_default_ipv4=dict(interface='eth0', address=address, gateway=network[:-1] + '1',
                                          macaddress=mac, mtu=1500, netmask='255.255.0.0', network=network,
                                          prefix='16', type='ether', alias='eth0',
                                          broadcast=iface['ipv4']['broadcast']),
                ansible_default_ipv6={}, ansible_interfaces=['eth0', 'lo'], ansible_eth0=iface,
                ansible_lo=dict(device='lo', active=True, type='loopback', mtu=65536,
                                ipv4=dict(address='127.0.0.1', netmask='255.0.0.0', network='127.0.0.0', prefix='8')),
                ansible_all_ipv4_addresses=[address], ansible_all_ipv6_addresses=[iface['ipv6'][0]['address']],
                ansible_hostname=hostname, ansible_fqdn='%s.example.net' % hostname, ansible_domain='example.net',
                ansible_nodename=hostname, ansible_os_family='Debian', ansible_system='Linux',
                gather_subset=['!all', '!min', 'network'], module_setup=True)


DIRECTOR_ADDRESS = '10.0.255.254'


def mac_of(index):
    return '02:00:%02x:%02x:%02x:%02x' % ((index >> 24) & 255, (index >> 16) & 255, (index >> 8) & 255, index & 255)


def scenario(size, services, representation):
    """(inventory, director_services, {host: facts}) for N real servers spread over `services` pools."""
    hosts = ['rs%05d' % (index + 1) for index in range(size)]
    facts = dict(d1=realserver_facts(DIRECTOR_ADDRESS, '02:00:00:00:ff:fe', 'd1'))
    per_pool = math.ceil(size / services)
    pools = [list(range(start, min(size, start + per_pool))) for start in range(0, size, per_pool)]
    director_services, children = [], {}
    for number, members in enumerate(pools):
        svc = dict(virtual_address=per_rule.vip(number), virtual_port=per_rule.PORT, scheduler='wlc')
        if representation in GROUPS:
            group = 'bench_pool_%d' % (number + 1)
            svc['realserver_group'] = group
            children[group] = dict(hosts=dict((hosts[i], {}) for i in members))
            for i in members:
                facts[hosts[i]] = realserver_facts(per_rule.realserver(i), mac_of(i + 1), hosts[i])
        else:
            svc['realservers'] = [dict(address=per_rule.realserver(i), mac=mac_of(i + 1)) for i in members]
        director_services.append(svc)
    children['lvs_directors'] = dict(hosts=dict(d1={}), vars=dict(director_services=director_services))
    inventory = dict(all=dict(children=children, vars=dict(ansible_connection='local')))
    return inventory, director_services, facts


# The ways a pool is given; 'group-noinject' is 'group' with inject_facts_as_vars = False in Ansible's configuration
# (what README recommends for large inventories: the collection reads facts only through ansible_facts).
GROUPS = ('group', 'group-noinject')
REPRESENTATIONS = GROUPS + ('list',)
LABELS = {
    'group': 'inventory group of hosts with facts',
    'group-noinject': 'inventory group of hosts with facts, `inject_facts_as_vars = False`',
    'list': 'list of {address, mac}',
}

READ = {
    'group': "{{ groups | dict2items | selectattr('key', 'match', 'bench_pool_') | map(attribute='value') | flatten"
             " | map('extract', hostvars, ['ansible_facts', 'default_ipv4', 'address']) | list | length }}",
    'list': "{{ director_services | map(attribute='realservers') | flatten | map(attribute='address') | list"
            " | length }}",
}


def playbook(representation, repeat, jinja_rounds, out):
    """One play: warm-up, then `repeat` rounds of floor/read/planner(/jinja in the first `jinja_rounds` rounds), in
    an order that rotates each round."""
    read = READ['group' if representation in GROUPS else representation]
    tasks = [dict(name='bench warm-up: read every pool member once (not counted)',
                  **{'ansible.builtin.set_fact': dict(_bench_warm=read)})]
    for round_ in range(1, repeat + 1):
        sides = ['floor', 'read', 'planner'] + (['jinja'] if round_ <= jinja_rounds else [])
        shift = (round_ - 1) % len(sides)
        for side in sides[shift:] + sides[:shift]:
            name = 'bench %s %d' % (side, round_)
            if side == 'floor':
                tasks.append({'name': name, 'ansible.builtin.set_fact': dict(_bench_floor=round_)})
            elif side == 'read':
                tasks.append({'name': name, 'ansible.builtin.set_fact': dict(_bench_read=read)})
            elif side == 'jinja':
                tasks.append({'name': name, 'ansible.builtin.set_fact': dict(
                    _bench_jinja="{{ lookup('ansible.builtin.template', %r) | from_json }}" % str(JINJA_PLAN))})
            else:
                tasks.append({'name': name, 'ansible.builtin.include_role': dict(
                    name='lvs.dr.director', tasks_from='preflight.yml', public=True)})
    summary = ("{{ dict(read=_bench_read | int, "
               "planner=dict(services=_director_plan.services | length, realservers=_director_plan.services "
               "| map(attribute='realservers') | map('length') | sum, arp=_director_plan.arp | length, "
               "problems=_director_plan.problems), "
               "jinja=(dict(services=_bench_jinja.services | length, realservers=_bench_jinja.services "
               "| map(attribute='realservers') | map('length') | sum, arp=_bench_jinja.arp | length, "
               "problems=_bench_jinja.problems) if _bench_jinja is defined else none)) | to_json }}")
    tasks.append({'name': 'bench record', 'ansible.builtin.copy': dict(content=summary, dest=str(out), mode='0644')})
    play = dict(name='Planning of the director role (%s pools)' % representation, hosts='lvs_directors',
                gather_facts=False, tasks=tasks,
                vars=dict(
                    # What the Jinja baseline reads; the same values as the role's defaults for this director.
                    director_interface='eth0', director_realserver_group='lvs_realservers',
                    director_kernel_modules=['ip_vs'], director_manage_vips=True, director_static_arp=True,
                    _director_role_keys=['realservers', 'realserver_group', 'realserver_weight', 'allow_empty_pool']))
    return [play]


def collections_path(workdir):
    """A collections root whose lvs/dr is this checkout: $LVS_DR_COLLECTIONS, the bootstrap default, or our own."""
    candidates = [os.environ.get('LVS_DR_COLLECTIONS'),
                  str(Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'lvs-dr' / 'collections')]
    for root in filter(None, candidates):
        link = Path(root) / 'ansible_collections' / 'lvs' / 'dr'
        if link.exists() and link.resolve() == REPO:
            return Path(root)
    own = workdir / 'collections'
    link = own / 'ansible_collections' / 'lvs' / 'dr'
    if not link.is_symlink():  # a --keep directory holds it from the run that made it
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return own


FILL_CACHE = """
import json, sys
from ansible.plugins.loader import cache_loader, init_plugin_loader
init_plugin_loader()
cache = cache_loader.get('ansible.builtin.jsonfile', _uri=sys.argv[1], _timeout=0)
with open(sys.argv[2]) as handle:
    for host, facts in json.load(handle).items():
        cache.set(host, facts)
"""


TIME_FILTER = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.lvs.dr.plugins.plugin_utils._plan import director_plan
with open(sys.argv[2]) as handle:
    data = json.load(handle)
def deprefixed(facts):
    return dict((k[8:] if k.startswith('ansible_') else k, v) for k, v in facts.items())
groups = dict((name, list(group.get('hosts', {}))) for name, group in data['inventory']['all']['children'].items())
hostvars = dict((host, dict(ansible_facts=deprefixed(facts))) for host, facts in data['facts'].items())
services = data['inventory']['all']['children']['lvs_directors']['vars']['director_services']
runs = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    plan = director_plan(services, groups, hostvars, facts=hostvars['d1']['ansible_facts'], interface='eth0')
    runs.append(time.perf_counter() - start)
    assert not plan['problems'], plan['problems'][:3]
print(json.dumps(dict(runs=runs, realservers=sum(len(s['realservers']) for s in plan['services']))))
"""


class Planning(object):
    def __init__(self, workdir):
        self.workdir = workdir
        venv = REPO / '.venv' / 'bin'
        self.playbook_bin = str(venv / 'ansible-playbook') if (venv / 'ansible-playbook').exists() \
            else shutil.which('ansible-playbook')
        if not self.playbook_bin:
            raise BenchError('no ansible-playbook: run scripts/bootstrap.sh (makes .venv/) or put one on PATH')
        python = Path(self.playbook_bin).parent / 'python'
        self.python = str(python) if python.exists() else sys.executable
        self.collections = collections_path(workdir)
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(self.collections),
                        ANSIBLE_CALLBACK_PLUGINS=str(BENCH / 'callback_plugins'),
                        ANSIBLE_CALLBACKS_ENABLED='bench_timer', ANSIBLE_GATHERING='explicit',
                        ANSIBLE_CACHE_PLUGIN='ansible.builtin.jsonfile', ANSIBLE_CACHE_PLUGIN_TIMEOUT='0',
                        ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                        ANSIBLE_DEPRECATION_WARNINGS='0', ANSIBLE_LOCALHOST_WARNING='0')

    def version(self):
        return run([self.playbook_bin, '--version']).stdout.splitlines()[0].strip()

    def measure(self, size, services, representation, repeat, jinja_rounds):
        tag = '%s-%d' % (representation, size)
        work = self.workdir / tag
        cache = work / 'facts'
        cache.mkdir(parents=True)
        inventory, director_services, facts = scenario(size, services, representation)
        inventory['all']['vars']['ansible_python_interpreter'] = self.python
        (work / 'facts.json').write_text(json.dumps(facts))
        # Written by Ansible's own jsonfile cache plugin, so the files are in whatever format this ansible-core reads.
        proc = run([self.python, '-c', FILL_CACHE, str(cache), str(work / 'facts.json')])
        if proc.returncode:
            raise BenchError('filling the fact cache failed: %s' % proc.stderr[-2000:])
        (work / 'inventory.json').write_text(json.dumps(inventory))
        out = work / 'summary.json'
        (work / 'play.yml').write_text(json.dumps(playbook(representation, repeat, jinja_rounds, out), indent=1))
        timer = work / 'timer.json'
        env = dict(self.env, ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache), LVS_DR_BENCH_TIMER_OUT=str(timer))
        if representation == 'group-noinject':
            env['ANSIBLE_INJECT_FACT_VARS'] = 'False'
        start = time.monotonic()
        proc = run([self.playbook_bin, '-i', str(work / 'inventory.json'), str(work / 'play.yml')], env=env)
        wall = time.monotonic() - start
        (work / 'log.txt').write_text(proc.stdout + proc.stderr)
        if proc.returncode:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise BenchError('planning %s failed (rc=%d), log: %s\n%s' % (tag, proc.returncode, work / 'log.txt', tail))
        (work / 'scenario.json').write_text(json.dumps(dict(inventory=inventory, facts=facts)))
        proc = run([self.python, '-c', TIME_FILTER, str(self.collections), str(work / 'scenario.json'), str(repeat)])
        if proc.returncode:
            raise BenchError('the filter alone failed: %s' % proc.stderr[-2000:])
        python_only = json.loads(proc.stdout)
        if python_only['realservers'] != size:
            raise BenchError('the filter alone planned %d real servers' % python_only['realservers'])
        runs = dict((side, []) for side in SIDES)
        for task in json.loads(timer.read_text()):
            name = task['name']
            if name.endswith(RESOLVE_TASK):
                runs['planner'].append(task['seconds'])
            elif name.startswith('bench ') and name.split()[1] in ('read', 'jinja', 'floor'):
                runs[name.split()[1]].append(task['seconds'])
        summary = json.loads(out.read_text())
        check(summary, size, representation, jinja_rounds > 0)
        if len(runs['planner']) != repeat or len(runs['read']) != repeat:
            raise BenchError('planning %s: %d planner and %d read timings, %d expected (log: %s)' % (
                tag, len(runs['planner']), len(runs['read']), repeat, work / 'log.txt'))
        row = dict(realservers=size, services=len(director_services), representation=representation,
                   playbook_seconds=wall, plan=summary['planner'])
        for side, values in runs.items():
            if values:
                row[side] = dict(seconds=statistics.median(values), runs=values, extrapolated=False)
        row['python'] = dict(seconds=statistics.median(python_only['runs']), runs=python_only['runs'])
        # Planner and baseline ran in the same round, next to each other: their ratio per round cancels slow drift.
        row['planner_over_read_paired'] = statistics.median(p / r for p, r in zip(runs['planner'], runs['read']))
        return row


def check(summary, size, representation, jinja):
    for side in ('planner',) + (('jinja',) if jinja else ()):
        plan = summary[side]
        if plan['problems'] or plan['realservers'] != size or plan['arp'] != size:
            raise BenchError('%s pools, N=%d: the %s plan holds %d real servers, %d ARP entries, problems: %s' % (
                representation, size, side, plan['realservers'], plan['arp'], plan['problems'][:3]))
    if summary['read'] != size:
        raise BenchError('%s pools, N=%d: the read baseline counted %d members'
                         % (representation, size, summary['read']))


def extrapolate_jinja(rows):
    """The Jinja planner where it was not measured: seconds x (N / measured N)^2 from the largest measured size."""
    for representation in ('group', 'list'):
        measured = [r for r in rows if r['representation'] == representation and 'jinja' in r]
        if not measured:
            continue
        base = max(measured, key=lambda r: r['realservers'])
        for row in rows:
            if row['representation'] == representation and 'jinja' not in row:
                factor = (row['realservers'] / base['realservers']) ** 2
                row['jinja'] = dict(seconds=base['jinja']['seconds'] * factor, runs=[], extrapolated=True,
                                    basis='N^2 from %.2f s measured at N=%d'
                                    % (base['jinja']['seconds'], base['realservers']))


# ------------------------------------------------------------------------------------------------- boot restore

def rules_text(destinations):
    """(the rules file as the role writes it, the same rules without comments) for N destinations."""
    table = ipvs_model.Table()
    for item in per_rule.topology(destinations):
        svc = ipvs_params.service_from_params(item)
        for rs in item['realservers']:
            svc.add_dest(ipvs_params.dest_from_params(svc, rs))
        table.add(svc)
    rules = ipvs_model.diff_text(table.rules())
    # plugins/module_utils/_table_persist.py rules_text(): four comment lines, then managed_rules.
    header = ('# Ansible managed: written by lvs.dr.ipvs_table, local changes will be overwritten.\n'
              '# The IPVS services that task manages (ipvsadm -R format), and only those. Restored at\n'
              '# boot by ipvsadm.service through /usr/local/sbin/lvs-dr-ipvsadm-restore, which skips these\n'
              '# comment lines, never empties a live table and leaves other services alone.\n')
    return header + rules, rules


class Lab(object):
    vm_dir = VM_DIR  # where put() writes in the VM

    def __init__(self, lab, netns):
        self.lab = lab
        self.netns = netns

    def ssh(self, *cmd, stdin=None, check=True):
        out = run([self.lab, 'ssh', '--'] + list(cmd), input=stdin)
        if check and out.returncode:
            raise BenchError('lab ssh %s failed (rc=%d): %s%s' % (shlex.join(cmd), out.returncode, out.stdout[-2000:],
                                                                  out.stderr[-2000:]))
        return out.stdout

    def status(self):
        try:
            return json.loads(run([self.lab, 'status', '--json']).stdout)
        except ValueError:
            return dict(status='unknown')

    def put(self, name, text, mode='0644'):
        path = '%s/%s' % (self.vm_dir, name)
        self.ssh('sh', '-c', 'cat > %s && chmod %s %s' % (path, mode, path), stdin=text)

    def setup(self):
        ns = shlex.quote(self.netns)
        self.ssh('sh', '-c', 'set -e; mkdir -p %s; ip netns list | grep -qw %s && { echo "netns %s exists: in use?" '
                 '>&2; exit 1; }; ip netns add %s; ip netns exec %s ip link set lo up' % (self.vm_dir, ns, ns, ns, ns))

    def teardown(self):
        self.ssh('sh', '-c', 'ip netns del %s 2>/dev/null; rm -rf %s' % (shlex.quote(self.netns), self.vm_dir),
                 check=False)

    def info(self):
        out = self.ssh('sh', '-c', 'nproc; uname -r; ipvsadm --version 2>&1 | head -1; python3 -V; '
                       'cut -d" " -f1 /proc/loadavg')
        nproc, kernel, ipvsadm, python, load = (out.splitlines() + [''] * 5)[:5]
        return dict(vcpus=int(nproc or 0), kernel=kernel, ipvsadm=ipvsadm.split(' (')[0], python=python,
                    load_1min=float(load or 0))


def measure_restore(lab, destinations, repeat):
    full, bare = rules_text(destinations)
    lab.put('restore.py', (BENCH / 'restore.py').read_text())
    lab.put('lvs-dr-ipvsadm-restore', '#!/usr/bin/python3\n' + HELPER.read_text(), mode='0755')
    lab.put('ipvsadm.rules', full)
    lab.put('ipvsadm.bare', bare)
    out = lab.ssh('ip', 'netns', 'exec', lab.netns, 'python3', '%s/restore.py' % VM_DIR,
                  '%s/lvs-dr-ipvsadm-restore' % VM_DIR, '%s/ipvsadm.rules' % VM_DIR, '%s/ipvsadm.bare' % VM_DIR,
                  str(repeat), check=False)
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError('restore benchmark: unexpected output %r' % out[-2000:]) from None
    if 'error' in result:
        raise BenchError('restore benchmark: %s' % result['error'])
    row = dict(destinations=destinations, services=result['services'], rules=result['rules'],
               file_lines=len(full.splitlines()))
    for side, values in result['runs'].items():
        row[side] = dict(seconds=statistics.median(values), runs=values, min=min(values), max=max(values))
    # Helper and bare ran in the same round, next to each other: their ratio per round cancels slow drift.
    pairs = zip(result['runs']['helper'], result['runs']['bare'])
    row['helper_over_bare_paired'] = statistics.median(helper / bare for helper, bare in pairs)
    return row


# ------------------------------------------------------------------------------------------------------- report

def fmt_s(seconds):
    if seconds < 0.1:
        return '%.1f ms' % (seconds * 1000)
    if seconds >= 100:
        return '%.0f s' % seconds
    if seconds >= 10:
        return '%.1f s' % seconds
    return '%.2f s' % seconds


def fmt_ratio(value):
    return ('%.0fx' % value) if value >= 10 else ('%.1fx' % value) if value >= 0.95 else ('%.2fx' % value)


def spread(side):
    runs = side.get('runs') or []
    if len(runs) < 2:
        return ''
    return ' [%s - %s]' % (fmt_s(min(runs)), fmt_s(max(runs)))


PLAN_GOAL = 2.0
RESTORE_GOAL = 1.5


def planning_md(rows):
    lines = ['| N real servers (services) | pool given as | planner (role task) | read baseline | planner / read | '
             'filter alone (Python, no Ansible) | Jinja planner (before) | Jinja / planner | floor (any task) | '
             'goal: planner <= 2 s at 10,000 |',
             '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|']
    for row in rows:
        plan, read, floor, python = row['planner'], row['read'], row['floor'], row['python']
        jinja = row.get('jinja')
        approx = '~' if jinja and jinja['extrapolated'] else ''
        goal = ''
        if row['realservers'] >= 10000:
            goal = 'met' if plan['seconds'] <= PLAN_GOAL else 'NOT met'
        lines.append('| %s (%d) | %s | %s%s | %s%s | %s | %s | %s | %s | %s | %s |' % (
            '{:,}'.format(row['realservers']), row['services'],
            LABELS.get(row['representation'], row['representation']),
            fmt_s(plan['seconds']), spread(plan), fmt_s(read['seconds']), spread(read),
            fmt_ratio(row['planner_over_read_paired']), fmt_s(python['seconds']),
            ('%s%s%s' % (approx, fmt_s(jinja['seconds']), ' extrapolated' if approx else spread(jinja))) if jinja
            else '-', ('%s%s' % (approx, fmt_ratio(jinja['seconds'] / plan['seconds']))) if jinja else '-',
            fmt_s(floor['seconds']), goal))
    return lines


def restore_md(row):
    helper, bare, noop, read = row['helper'], row['bare'], row['noop'], row['read']
    ratio = row['helper_over_bare_paired']
    return ['| rules (services) | lvs-dr-ipvsadm-restore, empty table | bare ipvsadm -R, empty table | helper / bare | '
            'fastest helper / fastest bare | helper no-op, full table | ipvsadm -S -n, full table | '
            'goal: helper <= 1.5x bare |',
            '|---:|---:|---:|---:|---:|---:|---:|---|',
            '| %s (%d) | %s%s | %s%s | %s | %s | %s%s | %s%s | %s |' % (
                '{:,}'.format(row['rules']), row['services'], fmt_s(helper['seconds']), spread(helper),
                fmt_s(bare['seconds']), spread(bare), fmt_ratio(ratio), fmt_ratio(helper['min'] / bare['min']),
                fmt_s(noop['seconds']), spread(noop), fmt_s(read['seconds']), spread(read),
                'met' if ratio <= RESTORE_GOAL else 'NOT met')]


PLAN_NOTES = (
    'Planning: medians of %(repeat)d interleaved rounds in one ansible-playbook run per row (connection local; '
    '[min - max] of the rounds; "planner / read" is the median of the per-round ratios). "planner": the director '
    'role\'s task "%(task)s" (lvs.dr.director_plan, run through `include_role: lvs.dr.director, tasks_from: '
    'preflight.yml`), from its start to its result. "read baseline": one task reading each pool member\'s address '
    'once (group: from its hostvars\' gathered facts, which is where an inventory-driven planner must get it; list: '
    'from the list). "filter alone": director_plan() of plugins/plugin_utils/_plan.py called directly on the same '
    'data as plain Python dicts, in a process of its own (what Ansible\'s templating, hostvars and the return of '
    'the result add is the rest). "Jinja planner": the role\'s planner before the Python one '
    '(bench/jinja_plan.json.j2, commit 3df608c), measured in %(jinja_rounds)s round(s) up to N=%(jinja_max)s; '
    '"~ ... extrapolated" is N^2 from the largest measured N (an upper bound). "floor": a set_fact of a constant, '
    'what any task costs here. Facts come from a jsonfile fact cache holding what `setup` (network subset) returns '
    'for a one-interface host; a warm-up task reads them all once before anything is timed. The '
    '`inject_facts_as_vars = False` rows run the same inventory with that setting (ANSIBLE_INJECT_FACT_VARS=False), '
    'without the Jinja planner. Every plan was checked: N real servers, N ARP entries, no problems (the Jinja plan '
    'too).')

RESTORE_NOTES = (
    'Boot restore: medians of %(repeat)d rounds ([min - max]; "helper / bare" is the median of the per-round '
    'ratios, the goal\'s measure), timed inside the VM around each process, helper and bare in alternating order, '
    'each into an empty table of the network namespace %(netns)s; the no-op is the helper again on the full table. '
    'The file is the role\'s format: %(lines)s lines (6 comment lines, then the rules as lvs.dr.ipvs_table writes '
    'managed_rules). The helper is a Python process that reads the table (ipvsadm -S -n), feeds one ipvsadm -R the '
    'missing lines, and reads the table again to check it; the bare restore is ipvsadm -R alone. After every run '
    'the table held exactly the file\'s rules.')


def report(meta, plan_rows, restore_row):
    mach = meta['machine']
    lines = ['# lvs.dr benchmark: the director role\'s planning and boot restore', '',
             '%s. Host: %s cores, %s, Python %s%s (host load at the end %.2f).' % (
                 meta['date'], mach['host_nproc'], mach['host_cpu'], mach['python'],
                 (', ' + mach['ansible']) if mach.get('ansible') else '', mach['host_load_1min'])]
    if restore_row:
        engine = 'User-Mode Linux' if mach.get('engine') == 'uml' else 'QEMU %s' % (mach.get('accel') or '?').upper()
        lines[-1] += ' Lab VM: %s, %s vCPUs, kernel %s, %s, %s (VM load at start %.2f).' % (
            engine, mach['vm_vcpus'], mach['vm_kernel'], mach['vm_ipvsadm'],
            mach['vm_python'], mach['vm_load_1min'])
    lines.append('')
    if plan_rows:
        lines += ['## Planning on the controller', ''] + planning_md(plan_rows) + ['', PLAN_NOTES % dict(
            repeat=meta['repeat'], task=RESOLVE_TASK, jinja_max='{:,}'.format(meta['jinja_max']),
            jinja_rounds=min(meta['jinja_rounds'], meta['repeat'])), '']
    if restore_row:
        lines += ['## Boot restore in the lab VM', ''] + restore_md(restore_row) + ['', RESTORE_NOTES % dict(
            repeat=meta['restore_repeat'], netns=meta['netns'], lines='{:,}'.format(restore_row['file_lines'])), '']
    return '\n'.join(lines)


def machine(planning, lab_info, lab_status):
    cpu = ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    info = dict(host_nproc=os.cpu_count(), host_cpu=cpu, host_kernel=platform.release(),
                python=platform.python_version(), host_load_1min=os.getloadavg()[0])
    if planning:
        info['ansible'] = planning.version().replace('ansible-playbook [core ', 'ansible-core ').rstrip(']')
    if lab_info:
        info.update(accel=lab_status.get('accel'), lab_mode=lab_status.get('mode'), engine=lab_status.get('engine'))
        info.update(('vm_' + k, v) for k, v in lab_info.items())
    return info


def output_options(parser, default):
    """--no-write, --results NAME and --render, as every mode of bench/run that writes bench/results/ has them."""
    parser.add_argument('--no-write', action='store_true', help='do not write bench/results/')
    parser.add_argument('--results', default=default, metavar='NAME',
                        help='write bench/results/NAME.json and NAME.md (default: %s)' % default)
    parser.add_argument('--render', action='store_true',
                        help='measure nothing: write bench/results/NAME.md again from NAME.json')


def results_paths(parser, args):
    """bench/results/NAME.json and NAME.md; a NAME with a directory is refused."""
    if not args.results or '/' in args.results or args.results.startswith('.'):
        parser.error('--results: a plain file name without a directory')
    return BENCH / 'results' / (args.results + '.json'), BENCH / 'results' / (args.results + '.md')


def write_results(paths, data, text):
    paths[0].parent.mkdir(exist_ok=True)
    paths[0].write_text(json.dumps(data, indent=1) + '\n')
    paths[1].write_text(text)
    log('wrote %s and %s' % paths)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench/run --plan', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--sizes', default='1000,10000', help='comma-separated real-server counts (planning)')
    parser.add_argument('--services', type=int, default=1, help='services the N real servers are spread over')
    parser.add_argument('--repeat', type=int, default=3, help='planning rounds per size; medians are reported')
    parser.add_argument('--jinja-max', type=int, default=10000,
                        help='largest N at which the Jinja planner is measured (extrapolated as N^2 above; 0: never)')
    parser.add_argument('--jinja-rounds', type=int, default=1,
                        help='rounds in which the Jinja planner runs (it takes minutes at 10,000; 0: every round)')
    parser.add_argument('--restore-rules', type=int, default=10000, help='destinations in the restored rules file')
    parser.add_argument('--restore-repeat', type=int, default=5, help='boot-restore rounds; medians are reported')
    parser.add_argument('--netns', default='lvsbench2', help='network namespace of its own in the VM')
    parser.add_argument('--lab', default=os.environ.get('LVS_DR_LAB', str(REPO / 'lab' / 'lab')),
                        help='the lab command (default: $LVS_DR_LAB, else lab/lab of this checkout)')
    parser.add_argument('--no-restore', action='store_true', help='planning only (no VM)')
    parser.add_argument('--no-planning', action='store_true', help='boot restore only')
    output_options(parser, 'plan-latest')
    parser.add_argument('--keep', metavar='DIR',
                        help='work in DIR (new or empty) and keep the planning runs there (bench/profile_task.py)')
    args = parser.parse_args(argv)
    paths = results_paths(parser, args)
    if args.render:
        data = json.loads(paths[0].read_text())
        paths[1].write_text(report(data, data['planning'], data['restore']))
        return 0
    sizes = sorted({int(s) for s in args.sizes.split(',') if s.strip()})
    if not sizes or min(sizes) < 1 or max(sizes) > 60000:
        parser.error('--sizes: real-server counts from 1 to 60000')
    if not 1 <= args.services <= 508 or not 1 <= args.restore_rules <= 25400 or not args.netns:
        parser.error('--services 1-508, --restore-rules 1-25400, --netns a name')
    keep = Path(args.keep).resolve() if args.keep else None
    if keep:
        if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
            parser.error('--keep: %s exists and is not an empty directory' % keep)
        keep.mkdir(parents=True, exist_ok=True)

    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                repeat=args.repeat, jinja_max=args.jinja_max,
                jinja_rounds=min(args.jinja_rounds or args.repeat, args.repeat), restore_repeat=args.restore_repeat,
                netns=args.netns,
                services_per_size=args.services)
    plan_rows, restore_row, lab_info, lab_status = [], None, None, {}
    workdir = contextlib.nullcontext(str(keep)) if keep else \
        tempfile.TemporaryDirectory(prefix='lvs-dr-bench-plan-')
    with workdir as tmp:
        planning = None if args.no_planning else Planning(Path(tmp))
        try:
            if not args.no_restore:
                lab = Lab(args.lab, args.netns)
                lab_status = lab.status()
                if lab_status.get('status') != 'running':
                    raise BenchError('the lab is not running (%s status): start it with lab/lab up, or --no-restore'
                                     % args.lab)
                lab.setup()
                try:
                    lab_info = lab.info()
                    log('boot restore: %d destinations, %d rounds' % (args.restore_rules, args.restore_repeat))
                    restore_row = measure_restore(lab, args.restore_rules, args.restore_repeat)
                    log('boot restore: helper %.2f s, bare %.2f s, no-op %.2f s' % (
                        restore_row['helper']['seconds'], restore_row['bare']['seconds'],
                        restore_row['noop']['seconds']))
                finally:
                    lab.teardown()
            for size in sizes if planning else ():
                for representation in REPRESENTATIONS:
                    log('planning: N=%d, %s pools, %d rounds' % (size, representation, args.repeat))
                    rounds = min(args.repeat, args.jinja_rounds or args.repeat) if size <= args.jinja_max else 0
                    if representation == 'group-noinject':
                        rounds = 0  # the Jinja planner (minutes at 10,000) is measured with the default only
                    row = planning.measure(size, args.services, representation, args.repeat, rounds)
                    plan_rows.append(row)
                    log('planning: N=%d %s: planner %.2f s, read %.2f s%s, floor %.2f s (playbook %.0f s)' % (
                        size, representation, row['planner']['seconds'], row['read']['seconds'],
                        (', jinja %.2f s' % row['jinja']['seconds']) if 'jinja' in row else '',
                        row['floor']['seconds'], row['playbook_seconds']))
        except BenchError as exc:
            log('ERROR: %s' % exc)
            if os.environ.get('LVS_DR_BENCH_KEEP'):
                shutil.copytree(tmp, '/tmp/lvs-dr-bench-plan-failed', dirs_exist_ok=True)
            return 1
        meta['machine'] = machine(planning, lab_info, lab_status)
    extrapolate_jinja(plan_rows)
    text = report(meta, plan_rows, restore_row)
    print(text)
    if not args.no_write:
        write_results(paths, dict(meta, planning=plan_rows, restore=restore_row), text)
    return 0
