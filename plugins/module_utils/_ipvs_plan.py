# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Planning IPVS changes: from the current table and the desired services to the ipvsadm commands between them.

Not a public API: may change without notice. ``merge()`` builds the target table and ``plan()`` the minimal list of
``ipvsadm -R`` lines that turns one table into another (editing in place, never deleting and re-adding);
``drain_stage()`` and ``drain_finish()`` are the steps of a graceful removal; ``changes()``, ``mismatches()`` and
``restrict()`` are what verifying and undoing a change look at; ``removal_violations()`` checks a plan's removals
against limits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.dr.plugins.module_utils._ipvs_model import Table, join_args, service_rules


def merge(current, desired_services, absent_keys=(), purge_services=False, purge_dests=True, dests_managed=None):
    """The table that results from applying ``desired_services`` to ``current``.

    ``dests_managed``: keys of desired services whose destination list is given (None: all of them).
    With ``purge_dests`` a managed list is exclusive; without it, listed destinations are added/updated and
    others are kept. Services in ``absent_keys`` are removed; with ``purge_services`` so is every unlisted one.
    """
    target = Table()
    wanted = dict((svc.key, svc) for svc in desired_services)
    for key, svc in current.services.items():
        if key in absent_keys:
            continue
        if key not in wanted:
            if not purge_services:
                target.add(svc.copy())
            continue
        target.add(_merge_service(svc, wanted[key], purge_dests, dests_managed is None or key in dests_managed))
    for key, svc in wanted.items():
        if key not in target.services and key not in absent_keys:
            target.add(svc.copy())
    return target


def _merge_service(current, desired, purge_dests, managed):
    new = desired.copy(with_dests=False)
    if not managed:
        for key, dest in current.dests.items():
            new.dests[key] = dest.copy()
        return new
    if not purge_dests:
        for key, dest in current.dests.items():
            if key not in desired.dests:
                new.dests[key] = dest.copy()
    for key, dest in desired.dests.items():
        new.dests[key] = dest.copy()
    return new


def plan(current, target):
    """The minimal ipvsadm -R lines that turn ``current`` into ``target``.

    Service and destination attributes are edited in place (-E/-e): the kernel accepts any attribute change on an
    existing service or destination, so nothing is ever deleted and re-added, and no moment exists in which a
    service that stays has lost its real servers. Deletions come first so that re-used identities are free.
    """
    deletes, service_edits, adds = [], [], []
    for key, svc in current.services.items():
        new = target.get(key)
        if new is None:
            deletes.append(join_args(['-D'] + svc.ident_args()))
            continue
        ident = svc.ident_args()
        for dkey, dest in svc.dests.items():
            if dkey not in new.dests:
                deletes.append(join_args(['-d'] + ident + ['-r', dest.endpoint()]))
        if svc.attrs() != new.attrs():
            service_edits.append(join_args(['-E'] + new.args()))
        for dkey, dest in new.dests.items():
            old = svc.dests.get(dkey)
            if old is None:
                adds.append(join_args(['-a'] + ident + dest.args()))
            elif old.attrs() != dest.attrs():
                # -e resets thresholds that are not given: always state them when they were set before.
                args = dest.args()
                if old.upper_threshold and not dest.upper_threshold:
                    args += ['-x', '0']
                if old.lower_threshold and not dest.lower_threshold:
                    args += ['-y', '0']
                adds.append(join_args(['-e'] + ident + args))
    for key, svc in target.services.items():
        if key not in current.services:
            service_edits.extend(service_rules(svc))
    return deletes + service_edits + adds


def drain_stage(current, target, conns):
    """The table on the way from ``current`` to ``target`` in which real servers leave gracefully.

    Every real server that ``target`` removes - from a pool, or with its whole service - and that may still carry
    traffic (a weight above 0, or active connections in ``conns``) stays in the stage at weight 0: it takes no new
    connection and keeps those it has. A service that leaves stays with those real servers alone. Returns (stage,
    waiting): ``waiting`` lists them as (service key, destination key), in table order; with none, the stage is
    ``target`` itself (no copy of a large table on a run that removes nothing).
    """
    waiting = []
    for key, svc in current.services.items():
        new = target.get(key)
        for dkey, dest in svc.dests.items():
            if new is not None and dkey in new.dests:
                continue
            if dest.weight == 0 and not conns.get(key, {}).get(dkey, {}).get('active_connections', 0):
                continue
            waiting.append((key, dkey))
    if not waiting:
        return target, waiting
    stage = target.copy()
    for key, dkey in waiting:
        kept = stage.get(key)
        if kept is None:
            kept = current.get(key).copy(with_dests=False)
            stage.add(kept)
        quiet = current.get(key).dests[dkey].copy()
        quiet.weight = 0
        kept.add_dest(quiet)
    return stage, waiting


