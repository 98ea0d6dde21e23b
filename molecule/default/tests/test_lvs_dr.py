"""Verify the molecule LVS-DR topology with real traffic (pytest-testinfra).

Every check runs in the containers through ``docker exec`` (testinfra's docker backend),
so it honours DOCKER_HOST like molecule does. The tests run in file order; the reboot
test restarts every container and comes last.
"""

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import testinfra
import yaml

VIP = "192.168.88.100"
PORT = 8080
SERVICE = "%s:%d" % (VIP, PORT)
DIRECTOR = "lvs-dr-director"
CLIENT = "lvs-dr-client"
# Real servers, their addresses and their weights in molecule.yml (wrr 3:1).
REALSERVERS = {"lvs-dr-rs1": ("192.168.88.21", 3), "lvs-dr-rs2": ("192.168.88.22", 1)}
RS1, RS2 = REALSERVERS["lvs-dr-rs1"][0], REALSERVERS["lvs-dr-rs2"][0]
REQUESTS = 40  # a multiple of the weight sum: wrr gives exactly 30:10
TOLERANCE = 0.05  # allowed deviation of each server's share from weight / sum(weights)
BOOT_TIMEOUT = 300
STATS_TIMEOUT = 60

MAC_RE = re.compile(r"(?i)\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


def node(name):
    return testinfra.get_host("docker://%s" % name)


def fetch(count=REQUESTS):
    """Send ``count`` requests to the VIP from the client, one TCP connection each."""
    url = "http://%s/?n=[1-%d]" % (SERVICE, count)
    out = node(CLIENT).check_output(
        "curl --silent --show-error --max-time 10 --header %s %s", "Connection: close", url
    )
    return out.split()


def service_stats():
    """Conns, InPkts and OutPkts of the service, from the director's ipvsadm."""
    out = node(DIRECTOR).check_output("ipvsadm -Ln --stats --exact -t %s", SERVICE)
    for line in out.splitlines():
        fields = line.split()
        if fields[:2] == ["TCP", SERVICE]:
            return {"conns": int(fields[2]), "inpkts": int(fields[3]), "outpkts": int(fields[4])}
    raise AssertionError("service %s not in ipvsadm output:\n%s" % (SERVICE, out))


def mac_of(name):
    return node(name).check_output("cat /sys/class/net/eth0/address").strip().lower()


def assert_spread(answers):
    assert len(answers) == REQUESTS, answers
    unknown = set(answers) - set(REALSERVERS)
    assert not unknown, "answers from unexpected hosts: %s" % unknown
    total_weight = sum(weight for _address, weight in REALSERVERS.values())
    for name, (_address, weight) in REALSERVERS.items():
        share = answers.count(name) / float(len(answers))
        expected = weight / float(total_weight)
        assert abs(share - expected) <= TOLERANCE, (
            "%s answered %d of %d requests (%.2f), expected %.2f +/- %.2f"
            % (name, answers.count(name), len(answers), share, expected, TOLERANCE)
        )


def test_requests_follow_the_weights():
    assert_spread(fetch())


def settled_stats(expected_conns=0):
    """The service counters once they count at least ``expected_conns`` connections and
    stopped moving.

    The kernel folds its per-CPU counters into what ipvsadm shows from a timer (every
    2 s on Debian 12's kernel), so a read right after traffic lags behind it.
    """
    deadline = time.time() + STATS_TIMEOUT
    previous = None
    while True:
        stats = service_stats()
        if stats == previous and stats["conns"] >= expected_conns:
            return stats
        if time.time() > deadline:
            raise AssertionError("counters did not settle at >= %d connections: %s" % (expected_conns, stats))
        previous = stats
        time.sleep(3)


def test_replies_bypass_the_director():
    before = settled_stats()
    answers = fetch()
    after = settled_stats(before["conns"] + REQUESTS)
    assert len(answers) == REQUESTS
    assert after["conns"] - before["conns"] == REQUESTS
    # Each connection brings at least SYN, request and FIN through the director...
    assert after["inpkts"] - before["inpkts"] >= 3 * REQUESTS
    # ...and not one reply packet: the real servers answer the client directly.
    assert after["outpkts"] == 0
    assert before["outpkts"] == 0


def test_only_the_director_owns_the_vip_on_the_wire():
    director_mac = mac_of(DIRECTOR)
    realserver_macs = {mac_of(name) for name in REALSERVERS}
    assert director_mac not in realserver_macs
    fetch(4)
    neigh = node(CLIENT).check_output("ip -4 neigh show %s dev eth0", VIP)
    assert "lladdr %s" % director_mac in neigh.lower(), neigh
    probe = node(CLIENT).run("arping -c 3 -I eth0 %s", VIP)
    answering = {mac.lower() for mac in MAC_RE.findall(probe.stdout)}
    assert answering == {director_mac}, probe.stdout + probe.stderr


def test_realservers_hold_the_vip_quietly():
    for name in REALSERVERS:
        host = node(name)
        assert "%s/32" % VIP in host.check_output("ip -4 -o address show dev lo")
        assert host.sysctl("net.ipv4.conf.all.arp_ignore") == 1
        assert host.sysctl("net.ipv4.conf.all.arp_announce") == 2


def test_director_files():
    director = node(DIRECTOR)
    ethers = director.file("/etc/ethers")
    assert ethers.exists
    for name, (address, _weight) in REALSERVERS.items():
        assert re.search(r"(?m)^%s\s+%s\b" % (re.escape(mac_of(name)), re.escape(address)), ethers.content_string.lower())
    rules = director.file("/etc/ipvsadm.rules")
    assert rules.mode == 0o644
    assert "Ansible managed" in rules.content_string
    assert "-A -t %s -s wrr" % SERVICE in rules.content_string
    for address, weight in REALSERVERS.values():
        assert "-a -t %s -r %s:%d -g -w %d" % (SERVICE, address, PORT, weight) in rules.content_string
    unit = director.file("/etc/systemd/system/ipvsadm.service")
    assert "ExecStart=/usr/local/sbin/lvs-dr-ipvsadm-restore /etc/ipvsadm.rules" in unit.content_string
    # The helper never clears the table (no "-C" argument anywhere in it).
    assert '"-C"' not in director.file("/usr/local/sbin/lvs-dr-ipvsadm-restore").content_string
    assert director.service("ipvsadm.service").is_enabled
    assert director.file("/etc/modules-load.d/lvs-dr-director.conf").contains("^ip_vs_wrr$")
    assert director.sysctl("net.ipv4.vs.expire_nodest_conn") == 1
    assert director.sysctl("net.ipv4.vs.expire_quiescent_template") == 1
    # Chosen for the kernel: a reused port seen in FIN_WAIT (direct routing) is rescheduled.
    assert director.sysctl("net.ipv4.vs.conn_reuse_mode") == 2
    assert "FIN_WAIT" in director.file("/etc/sysctl.d/90-lvs-dr-director.conf").content_string
    assert director.service("lvs-dr-static-arp.service").is_enabled


def test_realserver_files():
    for name in REALSERVERS:
        host = node(name)
        sysctl = host.file("/etc/sysctl.d/90-lvs-dr-lvs_dr.conf")
        assert sysctl.exists
        assert re.search(r"(?m)^net\.ipv4\.conf\.all\.arp_ignore\s*=\s*1$", sysctl.content_string)
        assert re.search(r"(?m)^net\.ipv4\.conf\.all\.arp_announce\s*=\s*2$", sysctl.content_string)
        assert host.service("lvs-dr-realserver-lvs_dr.service").is_enabled


def test_partial_restore_fails_loudly_and_keeps_the_table():
    director = node(DIRECTOR)
    table_before = director.check_output("ipvsadm -Sn")
    bogus = "-A -t %s:9 -s no_such_scheduler" % VIP
    director.check_output("cp /etc/ipvsadm.rules /tmp/partial.rules")
    director.check_output("sh -c %s", "echo '%s' >> /tmp/partial.rules" % bogus)
    result = director.run("/usr/local/sbin/lvs-dr-ipvsadm-restore /tmp/partial.rules")
    director.run("rm -f /tmp/partial.rules")
    assert result.rc == 1, result.stderr
    assert "missing: %s" % bogus in result.stderr
    assert "PARTIAL RESTORE" in result.stderr
    assert director.check_output("ipvsadm -Sn") == table_before
    # The real rules file restores cleanly through the unit, which leaves a journal line.
    director.check_output("systemctl restart ipvsadm.service")
    assert director.service("ipvsadm.service").is_running or director.check_output(
        "systemctl is-active ipvsadm.service") == "active"
    assert "holds all 3 rules" in director.check_output("journalctl -u ipvsadm.service --no-pager -n 20")


# ------------------------------------------------------------------------------------------------------------------
# Day-2 runs of lvs.dr.site against the live topology, with variables overridden as a user would edit the inventory.

FOREIGN = "-A -t %s:9999 -s rr" % VIP  # a service another tool adds: lvs.dr must leave it alone
VIP2 = "192.168.88.101"
WEB = {"virtual_address": VIP, "virtual_port": PORT, "protocol": "tcp", "scheduler": "wrr"}
EXTRA = {"virtual_address": VIP2, "virtual_port": 8081, "scheduler": "rr"}


def playbook(name, *extra):
    """Run a playbook of the collection against the molecule inventory; return (rc, output)."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(inventory), name] + list(extra),
        capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
    )
    return proc.returncode, proc.stdout + proc.stderr


def site(services, *extra):
    """Run lvs.dr.site with director_services overridden; return (rc, output)."""
    return playbook("lvs.dr.site", "-e", json.dumps({"director_services": services}), *extra)


def add_foreign_service():
    director = node(DIRECTOR)
    if FOREIGN not in director.check_output("ipvsadm -Sn"):
        director.check_output("ipvsadm -A -t %s:9999 -s rr", VIP)


def snapshot():
    """What a failed run must leave exactly as it was: tables, rules file, VIPs, ARP pins."""
    director = node(DIRECTOR)
    state = {
        "table": director.check_output("ipvsadm -Sn"),
        "rules": rules_file(),
        "director_addresses": director.check_output("ip -4 -o address show dev eth0"),
        "neigh": director.check_output("ip -4 neigh show nud permanent"),
    }
    for name in REALSERVERS:
        state[name] = node(name).check_output("ip -o address show dev lo")
    return state


@pytest.mark.parametrize("services, message", [
    ([dict(WEB, realserver_group="lvs_realsevers")], "realserver_group 'lvs_realsevers' is not a group of the inventory"),
    ([dict(WEB, realservers=[{"address": "192.168.88.23", "mac": "02:42:c0:a8:58:17"}])],
     "it would remove 2 of the 2 real servers of tcp %s" % SERVICE),
    ([dict(WEB, state="absent"), dict(EXTRA, state="absent"),
      {"virtual_address": VIP, "virtual_port": 9999, "state": "absent"}],
     "it would remove 2 services (at most 1 allowed)"),
], ids=["misspelt-group", "pool-emptied", "two-services"])
def test_a_dangerous_run_fails_and_changes_nothing(services, message):
    add_foreign_service()
    before = snapshot()
    rc, out = site(services)
    assert rc != 0, out
    assert message in out, out
    assert "Nothing was changed" in out, out
    assert snapshot() == before
    assert_spread(fetch())


def read_result(path, what, timeout):
    """The JSON summary a client-side program (load generator, held connections) writes to ``path`` when it ends,
    waiting up to ``timeout`` s for it."""
    client = node(CLIENT)
    deadline = time.time() + timeout
    while not client.file(path).exists:
        assert time.time() < deadline, "%s wrote no result" % what
        time.sleep(1)
    return json.loads(client.file(path).content_string)


MIN_REQUESTS = 1000  # every change to the live cluster is proven with at least this many requests across it


class Load(object):
    """Requests from the client to the VIP while the cluster changes: every failed one is counted. The generator
    keeps going after the change until it sent at least MIN_REQUESTS."""

    RESULT = "/tmp/lvs-dr-load.json"
    STOP = "/tmp/lvs-dr-load.stop"

    def __enter__(self):
        client = node(CLIENT)
        client.run("rm -f %s %s", self.RESULT, self.STOP)
        client.check_output(
            "systemd-run --unit lvs-dr-load --collect /usr/bin/python3 /usr/local/bin/lvs_dr_load.py "
            "http://%s/ %s --stop-file %s --min-requests %s --max-seconds 900",
            SERVICE, self.RESULT, self.STOP, str(MIN_REQUESTS))
        return self

    def __exit__(self, *exc):
        node(CLIENT).check_output("touch %s", self.STOP)
        self.result = read_result(self.RESULT, "the load generator", 600)
        return False

    def assert_no_loss(self, answered_by=None):
        """At least MIN_REQUESTS sent, not one failed, and (if given) exactly these real servers answered."""
        assert self.result["sent"] >= MIN_REQUESTS, self.result
        assert self.result["failed"] == 0, self.result
        if answered_by is not None:
            assert set(self.result["answers"]) == set(answered_by), self.result


def under_load(run, answered_by=None):
    """Run ``run()`` (a playbook: it returns rc and output) while the client sends requests to the VIP; fail on a
    failed run or a failed request. Returns the output."""
    with Load() as load:
        rc, out = run()
    assert rc == 0, out
    load.assert_no_loss(answered_by)
    return out


class Held(object):
    """Long-lived connections from the client to a service (lvs_dr_hold.py): opened on entry, each an active
    connection of the real server the director chose, held until release() finishes their requests."""

    RESULT = "/tmp/lvs-dr-hold.json"
    STOP = "/tmp/lvs-dr-hold.stop"

    def __init__(self, service=SERVICE, connections=4):
        self.service = service
        self.connections = connections

    def __enter__(self):
        client = node(CLIENT)
        client.run("rm -f %s %s", self.RESULT, self.STOP)
        client.check_output(
            "systemd-run --unit lvs-dr-hold --collect /usr/bin/python3 /usr/local/bin/lvs_dr_hold.py "
            "http://%s/ %s --connections %s --stop-file %s --max-seconds 900",
            self.service, self.RESULT, str(self.connections), self.STOP)
        wait_for(lambda: sum(active_connections(self.service).values()) >= self.connections,
                 "%d held connections to %s counted by the director" % (self.connections, self.service), timeout=60)
        self.result = None
        return self

    def release(self):
        node(CLIENT).check_output("touch %s", self.STOP)
        self.result = read_result(self.RESULT, "lvs_dr_hold.py", 120)
        return self.result

    def __exit__(self, *exc):
        if self.result is None:
            node(CLIENT).run("touch %s", self.STOP)
        return False


def active_connections(service=SERVICE):
    """ActiveConn of each real server of ``service`` in the director's table, by address."""
    out = node(DIRECTOR).check_output("ipvsadm -Ln -t %s", service)
    return dict((address, int(active)) for address, active in re.findall(
        r"(?m)^\s+->\s+([0-9.]+):\d+\s+\S+\s+\d+\s+(\d+)\s+\d+\s*$", out))


def table_weights(service=SERVICE):
    """The weight of each real server of ``service`` in the director's kernel table, by address."""
    table = node(DIRECTOR).check_output("ipvsadm -Sn")
    return dict((address, int(weight)) for address, weight in re.findall(
        r"(?m)^-a -t %s -r ([0-9.]+):\d+ -g -w (\d+)$" % re.escape(service), table))


def start_playbook(name, *extra, **kwargs):
    """Start a playbook of the collection against the molecule inventory (or ``inventory``); return the process."""
    inventory = kwargs.get("inventory") or os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return subprocess.Popen(
        ["ansible-playbook", "-i", inventory, name] + list(extra), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))


