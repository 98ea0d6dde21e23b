# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Profile tasks of a kept planning run (`bench/run --plan --keep DIR`) where Ansible runs them.

ansible-playbook runs each task in a forked worker process (templating the task's arguments, filters included, then
the action) and handles the result in the controller process (callbacks, storing the variables). A profile of the
ansible-playbook process alone shows the second half only. This runs the kept playbook again with the same
environment as the bench, and writes one cProfile file per task whose name contains --task, from its worker
(OUT/worker-PID.prof; OUT/workers.txt says which task each PID ran), and with --main one of the controller process
(OUT/main.prof).

Usage: python3 bench/profile_task.py DIR/list-10000 [--task 'Resolve the services'] [--out DIR/list-10000/prof] [--main]
Read a file with: python -m pstats FILE (then `sort cumulative`, `stats 40`).
"""

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# Runs in the venv's Python: patches the worker, then is ansible-playbook.
INNER = r"""
import cProfile, os, sys
from ansible.executor.process import worker
from ansible.cli.playbook import PlaybookCLI
out, pattern, main = os.environ['LVS_DR_PROF_OUT'], os.environ['LVS_DR_PROF_TASK'], os.environ.get('LVS_DR_PROF_MAIN')
run = worker.WorkerProcess._run
def _run(self):
    name = self._task.get_name()
    if pattern not in name:
        return run(self)
    with open(os.path.join(out, 'workers.txt'), 'a') as index:
        index.write('worker-%d.prof %s\n' % (os.getpid(), name))
    profile = cProfile.Profile()
    try:
        return profile.runcall(run, self)
    finally:
        profile.dump_stats(os.path.join(out, 'worker-%d.prof' % os.getpid()))
worker.WorkerProcess._run = _run
profile = cProfile.Profile()
if main:
    profile.enable()
try:
    PlaybookCLI.cli_executor(sys.argv[1:])
finally:
    if main:
        profile.disable()
        profile.dump_stats(os.path.join(out, 'main.prof'))
"""


def main():
    parser = argparse.ArgumentParser(prog='python3 bench/profile_task.py',
                                     description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('run', help='one kept planning run: DIR/<representation>-<N> of bench/run --plan --keep DIR')
    parser.add_argument('--task', default='Resolve the services', help='profile the tasks whose name contains this')
    parser.add_argument('--out', help='where the .prof files go (default: RUN/prof)')
    parser.add_argument('--main', action='store_true', help='also profile the controller process')
    args = parser.parse_args()
    run = Path(args.run).resolve()
    if not (run / 'play.yml').exists():
        parser.error('%s holds no play.yml: give one directory of a bench/run --plan --keep DIR run' % run)
    out = Path(args.out).resolve() if args.out else run / 'prof'
    out.mkdir(parents=True, exist_ok=True)
    spec = importlib.util.spec_from_file_location('lvs_dr_bench_plan', BENCH / 'plan.py')
    plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan)
    planning = plan.Planning(run.parent)
    env = dict(planning.env, ANSIBLE_CACHE_PLUGIN_CONNECTION=str(run / 'facts'),
               LVS_DR_BENCH_TIMER_OUT=str(out / 'timer.json'), LVS_DR_PROF_OUT=str(out),
               LVS_DR_PROF_TASK=args.task, LVS_DR_PROF_MAIN='1' if args.main else '')
    proc = subprocess.run([planning.python, '-c', INNER, 'ansible-playbook', '-i', str(run / 'inventory.json'),
                           str(run / 'play.yml')], env=env, check=False)
    print('profiles in %s' % out, file=sys.stderr)
    return proc.returncode


if __name__ == '__main__':
    sys.exit(main())
