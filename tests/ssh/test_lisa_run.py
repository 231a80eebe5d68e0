"""`lisa run`: the whole pass through ansible-runner, its progress, summary, exit codes and Ctrl-C."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import Lisa, leftover_processes

pytestmark = pytest.mark.ssh

SUITE = """
import time
import pytest

pytestmark = pytest.mark.lisa(priority=0, area="demo")

def test_passes(target):
    assert target.run("true").rc == 0

@pytest.mark.lisa(tags=["failing"])
def test_fails_on_purpose(target):
    assert target.run("false").rc == 0, "this test fails on purpose"

@pytest.mark.lisa(tags=["slow"])
def test_slow(target):
    time.sleep(120)
"""


def suite_dir(tmp_path: Path) -> Path:
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_demo.py").write_text(textwrap.dedent(SUITE))
    return tests


def lisa_run(lisa: Lisa, book: Path, tests: Path, results: Path, *criteria: str) -> subprocess.CompletedProcess[str]:
    return lisa.run("lisa", "run", "-r", str(book), "-s", "picked", "--tests", str(tests), "--results", str(results))


def runbook_with(lisa: Lisa, targets: list[dict[str, object]], suite: list[dict[str, object]]) -> Path:
    return lisa.runbook({"targets": targets, "suites": {"picked": suite}})


def test_exit_codes_progress_and_summary(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(2)
    targets = [m.target(fleet.client_key) for m in fleet.machines]
    tests = suite_dir(tmp_path)

    failing = runbook_with(lisa, targets, [{"priority": 0}, {"tags": ["slow"], "exclude": True}])
    result = lisa_run(lisa, failing, tests, tmp_path / "r1")
    assert result.returncode == 1, result.stdout[-5000:] + result.stderr[-3000:]
    out = result.stdout
    assert "[run " in out and "m1-1: Deploy the target" in out  # the playbook's progress, live
    assert "[tests] PASSED  test_passes on m1-1" in out and "[tests] FAILED  test_fails_on_purpose on m2-1" in out
    assert "2 passed, 2 failed, 0 skipped in" in out  # the summary, with the table above it
    assert f"HTML report: {tmp_path / 'r1' / 'report.html'}" in out
    assert lisa.pool() == {}

    passing = runbook_with(lisa, targets, [{"priority": 0}, {"tags": ["slow", "failing"], "exclude": True}])
    result = lisa_run(lisa, passing, tests, tmp_path / "r2")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "2 passed, 0 failed, 0 skipped in" in result.stdout

    broken = runbook_with(lisa, [{"name": "gone", "platform": "ssh", "host": "127.0.0.1", "port": 1}], [{}])
    result = lisa_run(lisa, broken, tests, tmp_path / "r3")
    assert result.returncode == 3, result.stdout[-5000:] + result.stderr[-3000:]
    assert "lisa: deploying failed:" in result.stderr and "127.0.0.1:1 does not answer over SSH" in result.stderr
    assert lisa.pool() == {}

    bad = lisa.runbook({"targets": [{"name": "x", "platform": "ssh"}]}, name="bad.yml")
    result = lisa.run("lisa", "run", "-r", str(bad))
    assert result.returncode == 2
    assert "missing required key 'host' for platform ssh" in result.stderr
    status = lisa.run("lisa", "status", "--state-dir", str(lisa.state_dir), check=True)
    assert "0 target(s)" in status.stdout


def test_ctrl_c_during_the_tests_leaves_no_target(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(1)
    book = runbook_with(
        lisa, [fleet.machines[0].target(fleet.client_key)], [{"name": "test_passes"}, {"tags": ["slow"]}]
    )
    results = tmp_path / "results"
    process = lisa.start(
        "lisa", "run", "-r", str(book), "-s", "picked", "--tests", str(suite_dir(tmp_path)), "--results", str(results)
    )
    try:
        deadline = time.monotonic() + 120
        progress = results / "progress.jsonl"
        while time.monotonic() < deadline and not (progress.exists() and progress.read_text()):
            time.sleep(0.3)
        assert progress.exists(), "no test finished"
        status = lisa.run("lisa", "status", "--state-dir", str(lisa.state_dir), check=True).stdout
        assert "m1-1" in status and "ready" in status  # the slow test is running on it now
    finally:
        out = lisa.interrupt(process, timeout=180)
    assert process.returncode == 130, out[-4000:]
    assert "lisa: deleting m1-1" in out and "lisa: interrupted" in out
    assert leftover_processes(lisa.state_dir) == []  # no playbook, worker or module of the cancelled run
    assert lisa.pool() == {}
