# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One lock per managed host for the modules of lvs.dr that change it.

This file is private to the collection (leading underscore): its API may change without notice.

A module that changes the host holds ``flock(LOCK_EX)`` on ``LOCK_PATH`` from its read of the host's state to the
end of its change (and of any wait, such as a drain), so two runs on one host never interleave their reads and
writes. The holder writes who it is into the file; a module that cannot take the lock within ``lock_timeout``
seconds fails, naming the holder, before it has read or changed anything. The kernel releases the lock when the
holder exits, however it exits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

LOCK_PATH = '/run/lvs-dr.lock'
DEFAULT_LOCK_TIMEOUT = 300
POLL_INTERVAL = 0.2


def lock_spec():
    """The option of every module that takes the lock (documented by the lvs.dr.lock doc fragment)."""
    return dict(lock_timeout=dict(type='int', default=DEFAULT_LOCK_TIMEOUT))


class HostLock(object):
    """``with HostLock(module, 'lvs.dr.ipvs_table'):`` - the host's lvs.dr lock for the block."""

    def __init__(self, module, name, path=None, clock=None, sleep=None):
        self.module = module
        self.name = name
        self.path = path or LOCK_PATH
        self.timeout = module.params.get('lock_timeout', DEFAULT_LOCK_TIMEOUT)
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.fd = None

    def _holder(self, fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 4096).decode('utf-8', 'replace').strip()
        except OSError:
            text = ''
        return text or 'a process that has not said who it is'

    def __enter__(self):
        if self.timeout is not None and self.timeout < 0:
            self.module.fail_json(msg='lock_timeout: must be 0 or more seconds, got %d' % self.timeout,
                                  option='lock_timeout')
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            self.module.fail_json(msg='cannot open the lvs.dr host lock %s: %s' % (self.path, exc.strerror))
        start = self.clock()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    self.module.fail_json(msg='cannot lock %s: %s' % (self.path, exc.strerror))
            waited = self.clock() - start
            if waited >= self.timeout:
                holder = self._holder(fd)
                os.close(fd)
                self.module.fail_json(
                    msg='another lvs.dr task holds this host (%s: %s) and did not let go within lock_timeout (%d s); '
                        'nothing was read or changed. Run again when it has finished, or raise lock_timeout'
                        % (self.path, holder, self.timeout), lock_holder=holder)
            self.sleep(min(POLL_INTERVAL, max(self.timeout - waited, 0)))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, ('%s (pid %d) since %s\n' % (self.name, os.getpid(),
                                                  time.strftime('%Y-%m-%d %H:%M:%S %Z'))).encode('utf-8'))
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None
        return False
