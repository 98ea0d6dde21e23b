# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-VM half of the drain benchmark (copied into the lab VM by bench/drain.py; standard library only).

    python3 drain_vm.py up DIR PREFIX         build the LVS-DR topology in network namespaces PREFIX-*
    python3 drain_vm.py down DIR PREFIX       stop what runs in them, delete them (and so their veth pairs)
    python3 drain_vm.py servers DIR CHUNKS    (re)start the slow web servers: rs1 sends CHUNKS chunks, rs2 one
    python3 drain_vm.py service DIR           the service from empty, with rs1 only
    python3 drain_vm.py start DIR TAG         a round's download and table watcher (TAG drain), or a watcher of
                                              rs1 put back with no connection (TAG floor); returns once ready
    python3 drain_vm.py collect DIR           wait for a round to end, print what it recorded (JSON)
    python3 drain_vm.py clock                 answer each line on stdin with this VM's time.time()
    python3 drain_vm.py watch|client ...      run by `start`, in the director's and the client's namespace

The topology, on a bridge in PREFIX-sw (nothing else is attached to it, nothing leaves the VM): the client PREFIX-c
198.18.77.1, the director PREFIX-d 198.18.77.2 holding the VIP 198.18.77.100 and the IPVS service
198.18.77.100:18080 (rr), the real servers PREFIX-r1 198.18.77.11 and PREFIX-r2 198.18.77.12 with the VIP on lo
and the ARP sysctls of direct routing. Each real server runs the integration test's slow web server
(tests/integration/targets/ipvs_realserver/files/slow_http.py: one chunk a second), its request log in DIR.

Times are time.time() of this VM; bench/drain.py relates them to the controller's clock (`clock`).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

NET = '198.18.77.'
VIP = NET + '100'
PORT = 18080
NODES = dict(c=NET + '1', d=NET + '2', r1=NET + '11', r2=NET + '12')
WATCH_PERIOD = 0.01
PROBE_PERIOD = 0.5
WAIT_LIMIT = 60.0


class Failed(Exception):
    pass


def sh(*argv):
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise Failed('%s: rc=%d %s' % (' '.join(argv), proc.returncode, proc.stderr.strip()[-1000:]))
    return proc.stdout


def config(directory):
    with open(os.path.join(directory, 'config.json')) as handle:
        return json.load(handle)


def netns(prefix, node):
    return '%s-%s' % (prefix, node)


def in_ns(prefix, node, *argv):
    return ['ip', 'netns', 'exec', netns(prefix, node)] + list(argv)


def write_json(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(data, handle)
    os.rename(tmp, path)


def touch(path):
    with open(path, 'w'):
        pass


def wait_for(paths, limit=WAIT_LIMIT):
    deadline = time.monotonic() + limit
    while not all(os.path.exists(path) for path in paths):
        if time.monotonic() > deadline:
            raise Failed('waited %.0f s for %s' % (limit, ', '.join(p for p in paths if not os.path.exists(p))))
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------------------ topology

def up(directory, prefix):
    existing = sh('ip', 'netns', 'list')
    names = [netns(prefix, node) for node in ('sw',) + tuple(NODES)]
    taken = [name for name in names if any(line.split()[:1] == [name] for line in existing.splitlines())]
    if taken:
        raise Failed('network namespace(s) %s exist: another run? (delete them, or use another prefix)'
                     % ', '.join(taken))
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, 'config.json'), dict(prefix=prefix, vip=VIP, port=PORT, nodes=NODES))
    sw = netns(prefix, 'sw')
    sh('ip', 'netns', 'add', sw)
    sh('ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', sw, 'link', 'set', 'br0', 'up')
    for node, address in NODES.items():
        name = netns(prefix, node)
        sh('ip', 'netns', 'add', name)
        sh('ip', '-n', sw, 'link', 'add', 'p-' + node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name)
        sh('ip', '-n', sw, 'link', 'set', 'p-' + node, 'master', 'br0', 'up')
        sh('ip', '-n', name, 'address', 'add', address + '/24', 'dev', 'eth0')
        sh('ip', '-n', name, 'link', 'set', 'eth0', 'up')
        sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    # The director answers ARP for the VIP; the real servers hold it on lo and neither answer nor announce it.
    sh('ip', '-n', netns(prefix, 'd'), 'address', 'add', VIP + '/32', 'dev', 'eth0')
    for node in ('r1', 'r2'):
        sh('ip', '-n', netns(prefix, node), 'address', 'add', VIP + '/32', 'dev', 'lo')
        for iface in ('all', 'eth0'):
            sh(*in_ns(prefix, node, 'sysctl', '-q', '-w', 'net.ipv4.conf.%s.arp_ignore=1' % iface,
                      '-w', 'net.ipv4.conf.%s.arp_announce=2' % iface))


