#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lvs_dr_realserver
short_description: Make a host an LVS direct-routing real server (VIPs on loopback, ARP sysctls), persisted across reboot
version_added: 0.1.0
description:
  - Configures the real-server side of LVS direct routing (LVS-DR) for one or more virtual IPs (VIPs).
  - Each VIP is added to O(interface) (the loopback by default) as a host address. IPv4 VIPs get a C(/32) and an address label
    (O(label)), and IPv6 VIPs get a C(/128).
  - Sets C(arp_ignore=1) and C(arp_announce=2) on C(all), on O(interface) and on every O(arp_interfaces) item. The host then
    never answers or announces ARP for the VIPs, and the director stays the only owner of the VIPs on the segment.
    These sysctls are applied before a VIP is added, so the VIP is never announced.
  - Optionally relaxes reverse-path filtering (O(rp_filter)).
  - Applies everything to the running kernel and makes it persistent without C(rc.local). It writes
    C(/etc/sysctl.d/90-lvs-dr-<name>.conf) and a oneshot unit C(lvs-dr-realserver-<name>.service). At boot the unit
    re-applies that sysctl file with C(systemd-sysctl) and adds the VIPs with C(ip addr replace), one C(ExecStart=) argv
    each. It runs before C(network.target), so services that bind to a VIP find it.
  - Records in C(/var/lib/lvs-dr/realserver-state.json) the value each sysctl had before any instance changed it, and which
    VIPs already existed. O(state=absent) uses this record to undo exactly what O(state=present) did. It removes only the
    VIPs it added, returns every sysctl it set to its previous value and removes the sysctl file, the unit and the record.
  - Several instances (O(name)) can coexist. A sysctl or a VIP that two instances share is kept until the last instance
    that uses it is removed.
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - iproute2 4.14 or later (C(ip -json)) and systemd on the managed host.
notes:
  - IPv6 needs no ARP sysctls. Linux answers neighbour solicitations only for addresses on the receiving interface,
    so an IPv6 VIP on the loopback is not advertised.
  - A VIP that already exists on O(interface), with any label, counts as present. It is not relabelled, and it is not removed
    by O(state=absent) because this module did not add it. A VIP found on another interface produces a warning, because the
    host would answer ARP for it there.
  - The effective C(arp_ignore), C(arp_announce) and C(rp_filter) of an interface is the maximum of its own value and the
    value for C(all). See the kernel's ip-sysctl documentation.
  - When two instances ask for different O(rp_filter) values, the instance that ran last wins.
attributes:
  check_mode:
    support: full
    description: Reports the changes and the diff that a real run would make, and touches nothing.
  diff_mode:
    support: full
    description: Shows the addresses and sysctl values that change, and the sysctl file and unit before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  name:
    description:
      - Identifier of this real-server instance, used in file and unit names. Instances with different names are independent.
      - Letters, digits, V(-) and V(_), at most 32 characters.
    type: str
    default: default
  vips:
    description:
      - The virtual IP addresses, IPv4 or IPv6, optionally written with a host prefix (V(192.0.2.10/32), V(2001:db8::10/128)).
      - Required when O(state=present). With O(state=absent) the module uses its own record instead, and this option is ignored.
      - On a later run with O(state=present), a VIP that was dropped from the list is removed if this instance added it.
    type: list
    elements: str
  interface:
    description: Interface that holds the VIPs. It must exist. The loopback is the classic choice; a dummy interface also works.
    type: str
    default: lo
  label:
    description:
      - Address label of the IPv4 VIPs, as the classic recipe's C(lo:0). It must start with O(interface) followed by V(:)
        and be at most 15 characters long.
      - Defaults to C(<interface>:lvs), for example V(lo:lvs).
    type: str
  arp_interfaces:
    description:
      - Further interfaces that get C(arp_ignore=1) and C(arp_announce=2) (and the O(rp_filter) value when O(rp_filter=off)),
        usually the interfaces that face the director. They must exist when O(state=present).
      - Setting C(all) already covers them. List them to make the per-interface values explicit, for example when other
        tooling resets C(all).
    type: list
    elements: str
    default: []
  rp_filter:
    description:
      - How to treat reverse-path filtering, which drops DR traffic when the route back to a client does not leave through the
        interface the request arrived on (multi-homed real servers, asymmetric routing).
      - V(loose) (the default, safe) sets C(net.ipv4.conf.all.rp_filter=2). The effective value is the maximum of C(all) and
        the interface's own value, so every interface then uses loose mode. A packet is dropped only when its source is not
        reachable through any interface, so DR traffic is never dropped and spoofed martians are still refused.
      - V(off) sets C(rp_filter=0) on C(all) and on every O(arp_interfaces) item. Interfaces that are not listed keep their
        own value.
      - V(unchanged) leaves reverse-path filtering alone.
    type: str
    choices: [loose, 'off', unchanged]
    default: loose
  state:
    description: Whether the instance should be configured (V(present)) or completely undone (V(absent)).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: lvs.dr.static_arp
  - name: ip-sysctl
    description: Linux kernel documentation of arp_ignore, arp_announce and rp_filter.
    link: https://docs.kernel.org/networking/ip-sysctl.html
  - name: LVS-DR
    description: The Linux Virtual Server direct routing documentation.
    link: http://www.linuxvirtualserver.org/VS-DRouting.html