def drained_while_held(start, leaving, service=SERVICE, answered_by=None):
    """The promise of every removal: while the client keeps sending requests (Load) and holds long-lived connections
    to ``service`` (Held), ``start()`` starts a run that takes the real servers ``leaving`` (addresses) out of it.
    Each must wait at weight 0 while a held connection is open - the run waiting for it - and leave the table only
    after the connections closed; not one request, held or not, may fail. Returns the run's output."""
    with Held(service) as held:
        before = active_connections(service)
        assert all(before.get(address) for address in leaving), before  # a held connection on each leaving server
        with Load() as load:
            proc = start()
            try:
                wait_for(lambda: all(table_weights(service).get(address) == 0 for address in leaving),
                         "%s at weight 0 in %s" % (", ".join(leaving), service), timeout=900)
                time.sleep(5)  # the run waits while the held connections stay open
                assert proc.poll() is None, proc.communicate()[0]
                assert all(table_weights(service).get(address) == 0 for address in leaving), table_weights(service)
                result = held.release()
                out = proc.communicate(timeout=900)[0]
            finally:
                if proc.poll() is None:
                    proc.kill()
        load.assert_no_loss(answered_by)
    assert proc.returncode == 0, out
    assert result["failed"] == 0 and result["opened"] == held.connections, result
    assert not set(leaving) & set(table_weights(service)), node(DIRECTOR).check_output("ipvsadm -Sn")
    for address in leaving:  # the run names each server it drained
        assert '"realserver": "%s:' % address in out, out
    return out


