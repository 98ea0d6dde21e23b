# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Talking to the kernel's IPVS table through ipvsadm, for the IPVS modules of lvs.dr.

Not a public API: may change without notice. ``Ipvsadm`` reads the table in one ``ipvsadm -R`` process, and applies
a plan (from ``_ipvs_plan``) in one ``ipvsadm -R`` process that also lists the table afterwards, so that a change
costs one process and is verified by what the kernel reports, not by ipvsadm's exit status (``ipvsadm -R`` goes on
after kernel errors and returns the status of its last line only). ``wait_drained()`` and ``wait_all_drained()``
poll the connection counts of real servers that drain.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_parse import (
    READ_LINES, STATS_LINE, has_listing, parse_listing,
)
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_plan import changes, mismatches, plan, restrict
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

IPVSADM_INSTALL_HINT = ("ipvsadm is not installed on this host: install the 'ipvsadm' package "
                        "(Debian/Ubuntu: apt-get install ipvsadm; RHEL family: dnf install ipvsadm), "
                        "for instance with ansible.builtin.package")


class Ipvsadm(object):
    """Runs ipvsadm for a module: reads the table in one process, applies a plan in one process."""

    def __init__(self, module):
        self.module = module
        self.command = Command(module, 'ipvsadm', hint=IPVSADM_INSTALL_HINT, fail_extra=dict(ipvs_unavailable=True))

    @property
    def processes(self):
        """How many ipvsadm processes this task started."""
        return self.command.processes

    def _run(self, lines):
        data = '\n'.join(lines) + '\n'
        rc, out, err = self.command.run(['-R'], 'ipvsadm -R', data=data, binary_data=True, check_rc=False)
        return self.command.argv('-R'), data, rc, out, err

    def _read_output(self, cmd, data, rc, out, err, stats=False):
        if not has_listing(out, stats):
            self._fail_read(cmd, data, rc, out, err)
        try:
            return parse_listing(out, stats)
        except (IpvsError, IndexError, ValueError) as exc:
            self.module.fail_json(msg='cannot read the output of ipvsadm: %s' % exc, rc=rc, stdout=out, stderr=err,
                                  cmd=cmd)

    def _fail_read(self, cmd, data, rc, out, err):
        hint = ''
        unavailable = 'Protocol not available' in err or "Can't initialize ipvs" in err
        if unavailable:
            hint = (' The kernel has no IPVS: load the ip_vs module (modprobe ip_vs) on this host; '
                    'containers must have it loaded by their host.')
        self.module.fail_json(msg='ipvsadm could not list the IPVS table: %s%s' % (err.strip() or out.strip(), hint),
                              rc=rc, stdout=out, stderr=err, cmd=cmd, ipvs_unavailable=unavailable)

    def read(self, stats=False):
        """Return (table, per-destination connection counts, stats or None) from ONE ipvsadm process."""
        lines = READ_LINES + ([STATS_LINE] if stats else [])
        result = self._run(lines)
        return self._read_output(*result, stats=stats)

    def apply(self, before, target, commands):
        """Apply ``commands`` (from plan(before, target)) and verify what they change; on a mismatch undo them and fail.

        Only what the plan changes is verified and, on failure, undone: services and real servers that another tool
        (keepalived, an operator) changes while the task runs are left as that tool made them.
        """
        cmd, data, rc, out, err = self._run(commands + READ_LINES)
        if not has_listing(out):
            # A parse error stops ipvsadm -R at once, before our listing: read the table on its own.
            after = self.read()[0]
        else:
            after = self._read_output(cmd, data, rc, out, err)[0]
        scope = changes(before, target)
        unexpected = mismatches(after, target, scope)
        if not unexpected:
            return after
        undo = plan(*restrict(after, before, scope))
        restored = after
        undo_err = ''
        if undo:
            ucmd, udata, urc, uout, undo_err = self._run(undo + READ_LINES)
            restored = self._read_output(ucmd, udata, urc, uout, undo_err)[0] if has_listing(uout) else \
                self.read()[0]
        state = ('what this task changed was restored to its state before the task'
                 if not mismatches(restored, before, scope)
                 else 'RESTORING THE PREVIOUS STATE FAILED TOO (%s); check ipvsadm -Sn' % undo_err.strip())
        self.module.fail_json(
            msg='ipvsadm could not apply the change: %s; %s' % (err.strip() or 'the kernel table does not match '
                                                                'the plan', state),
            rc=rc, stdout=out, stderr=err, cmd=cmd, commands=commands, unexpected=unexpected)
        return None  # not reached


def wait_drained(ipvsadm, svc_key, dest_key, timeout, interval, clock=None, sleep=None):
    """Poll the connection counts of one real server until it has no active connection or ``timeout`` seconds passed.

    One ipvsadm process per poll. Returns (the table at the last poll, a dict: ``active_connections`` and
    ``inactive_connections`` at the last poll, ``timed_out``, ``seconds`` waited, ``polls`` and ``gone`` (the real
    server or its service left the table while we waited: nothing is left to wait for)).
    """
    table, counts, seconds, polls = wait_all_drained(ipvsadm, [(svc_key, dest_key)], timeout, interval, clock, sleep)
    count = counts[(svc_key, dest_key)]
    return table, dict(active_connections=count['active_connections'],
                       inactive_connections=count['inactive_connections'],
                       timed_out=not count['gone'] and count['active_connections'] > 0, seconds=seconds, polls=polls,
                       gone=count['gone'])


def wait_all_drained(ipvsadm, pairs, timeout, interval, clock=None, sleep=None):
    """Poll the connection counts of real servers until none of them has an active connection (or is still in the
    table) or ``timeout`` seconds passed; ``pairs`` are (service key, destination key).

    One ipvsadm process per poll, however many real servers wait. Returns (the table at the last poll, {pair: dict of
    ``active_connections``, ``inactive_connections`` and ``gone`` (it or its service left the table meanwhile)},
    seconds waited, polls).
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    start = clock()
    polls = 0
    while True:
        table, conns = ipvsadm.read()[:2]
        polls += 1
        counts = {}
        for key, dkey in pairs:
            svc = table.get(key)
            gone = svc is None or dkey not in svc.dests
            count = {} if gone else conns.get(key, {}).get(dkey, {})
            counts[(key, dkey)] = dict(active_connections=count.get('active_connections', 0),
                                       inactive_connections=count.get('inactive_connections', 0), gone=gone)
        elapsed = clock() - start
        if elapsed >= timeout or not any(c['active_connections'] for c in counts.values()):
            return table, counts, round(elapsed, 3), polls
        sleep(min(interval, max(timeout - elapsed, 0)))
