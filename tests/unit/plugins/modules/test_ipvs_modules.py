# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.dr.plugins.modules import ipvs_info, ipvs_realserver, ipvs_service, ipvs_table


def listing(rules='', thresholds=''):
    """What ipvsadm -R prints for '-S -n' then '-L -n --thresholds'."""
    return (rules + 'IP Virtual Server version 1.2.1 (size=4096)\n'
            'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn\n'
            '  -> RemoteAddress:Port\n' + thresholds)


IPVSADM = '/usr/sbin/ipvsadm'
READ = '-S -n\n-L -n --thresholds\n'

WEB_RULES = ('-A -t 192.0.2.10:8080 -s rr\n'
             '-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1\n'
             '-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1\n')
WEB_THRESHOLDS = ('TCP  192.0.2.10:8080 rr\n'
                  '  -> 198.51.100.11:8080          0          0          0          0\n'
                  '  -> 198.51.100.12:8080          0          0          0          0\n')
WEB = dict(virtual_address='192.0.2.10', virtual_port=8080, scheduler='rr',
           realservers=[dict(address='198.51.100.11'), dict(address='198.51.100.12')])


def test_service_created_in_one_apply_process(run_module):
    result, failed, calls = run_module(ipvs_service, WEB, [
        (0, listing(), ''),
        (0, listing(WEB_RULES, WEB_THRESHOLDS), ''),
    ])
    assert not failed and result['changed']
    assert calls[0] == ([IPVSADM, '-R'], READ)
    assert calls[1] == ([IPVSADM, '-R'], WEB_RULES + READ)
    assert len(calls) == 2


def test_service_unchanged_reads_once(run_module):
    result, failed, calls = run_module(ipvs_service, WEB, [(0, listing(WEB_RULES, WEB_THRESHOLDS), '')])
    assert not failed and not result['changed']
    assert result['commands'] == []
    assert len(calls) == 1


def test_check_mode_reports_and_diff_without_applying(run_module):
    result, failed, calls = run_module(ipvs_service, dict(WEB, scheduler='wrr'),
                                       [(0, listing(WEB_RULES, WEB_THRESHOLDS), '')], check_mode=True, diff=True)
    assert not failed and result['changed']
    assert result['commands'] == ['-E -t 192.0.2.10:8080 -s wrr']
    assert result['diff']['before'].startswith('-A -t 192.0.2.10:8080 -s rr\n')
    assert result['diff']['after'].startswith('-A -t 192.0.2.10:8080 -s wrr\n')
    assert len(calls) == 1


def test_failed_apply_restores_the_snapshot_and_fails(run_module):
    # The kernel refused the second real server: the listing after the apply shows only the service and one of them.
    half = ('-A -t 192.0.2.10:8080 -s rr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1\n')
    half_thr = 'TCP  192.0.2.10:8080 rr\n  -> 198.51.100.11:8080          0          0          0          0\n'
    result, failed, calls = run_module(ipvs_service, WEB, [
        (0, listing(), ''),
        (0, listing(half, half_thr), 'Memory allocation problem\n'),
        (0, listing(), ''),
    ])
    assert failed
    assert 'Memory allocation problem' in result['msg']
    assert 'restored to its state before the task' in result['msg']
    assert calls[2] == ([IPVSADM, '-R'], '-D -t 192.0.2.10:8080\n' + READ)


def test_failed_restore_is_reported(run_module):
    half = '-A -t 192.0.2.10:8080 -s rr\n'
    result, failed, calls = run_module(ipvs_service, WEB, [
        (0, listing(), ''),
        (0, listing(half, 'TCP  192.0.2.10:8080 rr\n'), 'No such file or directory\n'),
        (0, listing(half, 'TCP  192.0.2.10:8080 rr\n'), 'Device or resource busy\n'),
    ])
    assert failed
    assert 'RESTORING THE PREVIOUS STATE FAILED' in result['msg']


def test_parse_error_in_apply_rereads_the_table(run_module):
    result, failed, calls = run_module(ipvs_service, WEB, [
        (0, listing(), ''),
        (2, '', 'illegal weight specified\n'),
        (0, listing(), ''),
    ])
    assert failed
    assert 'illegal weight specified' in result['msg']
    assert calls[2] == ([IPVSADM, '-R'], READ)


