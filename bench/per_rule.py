# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark's topology, and the per-rule baseline that runs inside the lab VM.

Imported by bench/run for topology(); copied into the VM and run there as

    python3 per_rule.py N

which empties the IPVS table (not timed), then adds every service with one ``ipvsadm -A`` process and every
destination with one ``ipvsadm -a`` process (subprocess.run per rule, what Salt's lvs_service/lvs_server states and
shell loops do), timed with time.monotonic() around that loop only, then counts the destinations in the kernel
table. Prints one JSON object.

Addresses are documentation/private ranges and are only written into the IPVS table: no packet is sent to them.
"""

import json
import math
import subprocess
import sys
import time

PER_SERVICE = 50
PORT = 80


def vip(index):
    # 192.0.2.1-254 (TEST-NET-1), then 198.51.100.1-254 (TEST-NET-2): 508 services at most.
    if index < 254:
        return '192.0.2.%d' % (index + 1)
    if index < 508:
        return '198.51.100.%d' % (index - 254 + 1)
    raise ValueError('more than 508 services')


def realserver(index):
    # The same pool of real servers behind every service, as on a real farm: 10.0.0.1, 10.0.0.2, ...
    return '10.0.%d.%d' % (index // 250, index % 250 + 1)


def topology(destinations):
    """N destinations: ceil(N/50) services of 50 destinations (the last one takes the rest); one service when N < 50."""
    services = []
    count = max(1, math.ceil(destinations / PER_SERVICE))
    left = destinations
    for index in range(count):
        size = min(PER_SERVICE, left)
        left -= size
        services.append(dict(virtual_address=vip(index), virtual_port=PORT, scheduler='wlc',
                             realservers=[dict(address=realserver(rs), weight=1) for rs in range(size)]))
    return services


def per_rule_argvs(services):
    """One ipvsadm argument list per rule: -A for each service, then -a for each of its destinations."""
    argvs = []
    for svc in services:
        service = '%s:%d' % (svc['virtual_address'], svc['virtual_port'])
        argvs.append(['ipvsadm', '-A', '-t', service, '-s', svc['scheduler']])
        for rs in svc['realservers']:
            argvs.append(['ipvsadm', '-a', '-t', service, '-r', '%s:%d' % (rs['address'], svc['virtual_port']),
                          '-g', '-w', str(rs['weight'])])
    return argvs


def count_destinations():
    out = subprocess.run(['ipvsadm', '-S', '-n'], check=True, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith('-a'))


def main(argv):
    destinations = int(argv[1])
    argvs = per_rule_argvs(topology(destinations))
    subprocess.run(['ipvsadm', '-C'], check=True)
    start = time.monotonic()
    for args in argvs:
        subprocess.run(args, check=True, capture_output=True)
    seconds = time.monotonic() - start
    print(json.dumps(dict(seconds=seconds, processes=len(argvs), destinations=count_destinations())))


if __name__ == '__main__':
    main(sys.argv)