def test_a_service_comes_and_goes_and_leaves_other_tools_alone():
    director = node(DIRECTOR)
    add_foreign_service()
    neigh_before = director.check_output("ip -4 neigh show nud permanent")

    # A second VIP is added (director and real servers) while a client keeps using the first one.
    under_load(lambda: site([WEB, EXTRA]), REALSERVERS)
    table = director.check_output("ipvsadm -Sn")
    assert "-A -t %s:8081 -s rr" % VIP2 in table
    assert FOREIGN in table  # not purged
    rules = rules_file()
    assert "-A -t %s:8081 -s rr" % VIP2 in rules
    assert ":9999" not in rules  # not ours: never saved, so never restored by us
    assert "%s/32" % VIP2 in director.check_output("ip -4 -o address show dev eth0")
    for name in REALSERVERS:
        assert "%s/32" % VIP2 in node(name).check_output("ip -4 -o address show dev lo")
    assert_spread(fetch())

    # ...and removed again, the same client still on the first VIP, while long-lived connections to the second one
    # are open: its real servers wait at weight 0 until those end, then the service and its VIP go.
    for name in REALSERVERS:
        node(name).check_output("systemd-run --unit lvs-dr-testweb8081 --collect /usr/bin/python3 -m http.server 8081 "
                                "--bind 0.0.0.0 --directory /srv/lvs-dr-web")
    try:
        wait_for(lambda: all(node(name).run("curl --silent --max-time 3 http://127.0.0.1:8081/").rc == 0
                             for name in REALSERVERS), "the web servers on port 8081", timeout=60)
        drained_while_held(lambda: start_playbook("lvs.dr.site", "-e", json.dumps(
            {"director_services": [WEB, dict(EXTRA, state="absent")]})), [RS1, RS2], "%s:8081" % VIP2, REALSERVERS)
    finally:
        for name in REALSERVERS:
            node(name).run("systemctl stop lvs-dr-testweb8081")
    table = director.check_output("ipvsadm -Sn")
    assert ":8081" not in table
    assert FOREIGN in table
    assert "-A -t %s -s wrr" % SERVICE in table
    rules = rules_file()
    assert ":8081" not in rules and "-A -t %s -s wrr" % SERVICE in rules
    addresses = director.check_output("ip -4 -o address show dev eth0")
    assert VIP2 not in addresses and "%s/32" % VIP in addresses
    for name in REALSERVERS:
        lo = node(name).check_output("ip -4 -o address show dev lo")
        assert VIP2 not in lo and "%s/32" % VIP in lo
    # Both real servers are still in the remaining pool: their pins stay.
    assert director.check_output("ip -4 neigh show nud permanent") == neigh_before
    assert_spread(fetch())