def test_missing_ipvsadm_says_how_to_install(run_module):
    result, failed, calls = run_module(ipvs_service, WEB, [], binary=None)
    assert failed
    assert 'apt-get install ipvsadm' in result['msg']
    assert result['ipvs_unavailable'] is True  # the director role's removal guard: no table to guard
    assert calls == []


def test_no_ipvs_in_kernel_is_explained(run_module):
    result, failed, calls = run_module(ipvs_info, {}, [
        (1, '', "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the "
                "kernel or as module?\n")])
    assert failed
    assert 'modprobe ip_vs' in result['msg']
    assert result['ipvs_unavailable'] is True


@pytest.mark.parametrize('args, option', [
    (dict(WEB, virtual_address='192.0.2.999'), 'virtual_address'),
    (dict(WEB, virtual_port=70000), 'virtual_port'),
    (dict(WEB, realservers=[dict(address='2001:db8::1')]), 'realservers[0].address'),
    (dict(WEB, realservers=[dict(address='198.51.100.11', port=80)]), 'realservers[0].port'),
    (dict(WEB, realservers=[dict(address='198.51.100.11', weight=70000)]), 'realservers[0].weight'),
    (dict(WEB, protocol='tcp', one_packet=True), 'one_packet'),
    (dict(WEB, virtual_port=0), 'virtual_port'),
])
def test_bad_input_fails_before_any_command(run_module, args, option):
    result, failed, calls = run_module(ipvs_service, args, [])
    assert failed
    assert result['option'] == option
    assert option.split('.')[-1] in result['msg']
    assert calls == []


def test_unknown_scheduler_is_rejected_by_the_spec(run_module):
    result, failed, calls = run_module(ipvs_service, dict(WEB, scheduler='fastest'), [])
    assert failed and 'scheduler' in result['msg'] and calls == []


def test_realserver_edit_is_one_line(run_module):
    args = dict(virtual_address='192.0.2.10', virtual_port=8080, address='198.51.100.12', weight=0)
    new_rules = WEB_RULES.replace('198.51.100.12:8080 -g -w 1', '198.51.100.12:8080 -g -w 0')
    result, failed, calls = run_module(ipvs_realserver, args, [
        (0, listing(WEB_RULES, WEB_THRESHOLDS), ''),
        (0, listing(new_rules, WEB_THRESHOLDS), ''),
    ], diff=True)
    assert not failed and result['changed']
    assert calls[1][1] == '-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0\n' + READ
    assert result['diff'] == dict(before='-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1\n',
                                  after='-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0\n')


def test_realserver_needs_its_service(run_module):
    args = dict(virtual_address='192.0.2.10', virtual_port=9090, address='198.51.100.12')
    result, failed, calls = run_module(ipvs_realserver, args, [(0, listing(WEB_RULES, WEB_THRESHOLDS), '')])
    assert failed and 'does not exist' in result['msg'] and len(calls) == 1


def test_realserver_absent_of_missing_service_is_unchanged(run_module):
    args = dict(virtual_address='192.0.2.10', virtual_port=9090, address='198.51.100.12', state='absent')
    result, failed, calls = run_module(ipvs_realserver, args, [(0, listing(), '')])
    assert not failed and not result['changed']


def test_table_purge_replaces_everything_in_one_process(run_module):
    extra = '-A -u 192.0.2.20:53 -s rr\n'
    args = dict(purge=True, purge_realservers=True,
                services=[dict(virtual_address='192.0.2.10', virtual_port=8080, scheduler='rr',
                               realservers=[dict(address='198.51.100.11', weight=3)])])
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(WEB_RULES + extra, WEB_THRESHOLDS + 'UDP  192.0.2.20:53 rr\n'), ''),
        (0, listing('-A -t 192.0.2.10:8080 -s rr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3\n',
                    'TCP  192.0.2.10:8080 rr\n  -> 198.51.100.11:8080 0 0 0 0\n'), ''),
    ])
    assert not failed and result['changed']
    assert result['commands'] == ['-d -t 192.0.2.10:8080 -r 198.51.100.12:8080', '-D -u 192.0.2.20:53',
                                  '-e -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3']
    assert result['rules'] == '-A -t 192.0.2.10:8080 -s rr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3\n'
    assert result['ipvsadm_processes'] == 2


