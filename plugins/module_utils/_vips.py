# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VIP instances: addresses placed on an interface, persisted by a boot unit, recorded so they can be undone exactly.

Private to the collection (leading underscore): the API may change without notice. lvs.dr.lvs_dr_realserver (VIPs on
the loopback with the ARP sysctls of a direct-routing real server) and lvs.dr.director_vips (VIPs on the director's
interface, which must answer ARP for them) are thin modules over this code: a PROFILE says what differs.

Changes are incremental: adding or removing one VIP never removes, re-adds or interrupts another.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.dr.plugins.module_utils._iproute import IpCommand, interface_exists
from ansible_collections.lvs.dr.plugins.module_utils._lock import lock_spec
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
STATE_DIR = '/var/lib/lvs-dr'
SYSTEMD_SYSCTL_CANDIDATES = ('/usr/lib/systemd/systemd-sysctl', '/lib/systemd/systemd-sysctl')
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$')
IFNAME_RE = re.compile(r'^[^/\s:]{1,15}$')
RP_FILTER_VALUES = {'loose': '2', 'off': '0'}


class Profile(object):
    """What a module built on this code is: its name, unit and record names, and whether it silences ARP."""

    def __init__(self, module_name, unit_prefix, state_file, arp, description, unit_order):
        self.module_name = module_name
        self.unit_prefix = unit_prefix
        self.state_file = state_file
        self.arp = arp
        self.description = description
        self.unit_order = unit_order


# A real server: VIPs on the loopback, never answered or announced on the wire; up before network.target, so
# services that bind to a VIP find it.
REALSERVER = Profile(
    'lvs.dr.lvs_dr_realserver', 'lvs-dr-realserver-', 'realserver-state.json', True,
    'LVS-DR real server %(name)s: ARP sysctls and VIPs on the loopback (lvs.dr)',
    [('After', 'systemd-sysctl.service network-pre.target'), ('Before', 'network.target network-online.target'),
     ('Wants', 'network-pre.target')])
# A director: VIPs on the interface facing the real servers, answered on the wire; after the network is configured
# (so the network manager does not flush them) and before the IPVS table is restored.
DIRECTOR = Profile(
    'lvs.dr.director_vips', 'lvs-dr-director-vips-', 'director-state.json', False,
    'LVS-DR director %(name)s: VIPs on %(interface)s (lvs.dr)',
    [('After', 'network.target'), ('Before', 'ipvsadm.service')])


def state_path(profile):
    return os.path.join(STATE_DIR, profile.state_file)


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
    for index, name in enumerate(params.get('arp_interfaces') or ()):
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


