# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The desired IPVS state from module parameters, and the argument specs shared by the IPVS modules of lvs.dr.

Not a public API: may change without notice. ``service_from_params()``, ``dest_from_params()`` and their kin build
the model of ``_ipvs_model`` from module-style options and validate it, raising ``IpvsError`` that names the option
at fault; the specs are documented by the lvs.dr.ipvs doc fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import (
    DEFAULT_SCHEDULER, FORWARDING_METHODS, MAX_FWMARK, MAX_THRESHOLD, MAX_TIMEOUT, MAX_WEIGHT, PERSISTENCE_ENGINES,
    PROTOCOLS, SCHEDULER_FLAGS, SCHEDULERS, Dest, IpvsError, Service, _int_in_range, normalize_address,
    normalize_flags, normalize_netmask,
)


# --------------------------------------------------------------------------------------------------------------------
# Desired state from module parameters
# --------------------------------------------------------------------------------------------------------------------

def service_identity_from_params(params, prefix=''):
    """Build and validate the identity of a Service (protocol, address and port, or firewall mark) from parameters.

    ``prefix`` is prepended to option names in error messages (for instance ``services[2].``).
    """
    def opt(name):
        return prefix + name

    fwmark = params.get('fwmark')
    if fwmark is not None:
        for name in ('virtual_address', 'virtual_port'):
            if params.get(name) is not None:
                raise IpvsError('%s and %s are mutually exclusive: a firewall-mark service has no address or port'
                                % (opt('fwmark'), opt(name)), opt(name))
        fwmark = _int_in_range(fwmark, 1, MAX_FWMARK, opt('fwmark'))
        return Service(protocol='fwmark', fwmark=fwmark, family=params.get('family') or 'ipv4')
    if params.get('virtual_address') is None:
        raise IpvsError('one of %s or %s is required' % (opt('virtual_address'), opt('fwmark')),
                        opt('virtual_address'))
    if params.get('virtual_port') is None:
        raise IpvsError('%s is required with %s' % (opt('virtual_port'), opt('virtual_address')),
                        opt('virtual_port'))
    address, family = normalize_address(params['virtual_address'], opt('virtual_address'))
    if params.get('family') and params['family'] != family:
        raise IpvsError('%s is %s but %s says %s' % (opt('virtual_address'), family, opt('family'),
                                                     params['family']), opt('family'))
    protocol = params.get('protocol') or 'tcp'
    if protocol not in PROTOCOLS:
        raise IpvsError('%s must be one of %s, got %r' % (opt('protocol'), ', '.join(PROTOCOLS), protocol),
                        opt('protocol'))
    port = _int_in_range(params['virtual_port'], 0, 65535, opt('virtual_port'))
    return Service(protocol=protocol, address=address, port=port, family=family)


def service_from_params(params, prefix=''):
    """Build and validate a Service (without destinations) from module-style parameters."""
    def opt(name):
        return prefix + name

    svc = service_identity_from_params(params, prefix)
    scheduler = params.get('scheduler') or DEFAULT_SCHEDULER
    if scheduler not in SCHEDULERS:
        raise IpvsError('%s: unknown scheduler %r (known: %s)' % (opt('scheduler'), scheduler, ', '.join(SCHEDULERS)),
                        opt('scheduler'))
    svc.scheduler = scheduler
    svc.scheduler_flags = normalize_flags(params.get('scheduler_flags'), scheduler, opt('scheduler_flags'))
    timeout = params.get('persistence_timeout') or 0
    svc.persistence_timeout = _int_in_range(timeout, 0, MAX_TIMEOUT, opt('persistence_timeout'))
    if params.get('persistence_netmask') not in (None, ''):
        if not svc.persistence_timeout:
            raise IpvsError('%s needs %s: the netmask is the granularity of persistence'
                            % (opt('persistence_netmask'), opt('persistence_timeout')), opt('persistence_netmask'))
        svc.persistence_netmask = normalize_netmask(params['persistence_netmask'], svc.family,
                                                    opt('persistence_netmask'))
    engine = params.get('persistence_engine')
    if engine:
        if engine not in PERSISTENCE_ENGINES:
            raise IpvsError('%s: unknown persistence engine %r (known: %s)'
                            % (opt('persistence_engine'), engine, ', '.join(PERSISTENCE_ENGINES)),
                            opt('persistence_engine'))
        if not svc.persistence_timeout:
            raise IpvsError('%s needs %s' % (opt('persistence_engine'), opt('persistence_timeout')),
                            opt('persistence_engine'))
        svc.persistence_engine = engine
    svc.one_packet = bool(params.get('one_packet'))
    if svc.one_packet and svc.protocol != 'udp' and not svc.fwmark:
        raise IpvsError('%s is only for UDP (or firewall-mark) services, not %s'
                        % (opt('one_packet'), svc.protocol), opt('one_packet'))
    if not svc.fwmark and svc.port == 0 and not svc.persistence_timeout:
        raise IpvsError('%s is 0 (any port), which the kernel only accepts for a persistent service: set %s'
                        % (opt('virtual_port'), opt('persistence_timeout')), opt('virtual_port'))
    return svc


