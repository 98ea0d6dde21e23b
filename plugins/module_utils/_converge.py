# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.director_converge: a director's kernel, neighbour entries, IPVS table and VIPs in one module run.

Not a public API: may change without notice. Each part is the run() of the module that owns that piece of state
(director_kernel, static_arp, ipvs_table, director_vips), given its own options, validated by that module's own
argument spec, in one process under one host lock: one Python start and one round trip instead of four.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lvs.dr.plugins.module_utils import _kernel, _static_arp, _table, _vips
from ansible_collections.lvs.dr.plugins.module_utils._lock import lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

# (option, the module that owns it, its spec, its run) in the order they run: the kernel first (IPVS loaded), the
# neighbour entries before the table forwards to them, the VIPs last (a VIP leaves once its service has drained);
# standby_vips: the VIPs held on lo without ARP, as a real server holds them (a director in standby of keepalived).
PARTS = (
    ('kernel', 'lvs.dr.director_kernel', _kernel.module_spec, _kernel.run),
    ('static_arp', 'lvs.dr.static_arp', _static_arp.module_spec, _static_arp.run),
    ('table', 'lvs.dr.ipvs_table', _table.module_spec, _table.run),
    ('vips', 'lvs.dr.director_vips', _vips.director_module_spec, lambda part: _vips.run_module(part, _vips.DIRECTOR)),
    ('standby_vips', 'lvs.dr.lvs_dr_realserver', _vips.realserver_module_spec,
     lambda part: _vips.run_module(part, _vips.REALSERVER)),
)
LOCK_OPTIONS = tuple(lock_spec())


class PartFailed(Exception):
    def __init__(self, result):
        super(PartFailed, self).__init__(result.get('msg'))
        self.result = result


class Part(object):
    """What a part's run() sees as its module: its own validated options; everything else is the real module's,
    but a failure comes back to the pass instead of ending the process."""

    def __init__(self, module, params):
        self._module = module
        self.params = params
        self.check_mode = module.check_mode
        self._diff = module._diff

    def fail_json(self, **result):
        raise PartFailed(result)

    def exit_json(self, **result):  # a part returns its result; reaching this is a bug
        raise AssertionError('a part exited the module')

    def __getattr__(self, name):
        return getattr(self._module, name)


def module_spec():
    spec = dict((name, dict(type='dict')) for name, dummy, dummy2, dummy3 in PARTS)
    spec['programs'] = dict(type='list', elements='str', default=[])
    spec.update(lock_spec())
    return dict(argument_spec=spec, required_one_of=[tuple(name for name, dummy, dummy2, dummy3 in PARTS)])


def build_module():
    return AnsibleModule(supports_check_mode=True, **module_spec())


def validate_part(name, owner, spec, options):
    """The part's options checked and completed by its module's own argument spec; a ValueError names the option."""
    kwargs = spec()
    argument_spec = dict((key, value) for key, value in kwargs.pop('argument_spec').items() if key not in LOCK_OPTIONS)
    unknown = sorted(key for key in options if key in LOCK_OPTIONS)
    if unknown:
        raise ValueError('%s.%s: the lock is the pass\'s own (lock_timeout of this module)' % (name, unknown[0]))
    result = ArgumentSpecValidator(argument_spec, **kwargs).validate(dict(options))
    if result.error_messages:
        raise ValueError('%s: %s (options of %s)' % (name, '; '.join(result.error_messages), owner))
    return result.validated_parameters


def run(module):
    """Validate every part, then run them in order; returns the result (a failed part fails the module)."""
    params = module.params
    parts = []
    for name, owner, spec, part_run in PARTS:
        if params[name] is None:
            continue
        try:
            parts.append((name, validate_part(name, owner, spec, params[name]), part_run))
        except ValueError as exc:
            module.fail_json(msg=str(exc), option=name)
    missing = [program for program in params['programs'] if Command(module, program, lazy=True).missing]
    results, diffs = {}, []
    for name, options, part_run in parts:
        try:
            result = part_run(Part(module, options))
        except PartFailed as exc:
            failure = dict(exc.result)
            program = failure.get('missing_program')
            if module.check_mode and program:
                # What a check-mode pass reports before the packages are installed: the part cannot be planned.
                if program not in missing:
                    missing.append(program)
                results[name] = dict(changed=False, skipped=True, msg=failure.get('msg'),
                                     **dict((k, v) for k, v in failure.items() if k != 'msg'))
                continue
            msg = failure.pop('msg', 'failed')
            changed = bool(failure.pop('changed', False)) or any(r.get('changed') for r in results.values())
            module.fail_json(msg='%s: %s' % (name, msg), part=name, parts=results, changed=changed, **failure)
        diff = result.pop('diff', None)
        if diff:
            diffs.extend(diff if isinstance(diff, list) else [diff])
        results[name] = result
    out = dict(changed=any(r.get('changed') for r in results.values()), parts=results, missing_programs=missing)
    if module._diff:
        out['diff'] = diffs
    return out
