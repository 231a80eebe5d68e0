"""The target fixture's helpers and parallel runs, on real SSH machines."""

from __future__ import annotations

import itertools
import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Lisa

pytestmark = pytest.mark.ssh


def deploy(lisa: Lisa, fleet) -> None:  # type: ignore[no-untyped-def]
    targets = [m.target(fleet.client_key, features=["lab"]) for m in fleet.machines]
    lisa.playbook("deploy", lisa.runbook({"targets": targets}), check=True)


def test_helpers(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(1)
    deploy(lisa, fleet)
    local = tmp_path / "hello.txt"
    local.write_text("hello from the controller\n")
    tests = tmp_path / "test_helpers.py"
    tests.write_text(
        textwrap.dedent(f"""\
        import time

        def test_ping(target):
            assert target.ping() < 5

        def test_upload_cat_download(target, tmp_path):
            target.upload("{local}", "/tmp/lisa-hello.txt")
            assert target.cat("/tmp/lisa-hello.txt") == "hello from the controller\\n"
            back = target.download("/tmp/lisa-hello.txt", tmp_path / "back.txt")
            assert back.read_text() == "hello from the controller\\n"
            target.run("rm -f /tmp/lisa-hello.txt")

        def test_run_async(target):
            start = time.monotonic()
            futures = [target.run_async("sleep 1; echo done") for _ in range(3)]
            assert [f.result().stdout.strip() for f in futures] == ["done"] * 3
            assert time.monotonic() - start < 2.5  # side by side, not one after another

        def test_capabilities_and_host(target):
            assert target.platform == "ssh"
            assert target.capabilities.nics == 1
            assert target.file("/etc/os-release").exists  # testinfra's host, through the target

        def test_commands_go_over_a_persistent_channel(target, host):
            from pytest_lisa.channel import ChannelSshBackend
            assert isinstance(target._ssh_backend(), ChannelSshBackend)
            result = host.run("echo out; echo err >&2; exit 4")
            assert (result.rc, result.stdout, result.stderr) == (4, "out\\n", "err\\n")

        def test_no_serial_console_is_a_clear_error(target):
            import pytest
            with pytest.raises(Exception, match="has no serial console log"):
                target.serial_log()
        """)
    )
    result = lisa.pytest(tests)
    assert result.returncode == 0, result.stdout[-5000:]
    assert "6 passed" in result.stdout


def test_parallel_never_runs_two_tests_on_one_target(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(2)
    deploy(lisa, fleet)
    log = tmp_path / "intervals.jsonl"
    tests = tmp_path / "test_parallel.py"
    body = "\n".join(f"def test_{n}(target):\n    record(target, '{n}')\n" for n in range(6))
    tests.write_text(
        textwrap.dedent(f"""\
        import json, time

        def record(target, n):
            start = time.time()
            target.run("sleep 0.4")
            with open("{log}", "a") as out:
                out.write(json.dumps([target.name, n, start, time.time()]) + "\\n")

        """)
        + body
    )
    junit = tmp_path / "junit.xml"
    result = lisa.pytest(tests, "-n", "2", f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-5000:]
    assert "12 passed" in result.stdout
    intervals: dict[str, list[tuple[float, float]]] = {}
    for line in log.read_text().splitlines():
        name, _n, start, end = json.loads(line)
        intervals.setdefault(name, []).append((start, end))
    assert sorted(intervals) == ["m1-1", "m2-1"]
    for name, spans in intervals.items():
        spans.sort()
        for (_s1, end), (start, _e2) in itertools.pairwise(spans):
            assert end <= start, f"two tests ran on {name} at once"
    # the two targets did run side by side
    assert min(e for _s, e in intervals["m1-1"]) > min(s for s, _e in intervals["m2-1"]) or min(
        e for _s, e in intervals["m2-1"]
    ) > min(s for s, _e in intervals["m1-1"])
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["lisa_target"] in ("m1-1", "m2-1")
    assert properties["lisa_area"] == "default" and properties["lisa_priority"] == "2"
