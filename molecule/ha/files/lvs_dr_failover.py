#!/usr/bin/python3
"""A failover probe for the lvs.dr lab: how long a client sending continuously goes without an answer.

Usage: lvs_dr_failover.py URL RESULT_FILE --stop-file PATH [--max-seconds S] [--timeout T] [--allow CIDR]

Sends one HTTP request per new TCP connection (Connection: close), one after another, each with a short timeout (T,
default 0.5 s, so a lost SYN costs T and not the kernel's 1 s retransmission), until the stop file appears or S seconds
passed. Then writes a JSON summary to RESULT_FILE:
{"sent", "ok", "failed", "seconds", "answers": {body: count}, "max_gap": longest time between two answered requests
(or from the start to the first answer), "gap_start"/"gap_end": when it began and ended (seconds from the start),
"errors": [first 20 error texts]}.
It refuses any URL whose host is not inside --allow (default 192.168.89.0/24, the ha scenario's network).
Python 3 standard library only.
"""

import argparse
import http.client
import ipaddress
import json
import os
import sys
import time
import urllib.parse


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('url')
    parser.add_argument('result')
    parser.add_argument('--stop-file', required=True)
    parser.add_argument('--max-seconds', type=float, default=300)
    parser.add_argument('--timeout', type=float, default=0.5)
    parser.add_argument('--allow', default='192.168.89.0/24')
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if url.scheme != 'http' or ipaddress.ip_address(host) not in ipaddress.ip_network(args.allow):
        parser.error('refusing %s: only http:// to an address inside %s' % (args.url, args.allow))
    sent = ok = 0
    answers, errors = {}, []
    start = time.monotonic()
    last_ok = start
    max_gap, gap_start, gap_end = 0.0, 0.0, 0.0
    while time.monotonic() - start < args.max_seconds and not os.path.exists(args.stop_file):
        sent += 1
        try:
            conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
            conn.request('GET', url.path or '/', headers={'Connection': 'close'})
            response = conn.getresponse()
            body = response.read().decode('utf-8', 'replace').strip()
            conn.close()
            if response.status != 200:
                raise OSError('HTTP %d' % response.status)
        except (OSError, http.client.HTTPException) as exc:
            if len(errors) < 20:
                errors.append('request %d at %.2f s: %s' % (sent, time.monotonic() - start, exc))
            continue
        now = time.monotonic()
        ok += 1
        answers[body] = answers.get(body, 0) + 1
        if now - last_ok > max_gap:
            max_gap, gap_start, gap_end = now - last_ok, last_ok - start, now - start
        last_ok = now
    summary = dict(sent=sent, ok=ok, failed=sent - ok, seconds=round(time.monotonic() - start, 2), answers=answers,
                   max_gap=round(max_gap, 3), gap_start=round(gap_start, 3), gap_end=round(gap_end, 3), errors=errors)
    tmp = args.result + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(summary, handle)
    os.rename(tmp, args.result)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