def test_table_rejects_duplicate_services(run_module):
    svc = dict(virtual_address='192.0.2.10', virtual_port=8080)
    result, failed, calls = run_module(ipvs_table, dict(services=[svc, dict(svc, virtual_address='192.0.2.010')]),
                                       [])
    assert failed and calls == []


def test_table_bad_nested_input_names_the_path(run_module):
    args = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=8080),
                          dict(virtual_address='192.0.2.10', virtual_port=80,
                               realservers=[dict(address='198.51.100.1', lower_threshold=5, upper_threshold=2)])])
    result, failed, calls = run_module(ipvs_table, args, [])
    assert failed and calls == []
    assert result['option'] == 'services[1].realservers[0].lower_threshold'


def test_info_with_stats(run_module):
    stats = ('IP Virtual Server version 1.2.1 (size=4096)\n'
             'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n'
             '  -> RemoteAddress:Port\n'
             'TCP  192.0.2.10:8080                    3       18        0     1200        0\n'
             '  -> 198.51.100.11:8080                 2       12        0      800        0\n'
             '  -> 198.51.100.12:8080                 1        6        0      400        0\n')
    result, failed, calls = run_module(ipvs_info, dict(stats=True), [
        (0, listing(WEB_RULES, WEB_THRESHOLDS) + stats, '')])
    assert not failed and not result['changed']
    assert calls[0][1] == READ + '-L -n --stats --exact\n'
    svc = result['services'][0]
    assert svc['stats']['in_packets'] == 18 and svc['stats']['out_packets'] == 0
    assert [rs['stats']['connections'] for rs in svc['realservers']] == [2, 1]


def test_table_keeps_unlisted_real_servers_by_default(run_module):
    args = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=8080, scheduler='rr',
                               realservers=[dict(address='198.51.100.11', weight=3)])])
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(WEB_RULES, WEB_THRESHOLDS), ''),
        (0, listing(WEB_RULES.replace('198.51.100.11:8080 -g -w 1', '198.51.100.11:8080 -g -w 3'), WEB_THRESHOLDS),
         ''),
    ])
    assert not failed
    assert result['commands'] == ['-e -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 3']


def test_table_absent_needs_only_the_identity(run_module):
    # A port-0 service needs persistence_timeout to be created, not to be deleted.
    port0 = '-A -t 192.0.2.10:0 -s rr -p 300\n'
    args = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=0, state='absent')])
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(port0, 'TCP  192.0.2.10:0 rr persistent 300\n'), ''),
        (0, listing(), ''),
    ])
    assert not failed and result['commands'] == ['-D -t 192.0.2.10:0']
    assert result['managed_rules'] == ''


def test_service_absent_needs_only_the_identity(run_module):
    args = dict(virtual_address='192.0.2.10', virtual_port=0, scheduler='rr', state='absent')
    result, failed, calls = run_module(ipvs_service, args, [(0, listing(), '')])
    assert not failed and not result['changed']


OTHER_RULES = '-A -u 192.0.2.20:53 -s rr\n-a -u 192.0.2.20:53 -r 198.51.100.13:53 -g -w 1\n'
OTHER_THRESHOLDS = 'UDP  192.0.2.20:53 rr\n  -> 198.51.100.13:53          0          0          0          0\n'


def test_table_managed_rules_hold_only_the_listed_services(run_module):
    args = dict(services=[WEB])
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(WEB_RULES + OTHER_RULES, WEB_THRESHOLDS + OTHER_THRESHOLDS), '')])
    assert not failed and not result['changed']
    assert result['managed_rules'] == WEB_RULES
    assert result['rules'] == WEB_RULES + OTHER_RULES


@pytest.mark.parametrize('share, services, current, message', [
    # Two of three real servers of a pool would go: over one half.
    (0.5, [dict(WEB, realservers=[dict(address='198.51.100.11')], scheduler='rr')],
     WEB_RULES + '-a -t 192.0.2.10:8080 -r 198.51.100.14:8080 -g -w 1\n',
     'it would remove 2 of the 3 real servers of tcp 192.0.2.10:8080 (at most 50% allowed): '
     '198.51.100.12:8080, 198.51.100.14:8080'),
    # Two whole services at once.
    (1.0, [dict(virtual_address='192.0.2.10', virtual_port=8080, state='absent'),
           dict(protocol='udp', virtual_address='192.0.2.20', virtual_port=53, state='absent')],
     WEB_RULES + OTHER_RULES,
     'it would remove 2 services (at most 1 allowed): tcp 192.0.2.10:8080, udp 192.0.2.20:53'),
])
def test_table_refuses_mass_removal_before_changing_anything(run_module, share, services, current, message):
    args = dict(services=services, purge_realservers=True, max_removed_share=share, max_removed_services=1)
    result, failed, calls = run_module(ipvs_table, args, [(0, listing(current, _thresholds_for(current)), '')])
    assert failed, result
    assert message in result['msg']
    assert 'Nothing was changed' in result['msg']
    assert len(calls) == 1  # the read; nothing applied


