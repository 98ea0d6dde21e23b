# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.dr.static_arp: permanent neighbour entries of the real servers, live and in /etc/ethers with its boot loader.

Not a public API: may change without notice. ``build_module()`` is the module's argument spec, ``run(module)``
validates, reads, compares and acts, and returns the result (it fails the module on error). The module and
lvs.dr.director_converge, which runs it as one part of a director's pass, both call it.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._ethers import (
    EthersError,
    EthersFile,
    normalize_ipv4,
    normalize_mac,
    validate_ifname,
)
from ansible_collections.lvs.dr.plugins.module_utils._iproute import IpCommand, interface_exists
from ansible_collections.lvs.dr.plugins.module_utils._lock import lock_spec
from ansible_collections.lvs.dr.plugins.module_utils._persist import (
    SYSTEMD_UNIT_DIR,
    Systemd,
    ensure_unit,
    read_text,
    remove_file,
    render_unit,
    write_text,
)
from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

ENTRY_SPEC = dict(
    address=dict(type='str', required=True),
    mac=dict(type='str'),
    interface=dict(type='str', required=True),
)


def argument_spec():
    return dict(
        entries=dict(type='list', elements='dict', options=ENTRY_SPEC),
        address=dict(type='str'),
        mac=dict(type='str'),
        interface=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
        persist=dict(type='bool', default=True),
        ethers_path=dict(type='path', default='/etc/ethers'),
        loader_unit=dict(type='str', default='lvs-dr-static-arp.service'),
        **lock_spec()
    )


def module_spec():
    """The argument spec and its constraints, as AnsibleModule takes them."""
    return dict(
        argument_spec=argument_spec(),
        mutually_exclusive=[('entries', 'address'), ('entries', 'mac'), ('entries', 'interface')],
        required_one_of=[('entries', 'address')],
        required_by={'address': 'interface', 'mac': 'address'},
    )


def build_module():
    return AnsibleModule(supports_check_mode=True, **module_spec())


def validate_entries(params):
    """Return the normalized entry list, or raise ValueError naming the offending option."""
    if params['entries'] is not None:
        raw = [(item, 'entries[%d].' % index) for index, item in enumerate(params['entries'])]
        if not raw:
            raise ValueError('entries: give at least one entry')
    else:
        raw = [({'address': params['address'], 'mac': params['mac'], 'interface': params['interface']}, '')]
    present = params['state'] == 'present'
    result = []
    seen = {}
    for item, prefix in raw:
        try:
            address = normalize_ipv4(item['address'])
        except EthersError as exc:
            raise ValueError('%saddress: %s' % (prefix, exc))
        try:
            interface = validate_ifname(item['interface'])
        except EthersError as exc:
            raise ValueError('%sinterface: %s' % (prefix, exc))
        mac = None
        if item.get('mac') is not None:
            try:
                mac = normalize_mac(item['mac'], unicast=True)
            except EthersError as exc:
                raise ValueError('%smac: %s' % (prefix, exc))
        elif present:
            raise ValueError('%smac: required when state=present (entry %s on %s)' % (prefix, address, interface))
        key = (address, interface)
        if key in seen and seen[key] != mac:
            raise ValueError('%saddress: %s on %s is listed twice with different MAC addresses' % (prefix, address, interface))
        if key not in seen:
            seen[key] = mac
            result.append({'address': address, 'mac': mac, 'interface': interface})
    return result


def describe_live(row):
    return '%s dev %s lladdr %s %s' % (row['address'], row['interface'], row['mac'] or '-', ','.join(row['states']))


def loader_unit_content(arp_bin, ethers_path):
    return render_unit(
        description='Static ARP entries from %s (lvs.dr)' % ethers_path,
        documentation='man:arp(8) man:ethers(5)',
        exec_start=[[arp_bin, '-f', ethers_path]],
        header_by='lvs.dr.static_arp',
        unit=[('Wants', 'network-online.target'), ('After', 'network-online.target'),
              ('ConditionPathExists', ethers_path)],
    )


