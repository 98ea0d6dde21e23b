# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every whole-module unit test needs: module arguments for AnsibleModule, and
exit_json/fail_json replacements that stop main() with its result.

Works on every ansible-core that meta/runtime.yml claims (>= 2.16), not only the newest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    # ansible-core >= 2.19: the supported way (it also selects the module's JSON profile).
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16 - 2.18

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Expose the given module args to AnsibleModule instances created within this context."""
        if not isinstance(args, (dict, type(None))):
            raise TypeError('The `args` arg must be a dict or None.')
        serialized = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}))
        with mock.patch.object(basic, '_ANSIBLE_ARGS', serialized):
            yield


__all__ = ['Exit', 'exit_json', 'fail_json', 'patch_module_args']


class Exit(Exception):
    def __init__(self, result, failed):
        super(Exit, self).__init__(result)
        self.result, self.failed = result, failed


def exit_json(module, **kwargs):
    raise Exit(kwargs, False)


def fail_json(module, **kwargs):
    raise Exit(kwargs, True)