def test_table_removal_within_the_limits_goes_ahead(run_module):
    # One of two is one half: not more than the limit.
    args = dict(services=[dict(WEB, realservers=[dict(address='198.51.100.11')])], purge_realservers=True,
                max_removed_share=0.5, max_removed_services=0)
    after = WEB_RULES.replace('-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1\n', '')
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(WEB_RULES, WEB_THRESHOLDS), ''),
        (0, listing(after, _thresholds_for(after)), ''),
    ])
    assert not failed and result['commands'] == ['-d -t 192.0.2.10:8080 -r 198.51.100.12:8080']


@pytest.mark.parametrize('args, option', [
    (dict(max_removed_share=1.5), 'max_removed_share'),
    (dict(max_removed_services=-1), 'max_removed_services'),
])
def test_table_guard_options_are_validated(run_module, args, option):
    result, failed, calls = run_module(ipvs_table, dict(args, services=[WEB]), [])
    assert failed and calls == [] and result['option'] == option


def test_verify_and_undo_leave_other_tools_changes_alone(run_module):
    # While the task added 198.51.100.12, another tool added the udp service and a real server to the web service.
    # The kernel refused ours: the undo must not touch theirs, and the task must not call theirs unexpected.
    one = '-A -t 192.0.2.10:8080 -s rr\n-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1\n'
    theirs = one + '-a -t 192.0.2.10:8080 -r 198.51.100.19:8080 -g -w 1\n' + OTHER_RULES
    result, failed, calls = run_module(ipvs_service, WEB, [
        (0, listing(one, _thresholds_for(one)), ''),
        (0, listing(theirs, _thresholds_for(theirs)), 'Memory allocation problem\n'),
    ])
    assert failed
    assert result['unexpected'] == ['-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1']
    # Nothing of ours got in, so there is nothing to undo: no third process.
    assert len(calls) == 2
    assert 'restored to its state before the task' in result['msg']


def test_undo_removes_only_what_the_task_added(run_module):
    # The task adds two real servers; the kernel takes one, refuses the other. Another tool added .19 meanwhile.
    one = '-A -t 192.0.2.10:8080 -s rr\n'
    args = dict(WEB)
    got = one + ('-a -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 1\n'
                 '-a -t 192.0.2.10:8080 -r 198.51.100.19:8080 -g -w 1\n')
    result, failed, calls = run_module(ipvs_service, args, [
        (0, listing(one, _thresholds_for(one)), ''),
        (0, listing(got, _thresholds_for(got)), 'Memory allocation problem\n'),
        (0, listing(one + '-a -t 192.0.2.10:8080 -r 198.51.100.19:8080 -g -w 1\n',
                    _thresholds_for(one + '-a -t 192.0.2.10:8080 -r 198.51.100.19:8080 -g -w 1\n')), ''),
    ])
    assert failed
    assert calls[2] == ([IPVSADM, '-R'], '-d -t 192.0.2.10:8080 -r 198.51.100.11:8080\n' + READ)


def _thresholds_for(rules):
    """The -L -n --thresholds listing of a rules text (no thresholds, no connections)."""
    lines = []
    kinds = {'-t': 'TCP', '-u': 'UDP'}
    for line in rules.splitlines():
        tokens = line.split()
        if tokens[0] == '-A':
            lines.append('%s  %s %s' % (kinds[tokens[1]], tokens[2], tokens[4]))
        else:
            lines.append('  -> %s          0          0          0          0' % tokens[4])
    return ''.join(line + '\n' for line in lines)


# ------------------------------------------------------------------------------------------------ draining a real server

