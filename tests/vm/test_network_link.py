"""nics: 2 on libvirt: the two VMs of a target group reach each other over a point-to-point eth1.

On the host the link is two UDP sockets on 127.0.0.1 (QEMU's socket netdev); inside the guests eth1 has
10.213.0.N/24 from the kernel command line. The test drives the VMs through the LISA inventory and
testinfra, as the network suite does, and leaves no domain, disk or record behind.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import testinfra

from pytest_lisa.target import Target
from tests.helpers import Lisa, libvirt_domains

pytestmark = pytest.mark.vm

LINKED = {"name": "net", "platform": "libvirt", "count": 2, "nics": 2, "memory_mb": 512}


def domain_xml(name: str) -> str:
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", "dumpxml", name], capture_output=True, text=True, check=True
    ).stdout


def check_link_records(pool: dict[str, Any], hostvars: dict[str, Any]) -> None:
    """The inventory's view of the link, and the network rule in each domain's definition."""
    assert {name: hostvars[name]["lisa_private_address"] for name in ("net-1", "net-2")} == {
        "net-1": "10.213.0.1",
        "net-2": "10.213.0.2",
    }
    assert hostvars["net-1"]["lisa_private_peer"] == "net-2"
    assert hostvars["net-2"]["lisa_spec"]["nics"] == 2
    assert [hostvars[name]["lisa_capabilities"]["nics"] for name in ("net-1", "net-2")] == [2, 2]
    # Every host-side socket of the link is on 127.0.0.1, and each VM sends to the other's.
    one, two = pool["net-1"]["link"], pool["net-2"]["link"]
    assert (one["port"], one["peer_port"]) == (two["peer_port"], two["port"])
    for record in pool.values():
        xml = domain_xml(record["resource"])
        link = record["link"]
        assert f"socket,id=lisanet1,udp=127.0.0.1:{link['peer_port']},localaddr=127.0.0.1:{link['port']}" in xml
        assert set(re.findall(r"\b(\d+\.\d+\.\d+\.\d+):\d+", xml)) == {"127.0.0.1"}
        assert f"lisa.net1={link['address']}/24" in xml


def check_ping_and_iperf3(hosts: dict[str, Any], hostvars: dict[str, Any]) -> float:
    """Through testinfra, as the suites reach the VMs: eth1 addresses, ping both ways, iperf3; the Mbit/s."""
    for name, host in hosts.items():
        assert "inet " + hostvars[name]["lisa_private_address"] + "/24" in host.check_output("ip -4 addr show eth1")
    for name, peer in (("net-1", "10.213.0.2"), ("net-2", "10.213.0.1")):
        ping = hosts[name].run(f"ping -c 3 -W 5 {peer}")
        assert ping.rc == 0, f"{name} cannot ping {peer}: {ping.stdout}{ping.stderr}"
        assert " 0% packet loss" in ping.stdout
    server, client = hosts["net-2"], hosts["net-1"]
    server.check_output("iperf3 --server --daemon --one-off --bind 10.213.0.2 --pidfile /run/lisa-iperf3.pid")
    try:
        result = client.run("iperf3 --client 10.213.0.2 --time 3 --json")
    finally:
        server.run("pkill -F /run/lisa-iperf3.pid || true")
    assert result.rc == 0, result.stdout[-2000:] + result.stderr
    mbps = float(json.loads(result.stdout)["end"]["sum_received"]["bits_per_second"]) / 1e6
    assert mbps > 1, f"iperf3 over eth1 gave {mbps:.1f} Mbit/s"
    return mbps


def run_network_suite(lisa: Lisa, repo: Path, runbook: Path) -> None:
    """The network suite as a user runs it: pytest --lisa-runbook plans the pair, finds it ready in the pool,
    runs the one-target test on each VM and the two-target tests on the pair, records the throughput in
    the results store, and deletes the pair."""
    suite = lisa.pytest_ondemand(repo / "pytests/network", runbook, "--lisa-suite", "network")
    assert suite.returncode == 0, suite.stdout[-4000:]
    assert suite.stdout.count(" PASSED") == 4, suite.stdout[-4000:]
    assert "LISA: deploying net-1, net-2" in suite.stdout and "LISA: deleting net-1, net-2" in suite.stdout
    with sqlite3.connect(lisa.state_dir / "results.sqlite") as db:
        recorded = db.execute("SELECT name, unit, value, target_group FROM metrics").fetchall()
    assert [(name, unit, group) for name, unit, _value, group in recorded] == [("throughput_mbps", "Mbit/s", "net")]
    assert recorded[0][2] > 1
    assert lisa.pool() == {}


def test_two_vms_linked_by_their_second_nic(
    lisa: Lisa, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runbook = lisa.runbook({"targets": [LINKED]})
    started = time.monotonic()
    lisa.playbook("deploy", runbook, check=True)
    deployed_in = time.monotonic() - started
    pool = lisa.pool()
    resources = [record["resource"] for record in pool.values()]
    try:
        hostvars = lisa.inventory()["_meta"]["hostvars"]
        check_link_records(pool, hostvars)
        for key, value in lisa.env.items():
            monkeypatch.setenv(key, value)
        hosts = {
            name: testinfra.get_host(f"ansible://{name}", ansible_inventory="inventory/lisa.yml")
            for name in ("net-1", "net-2")
        }
        mbps = check_ping_and_iperf3(hosts, hostvars)
        # The link survives a reboot of one side: the guest sets eth1's address again at boot.
        rebooted = Target(hosts["net-2"])
        before = rebooted.boot_id()
        assert rebooted.reboot(timeout=300) != before
        rebooted.close()
        ping = hosts["net-1"].run("ping -c 3 -W 5 10.213.0.2")
        assert ping.rc == 0 and " 0% packet loss" in ping.stdout, f"after the reboot: {ping.stdout}{ping.stderr}"
        run_network_suite(lisa, repo, runbook)
        print(f"deployed 2 linked VMs in {deployed_in:.1f} s; eth1 throughput {mbps:.0f} Mbit/s")
    finally:
        lisa.playbook("delete", runbook)
    assert lisa.pool() == {}
    assert not set(resources) & set(libvirt_domains())
