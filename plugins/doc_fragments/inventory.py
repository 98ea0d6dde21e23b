# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The inventory views the planner filters read (each host's variables once).
    DOCUMENTATION = r'''
options:
  groups:
    description: The inventory's groups (the C(groups) variable).
    type: dict
    required: true
  hostvars:
    description: The inventory's host variables (the C(hostvars) variable). Each host's variables are read once.
    type: dict
    required: true
'''
