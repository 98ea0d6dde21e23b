# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every whole-module unit test needs: exit_json/fail_json replacements that stop main() with its result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Exit(Exception):
    def __init__(self, result, failed):
        super(Exit, self).__init__(result)
        self.result, self.failed = result, failed


def exit_json(module, **kwargs):
    raise Exit(kwargs, False)


def fail_json(module, **kwargs):
    raise Exit(kwargs, True)