def weights():
    """The weight of each real server of the web service in the director's kernel table, by address."""
    return table_weights(SERVICE)


def host_vars(tmp_path, values):
    """``-i`` arguments for an inventory source that sets these host variables over the molecule inventory's, as an
    operator edits host_vars/ (a host_vars directory of a later source wins over an earlier one's)."""
    source = tmp_path / "inventory-overrides"
    (source / "host_vars").mkdir(parents=True)
    (source / "hosts.yml").write_text(json.dumps({"all": {"hosts": dict((name, None) for name in values)}}))
    for name, variables in values.items():
        (source / "host_vars" / ("%s.yml" % name)).write_text(json.dumps(variables))
    return ["-i", str(source)]


def rules_file():
    return node(DIRECTOR).file("/etc/ipvsadm.rules").content_string


def changed_counts(out):
    """Host name -> changed=N of the play recap (colours, if any, removed first)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    return dict((host, int(count)) for host, count in re.findall(r"(?m)^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", plain))


def test_a_site_run_with_no_change_changes_nothing_and_loses_no_request():
    table_before = node(DIRECTOR).check_output("ipvsadm -Sn")
    out = under_load(lambda: playbook("lvs.dr.site"), REALSERVERS)
    counts = changed_counts(out)
    assert set(counts) >= set(REALSERVERS) | {DIRECTOR}, out
    assert not any(counts.values()), counts
    assert node(DIRECTOR).check_output("ipvsadm -Sn") == table_before


def test_a_real_server_set_absent_is_drained_and_removed_without_a_failed_request(tmp_path):
    """realserver_state: absent on rs2, as an operator sets it in host_vars: every director drains it and removes it,
    it releases its VIP, its ARP pin goes, and not one request fails."""
    absent = host_vars(tmp_path, {"lvs-dr-rs2": {"realserver_state": "absent"}})
    under_load(lambda: playbook("lvs.dr.site", *absent))
    assert weights() == {RS1: 3}
    assert RS2 not in rules_file()
    assert VIP not in node("lvs-dr-rs2").check_output("ip -4 -o address show dev lo")
    assert RS2 not in node(DIRECTOR).check_output("ip -4 neigh show nud permanent")
    assert set(fetch()) == {"lvs-dr-rs1"}


def test_a_real_server_is_added_without_a_failed_request():
    """rs2 back in the inventory as present: it gains the VIP before the director sends it anything."""
    under_load(lambda: playbook("lvs.dr.site"))
    assert weights() == {RS1: 3, RS2: 1}
    assert "-a -t %s -r %s:%d -g -w 1" % (SERVICE, RS2, PORT) in rules_file()
    assert "%s/32" % VIP in node("lvs-dr-rs2").check_output("ip -4 -o address show dev lo")
    assert RS2 in node(DIRECTOR).check_output("ip -4 neigh show nud permanent")
    assert_spread(fetch())


def inventory_without(tmp_path, host, group):
    """A copy of the molecule inventory in which ``group`` no longer lists ``host``, as an operator deletes a line."""
    source = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    copy = tmp_path / ("inventory-without-%s" % host)
    shutil.copytree(source, str(copy))
    found = []

    def drop(tree):
        if isinstance(tree, dict):
            for key, value in tree.items():
                if key == group and isinstance(value, dict) and host in (value.get("hosts") or {}):
                    value["hosts"].pop(host)
                    found.append(key)
                drop(value)

    for path in copy.glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        drop(data)
        path.write_text(yaml.safe_dump(data))
    assert found, "%s is not in group %s of %s" % (host, group, source)
    return str(copy)


def test_a_real_server_deleted_from_the_inventory_group_is_drained_first(tmp_path):
    """rs2's line deleted from lvs_realservers: the next site run drains it (weight 0, waiting for its long-lived
    connection) before removing it; rs2 itself is no longer managed and keeps its VIP on lo (harmless)."""
    inventory = inventory_without(tmp_path, "lvs-dr-rs2", "lvs_realservers")
    drained_while_held(lambda: start_playbook("lvs.dr.site", inventory=inventory), [RS2])
    assert weights() == {RS1: 3}
    assert RS2 not in rules_file()
    assert "%s/32" % VIP in node("lvs-dr-rs2").check_output("ip -4 -o address show dev lo")
    assert set(fetch()) == {"lvs-dr-rs1"}


def test_retiring_a_real_server_releases_its_vips():
    """lvs.dr.drain with drain_state=absent on rs2 (already out of every table): its VIP leaves lo, with no request
    lost; the directors' tables stay as they are."""
    table_before = node(DIRECTOR).check_output("ipvsadm -Sn")
    under_load(lambda: playbook("lvs.dr.drain", "-e", "drain_hosts=lvs-dr-rs2", "-e", "drain_state=absent"))
    assert VIP not in node("lvs-dr-rs2").check_output("ip -4 -o address show dev lo")
    assert node(DIRECTOR).check_output("ipvsadm -Sn") == table_before


