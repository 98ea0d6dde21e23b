"""A slow HTTP server for the drain test: every GET gets CHUNKS lines, one per second (a long download).

Usage: slow_http.py ADDRESS PORT CHUNKS
"""

import http.server
import sys
import time


class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        chunks = self.server.chunks
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(sum(len('chunk %d\n' % n) for n in range(1, chunks + 1))))
        self.end_headers()
        for n in range(1, chunks + 1):
            self.wfile.write(b'chunk %d\n' % n)
            self.wfile.flush()
            time.sleep(1)


def main(address, port, chunks):
    server = http.server.ThreadingHTTPServer((address, int(port)), Slow)
    server.chunks = int(chunks)
    server.serve_forever()


if __name__ == '__main__':
    main(*sys.argv[1:4])
