# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller-side planner of the lvs.dr roles: director_services and the inventory in, what each host applies out.

This file is private to the collection (leading underscore): its API may change without notice. The filters
lvs.dr.director_plan and lvs.dr.realserver_plan are thin wrappers around ``director_plan()`` and ``realserver_plan()``.

Both roles resolve pools with the same code (``Planner``), so a real server holds exactly the VIPs of the services
whose pools the directors build with it. Every service and pool member is validated with the collection's IPVS model
(``module_utils/_ipvs_params.py`` and ``_ipvs_model.py``), so the controller rejects what the modules would reject,
naming the variable at fault. Nothing here is quadratic: every pool member is looked at once, and a real server tests
its membership of a group through its own group_names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from collections.abc import Mapping

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import DEFAULT_SCHEDULER, IpvsError, normalize_address
from ansible_collections.lvs.dr.plugins.module_utils._ipvs_params import (
    dest_from_params, service_from_params, service_identity_from_params,
)

# Keys of a director_services item that lvs.dr.ipvs_table takes as they are.
SERVICE_KEYS = ('protocol', 'virtual_address', 'vip', 'virtual_port', 'fwmark', 'family', 'scheduler',
                'scheduler_flags', 'persistence_timeout', 'persistence_netmask', 'one_packet', 'persistence_engine',
                'state')
IDENTITY_KEYS = ('protocol', 'virtual_address', 'vip', 'virtual_port', 'fwmark', 'family')
# Keys the roles read to build the pool; they never reach the module.
POOL_KEYS = ('realservers', 'realserver_group', 'realserver_weight', 'allow_empty_pool')
# Keys of a dict item of realservers: the destination options of lvs.dr.ipvs_table, plus host and mac.
MEMBER_DEST_KEYS = ('address', 'port', 'weight', 'forwarding_method', 'upper_threshold', 'lower_threshold')
MEMBER_KEYS = MEMBER_DEST_KEYS + ('host', 'mac', 'state')
# What a pool member can be asked to be (the host variable realserver_state, or state of a realservers item).
MEMBER_STATES = ('present', 'drained', 'absent')
DEFAULT_REALSERVER_GROUP = 'lvs_realservers'


def _fact_key(name):
    """The key of an interface in ansible_facts: setup turns '-' into '_' (and ':' into '_' in the list)."""
    return name.replace('-', '_')


def interface_facts(facts, name):
    """The facts of interface ``name`` (a mapping, empty when unknown)."""
    if not isinstance(facts, Mapping) or not name:
        return {}
    for key in (name, _fact_key(name), _fact_key(name).replace('.', '_')):
        value = facts.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


def interface_networks(iface):
    """(primary IPv4 address or None, [networks of every IPv4 and global IPv6 address]) of interface facts."""
    networks = []
    primary = None
    ipv4 = iface.get('ipv4')
    entries = []
    if isinstance(ipv4, Mapping) and ipv4.get('address'):
        primary = str(ipv4['address'])
        entries.append(ipv4)
    entries.extend(e for e in iface.get('ipv4_secondaries') or () if isinstance(e, Mapping))
    for entry in entries:
        mask = entry.get('prefix') or entry.get('netmask')
        if entry.get('address') and mask:
            try:
                networks.append(ipaddress.ip_interface(u'%s/%s' % (entry['address'], mask)).network)
            except ValueError:
                pass
    for entry in iface.get('ipv6') or ():
        if isinstance(entry, Mapping) and entry.get('scope', 'global') == 'global' and entry.get('address'):
            try:
                networks.append(ipaddress.ip_interface(u'%s/%s' % (entry['address'], entry.get('prefix', 128))).network)
            except ValueError:
                pass
    return primary, networks


def _addresses_of(iface):
    """Every address of interface facts, as text."""
    found = []
    ipv4 = iface.get('ipv4')
    if isinstance(ipv4, Mapping) and ipv4.get('address'):
        found.append(str(ipv4['address']))
    found.extend(str(e['address']) for e in iface.get('ipv4_secondaries') or () if isinstance(e, Mapping) and e.get('address'))
    found.extend(str(e['address']) for e in iface.get('ipv6') or () if isinstance(e, Mapping) and e.get('address'))
    return found