DRAIN = dict(virtual_address='192.0.2.10', virtual_port=8080, address='198.51.100.12', drain_poll_interval=0.5)
QUIESCED = WEB_RULES.replace('198.51.100.12:8080 -g -w 1', '198.51.100.12:8080 -g -w 0')
WITHOUT_12 = WEB_RULES.replace('-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 1\n', '')


def with_conns(active, inactive=0, rules=QUIESCED):
    thresholds = WEB_THRESHOLDS.replace(
        '  -> 198.51.100.12:8080          0          0          0          0\n',
        '  -> 198.51.100.12:8080          0          0          %d          %d\n' % (active, inactive))
    return (0, listing(rules, thresholds), '')


@pytest.fixture
def clock(mocker):
    """A fake clock for the drain's polling: sleep() advances it, nothing really waits."""
    now = [100.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    mocker.patch('time.monotonic', lambda: now[0])
    mocker.patch('time.sleep', sleep)
    return sleeps


def test_drained_quiesces_then_waits_for_the_active_connections(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='drained'), [
        with_conns(2, rules=WEB_RULES),  # read
        with_conns(2),                   # quiesce (-e ... -w 0) and its listing
        with_conns(2), with_conns(1), with_conns(0, 3),  # polls
    ], diff=True)
    assert not failed and result['changed']
    assert result['commands'] == ['-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0']
    assert calls[1][1] == '-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0\n' + READ
    assert all(data == READ for _cmd, data in calls[2:])
    assert result['drain'] == dict(active_connections=0, inactive_connections=3, timed_out=False, seconds=1.0,
                                   polls=3)
    assert clock == [0.5, 0.5]
    assert result['realserver']['weight'] == 0
    assert result['diff']['after'] == '-a -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0\n'


def test_drained_twice_is_unchanged_and_waits_no_more(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='drained'), [with_conns(0), with_conns(0)])
    assert not failed and not result['changed'] and result['commands'] == []
    assert result['drain']['polls'] == 1 and clock == []


def test_drain_timeout_fails_naming_the_open_connections_and_keeps_the_server(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='absent', drain=True, drain_timeout=2), [
        with_conns(1, rules=WEB_RULES), with_conns(1)] + [with_conns(1)] * 5)
    assert failed and result['changed']
    assert result['msg'] == ('198.51.100.12:8080 still has 1 active connection after 2.0 s of draining '
                             '(drain_timeout=2); it stays in tcp 192.0.2.10:8080 at weight 0, not removed')
    assert result['drain']['timed_out'] and result['drain']['active_connections'] == 1
    assert not any(data.startswith('-d') for _cmd, data in calls)  # never removed
    assert sum(clock) == 2.0


def test_drain_then_remove(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='absent', drain=True), [
        with_conns(1, rules=WEB_RULES), with_conns(1), with_conns(0),  # read, quiesce, poll (then removal from it)
        (0, listing(WITHOUT_12, WEB_THRESHOLDS.splitlines(True)[0] + WEB_THRESHOLDS.splitlines(True)[1]), ''),
    ])
    assert not failed and result['changed']
    assert result['commands'] == ['-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0',
                                  '-d -t 192.0.2.10:8080 -r 198.51.100.12:8080']
    assert calls[-1][1] == '-d -t 192.0.2.10:8080 -r 198.51.100.12:8080\n' + READ
    assert result['realserver'] is None and result['drain']['timed_out'] is False


def test_drain_in_check_mode_reports_without_waiting(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='absent', drain=True),
                                       [with_conns(4, 1, rules=WEB_RULES)], check_mode=True)
    assert not failed and result['changed'] and len(calls) == 1 and clock == []
    assert result['commands'] == ['-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0',
                                  '-d -t 192.0.2.10:8080 -r 198.51.100.12:8080']
    assert result['drain']['active_connections'] == 4 and result['drain']['inactive_connections'] == 1


def test_a_real_server_removed_by_someone_else_while_draining_ends_the_wait(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, state='drained', drain_timeout=60), [
        with_conns(3, rules=WEB_RULES), with_conns(3),
        (0, listing(WITHOUT_12, WEB_THRESHOLDS.splitlines(True)[0] + WEB_THRESHOLDS.splitlines(True)[1]), ''),
    ])
    assert not failed and result['realserver'] is None and result['drain']['polls'] == 1


