"""Inventory-driven pools and the preflight of the roles, on the controller only.

Runs the director role's preflight (tasks_from: preflight) and the real-server VIP
derivation with ansible-playbook against generated inventories whose hosts are local and
whose network facts are injected, so every case costs seconds and touches no container:
adding a host to lvs_realservers puts it in the pool, removing it takes it out, and
impossible topologies are rejected with a message naming the problem.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

FACTS_MODULE = textwrap.dedent(
    """\
    #!/usr/bin/python
    from ansible.module_utils.basic import AnsibleModule
    module = AnsibleModule(argument_spec=dict(facts=dict(type='dict', required=True)))
    module.exit_json(changed=False, ansible_facts=module.params['facts'])
    """
)

PLAYBOOK = textwrap.dedent(
    """\
    - name: Inject network facts
      hosts: all
      gather_facts: false
      tasks:
        - name: Set the facts
          inject_facts:
            facts: "{{ fake_facts }}"

    - name: Real-server VIPs
      hosts: lvs_realservers
      gather_facts: false
      tasks:
        - name: Derive
          ansible.builtin.include_role:
            name: lvs.dr.realserver
            tasks_from: preflight.yml
            public: true
        - name: Record
          ansible.builtin.copy:
            content: "{{ _realserver_vips | to_json }}"
            dest: "{{ out_dir }}/vips-{{ inventory_hostname }}.json"
            mode: "0644"

    - name: Director plan
      hosts: lvs_directors
      gather_facts: false
      tasks:
        - name: Preflight
          ansible.builtin.include_role:
            name: lvs.dr.director
            tasks_from: preflight.yml
            public: true
        - name: Record
          ansible.builtin.copy:
            content: "{{ _director_plan | to_json }}"
            dest: "{{ out_dir }}/plan.json"
            mode: "0644"
    """
)

SERVICES = [{"virtual_address": "10.1.0.100", "virtual_port": 8080, "scheduler": "wrr"}]


def facts(address, mac):
    return {
        "default_ipv4": {"interface": "eth0", "address": address, "macaddress": mac},
        "interfaces": ["eth0", "lo"],
        "eth0": {
            "ipv4": {"address": address, "prefix": "24", "network": address.rsplit(".", 1)[0] + ".0"},
            "macaddress": mac,
        },
        "os_family": "Debian",
    }


def run(tmp_path, realservers, services=None, extra_rs_vars=None):
    """Run the playbook; return (rc, output, plan, vips by host)."""
    services = SERVICES if services is None else services
    hosts = {"d1": {"fake_facts": facts("10.1.0.10", "02:00:00:00:00:10")}}
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "out_dir": str(tmp_path),
            },
            "children": {
                "lvs_directors": {"hosts": {"d1": hosts["d1"]}, "vars": {"director_services": services}},
                "lvs_realservers": {"hosts": {}},
            },
        }
    }
    for name, address in realservers.items():
        host = {"fake_facts": facts(address, "02:00:00:00:00:%02x" % int(address.rsplit(".", 1)[1]))}
        host.update((extra_rs_vars or {}).get(name, {}))
        inventory["all"]["children"]["lvs_realservers"]["hosts"][name] = host
    (tmp_path / "library").mkdir(exist_ok=True)
    (tmp_path / "library" / "inject_facts.py").write_text(FACTS_MODULE)
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_LIBRARY=str(tmp_path / "library"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.json"), str(tmp_path / "site.yml")],
        capture_output=True, text=True, env=env, check=False,
    )
    plan_file = tmp_path / "plan.json"
    plan = json.loads(plan_file.read_text()) if plan_file.exists() else None
    vips = {}
    for name in realservers:
        path = tmp_path / ("vips-%s.json" % name)
        if path.exists():
            vips[name] = json.loads(path.read_text())
    return proc.returncode, proc.stdout + proc.stderr, plan, vips


def pool(plan):
    return {rs["address"]: rs["weight"] for rs in plan["services"][0]["realservers"]}


def test_the_group_is_the_pool_and_scales_with_it(tmp_path):
    rc, out, plan, vips = run(tmp_path, {"r1": "10.1.0.21", "r2": "10.1.0.22"},
                              extra_rs_vars={"r1": {"realserver_weight": 3}})
    assert rc == 0, out
    assert pool(plan) == {"10.1.0.21": 3, "10.1.0.22": 1}
    assert plan["vips"] == ["10.1.0.100"]
    assert {entry["address"] for entry in plan["arp"]} == {"10.1.0.21", "10.1.0.22"}
    assert "ip_vs_wrr" in plan["modules"]
    assert vips == {"r1": ["10.1.0.100"], "r2": ["10.1.0.100"]}

    # A host added to the group joins the pool...
    rc, out, plan, _vips = run(tmp_path, {"r1": "10.1.0.21", "r2": "10.1.0.22", "r3": "10.1.0.23"})
    assert rc == 0, out
    assert set(pool(plan)) == {"10.1.0.21", "10.1.0.22", "10.1.0.23"}

    # ...and a host removed from it leaves.
    rc, out, plan, _vips = run(tmp_path, {"r1": "10.1.0.21", "r3": "10.1.0.23"})
    assert rc == 0, out
    assert set(pool(plan)) == {"10.1.0.21", "10.1.0.23"}


def test_the_directors_own_address_as_vip_is_not_placed(tmp_path):
    services = [{"virtual_address": "10.1.0.10", "virtual_port": 80, "scheduler": "rr"}]
    rc, out, plan, vips = run(tmp_path, {"r1": "10.1.0.21"}, services=services)
    assert rc == 0, out
    assert plan["vips"] == []
    assert vips == {"r1": ["10.1.0.10"]}


@pytest.mark.parametrize(
    "realservers, services, message",
    [
        ({"r1": "10.1.0.21", "far": "10.2.0.23"}, SERVICES, "real server far (10.2.0.23) is not on the segment"),
        (
            {"r1": "10.1.0.21"},
            [{"virtual_address": "10.1.0.100", "virtual_port": 80, "realservers": [{"host": "r1", "port": 8080}]}],
            "direct-routing forwarding cannot remap ports",
        ),
        (
            {"r1": "10.1.0.21"},
            [{"virtual_address": "10.1.0.21", "virtual_port": 80, "realservers": ["r1"]}],
            # The real-server play stops the run first, with its own message.
            "the address 10.1.0.21 of r1 is also a VIP",
        ),
        (
            {"r1": "10.1.0.21"},
            [{"virtual_address": "10.1.0.100", "virtual_port": 80,
              "realservers": ["r1", {"address": "10.1.0.100", "mac": "02:00:00:00:00:64"}]}],
            "VIP 10.1.0.100 is also the address of real server 10.1.0.100",
        ),
    ],
    ids=["other-segment", "port-remap", "vip-is-a-real-server", "vip-is-a-listed-address"],
)
def test_impossible_topologies_are_rejected(tmp_path, realservers, services, message):
    rc, out, plan, _vips = run(tmp_path, realservers, services=services)
    assert rc != 0
    assert plan is None
    assert message in out, out


@pytest.mark.parametrize(
    "services, message",
    [
        ([dict(SERVICES[0], realserver_group="lvs_realsevers")],
         "realserver_group 'lvs_realsevers' is not a group of the inventory"),
        ([dict(SERVICES[0], realservers=["r1", "rr2"])], "'rr2' is neither a host of the inventory nor an IP address"),
        ([dict(SERVICES[0], schedular="rr")], "unknown key schedular"),
        ([], "director_services is empty"),
    ],
    ids=["misspelt-group", "misspelt-host", "misspelt-key", "no-services"],
)
def test_a_typo_fails_before_anything_is_derived(tmp_path, services, message):
    rc, out, plan, vips = run(tmp_path, {"r1": "10.1.0.21", "r2": "10.1.0.22"}, services=services)
    assert rc != 0
    assert plan is None and vips == {}
    assert message in out, out
    assert "Nothing was changed" in out


def test_absent_service_places_no_vip_anywhere(tmp_path):
    services = [SERVICES[0], {"virtual_address": "10.1.0.101", "virtual_port": 80, "state": "absent"}]
    rc, out, plan, vips = run(tmp_path, {"r1": "10.1.0.21"}, services=services)
    assert rc == 0, out
    assert plan["vips"] == ["10.1.0.100"]
    assert plan["services"][1] == {"virtual_address": "10.1.0.101", "virtual_port": 80, "state": "absent"}
    assert vips == {"r1": ["10.1.0.100"]}
