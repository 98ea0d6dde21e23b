#!/usr/bin/python3
"""Long-lived connections for the lvs.dr lab: open them, hold them, then finish each request and record who answered.

Usage: lvs_dr_hold.py URL RESULT_FILE --connections N --stop-file PATH [--max-seconds S] [--allow CIDR]

Opens N TCP connections to URL one after another and sends each an unfinished HTTP request (the request line only),
so every one stays established - an active connection of the real server the director chose - until the stop file
appears (or S seconds passed). Then it finishes each request and reads the answer. Writes a JSON summary to
RESULT_FILE: {"opened", "answers": {body: count}, "failed", "errors": [texts], "held_seconds"}.
It refuses any URL whose host is not an address inside --allow (default 192.168.88.0/24, the molecule network).
Python 3 standard library only.
"""

import argparse
import ipaddress
import json
import os
import socket
import sys
import time
import urllib.parse


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('url')
    parser.add_argument('result')
    parser.add_argument('--connections', type=int, default=4)
    parser.add_argument('--stop-file', required=True)
    parser.add_argument('--max-seconds', type=float, default=600)
    parser.add_argument('--allow', default='192.168.88.0/24')
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if url.scheme != 'http' or ipaddress.ip_address(host) not in ipaddress.ip_network(args.allow):
        parser.error('refusing %s: only http:// to an address inside %s' % (args.url, args.allow))
    socks, errors = [], []
    for _n in range(args.connections):
        try:
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(b'GET ' + (url.path or '/').encode() + b' HTTP/1.0\r\n')
            socks.append(sock)
        except OSError as exc:
            errors.append('open: %s' % exc)
    start = time.monotonic()
    while not os.path.exists(args.stop_file) and time.monotonic() - start < args.max_seconds:
        time.sleep(0.2)
    held = time.monotonic() - start
    answers = {}
    for sock in socks:
        try:
            sock.settimeout(30)
            sock.sendall(b'Host: %s\r\n\r\n' % host.encode())
            data = b''
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _sep, body = data.partition(b'\r\n\r\n')
            if not head.startswith(b'HTTP/1.0 200') and not head.startswith(b'HTTP/1.1 200'):
                raise OSError('answer %r' % head[:40])
            name = body.decode(errors='replace').strip()
            answers[name] = answers.get(name, 0) + 1
        except OSError as exc:
            errors.append('finish: %s' % exc)
        finally:
            sock.close()
    result = dict(opened=len(socks), answers=answers, failed=args.connections - sum(answers.values()), errors=errors,
                  held_seconds=round(held, 2))
    with open(args.result + '.tmp', 'w') as out:
        json.dump(result, out)
    os.rename(args.result + '.tmp', args.result)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