def mac_from_facts(facts, address):
    """The MAC of the interface that holds ``address`` in gathered facts, or None."""
    if not isinstance(facts, Mapping):
        return None
    default = facts.get('default_ipv4')
    if isinstance(default, Mapping) and default.get('address') == address and default.get('macaddress'):
        return str(default['macaddress']).lower()
    for name in facts.get('interfaces') or ():
        iface = interface_facts(facts, name)
        if iface.get('macaddress') and address in _addresses_of(iface):
            return str(iface['macaddress']).lower()
    return None


class Member(object):
    """A pool member as the inventory describes it: a host of the inventory or a bare address."""

    __slots__ = ('host', 'address', 'mac', 'weight', 'facts_missing', 'state')

    def __init__(self, host=None, address=None, mac=None, weight=None, facts_missing=False, state=None):
        self.host = host
        self.address = address
        self.mac = mac
        self.weight = weight
        self.facts_missing = facts_missing
        self.state = state


class Planner(object):
    """Resolves director_services against one view of the inventory.

    ``groups`` maps group names to host names; ``hostvars`` maps host names to their variables (Ansible's
    ``hostvars``, whose values are templated on access). Each host's variables are read once.
    """

    def __init__(self, groups, hostvars, realserver_group=DEFAULT_REALSERVER_GROUP):
        self.groups = groups if isinstance(groups, Mapping) else {}
        self.hostvars = hostvars if hostvars is not None else {}
        self.realserver_group = realserver_group or DEFAULT_REALSERVER_GROUP
        self._hosts = {}

    def is_host(self, name):
        try:
            return name in self.hostvars
        except TypeError:
            return False

    def host(self, name):
        """The Member for inventory host ``name`` (its realserver_* variables and facts), read once."""
        member = self._hosts.get(name)
        if member is None:
            hv = self.hostvars[name]
            facts = hv.get('ansible_facts') or {}
            default = facts.get('default_ipv4') if isinstance(facts, Mapping) else None
            address = hv.get('realserver_address') or (default.get('address') if isinstance(default, Mapping) else None)
            address = str(address) if address else None
            mac = hv.get('realserver_mac') or (mac_from_facts(facts, address) if address else None)
            member = Member(host=name, address=address, mac=str(mac).lower() if mac else None,
                            weight=hv.get('realserver_weight'), facts_missing=not facts,
                            state=hv.get('realserver_state'))
            self._hosts[name] = member
        return member

    def group_hosts(self, name):
        return list(self.groups.get(name) or ())

    # ---------------------------------------------------------------------------------------------- one service

    def service(self, index, item, var='director_services'):
        """Validate item ``index`` of ``var``; return (label, Service model or None, problems)."""
        where = '%s[%d]' % (var, index)
        if not isinstance(item, Mapping):
            return where, None, ['%s: each service is a dict, got %r' % (where, item)]
        unknown = sorted(str(key) for key in item if key not in SERVICE_KEYS + POOL_KEYS)
        if unknown:
            return where, None, ['%s: unknown key%s %s (known: %s)' % (
                where, 's' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(SERVICE_KEYS + POOL_KEYS))]
        params = dict((key, item[key]) for key in SERVICE_KEYS if key in item)
        if 'vip' in params and 'virtual_address' not in params:
            params['virtual_address'] = params.pop('vip')
        state = params.get('state', 'present')
        if state not in ('present', 'absent'):
            return where, None, ['%s.state: must be present or absent, got %r' % (where, state)]
        try:
            if state == 'absent':
                svc = service_identity_from_params(params, where + '.')
            else:
                svc = service_from_params(params, where + '.')
        except IpvsError as exc:
            return where, None, [str(exc)]
        return '%s (%s)' % (where, svc.label()), svc, []

    def pool_source(self, label, item, default_group=None):
        """Where the pool of a service comes from, validated without reading any host's variables.

        Returns (group, entries, problems): ``group`` is the inventory group that is the pool, or None when the item
        lists its members; ``entries`` are the listed members as (inventory host name or None, address or None,
        options from the item).
        """
        if 'realservers' not in item:
            group = item.get('realserver_group') or default_group or self.realserver_group
            if group not in self.groups:
                known = sorted(name for name in self.groups if name not in ('all', 'ungrouped'))
                return None, [], ['%s: realserver_group %r is not a group of the inventory (groups: %s); refusing to '
                                  'treat it as an empty pool, which would remove every real server of the service'
                                  % (label, group, ', '.join(known) or 'none')]
            if not self.groups.get(group) and not item.get('allow_empty_pool'):
                return group, [], ['%s: realserver_group %r has no hosts; refusing to empty the pool. Set '
                                   'allow_empty_pool: true on the service if that is intended' % (label, group)]
            return group, [], []
        raw = item['realservers']
        if raw is None:
            raw = []
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
            return None, [], ['%s: realservers must be a list, got %r' % (label, raw)]
        entries, problems = [], []
        for position, entry in enumerate(raw):
            member, problem = self._explicit_member(label, position, entry)
            if problem:
                problems.append(problem)
            else:
                entries.append(member)
        if not raw and not item.get('allow_empty_pool'):
            problems.append('%s: realservers is empty; a service without real servers drops every connection. '
                            'Set allow_empty_pool: true on the service if that is intended' % label)
        return None, entries, problems

    def pool(self, label, item, default_group=None):
        """The members of a service's pool: ([(Member, options from the item)], problems)."""
        group, entries, problems = self.pool_source(label, item, default_group)
        if group is not None:
            return [(self.host(name), {}) for name in self.group_hosts(group)], problems
        return [(self.host(host) if host is not None else Member(address=address), options)
                for host, address, options in entries], problems

    def _explicit_member(self, label, position, entry):
        """One listed pool member: ((host, address, options), None) or (None, problem)."""
        where = '%s realservers[%d]' % (label, position)
        if isinstance(entry, Mapping):
            unknown = sorted(str(key) for key in entry if key not in MEMBER_KEYS)
            if unknown:
                return None, '%s: unknown key%s %s (known: %s)' % (
                    where, 's' if len(unknown) > 1 else '', ', '.join(unknown), ', '.join(MEMBER_KEYS))
            options = dict((key, entry[key]) for key in MEMBER_DEST_KEYS + ('mac', 'state') if key in entry)
            if entry.get('host') is not None:
                if not self.is_host(entry['host']):
                    return None, '%s: host %r is not in the inventory' % (where, entry['host'])
                return (entry['host'], None, options), None
            if entry.get('address') in (None, ''):
                return None, '%s: give host (an inventory host) or address' % where
            return (None, str(entry['address']), options), None
        if isinstance(entry, str) and entry:
            if self.is_host(entry):
                return (entry, None, {}), None
            try:
                normalize_address(entry, 'address')
            except IpvsError:
                return None, ('%s: %r is neither a host of the inventory nor an IP address' % (where, entry))
            return (None, entry, {}), None
        return None, '%s: expected an inventory host, an address or a dict, got %r' % (where, entry)


