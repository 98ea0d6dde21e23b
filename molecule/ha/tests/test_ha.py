"""Verify director HA on keepalived with real traffic (pytest-testinfra, docker backend).

The tests run in file order and share the cluster: steady state first, then the failover
of the master (keepalived stopped on it) and the return of the higher-priority director.
"""

import json
import re
import time

import testinfra

VIP = "192.168.89.100"
PORT = 8080
SERVICE = "%s:%d" % (VIP, PORT)
URL = "http://%s/" % SERVICE
MASTER, BACKUP = "lvs-dr-director1", "lvs-dr-director2"
DIRECTORS = (MASTER, BACKUP)
CLIENT = "lvs-dr-ha-client"
REALSERVERS = {"lvs-dr-ha-rs1": "192.168.89.21", "lvs-dr-ha-rs2": "192.168.89.22"}
REQUESTS = 40
# The limit on the time a client goes without an answer while the master goes away.
MAX_GAP = 5.0
VRRP_TIMEOUT = 60
PROBE = "/usr/local/bin/lvs_dr_failover.py"
MAC_RE = re.compile(r"(?i)\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


def node(name):
    return testinfra.get_host("docker://%s" % name)


def fetch(count=REQUESTS):
    """``count`` requests to the VIP from the client, one TCP connection each: the answering hosts."""
    out = node(CLIENT).check_output(
        "curl --silent --show-error --max-time 10 --header %s %s", "Connection: close", "%s?n=[1-%d]" % (URL, count)
    )
    return out.split()


def holds_vip(name):
    return "%s/32" % VIP in node(name).check_output("ip -4 -o address show dev eth0")


def mac_of(name):
    return node(name).check_output("cat /sys/class/net/eth0/address").strip().lower()


def wait_for_holder(name, timeout=VRRP_TIMEOUT):
    """Wait until ``name`` holds the VIP and no other director does."""
    deadline = time.time() + timeout
    while True:
        holders = [d for d in DIRECTORS if holds_vip(d)]
        if holders == [name]:
            return
        if time.time() > deadline:
            raise AssertionError("VIP %s held by %s, expected %s alone" % (VIP, holders, name))
        time.sleep(1)


def arp_answers():
    probe = node(CLIENT).run("arping -c 3 -I eth0 %s", VIP)
    return {mac.lower() for mac in MAC_RE.findall(probe.stdout)}, probe.stdout + probe.stderr


def run_probe(name, action):
    """Start the failover probe on the client, run ``action()`` while it sends, stop it: its summary."""
    client = node(CLIENT)
    result, stop = "/tmp/%s.json" % name, "/tmp/%s.stop" % name
    client.check_output("rm -f %s %s", result, stop)
    client.check_output("systemd-run --unit %s --collect %s %s %s --stop-file %s --max-seconds 300",
                        "lvs-dr-" + name, PROBE, URL, result, stop)
    time.sleep(3)  # answers before the failure
    action()
    time.sleep(8)  # answers after it
    client.check_output("touch %s", stop)
    deadline = time.time() + 60
    while not client.file(result).exists:
        assert time.time() < deadline, "the probe wrote no result"
        time.sleep(1)
    summary = json.loads(client.file(result).content_string)
    print("%s: %s" % (name, json.dumps(summary, sort_keys=True)))
    return summary


def test_keepalived_runs_on_both_directors_with_our_config():
    for name in DIRECTORS:
        director = node(name)
        assert director.service("keepalived").is_running
        assert director.service("keepalived").is_enabled
        conf = director.file("/etc/keepalived/keepalived.conf")
        assert conf.mode == 0o640
        assert "Ansible managed" in conf.content_string
        assert "director_engine keepalived" in conf.content_string
        # The ipvsadm engine is not there: no restore unit (masked), no VIP unit, no rules file.
        assert director.run("systemctl is-enabled ipvsadm.service").stdout.strip() == "masked"
        assert not director.file("/etc/systemd/system/lvs-dr-director-vips-lvs_dr.service").exists
        assert not director.file("/etc/ipvsadm.rules").exists


def test_unicast_peers_are_the_other_director():
    addresses = {MASTER: "192.168.89.11", BACKUP: "192.168.89.12"}
    for name, peer in ((MASTER, BACKUP), (BACKUP, MASTER)):
        conf = node(name).file("/etc/keepalived/keepalived.conf").content_string
        assert "unicast_src_ip %s" % addresses[name] in conf
        assert re.search(r"unicast_peer \{\s+%s\s+\}" % re.escape(addresses[peer]), conf), conf


def test_both_directors_hold_the_table():
    for name in DIRECTORS:
        out = node(name).check_output("ipvsadm -Ln -t %s", SERVICE)
        for address in REALSERVERS.values():
            assert "%s:%d" % (address, PORT) in out, out


def test_only_the_master_holds_the_vip_and_answers_arp():
    wait_for_holder(MASTER)
    answering, text = arp_answers()
    assert answering == {mac_of(MASTER)}, text


def test_requests_reach_both_realservers():
    answers = fetch()
    assert len(answers) == REQUESTS
    assert set(answers) == set(REALSERVERS), answers
    # rr over two servers of equal weight: an even split.
    for name in REALSERVERS:
        assert answers.count(name) == REQUESTS // 2, answers


def test_failover_when_keepalived_stops_on_the_master():
    summary = run_probe("failover", lambda: node(MASTER).check_output("systemctl stop keepalived"))
    assert summary["max_gap"] <= MAX_GAP, summary
    assert summary["ok"] > 0 and set(summary["answers"]) == set(REALSERVERS), summary
    wait_for_holder(BACKUP)
    answering, text = arp_answers()
    assert answering == {mac_of(BACKUP)}, text
    # Gratuitous ARP: the client's neighbour entry for the VIP follows the new master.
    neigh = node(CLIENT).check_output("ip -4 neigh show %s dev eth0", VIP).lower()
    assert "lladdr %s" % mac_of(BACKUP) in neigh, neigh
    assert set(fetch()) == set(REALSERVERS)


def test_the_master_takes_the_vip_back_when_it_returns():
    summary = run_probe("failback", lambda: node(MASTER).check_output("systemctl start keepalived"))
    assert summary["max_gap"] <= MAX_GAP, summary
    wait_for_holder(MASTER)
    neigh = node(CLIENT).check_output("ip -4 neigh show %s dev eth0", VIP).lower()
    assert "lladdr %s" % mac_of(MASTER) in neigh, neigh
    assert set(fetch()) == set(REALSERVERS)