def test_weights_change_without_a_failed_request(tmp_path):
    weighted = host_vars(tmp_path, {"lvs-dr-rs1": {"realserver_weight": 1}, "lvs-dr-rs2": {"realserver_weight": 2}})
    under_load(lambda: playbook("lvs.dr.site", *weighted), REALSERVERS)
    assert weights() == {RS1: 1, RS2: 2}
    assert "-a -t %s -r %s:%d -g -w 2" % (SERVICE, RS2, PORT) in rules_file()


def test_a_real_server_left_out_of_an_explicit_list_is_drained_first():
    """The pool given as an explicit realservers list without rs2: drained first, then removed."""
    drained_while_held(lambda: start_playbook("lvs.dr.site", "-e", json.dumps(
        {"director_services": [dict(WEB, realservers=["lvs-dr-rs1"])]})), [RS2])
    assert weights() == {RS1: 3}
    assert RS2 not in rules_file()


def test_a_pool_changed_in_several_ways_at_once_converges_without_a_failed_request(tmp_path):
    """In one run: the scheduler (wrr -> wlc), rs2 back from outside the pool as drained (weight 0, kept in the
    table and in the rules file) and rs1 at its inventory weight."""
    drained = host_vars(tmp_path, {"lvs-dr-rs2": {"realserver_state": "drained"}})
    under_load(lambda: site([dict(WEB, scheduler="wlc")], *drained))
    assert weights() == {RS1: 3, RS2: 0}
    table = node(DIRECTOR).check_output("ipvsadm -Sn")
    assert "-A -t %s -s wlc" % SERVICE in table
    rules = rules_file()
    assert "-A -t %s -s wlc" % SERVICE in rules
    assert "-a -t %s -r %s:%d -g -w 0" % (SERVICE, RS2, PORT) in rules
    # Drained, not removed: it keeps the VIP and its ARP pin, ready to come back.
    assert "%s/32" % VIP in node("lvs-dr-rs2").check_output("ip -4 -o address show dev lo")
    assert RS2 in node(DIRECTOR).check_output("ip -4 neigh show nud permanent")
    assert set(fetch()) == {"lvs-dr-rs1"}


