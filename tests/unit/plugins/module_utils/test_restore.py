# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The boot restore helper (module_utils/_restore.py, installed by lvs.dr.ipvs_table's persist), a standalone script.

Its behaviour against the kernel is proven in the molecule scenario (reboot, partial restore, a foreign service);
here: that it reads the rules the collection writes exactly as it reads ipvsadm -S, and what it plans.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.lvs.dr.plugins.module_utils import _ipvs_parse as ipvs_parse
from ansible_collections.lvs.dr.plugins.module_utils import _restore as restore

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = sorted(glob.glob(os.path.join(HERE, 'fixtures', '*.rules')))


@pytest.mark.parametrize('path', FIXTURES, ids=[os.path.basename(p) for p in FIXTURES])
def test_the_collections_rules_read_as_the_kernels_listing(path):
    # What ipvsadm -S printed on a real kernel, and what the collection renders for the same table (the rules file):
    # the helper must see no difference, or it would edit and then report rules as missing at every boot.
    with open(path) as handle:
        kernel = handle.read()
    rendered = '\n'.join(ipvs_parse.parse_rules(kernel).rules()) + '\n'
    wanted = restore.parse_text(rendered, 'rules file')
    current = restore.parse_text(kernel, 'ipvsadm -S -n')
    assert list(wanted) == list(current)
    assert restore.plan(wanted, current) == []
    assert restore.missing(wanted, current) == []


def test_plan_adds_what_is_missing_edits_what_differs_and_deletes_nothing():
    wanted = restore.parse_text('# managed\n'
                                '-A -t 192.0.2.10:80 -s wrr\n'
                                '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 3 -x 50 -y 10\n'
                                '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 1\n'
                                '\n'
                                '-A -u 192.0.2.10:53 -s rr -o\n', 'file')
    current = restore.parse_text('-A -t 192.0.2.10:80 -s rr\n'
                                 '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 3\n'
                                 '-a -t 192.0.2.10:80 -r 198.51.100.99:80 -g -w 1\n'
                                 '-A -f 7 -s rr\n', 'ipvsadm -S -n')
    assert restore.plan(wanted, current) == [
        '-E -t 192.0.2.10:80 -s wrr',
        '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 1',
        '-A -u 192.0.2.10:53 -s rr -o',
    ]
    # Thresholds are not listed by ipvsadm -S: the line with -x/-y counts as present.
    assert restore.missing(wanted, current) == [
        '-A -t 192.0.2.10:80 -s wrr', '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 1', '-A -u 192.0.2.10:53 -s rr -o']


@pytest.mark.parametrize('text', ['-C\n', '-a -t 192.0.2.10:80 -g -w 1\n', '-A 192.0.2.10:80 -s rr\n'])
def test_a_malformed_rules_file_is_an_error_naming_the_line(text):
    with pytest.raises(restore.RuleError, match='file line 1'):
        restore.parse_text(text, 'file')


def test_ten_thousand_rules_are_planned_in_linear_time():
    lines = ['-A -t 192.0.2.%d:80 -s rr' % s for s in range(1, 201)]
    lines += ['-a -t 192.0.2.%d:80 -r 10.%d.%d.%d:80 -g -w 1' % (s, s, d // 250, d % 250 + 1)
              for s in range(1, 201) for d in range(50)]
    wanted = restore.parse_text('\n'.join(lines), 'file')
    assert len(wanted) == 10200
    assert len(restore.plan(wanted, {})) == 10200
    assert restore.plan(wanted, wanted) == []
