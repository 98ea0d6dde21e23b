# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The boot-restore benchmark that runs inside the lab VM (copied there by bench/plan).

    ip netns exec NS python3 restore.py HELPER RULES_FILE BARE_FILE REPEAT

RULES_FILE is a rules file as the director role writes it (comment header, then ipvsadm -R lines); BARE_FILE is
the same rules without the comments. Each repetition, in alternating order:

  helper  empty the table (not timed), then HELPER RULES_FILE (the role's boot restore, a process of its own)
  bare    empty the table (not timed), then ipvsadm -R < BARE_FILE (the least any restore can do)

then, on the full table, the no-op re-run of HELPER RULES_FILE, and one ipvsadm -S -n (reading the table, which
the helper does twice on a restore and once on a no-op). Each is timed with time.monotonic() around its process
only. After every side the table must hold exactly the lines of BARE_FILE (as ipvsadm -S -n prints them), so a
restore that did not happen is an error, not a fast figure. The table is emptied at the end. Prints one JSON object.
"""

import json
import subprocess
import sys
import time


class Failed(Exception):
    pass


def ipvsadm(*args, **kwargs):
    return subprocess.run(['ipvsadm'] + list(args), capture_output=True, text=True, check=False, **kwargs)


def clear():
    proc = ipvsadm('-C')
    if proc.returncode:
        raise Failed('ipvsadm -C: %s' % proc.stderr)


def table():
    proc = ipvsadm('-S', '-n')
    if proc.returncode:
        raise Failed('ipvsadm -S -n: %s' % proc.stderr)
    return proc.stdout.splitlines()


def timed(cmd, stdin=None):
    start = time.monotonic()
    proc = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode:
        raise Failed('%s: rc=%d %s' % (' '.join(cmd), proc.returncode, proc.stderr[-2000:]))
    return seconds


def main(argv):
    helper, rules_file, bare_file, repeat = argv[1], argv[2], argv[3], int(argv[4])
    with open(bare_file) as handle:
        expected = sorted(line for line in handle.read().splitlines() if line.strip())

    def check(side):
        found = sorted(table())
        if found != expected:
            raise Failed('%s: the table holds %d lines (%d services), %d expected; first difference: %r' % (
                side, len(found), sum(1 for line in found if line.startswith('-A')), len(expected),
                sorted(set(found) ^ set(expected))[:3]))

    runs = dict(helper=[], bare=[], noop=[], read=[])
    try:
        for attempt in range(repeat):
            for side in (('helper', 'bare') if attempt % 2 == 0 else ('bare', 'helper')):
                clear()
                if side == 'helper':
                    runs[side].append(timed([helper, rules_file]))
                else:
                    with open(bare_file) as stdin:
                        runs[side].append(timed(['ipvsadm', '-R'], stdin=stdin))
                check(side)
            runs['noop'].append(timed([helper, rules_file]))
            check('noop')
            runs['read'].append(timed(['ipvsadm', '-S', '-n']))
    except Failed as exc:
        print(json.dumps(dict(error=str(exc), runs=runs)))
        return 1
    finally:
        clear()
    print(json.dumps(dict(runs=runs, rules=len(expected),
                          services=sum(1 for line in expected if line.startswith('-A')))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
