# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os

import pytest

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock


class Failed(Exception):
    pass


class FakeModule(object):
    def __init__(self, lock_timeout=300):
        self.params = dict(lock_timeout=lock_timeout)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class Clock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_holder_says_who_it_is_and_lets_go(tmp_path):
    path = str(tmp_path / 'lock')
    with HostLock(FakeModule(), 'lvs.dr.ipvs_table', path=path):
        with open(path) as handle:
            assert handle.read().startswith('lvs.dr.ipvs_table (pid %d) since ' % os.getpid())
        other = os.open(path, os.O_RDWR)
        with pytest.raises((IOError, OSError)):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(other)
    other = os.open(path, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: taken at once
    os.close(other)


def test_a_second_task_waits_then_fails_naming_the_holder(tmp_path):
    path = str(tmp_path / 'lock')
    clock = Clock()
    with HostLock(FakeModule(), 'lvs.dr.ipvs_realserver', path=path):
        with pytest.raises(Failed) as failed:
            with HostLock(FakeModule(lock_timeout=2), 'lvs.dr.ipvs_table', path=path, clock=clock,
                          sleep=clock.sleep):
                pytest.fail('the lock was taken twice')
    msg = failed.value.args[0]['msg']
    assert 'another lvs.dr task holds this host' in msg
    assert 'lvs.dr.ipvs_realserver (pid %d)' % os.getpid() in msg
    assert 'within lock_timeout (2 s); nothing was read or changed' in msg
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_a_free_lock_is_taken_without_waiting(tmp_path):
    clock = Clock()
    with HostLock(FakeModule(lock_timeout=0), 'lvs.dr.static_arp', path=str(tmp_path / 'lock'), clock=clock,
                  sleep=clock.sleep):
        pass
    assert clock.sleeps == []


def test_a_negative_timeout_is_refused(tmp_path):
    with pytest.raises(Failed) as failed:
        with HostLock(FakeModule(lock_timeout=-1), 'lvs.dr.static_arp', path=str(tmp_path / 'lock')):
            pass
    assert failed.value.args[0]['option'] == 'lock_timeout'
