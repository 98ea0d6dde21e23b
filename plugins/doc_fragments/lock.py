# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The host lock every module of lvs.dr that changes the host takes.
    DOCUMENTATION = r'''
options:
  lock_timeout:
    description:
      - How long, in seconds, to wait for the host's lvs.dr lock when another task of the collection holds it.
      - Every module of lvs.dr that changes the host holds C(flock) on C(/run/lvs-dr.lock) from its read of the host's
        state to the end of its change (a drain included), so two runs on one host never interleave. When the wait
        is over, the task fails naming the holder (written in the file), having read and changed nothing.
    type: int
    default: 300
'''
