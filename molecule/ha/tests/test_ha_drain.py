"""Every removal drained on keepalived directors, proven with real traffic (pytest-testinfra, docker backend).

Runs after test_ha.py, on the cluster it leaves (director1 master, both real servers in service). A real server that
leaves keepalived's table - its host deleted from the inventory group, its line deleted from an explicit list, its
service set absent - is drained in two reloads: the first keeps it at weight 0 while the run waits for its
connections, the second removes it. While a client sends requests and holds long-lived connections, not one request
may fail, held or not.
"""

import json
import os
import re
import shutil
import subprocess
import time

import yaml

from test_ha import (
    CLIENT, DIRECTORS, EXTRA, LOAD, MASTER, REALSERVERS, SERVICE, SERVICES, URL, VIP2, main_pid, node, read_result,
    report, wait_for_holder,
)

RS1, RS2 = REALSERVERS["lvs-dr-ha-rs1"], REALSERVERS["lvs-dr-ha-rs2"]
SERVICE2 = "%s:8081" % VIP2
MIN_REQUESTS = 1000
ALLOW = "192.168.89.0/24"
HOLD = "/usr/local/bin/lvs_dr_hold.py"


def weights(name, service):
    """The weight of each real server of ``service`` in director ``name``'s table, by address."""
    table = node(name).check_output("ipvsadm -Sn")
    return dict((address, int(weight)) for address, weight in re.findall(
        r"(?m)^-a -t %s -r ([0-9.]+):\d+ -g -w (\d+)$" % re.escape(service), table))


def active_connections(name, service):
    out = node(name).check_output("ipvsadm -Ln -t %s", service)
    return dict((address, int(active)) for address, active in re.findall(
        r"(?m)^\s+->\s+([0-9.]+):\d+\s+\S+\s+\d+\s+(\d+)\s+\d+\s*$", out))


def wait_for(check, what, timeout, detail=None):
    """Wait until ``check()``; on timeout, fail naming ``what`` and, when given, what ``detail()`` says."""
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "%s: not within %d s%s" % (what, timeout, "\n%s" % detail() if detail else "")
        time.sleep(1)


class Held(object):
    """Long-lived connections from the client to ``service`` (lvs_dr_hold.py), held until release()."""

    def __init__(self, service, connections=4):
        self.service = service
        self.connections = connections
        tag = service.replace(".", "-").replace(":", "-")
        self.unit = "lvs-dr-hold-%s" % tag
        self.result_file, self.stop_file = "/tmp/%s.json" % self.unit, "/tmp/%s.stop" % self.unit
        self.result = None

    def open(self):
        client = node(CLIENT)
        client.run("rm -f %s %s", self.result_file, self.stop_file)
        client.check_output("systemd-run --unit %s --collect /usr/bin/python3 %s http://%s/ %s --connections %s "
                            "--stop-file %s --max-seconds 900 --allow %s", self.unit, HOLD, self.service,
                            self.result_file, str(self.connections), self.stop_file, ALLOW)
        wait_for(lambda: sum(active_connections(MASTER, self.service).values()) >= self.connections,
                 "%d held connections to %s on the master" % (self.connections, self.service), 60)

    def release(self):
        node(CLIENT).check_output("touch %s", self.stop_file)
        self.result = read_result(self.result_file, "lvs_dr_hold.py", 120)
        return self.result

    def close(self):
        if self.result is None:
            node(CLIENT).run("touch %s", self.stop_file)


class Load(object):
    """The client's requests to the VIP, counted, from start() to stop() (at least MIN_REQUESTS)."""

    RESULT, STOP = "/tmp/lvs-dr-drain-load.json", "/tmp/lvs-dr-drain-load.stop"

    def start(self):
        client = node(CLIENT)
        client.check_output("rm -f %s %s", self.RESULT, self.STOP)
        client.check_output("systemd-run --unit lvs-dr-drain-load --collect /usr/bin/python3 %s %s %s --stop-file %s "
                            "--min-requests %s --max-seconds 900 --allow %s",
                            LOAD, URL, self.RESULT, self.STOP, str(MIN_REQUESTS), ALLOW)

    def stop(self):
        node(CLIENT).check_output("touch %s", self.STOP)
        return read_result(self.RESULT, "the load generator", 600)

    def abort(self):
        """After a failure: the unit goes (--collect), so that the next test can start its own."""
        node(CLIENT).run("systemctl stop lvs-dr-drain-load")


def start_site(*extra, **kwargs):
    inventory = kwargs.get("inventory") or os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return subprocess.Popen(["ansible-playbook", "-i", inventory, "lvs.dr.site"] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))


def services_arg(services):
    return ["-e", json.dumps({"director_services": services})]


