# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark-only callback: every module executed on a host, one line each, appended to $LVS_DR_BENCH_MODULES_OUT.

A task's result does not say how many modules its action plugin ran (ansible.builtin.template runs stat, then copy
when the file differs; gather_facts runs setup): this plugin wraps ActionBase._execute_module when it is loaded, in
the controller's main process, before the workers that run the tasks are forked, so each worker writes one line
"HOST<TAB>MODULE" per module it sends to a host (HOST: where it runs, delegation included). Lines are appended with
one write() each to a file opened with O_APPEND, so workers never mix their lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_modules
type: aggregate
short_description: Counts the modules executed on each host for bench/run --site
description:
  - Appends "HOST<TAB>MODULE" for every module an action plugin executes on a host to the file named by
    E(LVS_DR_BENCH_MODULES_OUT).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''

import os

from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

_ORIGINAL = ActionBase._execute_module


def _counted(self, module_name=None, *args, **kwargs):
    out = os.environ.get('LVS_DR_BENCH_MODULES_OUT')
    if out:
        host = getattr(self._play_context, 'remote_addr', None) or '?'
        name = module_name or getattr(self._task, 'action', '?')
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, ('%s\t%s\n' % (host, name)).encode('utf-8'))
        finally:
            os.close(fd)
    return _ORIGINAL(self, module_name, *args, **kwargs)


if getattr(ActionBase._execute_module, '__name__', '') != '_counted':
    ActionBase._execute_module = _counted


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_modules'
    CALLBACK_NEEDS_ENABLED = True
