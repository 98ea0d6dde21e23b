# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: keepalived_config
short_description: keepalived.conf for an LVS-DR director pair, from the director's plan
version_added: 0.2.0
author:
  - lvs.dr maintainers (@lvs-dr)
description:
  - Renders C(keepalived.conf) (keepalived 2.2.7, Debian 12) for one director from the services of its plan
    (P(lvs.dr.director_plan#filter)) - one C(vrrp_instance) that holds the VIPs, one C(virtual_server) per present
    service with its real servers and a health check for each, and optionally the IPVS connection sync daemon.
  - Services with C(state=absent) are left out; keepalived removes on reload what it no longer lists.
  - "Forwarding methods map to C(lvs_method): V(route) to C(DR), V(masq) to C(NAT), V(tunnel) to C(TUN)."
  - A real server at weight V(0) (drained) always gets C(inhibit_on_failure), so a failing check keeps it in the
    table at weight 0 instead of removing it and resetting its open connections.
  - Every user-given string (URL path, script, virtual host, router id, password) is written in double quotes, and
    refused when keepalived's parser could not keep it one value - control characters, C(") and C(\), and C($)
    (parameter substitution). Names (VRRP instance, interfaces, script user) must be plain names. Apart from the
    C(extra) lines below, no input can add a line or a block to the file.
  - "C(global_defs_extra), C(vrrp_instance_extra), a service's C(extra) and a check's C(extra) are lists of lines
    written as they are at the end of that block, for keepalived options this filter does not model (for example
    C(vrrp_garp_master_refresh 60) in C(global_defs), C(ha_suspend) in a virtual_server).
    The filter only makes sure each item is one line and that their braces balance without closing the block they
    are written in; what they say is judged by keepalived's own config test (the role installs the file with
    C(validate: keepalived --config-test --use-file=%s), so a refused line fails the task with keepalived's message
    and the file in place stays as it was)."
  - Problems are returned, not raised, each naming the option, so a role can report all of them at once. Do not
    install a config that has problems.
options:
  _input:
    description: The director's plan (its C(services) are read) or the list of its services.
    type: raw
    required: true
  ha:
    description:
      - The VRRP and health-check settings.
      - C(virtual_router_id) (1-255, required, the same on both directors), C(priority) (1-254, required, different on
        each director), C(interface) (required, carries the VIPs and the adverts), C(instance) (default V(LVS_DR)),
        C(state) (V(BACKUP), the default, or V(MASTER)), C(advert_int) (seconds, default V(1)).
      - C(unicast_src_ip) and C(unicast_peers) (a list) for unicast VRRP; C(auth_pass) (1-8 characters, PASS
        authentication, IPv4 only); C(preempt) (default V(true); V(false) writes C(nopreempt)); C(preempt_delay)
        (0-1000 seconds; default, with C(preempt) and C(state=BACKUP), the time the table takes to be ready, RV(_value.ready)).
      - "C(startup_delay) (0-1000 seconds, C(vrrp_startup_delay); default RV(_value.ready); V(0) writes none): VRRP starts
        that long after keepalived, so a director that starts when no peer holds the VIPs (a boot of both, a peer that is
        down) does not take them with an empty or unchecked table. Its cost: a director alone is that much longer
        without its VIPs after a start; with a peer, the peer serves meanwhile."
      - C(router_id) (default O(hostname)); C(script_user) (default V(root) when a C(MISC_CHECK) runs, because keepalived's
        default user C(keepalived_script) does not exist on Debian).
      - C(sync_daemon) (default V(false)) runs C(lvs_sync_daemon) on C(sync_interface) (default C(interface)), its
        state following the VRRP instance, with C(sync_id) (0-255, default the virtual router id).
      - "C(check) is the default health check of every real server (default a C(TCP_CHECK) with C(connect_timeout=3),
        C(retry=2), C(delay_before_retry=2)); C(delay_loop) (seconds between checks, default V(6)), C(alpha) (default
        V(true): real servers start as failed and join the table when their first check passes; V(false) counts every
        real server as up until a check fails) and C(inhibit_on_failure) (default V(false)) apply to every service."
      - "A check is a dict: C(type) (C(TCP_CHECK), C(HTTP_GET), C(SSL_GET) or C(MISC_CHECK)), C(port) (connect_port,
        required for firewall-mark services), C(connect_timeout), C(retry), C(delay_before_retry); C(path) (required)
        and C(status_code) (codes or ranges such as V(200-299)) and C(virtualhost) for C(HTTP_GET) and C(SSL_GET);
        C(script) (required, an absolute program and its arguments, as a list or a command line) and
        C(misc_timeout) for C(MISC_CHECK); C(extra), lines written at the end of the check's block."
      - C(services) is a list of per-service settings, each identified like a service of C(director_services)
        (C(virtual_address), C(virtual_port), C(protocol), or C(fwmark)) with C(check) (replaces the default),
        C(delay_loop), C(alpha), C(inhibit_on_failure), C(quorum), C(hysteresis), C(sorry_server) and C(extra) (lines written
        in its C(virtual_server) block, before the real servers). An item that matches no present service is a
        problem.
      - C(global_defs_extra) and C(vrrp_instance_extra) - lines written at the end of C(global_defs) and of the
        C(vrrp_instance).
    type: dict
    required: true
  hostname:
    description: This director's name, the default C(router_id) (for example C(inventory_hostname)).
    type: str
    default: ''
  header:
    description:
      - Text written first, each line as a comment. C(ansible_managed) is only defined in templates - a template that
        writes C(ansible_managed | comment) before the returned text needs none.
    type: str
    default: ''
  vips:
    description:
      - The VIPs the VRRP instance holds, each as a C(/32) or C(/128) on C(interface). Default - the virtual addresses
        of the present services. Give them when firewall-mark services have VIPs of their own.
      - One address family per instance; every service's virtual address must be among them.
    type: list
    elements: str
  var:
    description: The name of the variable that holds O(ha), used to name options in problems.
    type: str
    default: director_keepalived
  draining:
    description:
      - Real servers to keep in the configuration at weight V(0) while their connections end, as
        M(lvs.dr.ipvs_table) reports them in RV(lvs.dr.ipvs_table#module:drain.realservers) (each with its
        C(virtual_service) and C(destination)). A real server whose service stays joins its pool at weight V(0); one
        whose service leaves keeps that service, as the table holds it, with the draining real servers alone.
      - The lvs.dr.director role renders this configuration first and reloads keepalived, waits until the real
        servers have no active connection, then renders the plan alone and reloads again.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Render keepalived.conf from the director's plan
  ansible.builtin.set_fact:
    _keepalived: >-
      {{ _director_plan | lvs.dr.keepalived_config(ha=director_keepalived, hostname=inventory_hostname) }}
  vars:
    director_keepalived:
      virtual_router_id: 51
      priority: "{{ 150 if inventory_hostname == groups['lvs_directors'][0] else 100 }}"
      interface: eth0
      sync_daemon: true
      services:
        - virtual_address: 192.0.2.10
          virtual_port: 80
          check:
            type: HTTP_GET
            path: /healthz
            status_code: [200]
          quorum: 1
          sorry_server: 192.0.2.99
          extra:
            - ha_suspend
      global_defs_extra:
        - vrrp_garp_master_refresh 60

