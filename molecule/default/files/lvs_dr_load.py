#!/usr/bin/python3
"""A bounded HTTP load generator for the lvs.dr lab: counts every failed request.

Usage: lvs_dr_load.py URL RESULT_FILE [--max-requests N] [--max-seconds S] [--stop-file PATH] [--min-requests M]
                       [--allow CIDR]

Sends one request per new TCP connection (Connection: close), one after another, until the stop file appears (but
not before M requests were sent), N requests were sent or S seconds passed, whichever comes first; then writes a
JSON summary to RESULT_FILE:
{"sent", "ok", "failed", "seconds", "answers": {body: count}, "max_gap": the longest time between two answered
requests (or from the start to the first answer), "gap_start"/"gap_end": when it began and ended (seconds from the
start), "errors": [first 20 error texts], "error_kinds": {"refused", "reset", "timeout", "other"}: every failed
request counted by its kind (refused: the connection was refused, an RST to the SYN; reset: an established connection
was reset or closed without an answer; timeout: no answer within --timeout; other: anything else, an HTTP status
other than 200 included)}.
A short --timeout (the ha scenario's failover probe uses 0.5 s) makes a lost SYN cost that, not the kernel's 1 s
retransmission, so the gap measures the outage.
It refuses any URL whose host is not an address inside --allow (default 192.168.88.0/24, the molecule network), so
it can only ever send to the lab. Python 3 standard library only.
"""

import argparse
import http.client
import ipaddress
import json
import os
import socket
import sys
import time
import urllib.parse


def error_kind(exc):
    """refused, reset, timeout or other: what kind of failure ``exc`` is."""
    if isinstance(exc, ConnectionRefusedError):
        return 'refused'
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return 'reset'  # http.client.RemoteDisconnected (closed without an answer) is a ConnectionResetError
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return 'timeout'
    return 'other'


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('url')
    parser.add_argument('result')
    parser.add_argument('--max-requests', type=int, default=100000)
    parser.add_argument('--max-seconds', type=float, default=600)
    parser.add_argument('--stop-file')
    parser.add_argument('--min-requests', type=int, default=0,
                        help='ignore the stop file until this many requests were sent')
    parser.add_argument('--allow', default='192.168.88.0/24')
    parser.add_argument('--timeout', type=float, default=5)
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if url.scheme != 'http' or ipaddress.ip_address(host) not in ipaddress.ip_network(args.allow):
        parser.error('refusing %s: only http:// to an address inside %s' % (args.url, args.allow))
    sent = ok = 0
    answers, errors = {}, []
    kinds = dict(refused=0, reset=0, timeout=0, other=0)
    start = time.monotonic()
    last_ok = start
    max_gap, gap_start, gap_end = 0.0, 0.0, 0.0
    while sent < args.max_requests and time.monotonic() - start < args.max_seconds:
        if args.stop_file and sent >= args.min_requests and os.path.exists(args.stop_file):
            break
        sent += 1
        try:
            conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
            conn.request('GET', url.path or '/', headers={'Connection': 'close'})
            response = conn.getresponse()
            body = response.read().decode('utf-8', 'replace').strip()
            conn.close()
            if response.status != 200:
                raise OSError('HTTP %d' % response.status)
            now = time.monotonic()
            ok += 1
            answers[body] = answers.get(body, 0) + 1
            if now - last_ok > max_gap:
                max_gap, gap_start, gap_end = now - last_ok, last_ok - start, now - start
            last_ok = now
        except (OSError, http.client.HTTPException) as exc:
            kinds[error_kind(exc)] += 1
            if len(errors) < 20:
                errors.append('request %d at %.2f s: %s' % (sent, time.monotonic() - start, exc))
    summary = dict(sent=sent, ok=ok, failed=sent - ok, seconds=round(time.monotonic() - start, 2), answers=answers,
                   max_gap=round(max_gap, 3), gap_start=round(gap_start, 3), gap_end=round(gap_end, 3), errors=errors,
                   error_kinds=kinds)
    tmp = args.result + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(summary, handle)
    os.rename(tmp, args.result)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
