"""pytest --lisa-runbook: deploy what the selected tests need, test, report failures with the target's logs, delete."""

from __future__ import annotations

import itertools
import json
import socket
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import BIN, Lisa, leftover_processes, render_report

pytestmark = pytest.mark.ssh

TESTS = """
import json, os, pathlib, time
import pytest

pytestmark = pytest.mark.lisa(area="demo", features=["lab"])


def pool_names():
    path = pathlib.Path(os.environ["LISA_STATE_DIR"], "pool.json")
    return sorted(json.loads(path.read_text())["targets"])


def test_only_needed_targets_are_deployed(target):
    assert pool_names() == ["lab1-1", "lab2-1"]


@pytest.mark.parametrize("n", range(3))
def test_busy(target, n):
    with open({log!r}, "a") as out:
        start = time.time()
        target.run("sleep 0.3")
        out.write(json.dumps([target.name, start, time.time()]) + "\\n")


@pytest.mark.lisa(count=2)
def test_pair(targets):
    pass


def test_fails_with_logs(target):
    target.run("echo lisa-marker-from-the-test > /dev/kmsg")
    assert target.run("false").rc == 0, "the command failed"
"""


def test_ondemand_deploys_what_is_needed_tests_in_parallel_and_deletes(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(3)
    lab1, lab2, plain = fleet.machines
    book = lisa.runbook(
        {
            "targets": [
                lab1.target(fleet.client_key, name="lab1", features=["lab"]),
                lab2.target(fleet.client_key, name="lab2", features=["lab"]),
                plain.target(fleet.client_key, name="plain"),
            ]
        }
    )
    log = tmp_path / "busy.jsonl"
    tests = tmp_path / "test_ondemand.py"
    tests.write_text(TESTS.replace("{log!r}", repr(str(log))))
    junit = tmp_path / "junit.xml"
    page = tmp_path / "report.html"
    result = lisa.pytest_ondemand(tests, book, "-n", "2", f"--junitxml={junit}", f"--html={page}", "-rfE")
    out = result.stdout
    assert result.returncode == 1, out[-6000:]  # one test fails on purpose
    # Planned and deployed only the targets with the feature the tests need, with progress as it went.
    assert "LISA: deploying lab1-1, lab2-1 from" in out, out[-6000:]
    assert ("[deploy " in out and "lab1-1: Deploy the target" in out) or "lab1-1: Record the target" in out
    assert "plain-1" not in out.split("LISA: deployed")[0].split("LISA: deploying")[1]
    # Each test on each of the two targets; the pair test on no group (each group has one instance).
    passed = [
        line for line in out.splitlines() if "PASSED" in line and "test_only_needed_targets_are_deployed[" in line
    ]
    assert len(passed) == 2, out[-6000:]
    assert "needs 2 instances of one target group, lab1 has 1" in out
    # Never two tests on one target at once, with two workers.
    spans: dict[str, list[tuple[float, float]]] = {}
    for line in log.read_text().splitlines():
        name, start, end = json.loads(line)
        spans.setdefault(name, []).append((start, end))
    assert sorted(spans) == ["lab1-1", "lab2-1"]
    for intervals in spans.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))
    # The failure report carries the end of the target's dmesg.
    assert "dmesg of lab1-1 (last lines)" in out and "lisa-marker-from-the-test" in out
    failed = [c for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    names = sorted(str(c.get("name")) for c in failed)
    assert len(names) == 2 and all(n.startswith("test_fails_with_logs[") for n in names), names
    assert "lab1-1" in names[0] and "lab2-1" in names[1]
    # The HTML report, rendered by a browser: each test with its target, and the failure with the dmesg tail.
    rows = render_report(page, "report-ssh-ondemand.png")
    assert {row["target"] for row in rows} == {"lab1-1", "lab2-1"}
    assert sorted(row["result"] for row in rows if "test_fails_with_logs" in row["testId"]) == ["Failed", "Failed"]
    assert "dmesg of lab1-1 (last lines)" in page.read_text()
    # Deleted afterwards, in a run of its own.
    assert "LISA: deleting lab1-1, lab2-1" in out and "[delete " in out
    assert lisa.pool() == {}


def test_keep_targets_then_delete_targets(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(1)
    book = lisa.runbook({"targets": [fleet.machines[0].target(fleet.client_key, name="kept")]})
    tests = tmp_path / "test_keep.py"
    tests.write_text("def test_up(target):\n    assert target.run('true').rc == 0\n")
    # As a user runs it without activating the virtual environment: LISA's own Ansible is still used.
    lisa.env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    first = lisa.run(
        str(BIN / "pytest"), "-p", "no:cacheprovider", f"--lisa-runbook={book}", "--lisa-keep-targets", str(tests)
    )
    lisa.env["PATH"] = f"{BIN}:{lisa.env['PATH']}"
    assert first.returncode == 0, first.stdout[-4000:]
    assert "LISA: kept kept-1; the next run with this runbook reuses them" in first.stdout
    assert lisa.pool()["kept-1"]["state"] == "ready"
    second = lisa.pytest_ondemand(tests, book, "--lisa-mode", "dev", "--lisa-results", str(tmp_path / "r"))
    assert second.returncode == 0, second.stdout[-4000:]
    assert "test_up[ansible://kept-1] PASSED" in second.stdout, second.stdout[-3000:]  # dev mode is verbose
    assert lisa.pool()["kept-1"]["state"] == "ready"  # dev mode keeps the targets too
    gone = lisa.run("pytest", "-p", "no:cacheprovider", "--lisa-delete-targets")
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert lisa.pool() == {}


class SilentListener:
    """A TCP port on 127.0.0.1 that accepts connections and never says anything (an SSH that hangs)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            while True:
                client, _ = self.server.accept()
                self.clients.append(client)
        except OSError:
            return

    def close(self) -> None:
        self.server.close()
        for client in self.clients:
            client.close()


def test_ctrl_c_during_deploy_cancels_and_deletes(lisa: Lisa, tmp_path: Path) -> None:
    listener = SilentListener()
    try:
        book = lisa.runbook(
            {"targets": [{"name": "hangs", "platform": "ssh", "host": "127.0.0.1", "port": listener.port}]}
        )
        tests = tmp_path / "test_never.py"
        tests.write_text("def test_never(target):\n    pass\n")
        process = lisa.start("pytest", "-p", "no:cacheprovider", f"--lisa-runbook={book}", str(tests))
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "hangs-1" not in lisa.pool():
                time.sleep(0.2)
            assert "hangs-1" in lisa.pool(), "the deploy never recorded the target"
            time.sleep(1)
        finally:
            out = lisa.interrupt(process, timeout=120)
    finally:
        listener.close()
    assert "interrupted; cancelling, then deleting what was deployed" in out, out[-4000:]
    assert "LISA: deleting hangs-1" in out, out[-4000:]
    assert leftover_processes(lisa.state_dir) == []  # no playbook, worker or module of the cancelled run
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out[-4000:]
    assert lisa.pool() == {}


def test_reuse_false_replaces_the_target_after_the_test(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(1)
    book = lisa.runbook({"targets": [fleet.machines[0].target(fleet.client_key, name="one")]})
    tests = tmp_path / "test_reuse.py"
    tests.write_text(
        textwrap.dedent("""\
        import json, os, pathlib
        import pytest

        def created():
            path = pathlib.Path(os.environ["LISA_STATE_DIR"], "pool.json")
            return json.loads(path.read_text())["targets"]["one-1"]["created"]

        seen = []

        @pytest.mark.lisa(reuse=False)
        def test_spoils_the_target(target):
            seen.append(created())
            target.run("touch /tmp/lisa-spoiled")

        def test_gets_a_fresh_record(target):
            assert created() != seen[0]  # deleted and deployed again after the first test
            assert target.run("true").rc == 0
            target.run("rm -f /tmp/lisa-spoiled")
        """)
    )
    result = lisa.pytest_ondemand(tests, book)
    assert result.returncode == 0, result.stdout[-5000:]
    assert "2 passed" in result.stdout
    assert lisa.pool() == {}
