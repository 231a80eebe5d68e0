"""playbooks/run.yml, the whole test pass, on SSH machines: a failing test fails the play by name."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Lisa, render_report

pytestmark = pytest.mark.ssh


def test_failing_test_fails_the_play_by_name_and_targets_are_still_deleted(
    lisa: Lisa, ssh_fleet, tmp_path: Path
) -> None:
    fleet = ssh_fleet(2)
    runbook = lisa.runbook({"targets": [m.target(fleet.client_key) for m in fleet.machines]})
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_pass_and_fail.py").write_text(
        textwrap.dedent("""\
        import pytest

        pytestmark = pytest.mark.lisa(priority=0, area="demo")

        def test_passes(target):
            assert target.run("true").rc == 0

        def test_fails_on_purpose(target):
            assert target.run("false").rc == 0, "this test fails on purpose"
        """)
    )
    results = tmp_path / "results"
    result = lisa.playbook(
        "run",
        runbook,
        "-e",
        "suite=smoke",
        "-e",
        f"tests_dir={tests}",
        "-e",
        f"results_dir={results}",
    )
    out = result.stdout
    assert result.returncode != 0
    assert "2 test(s) failed:" in out
    assert "test_pass_and_fail.py::test_fails_on_purpose[ansible://m1-1]" in out
    assert "test_pass_and_fail.py::test_fails_on_purpose[ansible://m2-1]" in out
    assert lisa.pool() == {}  # deleted although the tests failed
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "2"
    # The HTML report and each target's dmesg and journal, collected before the deletion.
    assert "HTML report: " + str(results / "report.html") in " ".join(out.split())
    rows = render_report(results / "report.html", "report-ssh-run-playbook.png")
    assert sorted(row["result"] for row in rows) == ["Failed", "Failed", "Passed", "Passed"]
    for name in ("m1-1", "m2-1"):
        assert (results / f"{name}.dmesg.log").stat().st_size > 0
        assert (results / f"{name}.journal.log").exists()
    progress = [json.loads(line) for line in (results / "progress.jsonl").read_text().splitlines()]
    assert sorted(p["outcome"] for p in progress) == ["failed", "failed", "passed", "passed"]


def test_keep_targets_keeps_them(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(1)
    runbook = lisa.runbook({"targets": [fleet.machines[0].target(fleet.client_key)]})
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_ok.py").write_text(
        "import pytest\n\n@pytest.mark.lisa(priority=0)\ndef test_ok(target):\n    pass\n"
    )
    result = lisa.playbook(
        "run",
        runbook,
        "-e",
        f"tests_dir={tests}",
        "-e",
        f"results_dir={tmp_path / 'results'}",
        "-e",
        "keep_targets=true",
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert list(lisa.pool()) == ["m1-1"]
