#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipvs_realserver
short_description: Manage one real server (destination) of an IPVS virtual service
version_added: 0.1.0
description:
  - Adds, edits or removes one real server of an existing IPVS virtual service - its forwarding method, weight and
    connection thresholds.
  - The service is named by O(virtual_address), O(virtual_port) and O(protocol), or by O(fwmark). Create it first with
    M(lvs.dr.ipvs_service) or M(lvs.dr.ipvs_table).
  - A weight of V(0) quiesces the real server (no new connections) without removing it. O(state=drained) quiesces it
    and waits for its connections to end; O(drain=true) does the same before removing it.
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
  - lvs.dr.lock
  - lvs.dr.ipvs.service_identity
  - lvs.dr.ipvs.realserver
attributes:
  check_mode:
    support: full
    description: Reports the commands and the diff a real run would apply, and leaves the kernel table untouched.
  diff_mode:
    support: full
    description: Before and after are the real server's line in C(ipvsadm-save -n) format, thresholds included.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with IPVS.
options:
  state:
    description:
      - V(present) adds the real server or edits it in place; V(absent) removes it.
      - V(drained) takes it out of service gracefully and keeps it in the table. Its weight becomes V(0) at once, so the
        scheduler sends it no new connection, then the task waits until its active connections have ended
        (O(drain_timeout)). Its other attributes stay as they are in the table; O(weight), O(forwarding_method) and
        the thresholds are ignored.
      - With V(present) the service must exist; with V(absent) and V(drained) a missing service or real server is not
        an error (nothing to remove or drain).
    type: str
    default: present
    choices: [present, absent, drained]
  drain:
    description:
      - With O(state=absent), drain the real server first, as O(state=drained) does, and remove it only once its
        active connections have ended. If they have not ended within O(drain_timeout), the task fails and leaves the
        real server in the table at weight V(0).
      - Without it, O(state=absent) removes the real server at once. With C(net.ipv4.vs.expire_nodest_conn=1) its
        established connections are then dropped at their next packet.
      - Only valid with O(state=absent).
    type: bool
    default: false
    version_added: 0.2.0
  drain_timeout:
    description:
      - How long to wait, in seconds, for the active connections of a draining real server to end.
      - When they have not ended by then, the task fails and says how many are still open (the real server stays at
        weight V(0)). V(0) quiesces without waiting and never fails on open connections.
      - The kernel counts a TCP connection as active while it is established, and as inactive after it closes
        (C(TIME_WAIT), C(FIN_WAIT)) until its entry expires; only active connections are waited for.
    type: int
    default: 300
    version_added: 0.2.0
  drain_poll_interval:
    description:
      - Seconds between two readings of the connection counts while draining (one C(ipvsadm) process each).
      - The removal follows the end of the last connection by at most about one interval plus one reading. A reading
        costs a process start (0.1 to 0.2 seconds measured on a slow emulated host), so intervals much below that poll
        less often than asked; see C(bench/run --drain) in the collection.
      - Between V(0.1) and V(3600).
    type: float
    default: 1.0
    version_added: 0.2.0
  drain_last:
    description:
      - Whether draining may take out the last real server of the service that still has a weight above V(0).
      - With V(false) (the default), the task fails before changing anything when no other real server of the service
        would be left in service, because the service would then take no new connection. Rolling maintenance over a
        pool whose other members are already drained stops there instead of taking the service down.
    type: bool
    default: false
    version_added: 0.2.0
seealso:
  - module: lvs.dr.ipvs_service
  - module: lvs.dr.ipvs_table
'''

EXAMPLES = r'''
- name: Add a direct-routing real server to a service
  lvs.dr.ipvs_realserver:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    address: 198.51.100.13
    weight: 2

- name: Quiesce it before maintenance (no new connections)
  lvs.dr.ipvs_realserver:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    address: 198.51.100.13
    weight: 0

- name: Cap a real server of a firewall-mark service at 500 connections
  lvs.dr.ipvs_realserver:
    fwmark: 7
    address: 198.51.100.14
    upper_threshold: 500
    lower_threshold: 400

- name: Drain it for maintenance - no new connections, wait up to 10 minutes for the open ones to end
  lvs.dr.ipvs_realserver:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    address: 198.51.100.13
    state: drained
    drain_timeout: 600
  register: drained

- name: Remove it once its connections have ended (fails, leaving it at weight 0, if they last over 2 minutes)
  lvs.dr.ipvs_realserver:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    address: 198.51.100.13
    state: absent
    drain: true
    drain_timeout: 120

- name: Remove it at once
  lvs.dr.ipvs_realserver:
    virtual_address: 192.0.2.10
    virtual_port: 8080
    address: 198.51.100.13
    state: absent
'''

RETURN = r'''
commands:
  description: The ipvsadm lines applied (or that would be applied in check mode), in C(ipvsadm -R) format.
  returned: always
  type: list
  elements: str
  sample: ["-a -t 192.0.2.10:8080 -r 198.51.100.13:8080 -g -w 2"]