def wait_for(check, what, timeout=BOOT_TIMEOUT):
    deadline = time.time() + timeout
    while True:
        try:
            if check():
                return
        except (AssertionError, RuntimeError):
            pass
        if time.time() > deadline:
            pytest.fail("%s: not within %d s" % (what, timeout))
        time.sleep(3)


def test_a_drained_real_server_stays_drained_after_the_director_reboots():
    _docker("restart", "--time", "3", DIRECTOR)
    wait_for(lambda: len(weights()) == len(REALSERVERS), "the director's table restored after its restart")
    assert weights() == {RS1: 3, RS2: 0}
    assert "-A -t %s -s wlc" % SERVICE in node(DIRECTOR).check_output("ipvsadm -Sn")
    wait_for(lambda: node(CLIENT).run("curl --silent --max-time 3 http://%s/", SERVICE).rc == 0,
             "the VIP answering after the director's restart", timeout=60)
    assert set(fetch()) == {"lvs-dr-rs1"}


def test_restarting_the_restore_unit_loses_no_request():
    director = node(DIRECTOR)
    table_before = director.check_output("ipvsadm -Sn")
    with Load() as load:
        director.check_output("systemctl restart ipvsadm.service")
    load.assert_no_loss(["lvs-dr-rs1"])
    assert director.check_output("ipvsadm -Sn") == table_before