def test_draining_a_missing_real_server_is_unchanged(run_module, clock):
    result, failed, calls = run_module(ipvs_realserver, dict(DRAIN, address='198.51.100.99', state='drained'),
                                       [with_conns(0)])
    assert not failed and not result['changed'] and 'drain' not in result and len(calls) == 1


@pytest.mark.parametrize('args, option', [
    (dict(DRAIN, drain=True), 'drain'),
    (dict(DRAIN, state='drained', drain=True), 'drain'),
    (dict(DRAIN, state='drained', drain_timeout=-1), 'drain_timeout'),
    (dict(DRAIN, state='drained', drain_poll_interval=0), 'drain_poll_interval'),
])
def test_drain_options_are_validated_before_any_command(run_module, args, option):
    result, failed, calls = run_module(ipvs_realserver, args, [])
    assert failed and result['msg'].startswith(option + ':') and calls == []


def test_draining_the_last_server_in_service_is_refused_unless_asked(run_module, clock):
    other_drained = QUIESCED.replace('198.51.100.11:8080 -g -w 1', '198.51.100.11:8080 -g -w 0')
    args = dict(DRAIN, address='198.51.100.12', state='drained')
    rules = other_drained.replace('198.51.100.12:8080 -g -w 0', '198.51.100.12:8080 -g -w 1')
    result, failed, calls = run_module(ipvs_realserver, args, [with_conns(1, rules=rules)])
    assert failed and len(calls) == 1
    assert result['msg'].startswith('198.51.100.12:8080 is the last real server of tcp 192.0.2.10:8080 with a weight '
                                    'above 0')
    result, failed, calls = run_module(ipvs_realserver, dict(args, drain_last=True), [
        with_conns(0, rules=rules), with_conns(0, rules=other_drained), with_conns(0, rules=other_drained)])
    assert not failed and result['changed']
    # Already drained: nothing to refuse.
    result, failed, calls = run_module(ipvs_realserver, args, [with_conns(0, rules=other_drained)] * 2)
    assert not failed and not result['changed']


# ------------------------------------------------------------------------------------- draining what ipvs_table removes

ONLY_11 = dict(WEB, realservers=[dict(address='198.51.100.11')])
TABLE_DRAIN = dict(services=[ONLY_11], purge_realservers=True, drain=True, drain_poll_interval=0.5)
QUIESCE_12 = '-e -t 192.0.2.10:8080 -r 198.51.100.12:8080 -g -w 0'
REMOVE_12 = '-d -t 192.0.2.10:8080 -r 198.51.100.12:8080'
WITHOUT_12_LISTING = (0, listing(WITHOUT_12, _thresholds_for(WITHOUT_12)), '')


def test_table_drains_a_real_server_that_leaves_its_pool_before_removing_it(run_module, clock):
    result, failed, calls = run_module(ipvs_table, TABLE_DRAIN, [
        with_conns(2, rules=WEB_RULES),  # read
        with_conns(2),                   # quiesce and its listing
        with_conns(1), with_conns(0, 5),  # polls: one process each
        WITHOUT_12_LISTING,              # removal and its listing
    ])
    assert not failed and result['changed']
    assert result['commands'] == [QUIESCE_12, REMOVE_12]
    assert calls[1][1] == QUIESCE_12 + '\n' + READ
    assert [data for _cmd, data in calls[2:4]] == [READ, READ]
    assert calls[4][1] == REMOVE_12 + '\n' + READ
    assert result['drain'] == dict(realservers=[dict(
        service='tcp 192.0.2.10:8080', realserver='198.51.100.12:8080', active_connections=0, inactive_connections=5,
        removed=True, virtual_service=dict(protocol='tcp', virtual_address='192.0.2.10', virtual_port=8080,
                                           family='ipv4', scheduler='rr'),
        destination=dict(address='198.51.100.12', port=8080, forwarding_method='route', upper_threshold=0,
                         lower_threshold=0))], seconds=0.5, polls=2, timed_out=False)
    assert clock == [0.5]
    assert result['rules'] == WITHOUT_12


def test_table_drain_in_check_mode_names_what_it_would_drain_and_reads_once(run_module, clock):
    result, failed, calls = run_module(ipvs_table, TABLE_DRAIN, [with_conns(3, 1, rules=WEB_RULES)],
                                       check_mode=True, diff=True)
    assert not failed and result['changed'] and len(calls) == 1 and clock == []
    assert result['commands'] == [QUIESCE_12, REMOVE_12]
    entry = result['drain']['realservers'][0]
    assert (entry['service'], entry['realserver'], entry['active_connections'], entry['inactive_connections'],
            entry['removed']) == ('tcp 192.0.2.10:8080', '198.51.100.12:8080', 3, 1, True)
    assert len(result['drain']['realservers']) == 1
    assert result['diff']['after'] == WITHOUT_12