drain:
  description:
    - What draining found, with O(state=drained) or O(drain=true) when the real server was in the table. In check
      mode, the counts when the task ran (it does not wait).
  returned: when draining
  type: dict
  contains:
    active_connections:
      description: Active connections of the real server at the last reading (still open when the timeout hit).
      type: int
    inactive_connections:
      description: Inactive connection entries (closed, not yet expired) at the last reading.
      type: int
    timed_out:
      description: Whether O(drain_timeout) passed with active connections left.
      type: bool
    seconds:
      description: How long the task waited.
      type: float
    polls:
      description: How many times it read the connection counts.
      type: int
  sample: {"active_connections": 0, "inactive_connections": 3, "timed_out": false, "seconds": 4.2, "polls": 5}
realserver:
  description: The real server as it is after the task (as it would be, in check mode); V(null) when absent.
  returned: always
  type: dict
  sample:
    address: 198.51.100.13
    port: 8080
    forwarding_method: route
    weight: 2
    upper_threshold: 0
    lower_threshold: 0
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock, lock_spec

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import IpvsError, diff_text, join_args
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_params import (
    SERVICE_CONSTRAINTS, dest_from_params, drain_timing_spec, fail_invalid, realserver_spec,
    service_identity_from_params, service_identity_spec, validate_drain_timing,
)
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_plan import plan
from ansible_collections.lvs.dr.plugins.module_utils._ipvsadm import Ipvsadm, wait_drained


def build_module():
    argument_spec = service_identity_spec()
    argument_spec.update(realserver_spec())
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent', 'drained']),
        drain=dict(type='bool', default=False),
        drain_last=dict(type='bool', default=False),
    )
    argument_spec.update(drain_timing_spec())
    argument_spec.update(lock_spec())
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **SERVICE_CONSTRAINTS)


def dest_line(svc, dest):
    return [join_args(['-a'] + svc.ident_args() + dest.args())] if dest else []


def validate_drain(params):
    if params['drain'] and params['state'] != 'absent':
        raise IpvsError('drain: only valid with state=absent (state=drained always drains), got state=%s'
                        % params['state'], 'drain')
    validate_drain_timing(params)


def run(module):
    # type: (AnsibleModule) -> None
    # Read, compare, act; exits the module.
    params = module.params
    state = params['state']
    try:
        validate_drain(params)
        # Only the identity of the service matters here; its other attributes are not touched.
        ident = service_identity_from_params(params)
        wanted = dest_from_params(ident, params)
    except IpvsError as exc:
        fail_invalid(module, exc)

    ipvsadm = Ipvsadm(module)
    current, conns = ipvsadm.read()[:2]
    svc = current.get(ident.key)
    if svc is None and state == 'present':
        module.fail_json(msg='the virtual service %s does not exist; create it first with lvs.dr.ipvs_service or '
                             'lvs.dr.ipvs_table' % ident.label())
    before = svc.dests.get(wanted.key) if svc is not None else None
    result = dict(changed=False, commands=[])
    after = None

    if (state == 'drained' or params['drain']) and before is not None:
        others = [dest for key, dest in svc.dests.items() if key != wanted.key and dest.weight > 0]
        if before.weight > 0 and not others and not params['drain_last']:
            module.fail_json(msg='%s is the last real server of %s with a weight above 0: draining it would leave the '
                                 'service without a server for new connections. Nothing was changed. Bring another '
                                 'real server back first, or set drain_last=true' % (wanted.endpoint(), ident.label()))
        # Quiesce: weight 0, nothing else changes, then wait for the active connections to end.
        after = before.copy()
        after.weight = 0
        target = current.copy()
        target.get(ident.key).add_dest(after.copy())
        commands = plan(current, target)
        result['commands'].extend(commands)
        if commands and not module.check_mode:
            current = ipvsadm.apply(current, target, commands)
        if module.check_mode or params['drain_timeout'] == 0:
            counts = conns.get(ident.key, {}).get(wanted.key, {})
            drain = dict(active_connections=counts.get('active_connections', 0),
                         inactive_connections=counts.get('inactive_connections', 0), timed_out=False, seconds=0.0,
                         polls=0)
        else:
            current, drain = wait_drained(ipvsadm, ident.key, wanted.key, params['drain_timeout'],
                                          params['drain_poll_interval'])
            gone = drain.pop('gone')
            if gone:
                after = None
            if drain['timed_out']:
                module.fail_json(
                    msg='%s still has %d active connection%s after %s s of draining (drain_timeout=%d); it stays in '
                        '%s at weight 0%s' % (wanted.endpoint(), drain['active_connections'],
                                              '' if drain['active_connections'] == 1 else 's', drain['seconds'],
                                              params['drain_timeout'], ident.label(),
                                              ', not removed' if state == 'absent' else ''),
                    changed=bool(result['commands']), commands=result['commands'], drain=drain,
                    realserver=after.to_dict() if after else None)
        result['drain'] = drain

    if state in ('present', 'absent'):
        svc = current.get(ident.key)
        target = current.copy()
        after = None
        if svc is not None:
            if state == 'absent':
                target.get(ident.key).dests.pop(wanted.key, None)
            else:
                target.get(ident.key).add_dest(wanted)
                after = wanted
        commands = plan(current, target)
        result['commands'].extend(commands)
        if commands and not module.check_mode:
            ipvsadm.apply(current, target, commands)

    result['changed'] = bool(result['commands'])
    result['realserver'] = after.to_dict() if after else None
    if module._diff:
        result['diff'] = dict(before=diff_text(dest_line(ident, before)), after=diff_text(dest_line(ident, after)))
    module.exit_json(**result)


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.ipvs_realserver'):
        run(module)


if __name__ == '__main__':
    main()