def down(directory, prefix):
    for node in ('c', 'd', 'r1', 'r2', 'sw'):
        name = netns(prefix, node)
        pids = subprocess.run(['ip', 'netns', 'pids', name], capture_output=True, text=True, check=False).stdout
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except OSError:
                pass
        subprocess.run(['ip', 'netns', 'delete', name], capture_output=True, check=False)
    subprocess.run(['rm', '-rf', '--', directory], check=False)


def listening(pid, address, port):
    """Whether process `pid` (in its network namespace) has a TCP socket listening on address:port."""
    want = '%s:%04X' % (''.join('%02X' % int(octet) for octet in reversed(address.split('.'))), port)
    try:
        with open('/proc/%d/net/tcp' % pid) as handle:
            return any(line.split()[1] == want and line.split()[3] == '0A' for line in list(handle)[1:])
    except OSError:
        return False


def servers(directory, chunks):
    cfg = config(directory)
    prefix = cfg['prefix']
    for node, count in (('r1', chunks), ('r2', 1)):
        pidfile = os.path.join(directory, 'server-%s.pid' % node)
        if os.path.exists(pidfile):
            with open(pidfile) as handle:
                old = int(handle.read())
            try:
                os.kill(old, signal.SIGTERM)
                while os.path.exists('/proc/%d' % old):
                    time.sleep(0.02)
            except OSError:
                pass
        with open(os.path.join(directory, 'server-%s.log' % node), 'a') as log:
            proc = subprocess.Popen(in_ns(prefix, node, 'python3', '-u', os.path.join(directory, 'slow_http.py'),
                                          VIP, str(PORT), str(count)),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        with open(pidfile, 'w') as handle:
            handle.write(str(proc.pid))
        deadline = time.monotonic() + WAIT_LIMIT
        while not listening(proc.pid, VIP, PORT):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise Failed('the slow web server of %s did not start (see %s)' % (node, log.name))
            time.sleep(0.05)


def ipvsadm(prefix, *args):
    return sh(*in_ns(prefix, 'd', 'ipvsadm', *args))


def service(directory):
    prefix = config(directory)['prefix']
    ipvsadm(prefix, '-C')
    ipvsadm(prefix, '-A', '-t', '%s:%d' % (VIP, PORT), '-s', 'rr')
    ipvsadm(prefix, '-a', '-t', '%s:%d' % (VIP, PORT), '-r', '%s:%d' % (NODES['r1'], PORT), '-g', '-w', '1')


# --------------------------------------------------------------------------------------------------------- round

def spawn(directory, prefix, node, *args):
    with open(os.path.join(directory, '%s-%s.err' % (args[0], args[-1])), 'w') as err:
        return subprocess.Popen(in_ns(prefix, node, 'python3', os.path.abspath(__file__), *args),
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)


def start(directory, tag):
    """Start a round's processes and return once they are ready (the download running, the watcher watching)."""
    cfg = config(directory)
    prefix, rs1, rs2 = cfg['prefix'], '%s:%d' % (NODES['r1'], PORT), '%s:%d' % (NODES['r2'], PORT)
    vip = '%s:%d' % (VIP, PORT)
    if tag == 'drain':
        # The service holds rs1 only, so the download goes to it.
        spawn(directory, prefix, 'c', 'client', directory, 'drain')
        wait_for([os.path.join(directory, 'client-ready')])
        spawn(directory, prefix, 'd', 'watch', directory, '1', 'drain')
        wait_for([os.path.join(directory, 'watch-drain-ready')])
        # Another real server in service, so that the drained one is not the last and new connections go somewhere.
        ipvsadm(prefix, '-a', '-t', vip, '-r', rs2, '-g', '-w', '1')
    else:
        # rs1 back in the service, with no connection: what the same task costs when there is nothing to wait for;
        # once the drain's client and watcher are done, so that they do not compete with it for the VM's CPU.
        wait_for([os.path.join(directory, 'client-drain.json'), os.path.join(directory, 'watch-drain.json')])
        ipvsadm(prefix, '-a', '-t', vip, '-r', rs1, '-g', '-w', '1')
        spawn(directory, prefix, 'd', 'watch', directory, '0', tag)
        wait_for([os.path.join(directory, 'watch-%s-ready' % tag)])
    print(json.dumps(dict(ready=time.time())))


def read_ip_vs(vip, port):
    """rs -> (weight, active, inactive) of the service vip:port, from /proc/net/ip_vs (hex addresses)."""
    want = 'TCP  %s:%04X' % (''.join('%02X' % int(o) for o in vip.split('.')), port)
    dests, inside = {}, False
    with open('/proc/net/ip_vs') as handle:
        for line in handle:
            if line.startswith(('TCP', 'UDP', 'FWM', 'SCTP')):
                inside = line.startswith(want + ' ')
            elif inside and line.lstrip().startswith('->'):
                fields = line.split()
                hexaddr, hexport = fields[1].split(':')
                address = '.'.join(str(int(hexaddr[i:i + 2], 16)) for i in range(0, 8, 2))
                dests['%s:%d' % (address, int(hexport, 16))] = (int(fields[3]), int(fields[4]), int(fields[5]))
    return dests


def watch(directory, need_active, tag):
    """Read the director's table every WATCH_PERIOD s until rs1 leaves it; record when its weight became 0, when
    its active connections ended and when it left."""
    rs1 = '%s:%d' % (NODES['r1'], PORT)
    events = dict(tag=tag, start=time.time())
    ready = os.path.join(directory, 'watch-%s-ready' % tag)
    last = None
    reads, largest_gap, previous = 0, 0.0, None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        now = time.time()
        dests = read_ip_vs(VIP, PORT)
        reads += 1
        if previous is not None:
            largest_gap = max(largest_gap, now - previous)
        previous = now
        entry = dests.get(rs1)
        if entry is None:
            if last is not None:
                events['removed'] = now
                break
        else:
            weight, active, inactive = entry
            if last is None:
                events['first'] = dict(weight=weight, active=active, inactive=inactive)
                if active >= int(need_active):
                    touch(ready)
            if weight == 0 and 'quiesced' not in events:
                events['quiesced'] = now
                events['at_quiesce'] = dict(active=active, inactive=inactive)
                touch(os.path.join(directory, 'quiesced-%s' % tag))
            if active == 0 and 'no_active' not in events and last is not None and last[1] > 0:
                events['no_active'] = now
            last = entry
            if not os.path.exists(ready) and active >= int(need_active):
                touch(ready)
        time.sleep(WATCH_PERIOD)
    events.update(reads=reads, largest_gap=largest_gap, end=time.time())
    write_json(os.path.join(directory, 'watch-%s.json' % tag), events)
    touch(os.path.join(directory, 'removed-%s' % tag))


def http_get(path, timeout):
    """GET path from the VIP; the body."""
    sock = socket.create_connection((VIP, PORT), timeout=timeout)
    try:
        sock.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, VIP)).encode())
        data = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return data.split(b'\r\n\r\n', 1)[1] if b'\r\n\r\n' in data else b''


