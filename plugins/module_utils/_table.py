# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.ipvs_table: the whole IPVS table (or the services it lists) in one task, drained and persisted.

Not a public API: may change without notice. ``build_module()`` is the module's argument spec, ``run(module)``
validates, reads, compares and acts, and returns the result (it fails the module on error). The module and
lvs.dr.director_converge, which runs it as one part of a director's pass, both call it.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.dr.plugins.module_utils._lock import lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._persist import Systemd
from ansible_collections.lvs.dr.plugins.module_utils._table_persist import (
    persist_spec, persist_table, validate_persist,
)

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError, Table, diff_text
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_params import (
    SERVICE_CONSTRAINTS, add_dests_from_params, drain_timing_spec, fail_invalid, realserver_spec, service_from_params,
    service_identity_from_params, service_spec, validate_drain_timing,
)
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_plan import (
    drain_finish, drain_stage, merge, plan, removal_violations,
)
from ansible_collections.lvs.dr.plugins.module_utils._ipvsadm import Ipvsadm, wait_all_drained


PROC_IPVS = '/proc/net/ip_vs'


def module_spec():
    """The argument spec and its constraints, as AnsibleModule takes them."""
    service_options = service_spec()
    service_options.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        realservers=dict(type='list', elements='dict', default=[], options=realserver_spec()),
    )
    argument_spec = dict(
        services=dict(type='list', elements='dict', default=[], options=service_options, **SERVICE_CONSTRAINTS),
        purge=dict(type='bool', default=False),
        purge_realservers=dict(type='bool', default=False),
        max_removed_share=dict(type='float', default=1.0),
        max_removed_services=dict(type='int'),
        drain=dict(type='bool', default=False),
        drain_timeout_action=dict(type='str', default='fail', choices=['fail', 'remove']),
    )
    argument_spec.update(drain_timing_spec())
    argument_spec.update(lock_spec())
    argument_spec.update(persist_spec())
    return dict(argument_spec=argument_spec)


def build_module():
    return AnsibleModule(supports_check_mode=True, **module_spec())


def desired_services(entries):
    # type: (list) -> tuple
    # Validate every entry before anything is read: returns (services to have, keys of services to remove).
    present, absent, seen = [], [], {}
    for index, entry in enumerate(entries):
        prefix = 'services[%d].' % index
        if entry['state'] == 'absent':
            svc = service_identity_from_params(entry, prefix)
        else:
            svc = service_from_params(entry, prefix)
        if svc.key in seen:
            raise IpvsError('%s: %s is already listed as services[%d]' % (prefix.rstrip('.'), svc.label(),
                                                                          seen[svc.key]), 'services')
        seen[svc.key] = index
        if entry['state'] == 'absent':
            absent.append(svc.key)
        else:
            add_dests_from_params(svc, entry['realservers'], prefix)
            present.append(svc)
    return present, absent


def validate(params):
    # type: (dict) -> tuple
    # Everything the argument spec cannot say, before anything is read: returns desired_services().
    desired = desired_services(params['services'])
    if not 0.0 <= params['max_removed_share'] <= 1.0:
        raise IpvsError('max_removed_share: %s is not between 0.0 and 1.0' % params['max_removed_share'],
                        'max_removed_share')
    if params['max_removed_services'] is not None and params['max_removed_services'] < 0:
        raise IpvsError('max_removed_services: %d is negative' % params['max_removed_services'],
                        'max_removed_services')
    validate_drain_timing(params)
    try:
        validate_persist(params['persist'])
    except ValueError as exc:
        raise IpvsError(str(exc), str(exc).split(':', maxsplit=1)[0].split(' ', maxsplit=1)[0])
    return desired


def describe_drain(table, waiting, counts, removed):
    # type: (Table, list, dict, set) -> list
    entries = []
    for key, dkey in waiting:
        svc = table.get(key)
        count = counts.get((key, dkey), {})
        dest = svc.dests[dkey]
        virtual_service = dict((name, value) for name, value in svc.to_dict(with_dests=False).items()
                               if value not in (None, [], False, 0) or name == 'virtual_port')
        entries.append(dict(service=svc.label(), realserver=dest.endpoint(),
                            active_connections=count.get('active_connections', 0),
                            inactive_connections=count.get('inactive_connections', 0),
                            removed=(key, dkey) in removed, virtual_service=virtual_service,
                            destination=dict((name, value) for name, value in dest.to_dict().items()
                                             if name != 'weight')))
    return entries


