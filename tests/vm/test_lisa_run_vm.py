"""`lisa run` on a local VM: the smoke suite end to end, and Ctrl-C while the VM boots."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import Lisa, leftover_processes, libvirt_domains, render_report

pytestmark = pytest.mark.vm


def test_lisa_run_smoke_on_a_vm(lisa: Lisa, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = lisa.run("lisa", "run", "-r", "runbooks/local.yml", "-s", "smoke", "--results", str(results))
    out = result.stdout
    assert result.returncode == 0, out[-6000:] + result.stderr[-3000:]
    assert "debian-1: Create the target on its platform" in out  # the playbook's progress
    assert "[tests] PASSED  test_reboot_gives_a_new_boot_id on debian-1" in out  # each test as it finishes
    assert "4 passed, 0 failed, 0 skipped in" in out
    rows = render_report(results / "report.html", "report-vm-smoke.png")
    assert sorted(row["result"] for row in rows) == ["Passed"] * 4
    assert {row["target"] for row in rows} == {"debian-1"}
    for log in ("serial", "dmesg", "journal"):
        assert (results / f"debian-1.{log}.log").stat().st_size > 0
    assert lisa.pool() == {}
    status = lisa.run("lisa", "status", "--state-dir", str(lisa.state_dir), check=True).stdout
    assert "0 target(s)" in status and "latest runs" in status


def test_ctrl_c_while_the_vm_boots_leaves_no_vm(lisa: Lisa, tmp_path: Path) -> None:
    process = lisa.start("lisa", "run", "-r", "runbooks/local.yml", "--results", str(tmp_path / "results"))
    resource = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and resource is None:
            record = lisa.pool().get("debian-1")
            if record and record["resource"] in libvirt_domains():
                resource = record["resource"]
            time.sleep(0.5)
        assert resource, "the VM was never created"
    finally:
        out = lisa.interrupt(process)
    assert process.returncode == 130, out[-5000:]
    assert "lisa: deleting debian-1" in out
    assert resource not in libvirt_domains()
    assert lisa.pool() == {}
    assert not list((lisa.state_dir / "libvirt").glob("*.qcow2"))
    assert leftover_processes(lisa.state_dir) == []  # no playbook, worker or module of the cancelled run