def _identity(item):
    """A service's identity as lvs.dr.ipvs_realserver takes it (``vip`` given as ``virtual_address``)."""
    identity = dict((key, item[key]) for key in IDENTITY_KEYS if key in item)
    if 'vip' in identity:
        identity['virtual_address'] = identity.pop('vip')
    return identity


def _pool_member_name(member):
    return member.host or member.address


def director_plan(services, groups, hostvars, facts=None, interface='', realserver_group=DEFAULT_REALSERVER_GROUP,
                  kernel_modules=('ip_vs',), manage_vips=True, static_arp=True):
    """What a director applies.

    Returns a dict: ``services`` (lvs.dr.ipvs_table input: present services with their pools, absent ones by
    identity), ``vips`` (to place on ``interface``), ``arp`` (static entries), ``modules`` (kernel modules),
    ``problems`` (each a sentence; the role fails on any), ``unresolved_hosts`` (pool members whose address or
    MAC is unknown because their facts were never gathered) and ``drain``: the members taken out of service by
    their ``realserver_state`` (or the ``state`` of their realservers item), each as the options of
    lvs.dr.ipvs_realserver (service identity, ``address``, ``state``: ``drained`` stays in the pool at weight 0,
    ``absent`` leaves it once drained).
    """
    planner = Planner(groups, hostvars, realserver_group)
    problems = []
    iface = interface_facts(facts, interface)
    own_address, networks = interface_networks(iface)
    if not interface or not own_address:
        problems.append('director_interface %s has no IPv4 address in the gathered facts of this director'
                        % (repr(str(interface)) if interface else '(empty)'))
    modules = []
    for name in list(kernel_modules or ()) + ['ip_vs']:
        if name not in modules:
            modules.append(str(name))
    if services is None or isinstance(services, (str, bytes, Mapping)) or not isinstance(services, (list, tuple)):
        return dict(services=[], vips=[], arp=[], modules=modules, unresolved_hosts=[], drain=[],
                    problems=problems + ['director_services must be a list of services, got %r' % (services,)])
    if not services:
        problems.append('director_services is empty: there is nothing to serve. Declare the services (for example '
                        'in group_vars of the directors); to remove services, list them with state: absent')

    result_services, vips, arp, unresolved, drains = [], [], {}, [], []
    seen, present_vips, rs_addresses = {}, set(), {}
    for index, item in enumerate(services):
        label, svc, bad = planner.service(index, item)
        if bad:
            problems.extend(bad)
            continue
        if svc.key in seen:
            problems.append('%s: the same service as director_services[%d]' % (label, seen[svc.key]))
            continue
        seen[svc.key] = index
        if item.get('state', 'present') == 'absent':
            entry = dict((key, item[key]) for key in IDENTITY_KEYS if key in item)
            entry['state'] = 'absent'
            result_services.append(entry)
            continue
        module = 'ip_vs_%s' % (item.get('scheduler') or DEFAULT_SCHEDULER)
        if module not in modules:
            modules.append(module)
        if svc.address is not None:
            present_vips.add(svc.address)
            if manage_vips and svc.address != own_address and svc.address not in vips:
                vips.append(svc.address)
        members, bad = planner.pool(label, item)
        problems.extend(bad)
        pool = []
        service_weight = item.get('realserver_weight')
        identity = _identity(item)
        taken_out = 0
        for member, options in members:
            name = _pool_member_name(member)
            state = options.get('state') or member.state or 'present'
            if state not in MEMBER_STATES:
                problems.append('%s: real server %s: %s must be present, drained or absent, got %r'
                                % (label, name, 'state' if 'state' in options else 'realserver_state', state))
                continue
            address = options.get('address') or member.address
            if not address:
                if member.facts_missing and member.host not in unresolved:
                    unresolved.append(member.host)
                problems.append('%s: real server %s has no address: gather its facts (lvs.dr.site gathers them in its '
                                'first play) or set its realserver_address' % (label, name))
                continue
            weight = options.get('weight')
            if weight is None:
                weight = member.weight
            if weight is None:
                weight = service_weight
            params = dict((key, options[key]) for key in MEMBER_DEST_KEYS if key in options)
            params['address'] = address
            params['weight'] = 0 if state == 'drained' else 1 if weight is None else weight
            try:
                dest = dest_from_params(svc, params, '%s real server %s: ' % (label, name))
            except IpvsError as exc:
                problems.append(str(exc))
                continue
            if dest.key in svc.dests:
                problems.append('%s: real server %s (%s) is in the pool twice' % (label, name, dest.endpoint()))
                continue
            if state != 'present':
                taken_out += 1
                drain = dict(identity, address=dest.address, state=state)
                if 'port' in params:
                    drain['port'] = dest.port
                if item.get('allow_empty_pool'):
                    drain['drain_last'] = True  # the service may take no new connection: drain even the last one
                drains.append(drain)
                if state == 'absent':
                    continue
            svc.add_dest(dest)
            rs_addresses.setdefault(dest.address, name)
            entry = dict(address=dest.address, weight=dest.weight)
            for key in ('port', 'forwarding_method', 'upper_threshold', 'lower_threshold'):
                if key in params:
                    entry[key] = getattr(dest, key)
            pool.append(entry)
            if dest.forwarding_method != 'route':
                continue
            if networks and not any(ipaddress.ip_address(dest.address) in net for net in networks
                                    if net.version == (6 if ':' in dest.address else 4)):
                problems.append('%s: real server %s (%s) is not on the segment of the director (%s on %s); direct '
                                'routing needs one L2 segment' % (label, name, dest.address,
                                                                  ', '.join(str(n) for n in networks), interface))
            if static_arp and ':' not in dest.address and dest.address not in arp:
                mac = options.get('mac') or member.mac
                if not mac:
                    if member.facts_missing and member.host and member.host not in unresolved:
                        unresolved.append(member.host)
                    problems.append('%s: no MAC for real server %s (gather its facts, set its realserver_mac or the '
                                    'mac of its realservers item, or director_static_arp: false)' % (label, name))
                else:
                    arp[dest.address] = dict(address=dest.address, mac=str(mac).lower(), interface=interface)
        if taken_out and taken_out == len(members) and not item.get('allow_empty_pool'):
            problems.append('%s: every real server of the pool is drained or absent (realserver_state); the service '
                            'would take no new connection. Set allow_empty_pool: true on the service if that is '
                            'intended' % label)
        entry = dict((key, item[key]) for key in SERVICE_KEYS if key in item)
        if 'vip' in entry:
            entry['virtual_address'] = entry.pop('vip')
        entry['realservers'] = pool
        result_services.append(entry)
    for address in sorted(set(rs_addresses) & present_vips):
        problems.append('VIP %s is also the address of real server %s; a real server holds the VIP on lo and cannot '
                        'be reached at it' % (address, rs_addresses[address]))
    return dict(services=result_services, vips=vips, arp=list(arp.values()), modules=modules, problems=problems,
                unresolved_hosts=unresolved, drain=drains)


