"""The target pool under real processes: locking, atomic writes, modes, leases."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.pool import Pool

pytestmark = pytest.mark.integration

TARGETS = [f"t{i}" for i in range(4)]


def ready_pool(state_dir: Path) -> Pool:
    pool = Pool(str(state_dir))
    for name in TARGETS:
        pool.reserve(name, "group", "ssh", {"host": "127.0.0.1"})
        pool.update(name, state="ready")
    return pool


def worker(state_dir: str, owner: str, rounds: int, log: str) -> None:
    pool = Pool(state_dir)
    with open(log, "a", encoding="utf-8") as out:
        for _ in range(rounds):
            name = pool.lease(owner)
            if name is None:
                continue
            # Record the interval this owner held the lease; overlaps are checked afterwards.
            start = time.monotonic()
            time.sleep(0.002)
            end = time.monotonic()
            pool.release(name, owner)
            out.write(json.dumps([name, owner, start, end]) + "\n")


def reader(path: str, done: Any, result: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    reads = 0
    while not done.is_set():
        with open(path, encoding="utf-8") as handle:
            json.load(handle)  # raises if a reader ever sees a half-written file
        reads += 1
    result.put(reads)


def test_eight_processes_never_hold_one_target_at_once(tmp_path: Path) -> None:
    pool = ready_pool(tmp_path / "state")
    log = tmp_path / "leases.jsonl"
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    done = context.Event()
    watcher = context.Process(target=reader, args=(pool.path, done, results))
    watcher.start()
    workers = [context.Process(target=worker, args=(pool.state_dir, f"owner{i}", 40, str(log))) for i in range(8)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    done.set()
    watcher.join(30)
    assert watcher.exitcode == 0, "a reader saw an invalid pool file"
    assert results.get(timeout=5) > 10
    intervals: dict[str, list[tuple[float, float, str]]] = {}
    for line in log.read_text().splitlines():
        name, owner, start, end = json.loads(line)
        intervals.setdefault(name, []).append((start, end, owner))
    assert sum(len(v) for v in intervals.values()) > 50
    for name, held in intervals.items():
        held.sort()
        for (_, end, owner), (start, _, other) in itertools.pairwise(held):
            assert end <= start, f"{name} leased to {owner} and {other} at once"
    assert all(record["lease"] is None for record in pool.records())


def test_pool_file_and_key_are_private(tmp_path: Path) -> None:
    pool = ready_pool(tmp_path / "state")
    pool.ensure_keypair()
    assert stat.S_IMODE(os.stat(pool.state_dir).st_mode) == 0o700
    for path in (pool.path, pool.private_key, pool.known_hosts):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert not [p for p in os.listdir(pool.state_dir) if p.startswith(".pool.")], "temporary files left"


def test_record_names_the_resource_before_anything_exists(tmp_path: Path) -> None:
    pool = Pool(str(tmp_path / "state"))
    record = pool.reserve("debian-1", "debian", "libvirt", {"image": "debian-12"})
    assert record["state"] == "deploying" and record["reserved"]
    on_disk = json.loads(Path(pool.path).read_text())
    assert on_disk["targets"]["debian-1"]["resource"] == f"lisa-{on_disk['pool_id']}-debian-1"
    assert 1024 <= on_disk["targets"]["debian-1"]["forward_port"] <= 65535


def test_reserving_a_taken_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        pool = Pool(str(tmp_path / "state"))
        with pytest.raises(LisaError, match=f"target vm-1: port {port} on 127.0.0.1 is already taken"):
            pool.reserve("vm-1", "vm", "libvirt", {"ssh_port": port})
        assert pool.records() == []


def test_a_dead_holders_lease_is_taken_over(tmp_path: Path) -> None:
    pool = ready_pool(tmp_path / "state")
    gone = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    gone.start()
    gone.join()
    assert pool.lease("crashed-run", names=["t0"], pid=gone.pid) == "t0"
    assert pool.lease("alive-run", names=["t0"]) == "t0"
    assert pool.lease("third-run", names=["t0"]) is None  # held by this live process now


def test_broken_pool_file_is_a_clear_error(tmp_path: Path) -> None:
    pool = Pool(str(tmp_path / "state"))
    os.makedirs(pool.state_dir)
    Path(pool.path).write_text("{not json")
    with pytest.raises(LisaError, match=r"is not valid JSON .*; move it away to start a new pool"):
        pool.records()


LINKED = {"name": "net", "platform": "libvirt", "count": 2, "nics": 2}


def test_both_ends_of_a_link_are_known_whichever_instance_is_reserved_first(tmp_path: Path) -> None:
    pool = Pool(str(tmp_path))
    second = pool.reserve("net-2", "net", "libvirt", LINKED)["link"]
    first = pool.reserve("net-1", "net", "libvirt", LINKED)["link"]
    assert (first["address"], first["peer"], first["peer_address"]) == ("10.213.0.1", "net-2", "10.213.0.2")
    assert (second["address"], second["peer"], second["peer_address"]) == ("10.213.0.2", "net-1", "10.213.0.1")
    assert first["port"] == second["peer_port"] and second["port"] == first["peer_port"]
    assert first["port"] != second["port"]
    assert first["ports"] == second["ports"] == {"net-1": first["port"], "net-2": second["port"]}
    # Another linked group gets ports of its own.
    other = pool.reserve("lan-1", "lan", "libvirt", {**LINKED, "name": "lan"})["link"]
    assert not set(other["ports"].values()) & set(first["ports"].values())
    # A single NIC, or a platform without links, gets no link.
    assert "link" not in pool.reserve("one-1", "one", "libvirt", {**LINKED, "name": "one", "count": 1, "nics": 1})


def test_a_redeployed_instance_keeps_talking_to_its_surviving_peer(tmp_path: Path) -> None:
    pool = Pool(str(tmp_path))
    first = pool.reserve("net-1", "net", "libvirt", LINKED)["link"]
    pool.reserve("net-2", "net", "libvirt", LINKED)
    pool.remove("net-2")
    assert pool.reserve("net-2", "net", "libvirt", LINKED)["link"]["port"] == first["peer_port"]


def test_a_link_outside_a_two_instance_group_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LisaError, match="target net-3: nics 2 links the two instances of a target group"):
        Pool(str(tmp_path)).reserve("net-3", "net", "libvirt", {**LINKED, "count": 3})
