"""The lisa pytest plugin in real pytest sessions (pytester): marks, criteria, suites, explain, inventory."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

TESTS = textwrap.dedent('''\
    import pytest

    pytestmark = pytest.mark.lisa(area="network", category="Functional")

    @pytest.mark.lisa(priority=0, tags=["quick"])
    def test_ping():
        """The target answers ping."""

    @pytest.mark.lisa(priority=3, category="performance")
    def test_iperf():
        pass

    class TestStorage:
        pytestmark = pytest.mark.lisa(area="storage", priority=1)

        def test_disk(self):
            pass

        @pytest.mark.lisa(priority=0)
        def test_smoke_disk(self):
            pass

    def test_undescribed():
        pass
    ''')


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_targets=TESTS)
    return pytester


def ran(result: pytest.RunResult) -> list[str]:
    return sorted(line.split("::")[-1].split()[0] for line in result.outlines if " PASSED" in line)


def test_no_criteria_runs_everything(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-v")
    result.assert_outcomes(passed=5)


def test_fields_of_one_entry_are_anded(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-v", "--lisa-criteria", "[{area: network, priority: 0}]")
    assert ran(result) == ["test_ping"]
    result.assert_outcomes(passed=1, deselected=4)


def test_closest_mark_wins(suite: pytest.Pytester) -> None:
    # test_smoke_disk: module says network, class says storage (closer), function says priority 0 (closest)
    result = suite.runpytest("-v", "--lisa-criteria", "[{area: storage, priority: 0}]")
    assert ran(result) == ["test_smoke_disk"]


def test_later_exclude_removes_and_later_select_adds_back(suite: pytest.Pytester) -> None:
    result = suite.runpytest(
        "-v", "--lisa-criteria", "[{priority: [0, 1]}, {area: storage, exclude: true}, {name: test_disk}]"
    )
    assert ran(result) == ["test_disk", "test_ping"]


def test_times_repeats_a_test(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-v", "--lisa-criteria", "[{name: test_ping, times: 3}]")
    result.assert_outcomes(passed=3, deselected=4)
    result.stdout.fnmatch_lines(["*test_ping[[]run1[]] PASSED*", "*test_ping[[]run3[]] PASSED*"])


def test_builtin_suite(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-v", "--lisa-suite", "smoke")
    assert ran(result) == ["test_ping", "test_smoke_disk"]


def test_runbook_criteria_and_suites(suite: pytest.Pytester) -> None:
    suite.makefile(".yml", runbook="criteria: [{category: performance}]\nsuites:\n  nightly: [{priority: [1, 3]}]\n")
    assert ran(suite.runpytest("-v", "--lisa-runbook", "runbook.yml")) == ["test_iperf"]
    assert ran(
        suite.runpytest(
            "-v",
            "--lisa-runbook",
            "runbook.yml",
            "--lisa-suite",
            "nightly",
            "--lisa-criteria",
            "[{name: test_disk, exclude: true}]",
        )
    ) == ["test_iperf"]


def test_unknown_suite_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-suite", "weekly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--lisa-suite: unknown suite 'weekly'; built in: all, core, network, smoke, storage*"]
    )


def test_bad_criteria_name_the_key_path(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-criteria", "[{priority: 9}, {areas: x}]")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lisa-criteria: criteria[[]0[]].priority: expected an integer 0–5, got 9*"])
    result.stderr.fnmatch_lines(["*criteria[[]1[]].areas: unknown key; did you mean 'area'?*"])


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("priority=9", "test_bad.py::test_x: lisa mark of test_x: priority: expected an integer 0–5, got 9"),
        ("category='Unit'", "test_bad.py::test_x: lisa mark of test_x: category: expected one of 'Functional'"),
        ("prio=1", "test_bad.py::test_x: lisa mark of test_x: prio: unknown key; did you mean 'priority'?"),
        ("'network'", "test_bad.py::test_x: lisa mark of test_x: (top level): takes keyword arguments only"),
    ],
)
def test_bad_mark_is_a_collection_error_naming_the_test(pytester: pytest.Pytester, mark: str, message: str) -> None:
    pytester.makepyfile(
        test_bad=f"import pytest\n\n@pytest.mark.lisa({mark})\ndef test_x():\n    pass\n\ndef test_y():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stdout.str()


def test_explain_says_why(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-explain", "--lisa-criteria", "[{priority: 0}, {area: storage, exclude: true}]")
    result.stdout.fnmatch_lines(
        [
            "run  test_targets.py::test_ping: selected by criteria[[]0[]] {priority: 0}",
            "skip test_targets.py::test_iperf: not selected: no entry of criteria matches it",
            "skip test_targets.py::TestStorage::test_smoke_disk: "
            "dropped by criteria[[]1[]] {area: storage, exclude: true}",
        ]
    )


def test_deselected_are_summarized_by_reason(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-criteria", "[{priority: 0}]")
    result.stdout.fnmatch_lines(
        ["*LISA: deselected*", "3 deselected, not selected: no entry of criteria matches it: *"]
    )


def test_inventory_listing_runs_nothing(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-list")
    result.stdout.fnmatch_lines(
        [
            "*LISA test inventory: 5 tests*",
            "by area: network 3, storage 2",
            "by category: Functional 4, Performance 1",
            "by priority: 0 2, 1 1, 2 1, 3 1",
            "by platform: any 5",
            "missing metadata: 1",
            "  test_targets.py::test_undescribed (no priority)",
        ]
    )
    result.assert_outcomes()


def test_lisa_list_command(suite: pytest.Pytester) -> None:
    result = suite.run(str(Path(sys.executable).parent / "lisa"), "list", "--suite", "smoke", "test_targets.py")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*LISA test inventory: 2 tests*", "by area: network 1, storage 1"])


def test_keep_targets_without_a_runbook_to_deploy_is_refused(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--lisa-keep-targets")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lisa-keep-targets keeps what pytest deploys for --lisa-runbook*"])


def test_count_needs_the_targets_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pair="import pytest\n\n@pytest.mark.lisa(count=2)\ndef test_pair(target):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*test_pair.py::test_pair: count=2 needs the 'targets' fixture*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error


def test_targets_without_a_pool_is_skipped_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pair="def test_pair(targets):\n    pass\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs target groups from LISA's pool: --lisa-runbook*"])