def test_converging_back_to_the_inventory_loses_no_request():
    """Scheduler back to wrr and rs2 back in service with weight 1, in one run."""
    under_load(lambda: playbook("lvs.dr.site"))
    assert weights() == {RS1: 3, RS2: 1}
    assert "-A -t %s -s wrr" % SERVICE in node(DIRECTOR).check_output("ipvsadm -Sn")
    assert "-A -t %s -s wrr" % SERVICE in rules_file()
    assert_spread(fetch())


def test_rolling_maintenance_stops_every_web_server_without_a_failed_request(tmp_path):
    """lvs.dr.rolling over both real servers, the maintenance stopping each one's web server for a few seconds: both
    come back with their weights, and not one request fails."""
    maintenance = tmp_path / "maintenance.yml"
    maintenance.write_text(
        "- name: Stop the web server\n"
        "  ansible.builtin.systemd_service: {name: lvs-dr-testweb.service, state: stopped}\n"
        "- name: Stay down for a while\n"
        "  ansible.builtin.pause: {seconds: 3}\n"
        "- name: Start it again\n"
        "  ansible.builtin.systemd_service: {name: lvs-dr-testweb.service, state: started}\n"
        "- name: Wait until it answers\n"
        "  ansible.builtin.wait_for: {port: %d, timeout: 60}\n" % PORT)
    started = dict((name, node(name).check_output("systemctl show -p ActiveEnterTimestamp lvs-dr-testweb.service"))
                   for name in REALSERVERS)
    under_load(lambda: playbook("lvs.dr.rolling", "-e", "rolling_tasks=%s" % maintenance), REALSERVERS)
    for name in REALSERVERS:  # the maintenance did run on each of them
        assert node(name).check_output("systemctl show -p ActiveEnterTimestamp lvs-dr-testweb.service") != started[name]
    assert weights() == dict((address, weight) for address, weight in REALSERVERS.values())
    assert_spread(fetch())