def run(module):
    # type: (AnsibleModule) -> None
    # Read, compare, act; exits the module.
    params = module.params
    try:
        present, absent = validate(params)
    except IpvsError as exc:
        fail_invalid(module, exc)
    if params['persist']:
        Systemd(module).require()  # before anything changes
    ipvsadm = Ipvsadm(module)
    if module.check_mode and not os.path.exists(PROC_IPVS):
        # No ip_vs in the kernel, so no table: ipvsadm would load the module to list it, a change check mode avoids.
        current, conns = Table(), {}
    else:
        current, conns = ipvsadm.read()[:2]
    target = merge(current, present, absent_keys=absent, purge_services=params['purge'],
                   purge_dests=params['purge_realservers'])
    share = params['max_removed_share']
    violations = removal_violations(current, target, share if share < 1.0 else None, params['max_removed_services'])
    if violations:
        module.fail_json(msg='refusing to change the IPVS table: %s. Nothing was changed. If these removals are '
                             'intended, raise max_removed_share / max_removed_services.' % '; '.join(violations),
                         commands=plan(current, target), violations=violations)
    # With drain, the real servers that leave first stay at weight 0 (the stage), and leave in a second step.
    stage, waiting = drain_stage(current, target, conns) if params['drain'] else (target, [])
    counts = dict((pair, conns.get(pair[0], {}).get(pair[1], {})) for pair in waiting)
    commands = plan(current, stage)
    # The second step as it would be if every waiting real server drained in time (what check mode reports).
    removal = plan(stage, drain_finish(stage, target, waiting, waiting)) if waiting else []
    drain = dict(realservers=[], seconds=0.0, polls=0, timed_out=False)
    busy = []
    if not module.check_mode:
        after = ipvsadm.apply(current, stage, commands) if commands else current
        if waiting:
            after, counts, drain['seconds'], drain['polls'] = wait_all_drained(
                ipvsadm, waiting, params['drain_timeout'], params['drain_poll_interval'])
            busy = [pair for pair in waiting if counts[pair]['active_connections']]
            done = waiting if params['drain_timeout_action'] == 'remove' else [p for p in waiting if p not in busy]
            final = drain_finish(after, target, waiting, done)
            removal = plan(after, final)
            if removal:
                ipvsadm.apply(after, final, removal)
    drain['timed_out'] = bool(busy)
    kept = set(busy) if params['drain_timeout_action'] == 'fail' else set()
    drain['realservers'] = describe_drain(stage, waiting, counts, set(waiting) - kept)
    commands += removal
    rules = target.rules()
    managed = Table(target.get(svc.key) for svc in present).rules()
    result = dict(changed=bool(commands), commands=commands, rules=diff_text(rules), managed_rules=diff_text(managed),
                  drain=drain, ipvsadm_processes=ipvsadm.processes)
    diffs = [dict(before=diff_text(current.rules()), after=diff_text(rules))]
    if params['persist'] and not (busy and params['drain_timeout_action'] == 'fail'):
        persisted, file_diffs = persist_table(module, result['managed_rules'], params['persist'])
        result['persist'] = dict(params['persist'], changed=persisted)
        result['changed'] = result['changed'] or bool(persisted)
        diffs += file_diffs
    if module._diff:
        result['diff'] = diffs if len(diffs) > 1 else diffs[0]
    if busy:
        names = ', '.join('%s of %s (%d active)' % (e['realserver'], e['service'], e['active_connections'])
                          for e in drain['realservers'] if e['active_connections'])
        if params['drain_timeout_action'] == 'fail':
            module.fail_json(msg='drain_timeout (%d s) passed with active connections left on %s: they stay in the '
                                 'table at weight 0 (drain_timeout_action=fail); the rest of the table was converged. '
                                 'Run again once their connections have ended, raise drain_timeout, or set '
                                 'drain_timeout_action=remove' % (params['drain_timeout'], names), **result)
        module.warn('drain_timeout (%d s) passed: removed with active connections left (drain_timeout_action=remove): '
                    '%s' % (params['drain_timeout'], names))
    return result