def drained_in_two_reloads(capsys, name, start, leaving, held_services):
    """``start()`` starts a run that takes each (service, address) of ``leaving`` out; long-lived connections to each
    of ``held_services`` are open on every leaving server. It must keep them at weight 0 on the master while the run
    waits, remove them once the connections closed, reload keepalived (never restart it), and lose no request."""
    helds = [Held(service) for service in held_services]
    load, summary = Load(), None
    pids = dict((director, main_pid(director)) for director in DIRECTORS)
    try:
        for held in helds:
            held.open()
        for service, address in leaving:
            assert active_connections(MASTER, service).get(address), (service, address)
        load.start()
        proc = start()
        try:
            def first_reload_done():
                assert proc.poll() is None, "the run ended before the first reload:\n%s" % proc.communicate()[0]
                return all(weights(MASTER, service).get(address) == 0 for service, address in leaving)

            wait_for(first_reload_done, "the leaving real servers at weight 0 on the master (first reload)", 900,
                     lambda: node(MASTER).check_output("ipvsadm -Sn"))
            time.sleep(5)  # the run waits while the held connections stay open
            assert proc.poll() is None, proc.communicate()[0]
            assert all(weights(MASTER, service).get(address) == 0 for service, address in leaving)
            results = [held.release() for held in helds]
            out = proc.communicate(timeout=900)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
        summary = load.stop()
    finally:
        for held in helds:
            held.close()
        if summary is None:
            load.abort()
    report(capsys, "%s: load %s, held %s" % (name, json.dumps(summary, sort_keys=True), json.dumps(results)))
    assert proc.returncode == 0, out
    assert summary["sent"] >= MIN_REQUESTS and summary["failed"] == 0, summary
    for result in results:
        assert result["failed"] == 0 and result["opened"] == 4, result
    for director in DIRECTORS:
        for service, address in leaving:
            assert address not in weights(director, service), (director, service)
    assert dict((director, main_pid(director)) for director in DIRECTORS) == pids  # reloads, not restarts
    assert "Reload keepalived with them at weight 0" in out
    wait_for_holder(MASTER)
    return out


def inventory_without(tmp_path, host, group):
    """A copy of the molecule inventory in which ``group`` no longer lists ``host``."""
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


def test_a_real_server_deleted_from_the_group_is_drained_in_two_reloads(capsys, tmp_path):
    wait_for_holder(MASTER)
    inventory = inventory_without(tmp_path, "lvs-dr-ha-rs2", "lvs_realservers")
    drained_in_two_reloads(capsys, "rs2 deleted from the group", lambda: start_site(inventory=inventory),
                           [(SERVICE, RS2)], [SERVICE])
    for director in DIRECTORS:
        assert weights(director, SERVICE) == {RS1: 1}


def test_back_in_the_group_with_a_second_service_loses_no_request():
    """rs2 back (the inventory as it is) and a second service on port 8081, in one run under load."""
    for name in REALSERVERS:
        node(name).check_output("systemd-run --unit lvs-dr-testweb8081 --collect /usr/bin/python3 -m http.server 8081 "
                                "--bind 0.0.0.0 --directory /srv/lvs-dr-web")
    load = Load()
    load.start()
    proc = start_site(*services_arg(SERVICES + [EXTRA]))
    out = proc.communicate(timeout=900)[0]
    summary = load.stop()
    assert proc.returncode == 0, out
    assert summary["failed"] == 0, summary
    for director in DIRECTORS:
        # alpha: a real server joins keepalived's table when its first check passes.
        wait_for(lambda: weights(director, SERVICE) == {RS1: 1, RS2: 1}, "rs2 checked and back", 60)
        wait_for(lambda: weights(director, SERVICE2) == {RS1: 1, RS2: 1}, "both real servers checked on 8081", 60)


def test_a_server_left_out_of_a_list_and_a_service_set_absent_are_drained_in_two_reloads(capsys):
    try:
        drained_in_two_reloads(
            capsys, "rs2 left out of a list, the 8081 service absent",
            lambda: start_site(*services_arg([dict(SERVICES[0], realservers=["lvs-dr-ha-rs1"]),
                                              dict(EXTRA, state="absent")])),
            [(SERVICE, RS2), (SERVICE2, RS1), (SERVICE2, RS2)], [SERVICE, SERVICE2])
    finally:
        for name in REALSERVERS:
            node(name).run("systemctl stop lvs-dr-testweb8081")
    for director in DIRECTORS:
        assert weights(director, SERVICE) == {RS1: 1}
        assert "-A -t %s" % SERVICE2 not in node(director).check_output("ipvsadm -Sn")
    assert "%s/32" % VIP2 not in node(MASTER).check_output("ip -4 -o address show dev eth0")


def test_the_inventory_again_loses_no_request():
    load = Load()
    load.start()
    proc = start_site()
    out = proc.communicate(timeout=900)[0]
    summary = load.stop()
    assert proc.returncode == 0, out
    assert summary["failed"] == 0, summary
    for director in DIRECTORS:
        wait_for(lambda: weights(director, SERVICE) == {RS1: 1, RS2: 1}, "rs2 checked and back", 60)
