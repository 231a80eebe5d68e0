"""Network: the two instances of a target group reach each other over their second NIC, and how fast.

The runbook gives the group ``count: 2`` and ``nics: 2`` (runbooks/network.yml); on libvirt the second
NICs form a point-to-point link, eth1 inside the guests, with the addresses in ``lisa_private_address``.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

pytestmark = pytest.mark.lisa(area="network", category="Functional", priority=1, nics=2)

IPERF_SECONDS = 3
IPERF_PIDFILE = "/run/lisa-iperf3.pid"
# A drop below this share of the previous run's throughput is reported (a warning: TCG timing is noisy).
REGRESSION_SHARE = 0.5


def private_address(target: Any) -> str:
    address = target.variables.get("lisa_private_address")
    if not address:
        pytest.fail(f"{target.name} has no lisa_private_address: was it deployed with nics: 2 and count: 2?")
    return str(address)


def test_second_nic_has_its_private_address(target):
    """eth1 is up and carries the instance's private address from the pool (lisa_private_address)."""
    address = private_address(target)
    link = target.check_output("ip -o link show eth1")
    assert "state UP" in link or ",UP" in link, f"{target.name}: eth1 is not up: {link}"
    assert f"inet {address}/" in target.check_output("ip -o -4 addr show eth1")


@pytest.mark.lisa(count=2)
def test_peers_ping_each_other_over_the_second_nic(targets):
    """Each instance pings the other's private address over eth1, without loss."""
    assert len(targets) == 2, f"needs the two instances of one target group, got {targets}"
    for source, peer in (targets, targets[::-1]):
        address = private_address(peer)
        result = source.run(f"ping -c 5 -i 0.2 -W 5 -I eth1 {address}")
        assert result.rc == 0, f"{source.name} cannot ping {peer.name} at {address}: {result.stdout}{result.stderr}"
        assert " 0% packet loss" in result.stdout, result.stdout


@pytest.mark.lisa(count=2, category="Performance", priority=2)
def test_tcp_throughput_over_the_second_nic(targets, metrics, record_property):
    """iperf3 from one instance to the other over eth1 for a few seconds; the throughput is recorded."""
    assert len(targets) == 2, f"needs the two instances of one target group, got {targets}"
    client, server = targets
    address = private_address(server)
    server.check_output(f"iperf3 --server --daemon --one-off --bind {address} --pidfile {IPERF_PIDFILE}")
    try:
        result = client.run(f"iperf3 --client {address} --time {IPERF_SECONDS} --json")
    finally:
        server.run(f"pkill -F {IPERF_PIDFILE} || true")
    assert result.rc == 0, f"iperf3 {client.name} -> {server.name} failed: {result.stdout[-2000:]}{result.stderr}"
    report = json.loads(result.stdout)
    mbps = report["end"]["sum_received"]["bits_per_second"] / 1e6
    retransmits = report["end"]["sum_sent"].get("retransmits", 0)
    record_property("throughput_mbps", round(mbps, 1))
    record_property("retransmits", retransmits)
    previous = metrics.previous("throughput_mbps")
    metrics.record("throughput_mbps", mbps, unit="Mbit/s")
    assert mbps > 0, f"iperf3 {client.name} -> {server.name} moved no data"
    if previous and mbps < previous * REGRESSION_SHARE:
        warnings.warn(
            f"throughput over eth1 fell to {mbps:.0f} Mbit/s from {previous:.0f} Mbit/s in the previous run",
            stacklevel=1,
        )
