#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: static_arp
short_description: Manage permanent IPv4 neighbour (static ARP) entries, persisted in /etc/ethers
version_added: 0.1.0
description:
  - Adds or removes permanent IPv4 neighbour entries (IP address to MAC address, per interface) in the running kernel
    with C(ip -4 neigh replace ... nud permanent) and C(ip -4 neigh del).
  - Persists them the classic way in the ethers file (O(ethers_path)), inside a marked block that is the only part of the file
    the module touches; every other line and comment is kept as it is.
  - A boot-time loader unit (O(loader_unit)) runs net-tools C(arp -f) on the ethers file once the network is online, so the
    entries come back after a reboot without Ansible.
  - Each managed line is written in ethers(5) order followed by the C(dev) keyword, for example
    C(02:00:5e:00:53:0a 192.0.2.10 dev eth0). C(arp -f) reads the C(dev) keyword per line, which lets one file hold entries
    for several interfaces. glibc's ethers parser ignores the trailing words.
  - The loader unit is enabled while the managed block has entries, and disabled and removed when the last one goes.
  - In a typical LVS-DR cluster the director pins the MAC addresses of its real servers this way, so that ARP traffic or
    ARP spoofing cannot redirect forwarded frames.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - iproute2 4.14 or later (C(ip -json)) on the managed host.
  - net-tools C(arp) on the managed host when O(persist=true) (the loader unit runs C(arp -f)).
  - systemd on the managed host when O(persist=true).
notes:
  - Only IPv4 is supported; IPv6 has no ARP (and C(arp -f) cannot load IPv6 neighbours).
  - C(arp -f) remembers the last C(dev) keyword for the following lines. A new managed block is therefore appended at the end
    of the file; lines that other tools add after it would be loaded on the block's last interface.
  - O(state=absent) identifies an entry by O(entries[].address) and O(entries[].interface); O(entries[].mac) is not needed.
    It deletes only a permanent live entry and leaves entries the kernel learned by itself alone.
  - When the managed block loses its last entry it is removed. If the ethers file is then empty, the file is removed too.
attributes:
  check_mode:
    support: full
    description: Reports what would change, including the diff, and touches nothing.
  diff_mode:
    support: full
    description: Shows the affected live neighbour entries, the ethers file and the loader unit, before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  entries:
    description:
      - The neighbour entries to manage.
      - Mutually exclusive with O(address).
    type: list
    elements: dict
    suboptions:
      address:
        description: IPv4 address of the neighbour.
        type: str
        required: true
      mac:
        description:
          - Hardware address. Colons or dashes (V(02:00:5E:00:53:0A), V(02-00-5e-00-53-0a)), Cisco dotted notation
            (V(0200.5e00.530a)) and 12 bare hex digits are accepted. The address is normalized to lower-case colon form.
          - Multicast and broadcast addresses (the lowest bit of the first octet set, for example V(01:00:5e:00:00:01) or
            V(ff:ff:ff:ff:ff:ff)) and the all-zero address are refused, as they cannot be one host's address.
          - Required when O(state=present).
        type: str
      interface:
        description: Interface the entry belongs to. It must exist when O(state=present).
        type: str
        required: true
  address:
    description:
      - IPv4 address of a single entry; shorthand for one item in O(entries).
      - Requires O(interface), and O(mac) when O(state=present).
    type: str
  mac:
    description: Hardware address of the single entry given by O(address). Accepts the same formats as O(entries[].mac).
    type: str
  interface:
    description: Interface of the single entry given by O(address).
    type: str
  state:
    description: Whether the entries should exist (live and persisted) or not.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every entry of the managed block that is not in O(entries), both live and from
        the ethers file, so that the block holds exactly the requested entries. Use it when O(entries) is the complete list,
        for example the real servers of a director.
      - Needs O(persist=true), because the managed block is what tells the module's own entries from the others.
    type: bool
    default: false
  persist:
    description:
      - Whether to keep the ethers file and the loader unit in step with the live entries.
      - With V(false) only the running kernel is changed, and the ethers file and the unit are not touched.
    type: bool
    default: true
  ethers_path:
    description: The ethers file holding the managed block, read by the loader unit.
    type: path
    default: /etc/ethers
  loader_unit:
    description:
      - Name of the systemd unit that runs C(arp -f O(ethers_path)) at boot. The unit is written to C(/etc/systemd/system).
      - Use a different name for each different O(ethers_path).
    type: str
    default: lvs-dr-static-arp.service
seealso:
  - module: lvs.dr.lvs_dr_realserver
  - name: arp(8)
    description: net-tools arp, including C(-f) and its ethers file format.
    link: https://manpages.debian.org/bookworm/net-tools/arp.8.en.html
  - name: ethers(5)
    description: The ethers file format.
    link: https://manpages.debian.org/bookworm/manpages/ethers.5.en.html
"""

EXAMPLES = r"""
- name: Pin the MAC addresses of two real servers on the director
  lvs.dr.static_arp:
    entries:
      - address: 192.0.2.11
        mac: "02:00:5e:00:53:0b"
        interface: eth0
      - address: 192.0.2.12
        mac: "0200.5e00.530c"
        interface: eth0

- name: One entry, live only (nothing persisted)
  lvs.dr.static_arp:
    address: 198.51.100.7
    mac: "02-00-5E-00-53-07"
    interface: eth1
    persist: false

- name: Pin exactly these entries, unpinning any other entry the module manages
  lvs.dr.static_arp:
    entries:
      - address: 192.0.2.11
        mac: "02:00:5e:00:53:0b"
        interface: eth0
    purge: true

- name: Remove an entry (live and from /etc/ethers)
  lvs.dr.static_arp:
    address: 192.0.2.12
    interface: eth0
    state: absent
"""

RETURN = r"""
entries:
  description: The requested entries, validated and normalized (MAC in lower-case colon form).
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.11
      mac: "02:00:5e:00:53:0b"
      interface: eth0
changed_entries:
  description: The entries whose live state changed (or would change in check mode), including purged ones.
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.11
      mac: "02:00:5e:00:53:0b"
      interface: eth0
ethers_path:
  description: The ethers file used for persistence.
  returned: when O(persist=true)
  type: str
  sample: /etc/ethers
loader_unit:
  description: Name of the loader unit. It is enabled while the managed block has entries.
  returned: when O(persist=true)
  type: str
  sample: lvs-dr-static-arp.service
commands:
  description: The C(ip) command lines that were run (or would run in check mode) to change the live neighbour table.
  returned: always
  type: list
  elements: list
  sample:
    - ["/usr/sbin/ip", "-4", "neigh", "replace", "192.0.2.11", "lladdr", "02:00:5e:00:53:0b", "dev", "eth0", "nud", "permanent"]
"""

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
from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock, lock_spec
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


def build_module():
    return AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('entries', 'address'), ('entries', 'mac'), ('entries', 'interface')],
        required_one_of=[('entries', 'address')],
        required_by={'address': 'interface', 'mac': 'address'},
        supports_check_mode=True,
    )


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


def run_module(module):
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
    module.exit_json(**result)


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.static_arp'):
        run_module(module)


if __name__ == '__main__':
    main()