"""

EXAMPLES = r"""
- name: Real server for two VIPs (IPv4 and IPv6)
  lvs.dr.lvs_dr_realserver:
    name: web
    vips:
      - 192.0.2.10
      - 2001:db8::10

- name: Classic label, explicit front interface, reverse-path filter off
  lvs.dr.lvs_dr_realserver:
    name: dns
    vips: [198.51.100.53]
    label: "lo:0"
    arp_interfaces: [eth0]
    rp_filter: "off"

- name: Undo everything the "web" instance did
  lvs.dr.lvs_dr_realserver:
    name: web
    state: absent
"""

RETURN = r"""
vips:
  description: The VIPs of this instance as host addresses with prefix (empty after O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.10/32", "2001:db8::10/128"]
addresses_added:
  description: VIPs that were added to O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.10/32"]
addresses_removed:
  description: VIPs that were removed from O(interface) (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: []
sysctl:
  description: The sysctl values this instance wants, as written to its sysctl.d file (empty after O(state=absent)).
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2", "net.ipv4.conf.all.rp_filter": "2"}
sysctl_changes:
  description: The sysctls whose live value changed (or would change in check mode), with the values before and after.
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": {"before": "0", "after": "1"}}
sysctl_file:
  description: Path of this instance's sysctl.d file.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-lvs-dr-web.conf
unit:
  description: Name of this instance's boot-time systemd unit.
  returned: always
  type: str
  sample: lvs-dr-realserver-web.service
state_file:
  description: Path of the record of previous sysctl values and pre-existing VIPs, shared by all instances.
  returned: always
  type: str
  sample: /var/lib/lvs-dr/realserver-state.json
"""

import copy
import ipaddress
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._iproute import IpCommand, interface_exists
from ansible_collections.lvs.dr.plugins.module_utils._persist import (
    MANAGED_HEADER,
    SYSTEMD_UNIT_DIR,
    Systemd,
    ensure_unit,
    read_text,
    remove_file,
    render_unit,
    write_text,
)
from ansible_collections.lvs.dr.plugins.module_utils._sysctl import (
    conf_key,
    display_key,
    read_value,
    render_conf,
    write_value,
)

SYSCTL_DIR = '/etc/sysctl.d'
STATE_PATH = '/var/lib/lvs-dr/realserver-state.json'
SYSTEMD_SYSCTL_CANDIDATES = ('/usr/lib/systemd/systemd-sysctl', '/lib/systemd/systemd-sysctl')
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$')
IFNAME_RE = re.compile(r'^[^/\s:]{1,15}$')
RP_FILTER_VALUES = {'loose': '2', 'off': '0'}


def argument_spec():
    return dict(
        name=dict(type='str', default='default'),
        vips=dict(type='list', elements='str'),
        interface=dict(type='str', default='lo'),
        label=dict(type='str'),
        arp_interfaces=dict(type='list', elements='str', default=[]),
        rp_filter=dict(type='str', default='loose', choices=['loose', 'off', 'unchanged']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )


def build_module():
    return AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[('state', 'present', ('vips',))],
        supports_check_mode=True,
    )


# ---------------------------------------------------------------- pure logic (unit tested)

def normalize_vips(values):
    """Return VIPs as host interfaces (``192.0.2.10/32``), in order, without duplicates; ValueError names the item."""
    result = []
    for index, value in enumerate(values):
        try:
            vip = ipaddress.ip_interface(str(value).strip())
        except ValueError:
            raise ValueError("vips[%d]: '%s' is not an IPv4 or IPv6 address" % (index, value))
        if vip.network.prefixlen != vip.max_prefixlen:
            raise ValueError("vips[%d]: '%s' must be a host address (/%d) or have no prefix" % (index, value, vip.max_prefixlen))
        ip = vip.ip
        if ip.is_unspecified or ip.is_multicast or ip.is_loopback or ip.is_link_local:
            raise ValueError("vips[%d]: '%s' cannot be a VIP (unspecified, multicast, loopback or link-local)" % (index, value))
        text = str(vip)
        if text not in result:
            result.append(text)
    return result


def validate(params):
    """Validate what the argument spec cannot express; return (vips, label). Raises ValueError naming the option."""
    if not NAME_RE.match(params['name']):
        raise ValueError("name: '%s' must be 1-32 letters, digits, '-' or '_', starting with a letter or digit" % params['name'])
    if not IFNAME_RE.match(params['interface']) or params['interface'] in ('.', '..', 'all', 'default'):
        raise ValueError("interface: '%s' is not a valid interface name" % params['interface'])
    for index, name in enumerate(params['arp_interfaces']):
        if not IFNAME_RE.match(name) or name in ('.', '..', 'all', 'default'):
            raise ValueError("arp_interfaces[%d]: '%s' is not a valid interface name" % (index, name))
    label = params['label'] if params['label'] is not None else '%s:lvs' % params['interface']
    if not label.startswith(params['interface'] + ':') or len(label) > 15 or len(label) == len(params['interface']) + 1 \
            or any(c.isspace() or c == '/' for c in label):
        raise ValueError("label: '%s' must be '%s:' followed by a suffix, at most 15 characters in all (for example '%s:0')"
                         % (label, params['interface'], params['interface']))
    vips = normalize_vips(params['vips'] or []) if params['state'] == 'present' else []
    return vips, label


def desired_sysctls(interface, arp_interfaces, rp_filter):
    """Ordered ``{slash key: value}`` an instance wants."""
    values = {}
    interfaces = []
    for name in ['all', interface] + list(arp_interfaces):
        if name not in interfaces:
            interfaces.append(name)
    for name in interfaces:
        values[conf_key(name, 'arp_ignore')] = '1'
        values[conf_key(name, 'arp_announce')] = '2'
    if rp_filter == 'loose':
        values[conf_key('all', 'rp_filter')] = RP_FILTER_VALUES['loose']
    elif rp_filter == 'off':
        for name in ['all'] + [n for n in arp_interfaces if n != 'all']:
            values[conf_key(name, 'rp_filter')] = RP_FILTER_VALUES['off']
    return values


def empty_state():
    return {'version': 1, 'sysctl': {}, 'addresses': {}, 'instances': {}}


def address_key(interface, vip):
    return '%s %s' % (interface, vip)


def plan(state, name, instance, live_sysctl, live_addresses):
    """Compute the actions that take the host from ``state`` (the shared record) to ``instance``.

    ``instance`` is ``{'interface', 'label', 'vips', 'sysctl'}`` or None for absent. ``live_sysctl`` maps
    slash keys to current values, ``live_addresses`` is a set of ``'interface ip/prefix'`` strings.
    Returns ``(added_state, final_state, actions)``: the record to write before acting (additions only, so a
    failure never loses an original value), the record to write afterwards, and the ordered actions
    ``('sysctl', key, value)``, ``('addr_add', interface, vip)``, ``('addr_del', interface, vip)``.
    """
    added = copy.deepcopy(state)
    old = state['instances'].get(name)
    writes, adds, dels, restores = [], [], [], []
    wanted_addresses = set()
    if instance is not None:
        for key, value in instance['sysctl'].items():
            entry = added['sysctl'].setdefault(key, {'original': live_sysctl.get(key), 'owners': []})
            if name not in entry['owners']:
                entry['owners'].append(name)
            if live_sysctl.get(key) != value:
                writes.append(('sysctl', key, value))
        for vip in instance['vips']:
            akey = address_key(instance['interface'], vip)
            wanted_addresses.add(akey)
            entry = added['addresses'].setdefault(akey, {'preexisting': akey in live_addresses, 'owners': []})
            if name not in entry['owners']:
                entry['owners'].append(name)
            if akey not in live_addresses:
                adds.append(('addr_add', instance['interface'], vip, instance['label']))
        added['instances'][name] = copy.deepcopy(instance)

    final = copy.deepcopy(added)
    if instance is None:
        final['instances'].pop(name, None)
    if old is not None:
        for vip in old['vips']:
            akey = address_key(old['interface'], vip)
            if akey in wanted_addresses:
                continue
            entry = final['addresses'].get(akey)
            if entry is None:
                continue
            if name in entry['owners']:
                entry['owners'].remove(name)
            if not entry['owners']:
                if not entry['preexisting'] and akey in live_addresses:
                    dels.append(('addr_del', old['interface'], vip))
                del final['addresses'][akey]
        wanted_keys = instance['sysctl'] if instance is not None else {}
        for key in old['sysctl']:
            if key in wanted_keys:
                continue
            entry = final['sysctl'].get(key)
            if entry is None:
                continue
            if name in entry['owners']:
                entry['owners'].remove(name)
            if entry['owners']:
                target = final['instances'][entry['owners'][-1]]['sysctl'].get(key, entry['original'])
            else:
                target = entry['original']
                del final['sysctl'][key]
            if target is not None and live_sysctl.get(key) != target:
                restores.append(('sysctl', key, target))
    # ARP is silenced before a VIP appears and restored only after the VIPs are gone.
    return added, final, writes + dels + adds + restores


def sysctl_conf_content(name, values):
    header = [
        MANAGED_HEADER % 'lvs.dr.lvs_dr_realserver',
        'LVS-DR real server "%s": never answer or announce ARP for the VIPs on the loopback.' % name,
        'Removed by lvs.dr.lvs_dr_realserver state=absent, which also restores the previous values.',
    ]
    return render_conf(values, header)


def unit_content(name, ip_argvs, systemd_sysctl, sysctl_path):
    exec_start = []
    if systemd_sysctl:
        exec_start.append([systemd_sysctl, sysctl_path])
    exec_start.extend(ip_argvs)
    return render_unit(
        description='LVS-DR real server %s: ARP sysctls and VIPs on the loopback (lvs.dr)' % name,
        exec_start=exec_start,
        header_by='lvs.dr.lvs_dr_realserver',
        documentation='https://docs.kernel.org/networking/ip-sysctl.html',
        unit=[('After', 'systemd-sysctl.service network-pre.target'), ('Before', 'network.target network-online.target'),
              ('Wants', 'network-pre.target')],
    )


def describe(addresses, sysctls):
    lines = ['addresses:']
    lines += ['  %s' % a for a in sorted(addresses)] or []
    lines.append('sysctl:')
    lines += ['  %s = %s' % (display_key(k), 'unset' if v is None else v) for k, v in sysctls.items()]
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- module

def load_state(module):
    text = read_text(STATE_PATH)
    if text is None:
        return empty_state(), None
    try:
        state = json.loads(text)
        if not isinstance(state, dict) or state.get('version') != 1:
            raise ValueError('unknown format version')
    except ValueError as exc:
        module.fail_json(msg='%s is not a valid lvs.dr record (%s); fix or remove it' % (STATE_PATH, exc))
    for section in ('sysctl', 'addresses', 'instances'):
        state.setdefault(section, {})
    return state, text


def dump_state(state):
    return json.dumps(state, indent=2, sort_keys=True) + '\n'


def save_state(module, state):
    if state['instances'] or state['sysctl'] or state['addresses']:
        write_text(module, STATE_PATH, dump_state(state), 0o644)
    else:
        remove_file(STATE_PATH)
        try:
            os.rmdir(os.path.dirname(STATE_PATH))
        except OSError:
            pass  # not empty (other lvs.dr records) or already gone


def run_module(module):
    module.run_command_environ_update = {'LANGUAGE': 'C', 'LC_ALL': 'C'}
    params = module.params
    name = params['name']
    present = params['state'] == 'present'
    try:
        vips, label = validate(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if present:
        for option, names in (('interface', [params['interface']]), ('arp_interfaces', params['arp_interfaces'])):
            missing = [n for n in names if not interface_exists(n)]
            if missing:
                module.fail_json(msg='%s: no such interface on this host: %s' % (option, ', '.join(missing)))

    sysctl_path = os.path.join(SYSCTL_DIR, '90-lvs-dr-%s.conf' % name)
    unit_name = 'lvs-dr-realserver-%s.service' % name
    ip = IpCommand(module)
    systemd = Systemd(module)
    systemd.require()

    # --- read
    state, state_text = load_state(module)
    old = state['instances'].get(name)
    instance = None
    if present:
        instance = {
            'interface': params['interface'], 'label': label, 'vips': vips,
            'sysctl': desired_sysctls(params['interface'], params['arp_interfaces'], params['rp_filter']),
        }
    elif old is None and params['vips']:
        module.warn('No record of instance "%s" in %s: its VIPs and sysctls are left as they are; only its files are removed.'
                    % (name, STATE_PATH))
    all_addresses = ip.addresses()
    live_addresses = set(address_key(row['interface'], row['address']) for row in all_addresses)
    keys = list((instance or {}).get('sysctl', {})) + [k for k in (old or {}).get('sysctl', {}) if k not in (instance or {}).get('sysctl', {})]
    live_sysctl = dict((key, read_value(key)) for key in keys)
    if instance is not None:
        unknown = [display_key(k) for k in instance['sysctl'] if live_sysctl[k] is None]
        if unknown:
            module.fail_json(msg='the kernel has no sysctl %s (is IPv4 disabled on that interface?)' % ', '.join(unknown))
        for row in all_addresses:
            if row['address'] in vips and row['interface'] != params['interface']:
                module.warn('VIP %s is also configured on %s: this host will answer ARP for it there.' % (row['address'], row['interface']))

    # --- compare
    added_state, final_state, actions = plan(state, name, instance, live_sysctl, live_addresses)
    after_sysctl = dict(live_sysctl)
    after_addresses = set(live_addresses)
    sysctl_changes = {}
    addresses_added, addresses_removed = [], []
    for action in actions:
        if action[0] == 'sysctl':
            key, value = action[1], action[2]
            change = sysctl_changes.setdefault(display_key(key), {'before': live_sysctl.get(key)})
            change['after'] = value
            after_sysctl[key] = value
        elif action[0] == 'addr_add':
            addresses_added.append(action[2])
            after_addresses.add(address_key(action[1], action[2]))
        else:
            addresses_removed.append(action[2])
            after_addresses.discard(address_key(action[1], action[2]))
    for key in list(sysctl_changes):
        if sysctl_changes[key]['before'] == sysctl_changes[key]['after']:
            del sysctl_changes[key]

    systemd_sysctl = next((p for p in SYSTEMD_SYSCTL_CANDIDATES if os.path.exists(p)), None)
    sysctl_before = read_text(sysctl_path)
    sysctl_after = sysctl_conf_content(name, instance['sysctl']) if instance else None
    unit_after = None
    if instance:
        argvs = [ip.addr_replace_argv(vip, instance['interface'], instance['label']) for vip in instance['vips']]
        unit_after = unit_content(name, argvs, systemd_sysctl, sysctl_path)
    final_text = dump_state(final_state) if (final_state['instances'] or final_state['sysctl'] or final_state['addresses']) else None

    changed = bool(actions) or sysctl_before != sysctl_after or final_text != state_text

    # --- act
    if not module.check_mode:
        if added_state['instances'] and dump_state(added_state) != state_text:
            save_state(module, added_state)
        if sysctl_after is not None and sysctl_after != sysctl_before:
            write_text(module, sysctl_path, sysctl_after, 0o644)
        for action in actions:
            if action[0] == 'sysctl':
                try:
                    write_value(action[1], action[2])
                except (IOError, OSError) as exc:
                    module.fail_json(msg='cannot set %s to %s: %s' % (display_key(action[1]), action[2], exc))
            elif action[0] == 'addr_add':
                ip.run_argv(ip.addr_replace_argv(action[2], action[1], action[3]), 'adding VIP %s to %s' % (action[2], action[1]))
            else:
                ip.run_argv(ip.addr_del_argv(action[2], action[1]), 'removing VIP %s from %s' % (action[2], action[1]))
    unit_changed, unit_before, dummy, dummy2 = ensure_unit(module, systemd, unit_name, unit_after, SYSTEMD_UNIT_DIR)
    changed = changed or unit_changed
    if not module.check_mode:
        if sysctl_after is None and sysctl_before is not None:
            remove_file(sysctl_path)
        if final_text != state_text:
            save_state(module, final_state)

    relevant = set()
    for inst in (instance, old):
        if inst:
            relevant.update(address_key(inst['interface'], v) for v in inst['vips'])
    result = dict(
        changed=changed,
        vips=vips,
        addresses_added=addresses_added,
        addresses_removed=addresses_removed,
        sysctl=dict((display_key(k), v) for k, v in (instance['sysctl'] if instance else {}).items()),
        sysctl_changes=sysctl_changes,
        sysctl_file=sysctl_path,
        unit=unit_name,
        state_file=STATE_PATH,
    )
    if module._diff:
        unit_path = os.path.join(SYSTEMD_UNIT_DIR, unit_name)
        result['diff'] = [
            {'before_header': 'live state', 'after_header': 'live state',
             'before': describe(relevant & live_addresses, live_sysctl),
             'after': describe(relevant & after_addresses, after_sysctl)},
            {'before_header': sysctl_path, 'after_header': sysctl_path, 'before': sysctl_before or '', 'after': sysctl_after or ''},
            {'before_header': unit_path, 'after_header': unit_path, 'before': unit_before or '', 'after': unit_after or ''},
        ]
    module.exit_json(**result)


def main():
    run_module(build_module())


if __name__ == '__main__':
    main()