def run(module):
    params = module.params
    present = params['state'] == 'present'
    try:
        entries = validate_entries(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if present:
        missing = sorted(set(e['interface'] for e in entries if not interface_exists(e['interface'])))
        if missing:
            option = 'entries[].interface' if params['entries'] is not None else 'interface'
            module.fail_json(msg='%s: no such interface on this host: %s' % (option, ', '.join(missing)))
    if params['purge'] and not params['persist']:
        module.fail_json(msg='purge: needs persist=true (the managed block of the ethers file identifies the entries to purge)')
    if '/' in params['loader_unit'] or not params['loader_unit'].endswith('.service'):
        module.fail_json(msg="loader_unit: '%s' must be a unit file name ending in .service" % params['loader_unit'])

    ip = IpCommand(module)
    # --- read
    live = {}
    for row in ip.neighbours('-4'):
        live[(row['address'], row['interface'])] = row
    ethers = None
    ethers_before = None
    if params['persist']:
        ethers_before = read_text(params['ethers_path'])
        try:
            ethers = EthersFile(ethers_before or '')
        except EthersError as exc:
            module.fail_json(msg='ethers_path: %s: %s' % (params['ethers_path'], exc))

    # --- compare
    commands = []
    changed_entries = []
    live_before, live_after = [], []
    for entry in entries:
        key = (entry['address'], entry['interface'])
        row = live.get(key)
        if row:
            live_before.append(describe_live(row))
        permanent = bool(row) and 'PERMANENT' in row['states']
        if present:
            live_after.append(describe_live({'address': entry['address'], 'interface': entry['interface'],
                                             'mac': entry['mac'], 'states': ['PERMANENT']}))
            if not (permanent and row['mac'] == entry['mac']):
                commands.append(ip.neigh_replace_argv(entry['address'], entry['mac'], entry['interface']))
                changed_entries.append(entry)
            if ethers is not None:
                ethers.set(entry)
        else:
            if permanent:
                commands.append(ip.neigh_del_argv(entry['address'], entry['interface']))
                changed_entries.append(entry)
            elif row:
                live_after.append(describe_live(row))
            if ethers is not None:
                ethers.remove(entry['address'], entry['interface'])

    if present and params['purge'] and ethers is not None:
        wanted = set((e['address'], e['interface']) for e in entries)
        for key in sorted(set(ethers.entries) - wanted):
            stale = ethers.entries[key]
            row = live.get(key)
            if row:
                live_before.append(describe_live(row))
            if row and 'PERMANENT' in row['states'] and row['mac'] == stale['mac']:
                commands.append(ip.neigh_del_argv(stale['address'], stale['interface']))
                changed_entries.append(stale)
            elif row:
                live_after.append(describe_live(row))
            ethers.remove(*key)

    diff = [{'before_header': 'live neighbour entries', 'after_header': 'live neighbour entries',
             'before': '\n'.join(live_before) + ('\n' if live_before else ''),
             'after': '\n'.join(live_after) + ('\n' if live_after else '')}]
    changed = bool(commands)
    result = dict(changed=False, entries=entries, changed_entries=changed_entries, commands=commands)

    # --- persistence: compute everything before acting
    ethers_after = None
    unit_content = None
    if ethers is not None:
        if ethers.entries == ethers.original_entries:
            ethers_after = ethers_before  # our lines are right: leave the file byte for byte
        else:
            ethers_after = ethers.render() or None  # nothing left at all: remove the file
        if ethers.entries:
            arp = Command(module, 'arp', hint='persist: the loader unit needs net-tools arp, which is not installed '
                                              'on this host (install net-tools or set persist=false)')
            unit_content = loader_unit_content(arp.path, params['ethers_path'])
        result.update(ethers_path=params['ethers_path'], loader_unit=params['loader_unit'])
        diff.append({'before_header': params['ethers_path'], 'after_header': params['ethers_path'],
                     'before': ethers_before or '', 'after': ethers_after or ''})
        changed = changed or ethers_after != ethers_before

    systemd = None
    if ethers is not None:
        systemd = Systemd(module)
        systemd.require()  # fail now, before anything changes

    # --- act (live first: the ethers file never claims what the kernel refused)
    if not module.check_mode:
        for argv in commands:
            ip.run_argv(argv, 'changing the neighbour entry for %s' % argv[4])
        if ethers is not None and ethers_after != ethers_before:
            if ethers_after is None:
                remove_file(params['ethers_path'])
            else:
                mode = 0o644
                if ethers_before is not None:
                    mode = os.stat(params['ethers_path']).st_mode & 0o7777
                write_text(module, params['ethers_path'], ethers_after, mode)
    if ethers is not None:
        unit_changed, unit_before, unit_after, dummy = ensure_unit(
            module, systemd, params['loader_unit'], unit_content, SYSTEMD_UNIT_DIR)
        changed = changed or unit_changed
        unit_path = os.path.join(SYSTEMD_UNIT_DIR, params['loader_unit'])
        diff.append({'before_header': unit_path, 'after_header': unit_path,
                     'before': unit_before or '', 'after': unit_after or ''})

    result['changed'] = changed
    if module._diff:
        result['diff'] = diff
    return result
