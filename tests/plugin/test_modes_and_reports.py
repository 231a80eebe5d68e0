"""User modes, timeouts, reruns, the results store and the metrics fixture, through real pytest runs."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import render_report

pytestmark = [pytest.mark.integration]

TESTS = """
import pytest

from tests.helpers import render_report

pytestmark = pytest.mark.lisa(area="demo", category="Functional", priority=1)


def test_passes(request):
    \"\"\"Passes.\"\"\"
    print("mode options:", request.config.option.usepdb, request.config.option.timeout)


@pytest.mark.lisa(area="other", priority=2)
def test_fails():
    \"\"\"Fails.\"\"\"
    assert 1 == 2, "one is not two"
"""


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("LISA_STATE_DIR", str(tmp_path / "state"))
    pytester.makepyfile(test_things=TESTS)
    return pytester


def test_ci_mode_writes_junit_and_html_with_lisa_columns(project: pytest.Pytester, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = project.runpytest("--lisa-mode", "ci", "--lisa-results", str(results))
    result.assert_outcomes(passed=1, failed=1)
    assert "PASSED" not in result.stdout.str()  # quiet: no per-test lines
    junit = ET.parse(results / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["lisa_area"] in ("demo", "other") and properties["lisa_test"] in ("test_passes", "test_fails")
    page = (results / "report.html").read_text()
    for column in ("Target", "Area", "Priority", "Metrics"):
        assert f">{column}</th>" in page
    assert "LISA test report" in page


def test_demo_mode_prints_an_executive_summary(project: pytest.Pytester, tmp_path: Path) -> None:
    result = project.runpytest("--lisa-mode", "demo", "--lisa-results", str(tmp_path / "r"))
    result.stdout.fnmatch_lines(
        [
            "*LISA summary*",
            "area*passed*failed*skipped",
            "demo*1*0*0",
            "other*0*1*0",
            "FAILED: 1 passed, 1 failed, 0 skipped in * s (run *)",
            "*failed: test_fails on ?",
        ]
    )
    assert "one is not two" not in result.stdout.str()  # --tb=no


def test_debug_mode_turns_on_pdb_and_turns_off_the_timeout(project: pytest.Pytester, tmp_path: Path) -> None:
    result = project.runpytest("--lisa-mode", "debug", "-k", "passes", "-s", "--lisa-results", str(tmp_path / "r"))
    result.stdout.fnmatch_lines(["*mode options: True 0*"])
    result.assert_outcomes(passed=1)


def test_unknown_mode_in_the_ini_file_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nlisa_mode = fast\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lisa_mode = 'fast' in the ini file; expected one of dev, debug, ci, demo*"])


def test_timeout_comes_from_the_command_line_then_runbook_then_mode(project: pytest.Pytester, tmp_path: Path) -> None:
    project.makepyfile(test_slow="import time\n\ndef test_slow():\n    time.sleep(3)\n")
    book = tmp_path / "book.yml"
    book.write_text("timeout: 1\n")
    by_runbook = project.runpytest("test_slow.py", "--lisa-mode", "ci", "--lisa-runbook", str(book))
    by_runbook.assert_outcomes(failed=1)
    by_runbook.stdout.fnmatch_lines(["*Timeout (>1s) from pytest-timeout*"])
    by_option = project.runpytest("test_slow.py", "--lisa-mode", "ci", "--lisa-runbook", str(book), "--timeout", "30")
    by_option.assert_outcomes(passed=1)


def test_flaky_test_is_rerun_and_the_rerun_shows(project: pytest.Pytester, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    project.makepyfile(
        test_flaky=f"""
import pathlib, pytest

@pytest.mark.flaky(reruns=2)
def test_flaky():
    path = pathlib.Path({str(counter)!r})
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    assert attempt > 1, "first attempt fails"
"""
    )
    results = tmp_path / "results"
    result = project.runpytest("test_flaky.py", "--lisa-mode", "ci", "--lisa-results", str(results))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 passed, 1 rerun in*"])
    assert "rerun" in (results / "report.html").read_text().lower()
    with sqlite3.connect(tmp_path / "state" / "results.sqlite") as db:
        rows = db.execute("SELECT test, outcome, reruns FROM results").fetchall()
    assert rows == [("test_flaky", "passed", 1)]


def test_metrics_are_stored_and_the_previous_value_found(project: pytest.Pytester, tmp_path: Path) -> None:
    value = tmp_path / "value"
    project.makepyfile(
        test_perf=f"""
import pathlib

def test_throughput(metrics):
    value = float(pathlib.Path({str(value)!r}).read_text())
    print("previous:", metrics.previous("throughput"))
    metrics.check_regression("throughput", value, tolerance=0.1)
    metrics.record("throughput", value, unit="Mbit/s")
"""
    )
    value.write_text("100")
    first = project.runpytest("test_perf.py", "-s", "--lisa-mode", "ci", "--lisa-results", str(tmp_path / "r1"))
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*previous: None*"])
    value.write_text("95")  # within 10 %
    second = project.runpytest("test_perf.py", "-s", "--lisa-mode", "ci", "--lisa-results", str(tmp_path / "r2"))
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*previous: 100.0*"])
    assert "throughput: 95 Mbit/s" in (tmp_path / "r2" / "report.html").read_text()
    value.write_text("50")
    third = project.runpytest("test_perf.py", "--lisa-mode", "ci", "--lisa-results", str(tmp_path / "r3"))
    third.assert_outcomes(failed=1)
    third.stdout.fnmatch_lines(["*throughput regressed: 50 now, 95 in the previous run (47% lower; tolerance 10%)*"])


def test_html_report_renders_in_a_browser(project: pytest.Pytester, tmp_path: Path) -> None:
    results = tmp_path / "results"
    project.runpytest("--lisa-mode", "ci", "--lisa-results", str(results)).assert_outcomes(passed=1, failed=1)
    rows = render_report(results / "report.html", "report-modes.png")
    by_test = {row["testId"].split("::")[-1]: row for row in rows}
    assert by_test["test_passes"]["result"] == "Passed" and by_test["test_passes"]["area"] == "demo"
    assert by_test["test_fails"]["result"] == "Failed" and by_test["test_fails"]["priority"] == "2"
