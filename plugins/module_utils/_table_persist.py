# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The IPVS table's persistence, owned by lvs.dr.ipvs_table (option ``persist``). Not a public API.

Three files and one unit state: the rules file (the managed services, ``ipvsadm -R`` format, behind a comment
header), the boot restore helper (module_utils/_restore.py installed as a script: it never empties the table and
leaves other services alone), and a ``Type=oneshot`` unit that runs the helper at boot, enabled and started.
"""

from __future__ import annotations

import inspect
import os
import re

from ansible_collections.lvs.dr.plugins.module_utils import _restore
from ansible_collections.lvs.dr.plugins.module_utils._persist import (
    MANAGED_HEADER, SYSTEMD_UNIT_DIR, Systemd, ensure_file, ensure_unit, render_unit,
)

BY = 'lvs.dr.ipvs_table'
DEFAULTS = dict(rules_file='/etc/ipvsadm.rules', unit='ipvsadm.service', helper='/usr/local/sbin/lvs-dr-ipvsadm-restore')
UNIT_NAME = re.compile(r'^[A-Za-z0-9:_.\\@-]+\.service$')


def persist_spec():
    """The ``persist`` option of lvs.dr.ipvs_table."""
    return dict(persist=dict(type='dict', options=dict(
        rules_file=dict(type='path', default=DEFAULTS['rules_file']),
        unit=dict(type='str', default=DEFAULTS['unit']),
        helper=dict(type='path', default=DEFAULTS['helper']),
    )))


def validate_persist(persist):
    """Everything about ``persist`` the argument spec cannot say; a ValueError names the option."""
    if persist is None:
        return
    for key in ('rules_file', 'helper'):
        if not os.path.isabs(persist[key]) or persist[key].endswith('/'):
            raise ValueError('persist.%s: %r is not the absolute path of a file' % (key, persist[key]))
    if not UNIT_NAME.match(persist['unit']):
        raise ValueError('persist.unit: %r is not the name of a systemd service unit (such as ipvsadm.service)'
                         % persist['unit'])
    if persist['rules_file'] == persist['helper']:
        raise ValueError('persist.rules_file and persist.helper are the same file: %s' % persist['helper'])


def rules_text(managed_rules, persist):
    """The rules file: a comment header, then ``managed_rules`` (ipvsadm -R lines ending with a newline)."""
    return ''.join((
        '# %s\n' % (MANAGED_HEADER % BY),
        '# The IPVS services that task manages (ipvsadm -R format), and only those. Restored at\n',
        '# boot by %s through %s, which skips these\n' % (persist['unit'], persist['helper']),
        '# comment lines, never empties a live table and leaves other services alone.\n',
        managed_rules,
    ))


def helper_text():
    """The boot restore helper: _restore.py as a script of the host's Python 3 (standard library only)."""
    return '#!/usr/bin/python3\n# %s\n%s' % (MANAGED_HEADER % BY, inspect.getsource(_restore))


def unit_text(persist):
    return render_unit(
        'IPVS table of the LVS-DR director (lvs.dr)',
        [[persist['helper'], persist['rules_file']]],
        BY,
        unit=[('After', 'systemd-modules-load.service network.target'),
              ('ConditionPathExists', persist['rules_file'])],
        documentation='man:ipvsadm(8)',
    )


def persist_table(module, managed_rules, persist):
    """Save ``managed_rules`` and make the unit restore them at boot. Returns (what changed, by name; diffs).

    Acts only outside check mode. The unit is started when it is not active, and restarted when its file changed (the
    helper never empties the table: a restart only adds what is missing, and replaces a running unit of the same name,
    such as a distribution's LSB ipvsadm script).
    """
    systemd = Systemd(module)
    systemd.require()
    changed, diffs = [], []
    for name, content, mode in (('helper', helper_text(), 0o755),
                                ('rules_file', rules_text(managed_rules, persist), 0o644)):
        if ensure_file(module, persist[name], content, mode, diffs):
            changed.append(name)
    unit = unit_text(persist)
    unit_path = os.path.join(SYSTEMD_UNIT_DIR, persist['unit'])
    unit_changed, unit_before, dummy, dummy2 = ensure_unit(module, systemd, persist['unit'], unit, SYSTEMD_UNIT_DIR)
    if unit_before != unit:
        changed.append('unit')
        diffs.append(dict(before_header=unit_path, after_header=unit_path, before=unit_before or '', after=unit))
    elif unit_changed:
        changed.append('enabled')
    active = systemd.run('is-active', persist['unit'], ignore_rc=True)[1].strip() == 'active'
    if unit_before != unit and unit_before is not None:
        changed.append('restarted')
        if not module.check_mode:
            systemd.run('restart', persist['unit'])
    elif not active:
        changed.append('started')
        if not module.check_mode:
            systemd.run('start', persist['unit'])
    return changed, diffs
