"""Reports: what each test was, where it ran and how it went, for people (HTML, console) and for CI (JUnit).

The metadata and target of each test travel as ``user_properties`` (JUnit properties, HTML columns); a
failing test's report gets the tail of its target's serial console and dmesg; every outcome goes to the
results store.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest

from pytest_lisa.results import ResultsStore

COLUMNS = (("Target", "lisa_target"), ("Area", "lisa_area"), ("Priority", "lisa_priority"))


def properties(report: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in getattr(report, "user_properties", ())}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for target in item.funcargs.get("targets", None) or [item.funcargs.get("target")]:  # type: ignore[attr-defined]
            if target is None or not hasattr(target, "tail"):
                continue
            for what, text in target.tail().items():
                report.sections.append((f"{what} of {target.name} (last lines)", text))
    return report


class HtmlColumns:
    """pytest-html: LISA's columns in the results table."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for offset, (title, _key) in enumerate(COLUMNS):
            cells.insert(2 + offset, f'<th class="sortable" data-column-type="{title.lower()}">{title}</th>')
        cells.append("<th>Metrics</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        found = properties(report)
        for offset, (title, key) in enumerate(COLUMNS):
            cells.insert(2 + offset, f'<td class="col-{title.lower()}">{html.escape(found.get(key, ""))}</td>')
        metrics = [f"{key[len('metric_') :]}: {value}" for key, value in found.items() if key.startswith("metric_")]
        cells.append(f'<td class="col-metrics">{html.escape("; ".join(metrics))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = "LISA test report"


PROGRESS_ENV = "LISA_PROGRESS_FILE"


class Recorder:
    """Writes every test's outcome to the results store (in the process that sees all reports).

    With $LISA_PROGRESS_FILE set, each outcome is also appended there as a JSON line as it happens:
    ``lisa run`` follows that file to show the tests' progress while the playbook runs them.
    """

    def __init__(self, store: ResultsStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.progress = os.environ.get(PROGRESS_ENV)
        self.reruns: Counter[str] = Counter()
        self.outcomes: dict[str, tuple[str, float, dict[str, str]]] = {}
        self.started = time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome == "rerun":  # type: ignore[comparison-overlap]  # pytest-rerunfailures
            self.reruns[report.nodeid] += 1
            return
        found = properties(report)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = report.outcome if report.when == "call" or report.skipped else "error"
        elif report.when == "teardown" and report.failed:
            outcome = "error"
        else:
            return
        duration = report.duration
        if report.when == "teardown" and report.nodeid in self.outcomes:
            duration += self.outcomes[report.nodeid][1]
        self.outcomes[report.nodeid] = (outcome, duration, found)
        if self.progress:
            line = {
                "nodeid": report.nodeid,
                "test": found.get("lisa_test", report.nodeid),
                "outcome": outcome,
                "target": found.get("lisa_target", ""),
                "duration": round(duration, 3),
                "reruns": self.reruns[report.nodeid],
                "area": found.get("lisa_area", ""),
            }
            with open(self.progress, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        self.store.record_result(
            self.run_id,
            report.nodeid,
            found.get("lisa_test", report.nodeid),
            found.get("lisa_target"),
            found.get("lisa_group"),
            outcome,
            duration,
            self.reruns[report.nodeid],
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.store.end_run(self.run_id, int(exitstatus))


def write_summary(reporter: Any, recorder: Recorder) -> None:
    """The demo mode's executive summary: outcomes by area, and what failed, in a few lines."""
    by_area: dict[str, Counter[str]] = {}
    failed = []
    for nodeid, (outcome, _duration, found) in recorder.outcomes.items():
        by_area.setdefault(found.get("lisa_area", "?"), Counter())[outcome] += 1
        if outcome in ("failed", "error"):
            failed.append(f"{found.get('lisa_test', nodeid)} on {found.get('lisa_target', '?')}")
    reporter.section("LISA summary", sep="=", bold=True)
    width = max([len(area) for area in by_area] + [4])
    reporter.write_line(f"{'area'.ljust(width)}  passed  failed  skipped")
    for area, counts in sorted(by_area.items()):
        bad = counts["failed"] + counts["error"]
        reporter.write_line(f"{area.ljust(width)}  {counts['passed']:6d}  {bad:6d}  {counts['skipped']:7d}")
    total = sum(by_area.values(), Counter())
    verdict = "PASSED" if not failed and total["passed"] else ("FAILED" if failed else "NOTHING RAN")
    reporter.write_line(
        f"{verdict}: {total['passed']} passed, {len(failed)} failed, {total['skipped']} skipped "
        f"in {time.monotonic() - recorder.started:.0f} s (run {recorder.run_id})",
        green=verdict == "PASSED",
        red=verdict == "FAILED",
    )
    for line in failed:
        reporter.write_line(f"  failed: {line}", red=True)