def plan(state, name, instance, live_sysctl, live_addresses, adopt=False):
    """Compute the actions that take the host from ``state`` (the shared record) to ``instance``.

    ``instance`` is ``{'interface', 'label', 'vips', 'sysctl'}`` or None for absent. ``live_sysctl`` maps
    slash keys to current values, ``live_addresses`` is a set of ``'interface ip/prefix'`` strings.
    Returns ``(added_state, final_state, actions)``: the record to write before acting (additions only, so a
    failure never loses an original value), the record to write afterwards, and the ordered actions
    ``('sysctl', key, value)``, ``('addr_add', interface, vip)``, ``('addr_del', interface, vip)``.
    With ``adopt``, wanted VIPs that already exist are recorded as this instance's own (removed when they leave it).
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
            if adopt:
                entry['preexisting'] = False
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


def sysctl_conf_content(name, values, profile=REALSERVER):
    header = [
        MANAGED_HEADER % profile.module_name,
        'LVS-DR real server "%s": never answer or announce ARP for the VIPs on the loopback.' % name,
        'Removed by lvs.dr.lvs_dr_realserver state=absent, which also restores the previous values.',
    ]
    return render_conf(values, header)


def unit_content(name, ip_argvs, systemd_sysctl, sysctl_path, profile=REALSERVER, interface='lo'):
    exec_start = []
    if systemd_sysctl and sysctl_path:
        exec_start.append([systemd_sysctl, sysctl_path])
    exec_start.extend(ip_argvs)
    if not exec_start:
        exec_start.append(['/bin/true'])
    return render_unit(
        description=profile.description % {'name': name, 'interface': interface},
        exec_start=exec_start,
        header_by=profile.module_name,
        documentation='https://docs.kernel.org/networking/ip-sysctl.html' if profile.arp else None,
        unit=profile.unit_order,
    )


def describe(addresses, sysctls):
    lines = ['addresses:']
    lines += ['  %s' % a for a in sorted(addresses)] or []
    if sysctls:
        lines.append('sysctl:')
        lines += ['  %s = %s' % (display_key(k), 'unset' if v is None else v) for k, v in sysctls.items()]
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- module

def load_state(module, profile=REALSERVER):
    path = state_path(profile)
    text = read_text(path)
    if text is None:
        return empty_state(), None
    try:
        state = json.loads(text)
        if not isinstance(state, dict) or state.get('version') != 1:
            raise ValueError('unknown format version')
    except ValueError as exc:
        module.fail_json(msg='%s is not a valid lvs.dr record (%s); fix or remove it' % (path, exc))
    for section in ('sysctl', 'addresses', 'instances'):
        state.setdefault(section, {})
    return state, text


def dump_state(state):
    return json.dumps(state, indent=2, sort_keys=True) + '\n'


def save_state(module, state, profile=REALSERVER):
    path = state_path(profile)
    if state['instances'] or state['sysctl'] or state['addresses']:
        write_text(module, path, dump_state(state), 0o644)
    else:
        remove_file(path)
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass  # not empty (other lvs.dr records) or already gone


def run_module(module, profile=REALSERVER):
    """Read, compare and act for one instance of ``profile``; exits the module."""
    params = module.params
    name = params['name']
    present = params['state'] == 'present'
    try:
        vips, label = validate(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if present:
        for option, names in (('interface', [params['interface']]), ('arp_interfaces', params.get('arp_interfaces') or [])):
            missing = [n for n in names if not interface_exists(n)]
            if missing:
                module.fail_json(msg='%s: no such interface on this host: %s' % (option, ', '.join(missing)))

    sysctl_path = os.path.join(SYSCTL_DIR, '90-lvs-dr-%s.conf' % name) if profile.arp else None
    unit_name = '%s%s.service' % (profile.unit_prefix, name)
    record = state_path(profile)
    ip = IpCommand(module)
    systemd = Systemd(module)
    systemd.require()

    # --- read
    state, state_text = load_state(module, profile)
    old = state['instances'].get(name)
    instance = None
    kept = []
    if present and not params.get('purge', True) and old is not None:
        if old['interface'] != params['interface']:
            module.fail_json(msg='purge: false cannot move instance "%s" from interface %s to %s, which would remove '
                                 'its VIPs from %s; run with purge: true to move it'
                                 % (name, old['interface'], params['interface'], old['interface']))
        kept = [vip for vip in old['vips'] if vip not in vips]
        vips = vips + kept
    if present:
        instance = {
            'interface': params['interface'], 'label': label, 'vips': vips,
            'sysctl': desired_sysctls(params['interface'], params['arp_interfaces'], params['rp_filter']) if profile.arp else {},
        }
    elif old is None and params['vips']:
        module.warn('No record of instance "%s" in %s: its VIPs and sysctls are left as they are; only its files are removed.'
                    % (name, record))
    all_addresses = ip.addresses()
    live_addresses = set(address_key(row['interface'], row['address']) for row in all_addresses)
    keys = list((instance or {}).get('sysctl', {})) + [k for k in (old or {}).get('sysctl', {}) if k not in (instance or {}).get('sysctl', {})]
    live_sysctl = dict((key, read_value(key)) for key in keys)
    if instance is not None:
        unknown = [display_key(k) for k in instance['sysctl'] if live_sysctl[k] is None]
        if unknown:
            module.fail_json(msg='the kernel has no sysctl %s (is IPv4 disabled on that interface?)' % ', '.join(unknown))
        for row in all_addresses:
            if profile.arp and row['address'] in vips and row['interface'] != params['interface']:
                module.warn('VIP %s is also configured on %s: this host will answer ARP for it there.' % (row['address'], row['interface']))

    # --- compare
    added_state, final_state, actions = plan(state, name, instance, live_sysctl, live_addresses,
                                             adopt=bool(params.get('adopt_existing')))
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
    sysctl_before = read_text(sysctl_path) if sysctl_path else None
    sysctl_after = sysctl_conf_content(name, instance['sysctl'], profile) if instance and sysctl_path else None
    unit_after = None
    if instance:
        argvs = [ip.addr_replace_argv(vip, instance['interface'], instance['label']) for vip in instance['vips']]
        unit_after = unit_content(name, argvs, systemd_sysctl, sysctl_path, profile, instance['interface'])
    final_text = dump_state(final_state) if (final_state['instances'] or final_state['sysctl'] or final_state['addresses']) else None

    changed = bool(actions) or sysctl_before != sysctl_after or final_text != state_text

    # --- act
    if not module.check_mode:
        if added_state['instances'] and dump_state(added_state) != state_text:
            save_state(module, added_state, profile)
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
            save_state(module, final_state, profile)

    relevant = set()
    for inst in (instance, old):
        if inst:
            relevant.update(address_key(inst['interface'], v) for v in inst['vips'])
    result = dict(
        changed=changed,
        vips=vips,
        addresses_added=addresses_added,
        addresses_removed=addresses_removed,
        unit=unit_name,
        state_file=record,
    )
    if 'purge' in params:
        result['vips_kept'] = kept
    if profile.arp:
        result.update(
            sysctl=dict((display_key(k), v) for k, v in (instance['sysctl'] if instance else {}).items()),
            sysctl_changes=sysctl_changes,
            sysctl_file=sysctl_path,
        )
    if module._diff:
        unit_path = os.path.join(SYSTEMD_UNIT_DIR, unit_name)
        result['diff'] = [
            {'before_header': 'live state', 'after_header': 'live state',
             'before': describe(relevant & live_addresses, live_sysctl),
             'after': describe(relevant & after_addresses, after_sysctl)},
        ]
        if sysctl_path:
            result['diff'].append({'before_header': sysctl_path, 'after_header': sysctl_path,
                                   'before': sysctl_before or '', 'after': sysctl_after or ''})
        result['diff'].append({'before_header': unit_path, 'after_header': unit_path,
                               'before': unit_before or '', 'after': unit_after or ''})
    return result


def director_module_spec():
    """lvs.dr.director_vips' argument spec and its constraints, as AnsibleModule takes them."""
    return dict(
        argument_spec=dict(
            name=dict(type='str', default='default'),
            vips=dict(type='list', elements='str'),
            interface=dict(type='str', required=True),
            label=dict(type='str'),
            adopt_existing=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            **lock_spec()
        ),
        required_if=[('state', 'present', ('vips',))],
    )


def build_director_module():
    return AnsibleModule(supports_check_mode=True, **director_module_spec())


def realserver_module_spec():
    """lvs.dr.lvs_dr_realserver's argument spec and its constraints, as AnsibleModule takes them."""
    return dict(
        argument_spec=dict(
            name=dict(type='str', default='default'),
            vips=dict(type='list', elements='str'),
            interface=dict(type='str', default='lo'),
            label=dict(type='str'),
            arp_interfaces=dict(type='list', elements='str', default=[]),
            rp_filter=dict(type='str', default='loose', choices=['loose', 'off', 'unchanged']),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            purge=dict(type='bool', default=True),
            **lock_spec()
        ),
        required_if=[('state', 'present', ('vips',))],
    )


def build_realserver_module():
    return AnsibleModule(supports_check_mode=True, **realserver_module_spec())