- name: Fail on any problem
  ansible.builtin.assert:
    that: _keepalived.problems | length == 0
    fail_msg: "{{ _keepalived.problems | join('; ') }}"

# keepalived.conf.j2 holds two lines: {{ ansible_managed | comment }} and {{ _keepalived.config }}
- name: Install it, checked by keepalived first
  ansible.builtin.template:
    src: keepalived.conf.j2
    dest: /etc/keepalived/keepalived.conf
    mode: "0640"
    validate: keepalived --config-test --use-file=%s
'''

RETURN = r'''
_value:
  description: The configuration and its problems.
  type: dict
  contains:
    config:
      description: The text of C(keepalived.conf), deterministic (services and real servers in the plan's order).
      type: str
    problems:
      description: Every reason the configuration cannot be used, one sentence each naming the option.
      type: list
      elements: str
    services:
      description:
        - The arguments that name each C(virtual_server) to C(ipvsadm), such as V([-t, 192.0.2.10:80]) or
          V([-f, 7, -6]), in the order of the file.
        - A role deletes these services from the IPVS table before keepalived starts (C(ipvsadm -D ...)), so that
          keepalived builds them from its checks and never adopts a real server that a stopped keepalived left behind
          (keepalived neither checks such a server into nor out of the table).
      type: list
      elements: list
    ready:
      description:
        - Whole seconds from keepalived's start until the first check of every real server has ended (keepalived
          starts each checker 1 s plus a random share of C(delay_loop) after it starts, and a check ends within its
          C(connect_timeout), 5 s when unset, or C(misc_timeout)), plus 1 s; at most 1000. V(null) without services.
        - The default of C(startup_delay) and C(preempt_delay).
      type: float
    warnings:
      description:
        - Regular expressions of the lines that C(keepalived --config-test) prints for this file although nothing in
          it is wrong, so that the check exits non-zero. keepalived 2.2 reports a C(virtual_server) whose real servers
          all have weight 0 (every one drained, or leaving in the first of two reloads) twice - its quorum lowered to
          0, its hysteresis to "quorum - 1" - and at run time only logs it; without a C(sorry_server) the table is
          not changed.
        - Give them to M(lvs.dr.keepalived_conf) as O(lvs.dr.keepalived_conf#module:accept_warnings).
      type: list
      elements: str
    vips:
      description:
        - The VIPs of the VRRP instance, in the file's order (O(vips), or the present services' virtual addresses).
      type: list
      elements: str
      version_added: 0.2.0
'''

from ansible_collections.lvs.dr.plugins.plugin_utils._keepalived import DEFAULT_VAR, keepalived_setup
from ansible_collections.lvs.dr.plugins.plugin_utils._plan import with_draining


def _keepalived_config(plan, ha, hostname='', header='', vips=None, var=DEFAULT_VAR, draining=None):
    if draining:
        plan = with_draining(plan, draining)
    return keepalived_setup(plan, ha, hostname=hostname, header=header, vips=vips, var=var)


class FilterModule(object):

    def filters(self):
        return {'keepalived_config': _keepalived_config}
