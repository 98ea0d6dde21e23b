# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private persistence helpers for lvs.dr.static_arp and lvs.dr.lvs_dr_realserver.

Not a public API: may change without notice. Atomic file writes with explicit modes,
systemd unit rendering and the enable/disable life cycle (systemctl through _runner.Command).
"""

from __future__ import annotations

import os
import tempfile

from ansible_collections.lvs.dr.plugins.module_utils._runner import Command

SYSTEMD_UNIT_DIR = '/etc/systemd/system'

MANAGED_HEADER = 'Ansible managed: written by %s, local changes will be overwritten.'


def read_text(path):
    """File content, or None when it does not exist."""
    try:
        with open(path, 'r') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == 2:
            return None
        raise


def write_text(module, path, content, mode, check=None):
    """Write ``content`` to ``path`` atomically with ``mode`` (an int such as 0o644).

    The directory is created (0755) when missing. Uses module.atomic_move, which keeps
    SELinux contexts and ownership semantics consistent with ansible.builtin.copy.
    ``check``, when given, is called with the path of the written temporary file before it
    replaces ``path`` (a program's own parser); it fails the module to keep ``path`` as it is.
    """
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        if check is not None:
            check(tmp)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chmod(path, mode)


def ensure_file(module, path, content, mode, diffs):
    """Make ``path`` hold ``content`` with ``mode``; True when it did not (its diff appended to ``diffs``).

    Writes (atomically, write_text) only outside check mode.
    """
    before = read_text(path)
    if before == content and os.stat(path).st_mode & 0o7777 == mode:
        return False
    diffs.append(dict(before_header=path, after_header=path, before=before or '', after=content))
    if not module.check_mode:
        write_text(module, path, content, mode)
    return True


def remove_file(path):
    """Remove ``path``; return True when something was removed."""
    try:
        os.unlink(path)
        return True
    except OSError as exc:
        if exc.errno == 2:
            return False
        raise


def render_unit(description, exec_start, header_by, unit=None, install=None, documentation=None):
    """Render a Type=oneshot, RemainAfterExit unit.

    ``exec_start`` is a list of argv lists; each becomes one ExecStart= line (no shell).
    ``unit`` and ``install`` are lists of ``(key, value)`` pairs.
    """
    lines = ['# ' + MANAGED_HEADER % header_by, '[Unit]', 'Description=%s' % description]
    if documentation:
        lines.append('Documentation=%s' % documentation)
    for key, value in unit or []:
        lines.append('%s=%s' % (key, value))
    lines += ['', '[Service]', 'Type=oneshot', 'RemainAfterExit=yes']
    for argv in exec_start:
        lines.append('ExecStart=%s' % ' '.join(quote_unit_arg(arg) for arg in argv))
    lines += ['', '[Install]']
    for key, value in install or [('WantedBy', 'multi-user.target')]:
        lines.append('%s=%s' % (key, value))
    return '\n'.join(lines) + '\n'


def quote_unit_arg(arg):
    """Quote one argument for a systemd ExecStart= line (systemd.service(5) "Command lines")."""
    arg = str(arg)
    if arg and not any(c in arg for c in ' \t"\'\\;$%'):
        return arg
    escaped = arg.replace('\\', '\\\\').replace('"', '\\"').replace('$', '$$').replace('%', '%%')
    return '"%s"' % escaped


class Systemd(object):
    """systemctl through the module's one command runner (looked up on first use)."""

    def __init__(self, module):
        self.command = Command(module, 'systemctl', lazy=True)

    def require(self):
        """Fail the module now (before any change) when systemctl is missing."""
        return self.command.require()

    def run(self, *args, **kwargs):
        return self.command.run(list(args), 'systemctl %s' % ' '.join(args), check_rc=not kwargs.get('ignore_rc'))

    def is_enabled(self, unit):
        rc, out, dummy = self.run('is-enabled', unit, ignore_rc=True)
        return rc == 0 and out.strip() in ('enabled', 'enabled-runtime', 'static', 'alias')

    def daemon_reload(self):
        self.run('daemon-reload')

    def enable(self, unit):
        self.run('enable', unit)

    def disable(self, unit):
        self.run('disable', unit)


def ensure_unit(module, systemd, unit_name, content, unit_dir=SYSTEMD_UNIT_DIR):
    """Make the unit file hold ``content`` and be enabled, or (content None) be disabled and absent.

    Returns ``(changed, before_text, after_text, was_enabled)``; acts only outside check mode.
    """
    path = os.path.join(unit_dir, unit_name)
    before = read_text(path)
    enabled = systemd.is_enabled(unit_name) if before is not None else False
    if content is None:
        changed = before is not None
        if changed and not module.check_mode:
            if enabled:
                systemd.disable(unit_name)
            remove_file(path)
            systemd.daemon_reload()
        return changed, before, None, enabled
    changed = before != content or not enabled
    if changed and not module.check_mode:
        if before != content:
            write_text(module, path, content, 0o644)
            systemd.daemon_reload()
        if not enabled or before != content:
            systemd.enable(unit_name)
    return changed, before, content, enabled