def realserver_plan(host, groups, hostvars, director_group='lvs_directors'):
    """The VIPs real server ``host`` holds: those of every present service, of every director of
    ``director_group``, whose pool holds it (by group, inventory host name or address).

    Returns a dict: ``vips``, ``directors`` (those whose director_services were read) and ``problems``. A pool that
    the directors could not build (an unknown group, an empty pool, an unknown host name) is a problem here too, and
    so is a director whose director_services are not visible: the real server would otherwise drop VIPs it still
    serves.
    """
    problems = []
    groups = groups if isinstance(groups, Mapping) else {}
    if director_group not in groups:
        return dict(vips=[], directors=[], problems=[
            'realserver_director_group %r is not a group of the inventory: the VIPs of this real server cannot be '
            'derived, and it would lose every VIP. Fix the group name or set realserver_vips' % (director_group,)])
    directors = list(groups.get(director_group) or ())
    if not directors:
        problems.append('realserver_director_group %r has no hosts: the VIPs of this real server cannot be derived, '
                        'and it would lose every VIP. Set realserver_vips to give them explicitly' % (director_group,))
    me = None
    my_groups = set(hostvars[host].get('group_names') or ()) | set(['all'])
    vips, read = [], []
    for director in directors:
        dvars = hostvars[director]
        services = dvars.get('director_services')
        if services is None:
            problems.append('director %s (group %s) has no director_services visible from this real server: define '
                            'them in the inventory (group_vars or host_vars of the directors) rather than in play '
                            'or role variables, or set realserver_vips; refusing to derive VIPs that could remove '
                            'ones it still serves' % (director, director_group))
            continue
        if isinstance(services, (str, bytes, Mapping)) or not isinstance(services, (list, tuple)):
            problems.append('director %s: director_services must be a list, got %r' % (director, services))
            continue
        if not services:
            problems.append('director %s: director_services is empty; refusing to derive no VIPs from it, which would '
                            'remove the VIPs of this real server (remove services with state: absent)' % director)
            continue
        read.append(director)
        planner = Planner(groups, hostvars, dvars.get('director_realserver_group') or DEFAULT_REALSERVER_GROUP)
        if me is None:
            me = planner.host(host)
        for index, item in enumerate(services):
            label, svc, bad = planner.service(index, item)
            if bad:
                problems.extend('director %s: %s' % (director, p) for p in bad)
                continue
            if item.get('state', 'present') == 'absent' or svc.address is None:
                continue
            if _holds(planner, label, item, host, me, my_groups, director, problems) and svc.address not in vips:
                vips.append(svc.address)
    if me is not None and me.address:
        try:
            own = normalize_address(me.address, 'realserver_address')[0]
        except IpvsError as exc:
            problems.append(str(exc))
            own = None
        if own in vips:
            problems.append('the address %s of %s is also a VIP of a service whose pool holds it; a real server holds '
                            'the VIP on lo, so the director could not forward to it. Give the service another VIP or '
                            'take this host out of its pool' % (own, host))
    return dict(vips=vips, directors=read, problems=problems)