def test_a_drained_real_server_finishes_its_requests_and_takes_no_new_one(tmp_path):
    director = node(DIRECTOR)
    rules_before = rules_file()
    rs1, rs2 = RS1, RS2
    assert weights() == {rs1: 3, rs2: 1}
    under_load(lambda: playbook("lvs.dr.drain", "-e", "drain_hosts=lvs-dr-rs2"), REALSERVERS)
    assert weights() == {rs1: 3, rs2: 0}
    # No new connection goes to the drained server, and the rules file is not changed (the drain is for this run).
    assert set(fetch()) == {"lvs-dr-rs1"}
    assert rules_file() == rules_before

    # lvs.dr.rolling over the drained one alone (a maintenance that does nothing) brings it back with its weight.
    noop = tmp_path / "noop.yml"
    noop.write_text("- name: Nothing to maintain\n  ansible.builtin.debug: {msg: maintenance}\n")
    rc, out = playbook("lvs.dr.rolling", "-e", "rolling_hosts=lvs-dr-rs2", "-e", "rolling_tasks=%s" % noop)
    assert rc == 0, out
    assert weights() == {rs1: 3, rs2: 1}
    assert_spread(fetch())


def _docker(*args):
    return subprocess.run(("docker",) + args, capture_output=True, text=True, check=True).stdout


def _ready():
    try:
        table = node(DIRECTOR).check_output("ipvsadm -Sn")
        if table.count("-a -t %s" % SERVICE) != len(REALSERVERS):
            return False
        for name in REALSERVERS:
            if not node(name).run("curl --silent --max-time 3 http://127.0.0.1:%s/", str(PORT)).stdout.strip():
                return False
            if "%s/32" % VIP not in node(name).check_output("ip -4 -o address show dev lo"):
                return False
        return True
    except (AssertionError, RuntimeError):
        return False


def test_topology_survives_a_reboot():
    names = [DIRECTOR, CLIENT] + list(REALSERVERS)
    _docker("restart", "--time", "3", *names)
    wait_for(_ready, "the topology back after restarting the containers")
    # The table was rebuilt from scratch in the new network namespace, without Ansible, and holds only
    # lvs.dr's services: the one another tool added before the restart is not restored by lvs.dr.
    assert service_stats()["conns"] == 0
    assert ":9999" not in node(DIRECTOR).check_output("ipvsadm -Sn")
    assert_spread(fetch())
    after = settled_stats(REQUESTS)
    assert after["conns"] == REQUESTS
    assert after["outpkts"] == 0
    director_mac = mac_of(DIRECTOR)
    assert "lladdr %s" % director_mac in node(CLIENT).check_output("ip -4 neigh show %s dev eth0", VIP).lower()
    ethers_neigh = node(DIRECTOR).check_output("ip -4 neigh show nud permanent dev eth0")
    for address, _weight in REALSERVERS.values():
        assert address in ethers_neigh
