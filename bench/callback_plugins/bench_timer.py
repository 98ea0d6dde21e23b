# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark-only callback: the controller's wall clock of each task, written as JSON to $LVS_DR_BENCH_TIMER_OUT.

A task's time runs from v2_playbook_on_task_start to the host's final result (after the last loop item), so it
covers sending the module over SSH, Python starting in the VM, the module itself and the result coming back. The
same two moments are also recorded on the wall clock (time.time()), so that they can be set beside times taken
inside the VM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Times each task for bench/run
description:
  - Writes one JSON object per task (name, seconds, wall-clock start and end, changed, failed, ipvsadm_processes,
    loop items, what draining found) to the file named by E(LVS_DR_BENCH_TIMER_OUT).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []
        self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.current = dict(name=task.get_name(), start=time.monotonic(), wall_start=time.time())
        self.tasks.append(self.current)

    def _done(self, result, failed=False, skipped=False):
        task = self.current
        task['seconds'] = time.monotonic() - task.pop('start')
        task['wall_end'] = time.time()
        res = result._result
        task.update(failed=failed, skipped=skipped, changed=bool(res.get('changed')),
                    ipvsadm_processes=res.get('ipvsadm_processes'), drain=res.get('drain'),
                    commands=res.get('commands'),
                    items=len(res['results']) if isinstance(res.get('results'), list) else None)
        if failed:
            task['msg'] = str(res.get('msg', ''))[:2000]

    def v2_runner_on_ok(self, result):
        self._done(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._done(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._done(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('LVS_DR_BENCH_TIMER_OUT')
        if path:
            with open(path, 'w') as handle:
                json.dump(self.tasks, handle, indent=1)
