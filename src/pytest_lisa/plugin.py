"""The ``lisa`` pytest plugin: LISA metadata, selection and targets on top of pytest-testinfra.

testinfra owns ``host``, ``--connection``, ``--hosts`` and ``--ansible-inventory``; every option here
is namespaced ``--lisa-*`` and has an ini equivalent where it makes sense.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from pytest_lisa import selection
from pytest_lisa.core import criteria, errors
from pytest_lisa.target import Target

MODES = ("dev", "debug", "ci", "demo")
CRITERIA_KEY = pytest.StashKey[criteria.Criteria]()
VERDICTS_KEY = pytest.StashKey[list[selection.Verdict]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lisa", "LISA: Linux test targets, metadata and selection")
    group.addoption("--lisa-runbook", metavar="RUNBOOK", help="runbook file: targets to deploy, criteria, suites")
    group.addoption(
        "--lisa-criteria",
        metavar="YAML",
        help="criteria as inline YAML or JSON, e.g. '[{priority: 0}]' (replace the runbook's)",
    )
    group.addoption(
        "--lisa-suite",
        metavar="NAME",
        help="run the named suite (smoke, core, network, storage, all, or the runbook's)",
    )
    group.addoption("--lisa-explain", action="store_true", help="print why each test runs or not on each target")
    group.addoption(
        "--lisa-list", action="store_true", help="print the test inventory by area, category, priority; run nothing"
    )
    group.addoption(
        "--lisa-mode", choices=MODES, help="preset of output and reporting (not available yet): " + ", ".join(MODES)
    )
    group.addoption(
        "--lisa-keep-targets",
        action="store_true",
        help="keep the targets pytest deployed (not available yet: pytest does not deploy)",
    )
    group.addoption("--lisa-delete-targets", action="store_true", help="delete every target in the pool and exit")
    parser.addini("lisa_runbook", "default runbook file (--lisa-runbook)")
    parser.addini("lisa_mode", "default user mode (--lisa-mode)")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist turns -n into --dist load; tests of one target must stay on one worker at a time.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    # A worker rebuilds its options from the command line; the controller tells it about loadgroup.
    if getattr(config, "workerinput", {}).get("lisa_loadgroup"):
        config.option.loadgroup = True
    config.addinivalue_line(
        "markers",
        "lisa(platform=, category=, area=, priority=, tags=, features=, reuse=, count=, cpus=, memory_mb=, "
        "disks=, nics=): LISA test metadata; the closest mark (function, class, module) wins per field.",
    )
    # Refused rather than ignored until they do something.
    if config.getoption("lisa_mode") or config.getini("lisa_mode"):
        raise pytest.UsageError("--lisa-mode is not available yet; use pytest's own options (-v, --pdb, --junitxml)")
    if config.getoption("lisa_keep_targets"):
        raise pytest.UsageError(
            "--lisa-keep-targets: pytest does not deploy targets yet; targets deployed with playbooks/deploy.yml stay "
            "until playbooks/delete.yml or 'lisa cleanup'"
        )
    try:
        config.stash[CRITERIA_KEY] = selection.load_criteria(config)
    except errors.LisaError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--lisa-delete-targets: delete every target of the pool (the collection's cleanup playbook) and exit."""
    if not config.getoption("lisa_delete_targets"):
        return None
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([playbook, "lisa.core.cleanup"], check=False)
    return 0 if result.returncode == 0 else 1


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller, before a worker starts."""
    node.workerinput["lisa_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


@pytest.fixture
def target(host: Any) -> Any:
    """The target this test runs on: testinfra's ``host`` with LISA's helpers (ping, reboot, restart, ...)."""
    found = Target(host)
    yield found
    found.close()


@pytest.fixture
def lisa_repeat(request: pytest.FixtureRequest) -> int:
    """Which repetition of a test this is, when criteria ask for ``times`` > 1."""
    return int(getattr(request, "param", 1))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    meta, problem = None, ""
    try:
        meta = selection.metadata_of(definition)
    except errors.LisaError as error:
        problem = f"{definition.nodeid}: {error}"
    if meta is None:
        pytest.fail(problem, pytrace=False)  # a collection error with this message, no traceback
    decision = metafunc.config.stash[CRITERIA_KEY].explain(meta)
    if decision.selected and decision.times > 1:
        metafunc.fixturenames.append("lisa_repeat")
        metafunc.parametrize(
            "lisa_repeat", range(1, decision.times + 1), ids=[f"run{n}" for n in range(1, decision.times + 1)]
        )


# First: pytest-xdist's worker turns xdist_group marks into scheduling groups in its own modifyitems.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    verdicts = selection.judge(items, config.stash[CRITERIA_KEY])
    config.stash[VERDICTS_KEY] = verdicts
    kept = [v.item for v in verdicts if v.selected]
    for verdict in verdicts:
        if not verdict.selected:
            continue
        item = verdict.item
        if verdict.target is not None:
            # With pytest-xdist's --dist loadgroup, all tests of one target go to one worker, one at a time.
            item.add_marker(pytest.mark.xdist_group(verdict.target.name))
            item.user_properties.append(("lisa_target", verdict.target.name))
        meta = selection.metadata_of(item)
        for key in ("area", "category", "priority", "platform", "tags", "features"):
            value = getattr(meta, key)
            item.user_properties.append((f"lisa_{key}", ",".join(value) if isinstance(value, tuple) else str(value)))
    dropped = [v.item for v in verdicts if not v.selected]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    verdicts = config.stash.get(VERDICTS_KEY, [])
    if config.getoption("lisa_explain"):
        reporter.section("LISA: why each test runs or not")
        for verdict in verdicts:
            word = "run " if verdict.selected else "skip"
            reporter.write_line(f"{word} {verdict.item.nodeid}: {verdict.reason}")
    if config.getoption("lisa_list"):
        write_inventory(reporter, verdicts)


def write_inventory(reporter: Any, verdicts: list[selection.Verdict]) -> None:
    """Counts of the selected tests (each function once) by area, category, priority, platform."""
    tests: dict[str, Any] = {}
    for verdict in verdicts:
        if verdict.selected:
            meta = selection.metadata_of(verdict.item)
            tests.setdefault(f"{verdict.item.path.name}::{meta.name}", meta)
    reporter.section(f"LISA test inventory: {len(tests)} tests")
    for title, key in (("area", "area"), ("category", "category"), ("priority", "priority"), ("platform", "platform")):
        counts: Counter[str] = Counter()
        for meta in tests.values():
            value = getattr(meta, key)
            for shown in (value if isinstance(value, tuple) else (value,)) or ("any",):
                counts[str(shown)] += 1
        reporter.write_line(f"by {title}: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    missing = sorted(f"{name} (no {', '.join(meta.missing)})" for name, meta in tests.items() if meta.missing)
    reporter.write_line(f"missing metadata: {len(missing)}")
    for line in missing:
        reporter.write_line(f"  {line}")


def pytest_runtestloop(session: pytest.Session) -> bool | None:
    if session.config.getoption("lisa_list"):
        return True  # the inventory is printed; nothing runs
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    dropped = [v for v in config.stash.get(VERDICTS_KEY, []) if not v.selected]
    if not dropped or config.getoption("lisa_explain") or config.getoption("lisa_list"):
        return
    terminalreporter.section("LISA: deselected")
    by_reason: dict[str, list[str]] = {}
    for verdict in dropped:
        by_reason.setdefault(verdict.reason, []).append(verdict.item.nodeid)
    for reason, nodeids in sorted(by_reason.items(), key=lambda pair: -len(pair[1])):
        example = nodeids[0] + (f" and {len(nodeids) - 1} more" if len(nodeids) > 1 else "")
        terminalreporter.write_line(f"{len(nodeids)} deselected, {reason}: {example}")