def _holds(planner, label, item, host, me, my_groups, director, problems):
    """Whether the pool of service ``item`` holds ``host`` (by group, inventory host name or address), without
    resolving the other members; problems of the pool itself are recorded."""
    group, entries, bad = planner.pool_source(label, item)
    problems.extend('director %s: %s' % (director, problem) for problem in bad)
    if group is not None:
        return group in my_groups and me.state != 'absent'
    return any((name == host or (name is None and me.address and address == me.address))
               and (options.get('state') or me.state) != 'absent'
               for name, address, options in entries)


def pool_entries(plan, address):
    """Where real server ``address`` is in a director's plan (from director_plan()): one entry per present service
    whose pool holds it, as the options of lvs.dr.ipvs_realserver (the service's identity, then the destination as
    the plan sets it: address, weight, and port, forwarding_method and thresholds when given). Raises IpvsError for
    an address that is not one."""
    wanted = normalize_address(address, 'address')[0]
    entries = []
    for service in (plan or {}).get('services') or ():
        if service.get('state', 'present') == 'absent':
            continue
        for member in service.get('realservers') or ():
            if member.get('address') == wanted:
                entry = _identity(service)
                entry.update(member)
                entries.append(entry)
    return entries


def with_draining(plan, draining):
    """A director's plan (from director_plan()) in which the real servers being drained stay, at weight 0.

    ``draining``: the ``drain.realservers`` that lvs.dr.ipvs_table reports (check mode) for the live table - each with
    its ``virtual_service`` and ``destination`` as the table holds them. A real server whose service stays is added
    to that service's pool at weight 0; one whose service leaves (``state: absent``, or not in the plan) keeps that
    service, as the table holds it, with its draining real servers alone. A tool that owns the table through its own
    configuration (keepalived) renders this plan first, so the leaving real servers take no new connection while
    the connections they have end, then the plan itself, which removes them. The plan is not changed.
    """
    plan = dict(plan or {})
    services = [dict(item) for item in plan.get('services') or ()]
    where = {}
    for index, item in enumerate(services):
        try:
            where[service_identity_from_params(_identity(item)).key] = index
        except IpvsError:
            continue
    for entry in draining or ():
        service = dict((key, value) for key, value in (entry.get('virtual_service') or {}).items()
                       if key in SERVICE_KEYS)
        destination = dict((key, value) for key, value in (entry.get('destination') or {}).items()
                           if key in MEMBER_DEST_KEYS)
        destination['weight'] = 0
        key = service_identity_from_params(_identity(service)).key
        index = where.get(key)
        if index is None:
            services.append(dict(service, realservers=[]))
            index = where[key] = len(services) - 1
        elif services[index].get('state', 'present') == 'absent':
            services[index] = dict(service, realservers=[])
        pool = [dict(member) for member in services[index].get('realservers') or ()]
        if not any(member.get('address') == destination.get('address') for member in pool):
            pool.append(destination)
        services[index]['realservers'] = pool
    plan['services'] = services
    return plan
