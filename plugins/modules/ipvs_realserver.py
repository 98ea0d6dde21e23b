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
  - A weight of V(0) quiesces the real server (no new connections) without removing it.
author:
  - lvs.dr maintainers (@lvs-dr)
extends_documentation_fragment:
  - lvs.dr.ipvs
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
      - With V(present) the service must exist; with V(absent) a missing service is not an error.
    type: str
    default: present
    choices: [present, absent]
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

- name: Remove it
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

from ansible_collections.lvs.dr.plugins.module_utils._ipvs import (
    SERVICE_CONSTRAINTS, Ipvsadm, IpvsError, dest_from_params, diff_text, fail_invalid, join_args, plan,
    realserver_spec, service_identity_from_params, service_identity_spec,
)


def build_module():
    argument_spec = service_identity_spec()
    argument_spec.update(realserver_spec())
    argument_spec.update(state=dict(type='str', default='present', choices=['present', 'absent']))
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **SERVICE_CONSTRAINTS)


def dest_line(svc, dest):
    return [join_args(['-a'] + svc.ident_args() + dest.args())] if dest else []


def main():
    module = build_module()
    params = module.params
    try:
        # Only the identity of the service matters here; its other attributes are not touched.
        ident = service_identity_from_params(params)
        wanted = dest_from_params(ident, params)
    except IpvsError as exc:
        fail_invalid(module, exc)

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read()[0]
    svc = current.get(ident.key)
    if svc is None and params['state'] == 'present':
        module.fail_json(msg='the virtual service %s does not exist; create it first with lvs.dr.ipvs_service or '
                             'lvs.dr.ipvs_table' % ident.label())
    target = current.copy()
    before = after = None
    if svc is not None:
        new_svc = target.get(ident.key)
        before = svc.dests.get(wanted.key)
        if params['state'] == 'absent':
            new_svc.dests.pop(wanted.key, None)
        else:
            new_svc.add_dest(wanted)
            after = wanted
    commands = plan(current, target)

    result = dict(changed=bool(commands), commands=commands, realserver=after.to_dict() if after else None)
    if module._diff:
        result['diff'] = dict(before=diff_text(dest_line(ident, before)), after=diff_text(dest_line(ident, after)))
    if commands and not module.check_mode:
        ipvsadm.apply(current, target, commands)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