def client(directory, tag):
    """The round's download (tag drain): ready once its first chunk arrived; its end is when the last byte was read
    and the socket closed. From the moment the drained server's weight is 0 until it left the table, a new short
    request to the VIP every PROBE_PERIOD s: each must succeed, and none may reach the drained server."""
    chunks = config(directory)['chunks']
    result = dict(tag=tag, chunks=chunks)
    probes = []

    def probe(number):
        entry = dict(number=number, start=time.time())
        try:
            body = http_get('/probe-%s-%d' % (tag, number), 30)
            entry.update(ok=body == b'chunk 1\n', end=time.time())
        except OSError as exc:
            entry.update(ok=False, error=str(exc), end=time.time())
        probes.append(entry)

    def prober():
        quiesced = os.path.join(directory, 'quiesced-%s' % tag)
        removed = os.path.join(directory, 'removed-%s' % tag)
        deadline = time.monotonic() + 600
        while not os.path.exists(quiesced):
            if os.path.exists(removed) or time.monotonic() > deadline:
                return
            time.sleep(0.01)
        threads = []
        while not os.path.exists(removed) and time.monotonic() < deadline:
            thread = threading.Thread(target=probe, args=(len(threads) + 1,))
            thread.start()
            threads.append(thread)
            time.sleep(PROBE_PERIOD)
        for thread in threads:
            thread.join()

    prober_thread = threading.Thread(target=prober)
    prober_thread.start()
    result['request'] = time.time()
    ready = os.path.join(directory, 'client-ready')
    sock = socket.create_connection((VIP, PORT), timeout=600)
    try:
        sock.sendall(('GET /download-%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (tag, VIP)).encode())
        data, length, body_at = b'', None, 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if length is None and b'\r\n\r\n' in data:
                head, rest = data.split(b'\r\n\r\n', 1)
                body_at = len(head) + 4
                lines = head.decode('latin-1').lower().splitlines()
                length = int([line.split(':', 1)[1] for line in lines if line.startswith('content-length:')][0])
            if length is not None and len(data) > body_at and 'first_chunk' not in result:
                result['first_chunk'] = time.time()
                touch(ready)
            if length is not None and len(data) - body_at >= length:
                break
    finally:
        sock.close()
    result['end'] = time.time()
    body = data[body_at:]
    expected = b''.join(b'chunk %d\n' % n for n in range(1, chunks + 1))
    result.update(bytes=len(body), expected_bytes=len(expected), complete=body == expected)
    prober_thread.join()
    result['probes'] = sorted(probes, key=lambda p: p['number'])
    write_json(os.path.join(directory, 'client-%s.json' % tag), result)


def collect(directory, tags):
    cfg = config(directory)
    wanted = [os.path.join(directory, name) for name in ['client-drain.json'] + ['watch-%s.json' % t for t in tags]]
    try:
        wait_for(wanted)
    except Failed as exc:
        errors = []
        for name in sorted(os.listdir(directory)):
            if name.endswith('.err'):
                with open(os.path.join(directory, name)) as handle:
                    errors.append('%s: %s' % (name, handle.read()[-1000:]))
        raise Failed('%s; %s' % (exc, '; '.join(errors) or 'no errors logged')) from None
    out = dict(table=ipvsadm(cfg['prefix'], '-S', '-n').splitlines())
    for path in wanted:
        with open(path) as handle:
            out[os.path.basename(path)[:-5]] = json.load(handle)
    for node in ('r1', 'r2'):
        with open(os.path.join(directory, 'server-%s.log' % node)) as handle:
            out['requests_' + node] = [line.split('"')[1] for line in handle if '"GET ' in line]
    # The module interpreter's start and end, one pair per module task (logged by its wrapper, see bench/drain.py).
    interpreter = os.path.join(directory, 'interpreter.log')
    if os.path.exists(interpreter):
        with open(interpreter) as handle:
            times = [float(line) for line in handle if line.strip()]
        out['interpreter'] = list(zip(times[::2], times[1::2]))
        os.remove(interpreter)
    # The next round starts from a clean slate: the round's files go, the servers' logs are truncated.
    for name in os.listdir(directory):
        if name != 'config.json' and (name.endswith(('.json', '.err', '-ready'))
                                      or name.startswith(('quiesced-', 'removed-'))):
            os.remove(os.path.join(directory, name))
    for node in ('r1', 'r2'):
        open(os.path.join(directory, 'server-%s.log' % node), 'w').close()
    print(json.dumps(out))


def clock():
    for _line in sys.stdin:
        sys.stdout.write('%.6f\n' % time.time())
        sys.stdout.flush()


def main(argv):
    command, args = argv[1], argv[2:]
    try:
        if command == 'up':
            up(*args)
        elif command == 'down':
            down(*args)
        elif command == 'servers':
            cfg = config(args[0])
            cfg['chunks'] = int(args[1])
            write_json(os.path.join(args[0], 'config.json'), cfg)
            servers(args[0], int(args[1]))
        elif command == 'service':
            service(args[0])
        elif command == 'start':
            start(args[0], args[1])
        elif command == 'watch':
            watch(args[0], args[1], args[2])
        elif command == 'client':
            client(args[0], args[1])
        elif command == 'collect':
            collect(args[0], args[1:])
        elif command == 'clock':
            clock()
        else:
            raise Failed('unknown command %s' % command)
    except Failed as exc:
        print('drain_vm: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
