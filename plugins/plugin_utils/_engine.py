# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which engine owns a director's IPVS table and VIPs, and the VRRP settings of a keepalived director.

Private to the collection (leading underscore); the filter lvs.dr.director_engine wraps ``director_engine()``.

The director role runs one engine per director: ``ipvsadm`` (lvs.dr.ipvs_table, the rules file and its restore unit,
lvs.dr.director_vips) or ``keepalived`` (keepalived.conf rendered by lvs.dr.keepalived_config; keepalived places the
VIPs and fills the table). For keepalived, this module completes the ``director_ha`` settings from the inventory:

- ``priority`` from the director's ``director_ha_priority`` host variable (different on each director);
- ``interface`` from ``director_interface``;
- ``unicast_src_ip``: the director's own address on that interface, from its facts;
- ``unicast_peers``: the addresses of the OTHER hosts of the directors group on their ``director_interface`` (or this
  director's interface name when they set none), from their facts.

Values given in ``director_ha`` are kept. Nothing is raised: the result carries every problem, each naming the
variable, and the hosts whose facts are missing (the role gathers them and asks again).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.lvs.dr.plugins.plugin_utils._plan import interface_facts

ENGINES = ('ipvsadm', 'keepalived')
DEFAULT_ENGINE = 'ipvsadm'
DEFAULT_GROUP = 'lvs_directors'


def _address_on(facts, interface, family):
    """This host's address of ``family`` on ``interface`` from its facts (IPv6: the first global one), or None."""
    iface = interface_facts(facts, interface)
    if family == 'ipv6':
        for entry in iface.get('ipv6') or ():
            if isinstance(entry, Mapping) and entry.get('scope', 'global') == 'global' and entry.get('address'):
                return str(entry['address'])
        return None
    ipv4 = iface.get('ipv4')
    if isinstance(ipv4, Mapping) and ipv4.get('address'):
        return str(ipv4['address'])
    return None


def _family(plan):
    """The family of the VIPs of the plan's present services (the VRRP instance holds one family)."""
    services = plan.get('services') if isinstance(plan, Mapping) else plan
    for item in services or ():
        if isinstance(item, Mapping) and item.get('state', 'present') != 'absent':
            address = item.get('virtual_address', item.get('vip'))
            if address is not None:
                return 'ipv6' if ':' in str(address) else 'ipv4'
    return 'ipv4'


def _priority(value, where):
    """The priority as an int, or (None, problem)."""
    if isinstance(value, bool):
        return None, '%s: %r is not an integer' % (where, value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None, '%s: %r is not an integer' % (where, value)
    if not 1 <= number <= 254:
        return None, '%s: %d is out of range 1..254' % (where, number)
    return number, None


def director_engine(engine, ha=None, plan=None, hostname='', groups=None, hostvars=None, facts=None, interface='',
                    priority=None, group=DEFAULT_GROUP):
    """The engine of one director and, for keepalived, its completed VRRP settings.

    ``engine``: the director's ``director_engine``. ``ha``: its ``director_ha`` dict. ``plan``: its director plan (the
    VIPs' family is read from it). ``hostname``: the director's inventory name. ``groups``/``hostvars``: Ansible's.
    ``facts``: the director's facts. ``interface``: its ``director_interface``. ``priority``: its
    ``director_ha_priority``. ``group``: the inventory group of the directors that share the VIPs
    (``director_ha_group``).

    Returns a dict: ``engine``, ``ha`` (the settings for lvs.dr.keepalived_config; empty for ipvsadm), ``peers``
    (inventory names of the other directors), ``problems`` and ``unresolved_hosts`` (directors without facts).
    """
    result = dict(engine=engine, ha={}, peers=[], problems=[], unresolved_hosts=[])
    problems = result['problems']
    if engine not in ENGINES:
        problems.append('director_engine: %r is not an engine (known: %s)' % (engine, ', '.join(ENGINES)))
        return result
    groups = groups if isinstance(groups, Mapping) else {}
    hostvars = hostvars if hostvars is not None else {}
    if engine != 'keepalived':
        return result

    if ha is None:
        ha = {}
    if not isinstance(ha, Mapping):
        problems.append('director_ha must be a dict, got %r' % (ha,))
        return result
    ha = dict(ha)
    if priority is not None and ha.get('priority') is not None:
        problems.append('director_ha.priority and director_ha_priority are both set: give the priority once, as the '
                        'host variable director_ha_priority of each director')
    elif priority is not None:
        ha['priority'], problem = _priority(priority, 'director_ha_priority')
        if problem:
            problems.append(problem)
    elif ha.get('priority') is None:
        problems.append('director_ha_priority is required with director_engine keepalived: set it in the host_vars of '
                        'each director (1-254, a different value on each; the highest holds the VIPs)')
    if ha.get('interface') in (None, ''):
        ha['interface'] = interface
    family = _family(plan)

    if group not in groups:
        problems.append('director_ha_group %r is not a group of the inventory: the unicast peers are its other hosts. '
                        'Fix the group name or give director_ha.unicast_peers' % (group,))
        members = []
    else:
        members = list(groups.get(group) or ())
        if hostname and hostname not in members:
            problems.append('director_ha_group %r does not hold this director (%s): its VRRP peers would be wrong'
                            % (group, hostname))
    peers = [name for name in members if name != hostname]
    result['peers'] = peers

    own = ha.get('priority')
    for peer in peers:
        peer_vars = hostvars[peer]
        peer_engine = peer_vars.get('director_engine')
        if peer_engine is not None and peer_engine != engine:
            problems.append('director %s of group %s has director_engine %s, this one %s: the directors that share '
                            'the VIPs must run one engine (both would place the VIPs and fill the table)'
                            % (peer, group, peer_engine, engine))
        peer_priority = peer_vars.get('director_ha_priority')
        if own is not None and peer_priority is not None and str(peer_priority) == str(own):
            problems.append('director_ha_priority: %s is also the priority of director %s; each director of group %s '
                            'needs its own' % (own, peer, group))

    if 'unicast_peers' not in ha:
        addresses = []
        for peer in peers:
            peer_vars = hostvars[peer]
            peer_facts = peer_vars.get('ansible_facts') or {}
            peer_interface = peer_vars.get('director_interface') or ha['interface']
            if not peer_facts:
                result['unresolved_hosts'].append(peer)
                problems.append('director %s (group %s) has no facts: its address on %s, a unicast VRRP peer, is '
                                'unknown. Gather its facts (lvs.dr.site does) or give director_ha.unicast_peers'
                                % (peer, group, peer_interface))
                continue
            address = _address_on(peer_facts, peer_interface, family)
            if address is None:
                problems.append('director %s (group %s) has no %s address on %s in its facts: give its '
                                'director_interface or director_ha.unicast_peers' % (peer, group, family, peer_interface))
            elif address not in addresses:
                addresses.append(address)
        ha['unicast_peers'] = addresses
    if ha.get('unicast_src_ip') is None and ha['unicast_peers']:
        address = _address_on(facts or {}, ha['interface'], family)
        if address is None:
            problems.append('this director has no %s address on %s in its facts: the source of its VRRP adverts is '
                            'unknown. Fix director_interface or give director_ha.unicast_src_ip'
                            % (family, ha['interface'] or "(director_interface is empty)"))
        else:
            ha['unicast_src_ip'] = address
    result['ha'] = ha
    return result