def drain_finish(table, target, waiting, done):
    """``table`` with the drained real servers (``done``, a subset of ``waiting`` from drain_stage()) removed, and
    each service that ``target`` removes gone once none of its real servers is still waiting."""
    final = table.copy()
    for key, dkey in done:
        svc = final.get(key)
        if svc is not None:
            svc.dests.pop(dkey, None)
    done = set(done)
    pending = set(key for key, dkey in waiting if (key, dkey) not in done)
    for key in set(key for key, dkey in waiting):
        if target.get(key) is None and key not in pending:
            final.services.pop(key, None)
    return final


def changes(current, target):
    """What turning ``current`` into ``target`` changes: (service keys, (service key, destination key) pairs).

    A service is in the first set when it is added, removed or edited; a destination is in the second when it is
    added, removed or edited, including every destination of an added or removed service.
    """
    services, dests = set(), set()
    for key in set(current.services) | set(target.services):
        old, new = current.get(key), target.get(key)
        if old is None or new is None or old.attrs() != new.attrs():
            services.add(key)
        old_dests = old.dests if old is not None else {}
        new_dests = new.dests if new is not None else {}
        for dkey in set(old_dests) | set(new_dests):
            if old_dests.get(dkey) != new_dests.get(dkey):
                dests.add((key, dkey))
    return services, dests


def mismatches(table, expected, scope):
    """The rules, within ``scope`` (from changes()), where ``table`` differs from ``expected``: sorted lines."""
    services, dests = scope
    lines = set()
    for key in services:
        have, want = table.get(key), expected.get(key)
        if (have is None) != (want is None) or (have is not None and have.attrs() != want.attrs()):
            lines.update(join_args(['-A'] + svc.args()) for svc in (have, want) if svc is not None)
    for key, dkey in dests:
        have_svc, want_svc = table.get(key), expected.get(key)
        have = have_svc.dests.get(dkey) if have_svc is not None else None
        want = want_svc.dests.get(dkey) if want_svc is not None else None
        if have != want:
            ident = (have_svc or want_svc).ident_args()
            lines.update(join_args(['-a'] + ident + dest.args()) for dest in (have, want) if dest is not None)
    return sorted(lines)


def restrict(after, before, scope):
    """(after, before) reduced to ``scope``, so that plan() of the pair undoes exactly what a task changed.

    A service that the task changed only through its destinations keeps the attributes it has now on both sides, so
    the undo never edits it; a destination outside the scope appears on neither side, so it is never touched.
    """
    services, dests = scope
    by_service = {}
    for key, dkey in dests:
        by_service.setdefault(key, []).append(dkey)
    sides = (Table(), Table())
    for key in services | set(by_service):
        now, then = after.get(key), before.get(key)
        if key not in services:
            if now is None:
                continue  # another tool removed it meanwhile: nothing of ours to undo
            then = now if then is None else then
        for side, svc in zip(sides, (now, then)):
            if svc is None:
                continue
            base = svc if key in services else now
            copy = base.copy(with_dests=False)
            for dkey in by_service.get(key, ()):
                if dkey in svc.dests:
                    copy.dests[dkey] = svc.dests[dkey].copy()
            side.add(copy)
    return sides


def removals(current, target):
    """What ``target`` removes from ``current``: (removed services, {service key: (removed destinations, count)})."""
    services = [svc for key, svc in current.services.items() if key not in target.services]
    dests = {}
    for key, svc in current.services.items():
        new = target.get(key)
        if new is None or not svc.dests:
            continue
        gone = [dest for dkey, dest in svc.dests.items() if dkey not in new.dests]
        if gone:
            dests[key] = (gone, len(svc.dests))
    return services, dests


def removal_violations(current, target, max_share=None, max_services=None):
    """Messages naming each removal beyond the limits (None: no limit); empty when the plan is within them."""
    services, dests = removals(current, target)
    problems = []
    if max_services is not None and len(services) > max_services:
        problems.append('it would remove %d services (at most %d allowed): %s'
                        % (len(services), max_services, ', '.join(svc.label() for svc in services)))
    if max_share is not None:
        for key, (gone, count) in dests.items():
            if float(len(gone)) / count > max_share:
                problems.append('it would remove %d of the %d real servers of %s (at most %d%% allowed): %s'
                                % (len(gone), count, current.get(key).label(), round(max_share * 100),
                                   ', '.join(dest.endpoint() for dest in gone)))
    return problems
