# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one command runner of lvs.dr's modules: every program they start (ipvsadm, ip, systemctl, modprobe,
keepalived, arp) runs through a Command.

Not a public API: may change without notice. A Command finds its program once (PATH, then /usr/sbin and /sbin,
where Debian puts these tools and where a non-login PATH may not reach), runs it with an argument list (never a
shell string) in the C locale (the output is parsed, and error messages are quoted to the user), counts the
processes it started, and fails the module with the evidence (the command line, exit status, stdout and stderr)
when a run fails.
"""

from __future__ import annotations

C_LOCALE = {'LANGUAGE': 'C', 'LC_ALL': 'C'}
SBIN_DIRS = ['/usr/sbin', '/sbin']


class Command(object):
    """One program of a module.

    ``hint``: the error message when the program is missing (default: names the program and where it was looked
    for); ``fail_extra``: result keys added to that failure (e.g. ``ipvs_unavailable=True``). ``lazy=True`` looks
    the program up on first use (or ``require()``) instead of at once: for programs only some runs need.
    """

    def __init__(self, module, name, hint=None, fail_extra=None, lazy=False):
        self.module = module
        self.name = name
        self.hint = hint
        self.fail_extra = dict(fail_extra or {})
        self.processes = 0
        self._path = None
        self._looked_up = False
        if not lazy:
            self.require()

    @property
    def path(self):
        """The program's absolute path, or None when it is not installed."""
        if not self._looked_up:
            self._path = self.module.get_bin_path(self.name, opt_dirs=SBIN_DIRS)
            self._looked_up = True
        return self._path

    @property
    def missing(self):
        return self.path is None

    def missing_message(self):
        return self.hint or ('%s is not installed on this host (looked for it in PATH, %s)'
                             % (self.name, ', '.join(SBIN_DIRS)))

    def require(self):
        """Fail the module now, before anything changes, when the program is missing; else return its path."""
        if self.missing:
            self.module.fail_json(msg=self.missing_message(), missing_program=self.name, **self.fail_extra)
        return self.path

    def argv(self, *args):
        """The full argument list for ``args`` (also what systemd ExecStart= lines are rendered from)."""
        return [self.require()] + [str(arg) for arg in args]

    def run(self, args, what, data=None, binary_data=False, check_rc=True, **fail_extra):
        """Run the program with ``args``; return ``(rc, stdout, stderr)``.

        With ``check_rc`` (the default) a non-zero exit fails the module: ``<what> failed: <stderr>``, with the
        command line, exit status and both outputs, plus ``fail_extra``.
        """
        cmd = self.argv(*args)
        self.processes += 1
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=binary_data, environ_update=C_LOCALE)
        if rc != 0 and check_rc:
            self.fail(what, cmd, rc, out, err, **fail_extra)
        return rc, out, err

    def fail(self, what, cmd, rc, out, err, **extra):
        """Fail the module for a run of this program, with its evidence."""
        detail = (err or '').strip() or (out or '').strip() or 'exit status %d' % rc
        self.module.fail_json(msg='%s failed: %s' % (what, detail), cmd=cmd, rc=rc, stdout=out, stderr=err, **extra)