def dest_from_params(svc, params, prefix=''):
    """Build and validate one destination of ``svc`` from module-style parameters."""
    def opt(name):
        return prefix + name

    address, family = normalize_address(params.get('address'), opt('address'))
    if family != svc.family:
        raise IpvsError('%s %s is %s but the service %s is %s: a service and its real servers must be of one '
                        'address family' % (opt('address'), address, family, svc.label(), svc.family), opt('address'))
    method = params.get('forwarding_method') or 'route'
    if method not in FORWARDING_METHODS:
        raise IpvsError('%s must be one of %s, got %r' % (opt('forwarding_method'), ', '.join(FORWARDING_METHODS),
                                                          method), opt('forwarding_method'))
    default_port = 0 if svc.fwmark else svc.port
    port = params.get('port')
    port = default_port if port is None else _int_in_range(port, 0, 65535, opt('port'))
    if not svc.fwmark and method in ('route', 'tunnel') and port != svc.port:
        raise IpvsError('%s %d differs from the service port %d: %s forwarding cannot remap ports (the packet '
                        'reaches the real server unchanged); use the service port or forwarding_method=masq'
                        % (opt('port'), port, svc.port, 'direct-routing' if method == 'route' else 'tunnel'),
                        opt('port'))
    weight = params.get('weight')
    weight = 1 if weight is None else _int_in_range(weight, 0, MAX_WEIGHT, opt('weight'))
    upper = params.get('upper_threshold') or 0
    lower = params.get('lower_threshold') or 0
    upper = _int_in_range(upper, 0, MAX_THRESHOLD, opt('upper_threshold'))
    lower = _int_in_range(lower, 0, MAX_THRESHOLD, opt('lower_threshold'))
    if lower > upper:
        detail = ' (no upper threshold)' if not upper else ''
        raise IpvsError('%s %d is above %s %d%s' % (opt('lower_threshold'), lower, opt('upper_threshold'), upper,
                                                    detail), opt('lower_threshold'))
    return Dest(address, port, method, weight, upper, lower)


def add_dests_from_params(svc, realservers, prefix):
    for index, rs in enumerate(realservers or ()):
        dest = dest_from_params(svc, rs, '%srealservers[%d].' % (prefix, index))
        if dest.key in svc.dests:
            raise IpvsError('%srealservers[%d]: real server %s is listed twice' % (prefix, index, dest.endpoint()),
                            '%srealservers' % prefix)
        svc.add_dest(dest)


# --------------------------------------------------------------------------------------------------------------------
# Argument specs shared by the modules (documented by the lvs.dr.ipvs doc fragment)
# --------------------------------------------------------------------------------------------------------------------

def service_identity_spec():
    return dict(
        protocol=dict(type='str', choices=list(PROTOCOLS)),
        virtual_address=dict(type='str', aliases=['vip']),
        virtual_port=dict(type='int'),
        fwmark=dict(type='int'),
        family=dict(type='str', choices=['ipv4', 'ipv6']),
    )


def service_spec():
    spec = service_identity_spec()
    spec.update(
        scheduler=dict(type='str', default=DEFAULT_SCHEDULER, choices=list(SCHEDULERS)),
        scheduler_flags=dict(type='list', elements='str', default=[], choices=list(SCHEDULER_FLAGS)),
        persistence_timeout=dict(type='int', default=0),
        persistence_netmask=dict(type='str'),
        one_packet=dict(type='bool', default=False),
        persistence_engine=dict(type='str', choices=list(PERSISTENCE_ENGINES)),
    )
    return spec


def drain_timing_spec():
    """drain_timeout and drain_poll_interval, shared by the modules that drain."""
    return dict(drain_timeout=dict(type='int', default=300), drain_poll_interval=dict(type='float', default=1.0))


def validate_drain_timing(params):
    """Raise IpvsError naming drain_timeout or drain_poll_interval when it is out of range."""
    if params['drain_timeout'] < 0:
        raise IpvsError('drain_timeout: must be 0 or more seconds, got %d' % params['drain_timeout'], 'drain_timeout')
    if not 0.1 <= params['drain_poll_interval'] <= 3600:
        raise IpvsError('drain_poll_interval: must be between 0.1 and 3600 seconds, got %s'
                        % params['drain_poll_interval'], 'drain_poll_interval')


def realserver_spec():
    return dict(
        address=dict(type='str', required=True),
        port=dict(type='int'),
        weight=dict(type='int', default=1),
        forwarding_method=dict(type='str', default='route', choices=list(FORWARDING_METHODS)),
        upper_threshold=dict(type='int', default=0),
        lower_threshold=dict(type='int', default=0),
    )


SERVICE_CONSTRAINTS = dict(
    mutually_exclusive=[('fwmark', 'virtual_address'), ('fwmark', 'virtual_port'), ('fwmark', 'protocol')],
    required_one_of=[('fwmark', 'virtual_address')],
    required_together=[('virtual_address', 'virtual_port')],
)


def fail_invalid(module, exc):
    """Report invalid input before anything was read or changed."""
    module.fail_json(msg=str(exc), option=exc.option)