def test_table_removes_a_quiet_real_server_at_once(run_module, clock):
    # Already at weight 0 with no active connection: nothing to wait for, one apply.
    result, failed, calls = run_module(ipvs_table, TABLE_DRAIN, [with_conns(0, 2), WITHOUT_12_LISTING])
    assert not failed and result['commands'] == [REMOVE_12] and len(calls) == 2
    assert result['drain']['realservers'] == []


@pytest.mark.parametrize('action, removed', [('fail', False), ('remove', True)])
def test_table_drain_timeout_does_what_drain_timeout_action_says(run_module, clock, action, removed):
    responses = [with_conns(1, rules=WEB_RULES), with_conns(1)] + [with_conns(1)] * 5
    if removed:
        responses.append(WITHOUT_12_LISTING)
    result, failed, calls = run_module(ipvs_table, dict(TABLE_DRAIN, drain_timeout=2, drain_timeout_action=action),
                                       responses)
    assert failed is not removed
    assert result['drain']['timed_out'] and result['drain']['realservers'][0]['removed'] is removed
    assert result['drain']['realservers'][0]['active_connections'] == 1
    assert sum(clock) == 2.0
    assert (REMOVE_12 in result['commands']) is removed
    if not removed:
        assert result['msg'].startswith('drain_timeout (2 s) passed with active connections left on 198.51.100.12:8080 '
                                        'of tcp 192.0.2.10:8080 (1 active): they stay in the table at weight 0')
        assert not any(data.startswith('-d') for _cmd, data in calls)


def test_table_drains_the_pool_of_a_service_that_goes_absent_then_deletes_it(run_module, clock):
    args = dict(services=[dict(virtual_address='192.0.2.10', virtual_port=8080, state='absent')], drain=True)
    quiet = WEB_RULES.replace('-g -w 1', '-g -w 0')
    thresholds = WEB_THRESHOLDS.replace('0          0          0          0\n', '0          0          1          0\n', 1)
    result, failed, calls = run_module(ipvs_table, args, [
        (0, listing(WEB_RULES, thresholds), ''),  # .11 has an active connection, .12 none: both quiesced
        (0, listing(quiet, thresholds), ''),
        (0, listing(quiet, WEB_THRESHOLDS), ''),  # the poll: none left
        (0, listing(), ''),
    ])
    assert not failed
    assert result['commands'] == ['-e -t 192.0.2.10:8080 -r 198.51.100.11:8080 -g -w 0', QUIESCE_12,
                                  '-D -t 192.0.2.10:8080']
    drained = [entry['realserver'] for entry in result['drain']['realservers']]
    assert drained == ['198.51.100.11:8080', '198.51.100.12:8080']


def test_table_without_drain_removes_at_once(run_module, clock):
    result, failed, calls = run_module(ipvs_table, dict(TABLE_DRAIN, drain=False), [
        with_conns(2, rules=WEB_RULES), WITHOUT_12_LISTING])
    assert not failed and result['commands'] == [REMOVE_12] and clock == []


@pytest.mark.parametrize('args, option', [
    (dict(drain_timeout=-1), 'drain_timeout'),
    (dict(drain_poll_interval=0.01), 'drain_poll_interval'),
])
def test_table_drain_options_are_validated(run_module, args, option):
    result, failed, calls = run_module(ipvs_table, dict(TABLE_DRAIN, **args), [])
    assert failed and calls == [] and result['option'] == option


def test_table_check_mode_without_ipvs_in_the_kernel_runs_no_ipvsadm(run_module, proc_ipvs):
    # ipvsadm would load ip_vs to list the table (a change); without ip_vs there is no table: all is to be created.
    proc_ipvs.unlink()
    result, failed, calls = run_module(ipvs_table, dict(services=[WEB], purge=True), [], check_mode=True)
    assert not failed and result['changed']
    assert calls == []
    assert result['commands'][0] == '-A -t 192.0.2.10:8080 -s rr'
