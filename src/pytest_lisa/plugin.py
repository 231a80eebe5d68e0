"""The ``lisa`` pytest plugin: LISA metadata, selection and targets on top of pytest-testinfra.

testinfra owns ``host``, ``--connection``, ``--hosts`` and ``--ansible-inventory``; every option here
is namespaced ``--lisa-*`` and has an ini equivalent where it makes sense.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_lisa import ondemand, reports, runner, selection
from pytest_lisa.core import criteria, errors, runbook
from pytest_lisa.results import Metrics, ResultsStore, new_run_id, results_path

if TYPE_CHECKING:
    from pytest_lisa.target import Target

CRITERIA_KEY = pytest.StashKey[criteria.Criteria]()
VERDICTS_KEY = selection.VERDICTS_KEY
RUN_KEY = pytest.StashKey["Run"]()


@dataclass(frozen=True)
class Mode:
    """A user mode: defaults for pytest's output and LISA's reports (LISAv3 design, "user modes")."""

    description: str
    verbose: int = 0
    tbstyle: str = "auto"
    reportchars: str = "fE"
    keep_targets: bool = False
    html: bool = True
    junit: bool = False
    pdb: bool = False
    showlocals: bool = False
    log_cli_level: str | None = None
    timeout: int = 900  # seconds per test; 0: none
    summary: bool = False


MODES = {
    "dev": Mode(
        "writing tests: verbose, keeps the targets for the next run, HTML report",
        verbose=1,
        keep_targets=True,
        timeout=1800,
    ),
    "debug": Mode(
        "everything shown, debugger on failure, keeps the targets",
        verbose=2,
        tbstyle="long",
        reportchars="A",
        keep_targets=True,
        pdb=True,
        showlocals=True,
        log_cli_level="DEBUG",
        timeout=0,
    ),
    "ci": Mode("quiet console, full JUnit XML and HTML in the results folder", tbstyle="short", junit=True),
    "demo": Mode("an executive summary", verbose=-1, tbstyle="no", reportchars="", summary=True),
}


@dataclass
class Run:
    """This pytest run as LISA sees it."""

    run_id: str
    mode: Mode | None
    store: ResultsStore | None
    recorder: reports.Recorder | None = None


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
        "--lisa-mode",
        choices=sorted(MODES),
        help="user mode: " + "; ".join(f"{name}: {mode.description}" for name, mode in MODES.items()),
    )
    group.addoption(
        "--lisa-keep-targets",
        action="store_true",
        help="keep the targets deployed for --lisa-runbook after the run (the next run reuses them)",
    )
    group.addoption("--lisa-delete-targets", action="store_true", help="delete every target in the pool and exit")
    group.addoption(
        "--lisa-ssh-per-command",
        action="store_true",
        help="run each command in its own ssh process (testinfra's way) instead of a persistent channel",
    )
    group.addoption("--lisa-results", metavar="DIR", help="folder for the reports (default: results/RUN_ID)")
    group.addoption("--lisa-run-id", metavar="ID", help=argparse.SUPPRESS)  # run.yml names its run
    parser.addini("lisa_runbook", "default runbook file (--lisa-runbook)")
    parser.addini("lisa_mode", "default user mode (--lisa-mode)")


def use_own_ansible() -> None:
    """testinfra runs ansible-inventory and ansible from PATH: make them those of LISA's environment.

    Without this, `.venv/bin/pytest` (not activated) would use whatever other Ansible PATH finds first,
    or none, and see an empty inventory.
    """
    if os.access(os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), os.X_OK):
        os.environ["PATH"] = runner.path_with_own_ansible()


def apply_mode(config: pytest.Config, mode: Mode, results_dir: str) -> None:
    """Set pytest's options as the mode says, where the command line left pytest's defaults."""
    option = config.option
    if option.verbose == 0:
        option.verbose = mode.verbose
    if option.tbstyle == "auto":
        option.tbstyle = mode.tbstyle
    option.reportchars = mode.reportchars if option.reportchars in ("fE", "a") else option.reportchars
    option.usepdb = option.usepdb or mode.pdb
    option.showlocals = option.showlocals or mode.showlocals
    if mode.log_cli_level and not option.log_cli_level:
        option.log_cli_level = mode.log_cli_level
    if mode.html and hasattr(option, "htmlpath") and not option.htmlpath:
        option.htmlpath = os.path.join(results_dir, "report.html")
        option.self_contained_html = True
    if mode.junit and not option.xmlpath:
        option.xmlpath = os.path.join(results_dir, "junit.xml")


def apply_timeout(config: pytest.Config, mode: Mode | None, book: runbook.Runbook | None) -> None:
    """pytest-timeout's limit: --timeout, else the runbook's, else the mode's, else the ini file's."""
    if not hasattr(config.option, "timeout") or config.option.timeout is not None:
        return
    if book is not None and book.timeout is not None:
        config.option.timeout = book.timeout
    elif mode is not None:
        config.option.timeout = mode.timeout


# First: the mode changes options that pytest-html, pytest-timeout and JUnit read in their own configure.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist turns -n into --dist load; tests of one target must stay on one worker at a time.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    use_own_ansible()
    workerinput = getattr(config, "workerinput", {})
    # A worker rebuilds its options from the command line; the controller tells it what it decided.
    if workerinput.get("lisa_loadgroup"):
        config.option.loadgroup = True
    for key, value in workerinput.get("lisa_testinfra", {}).items():
        setattr(config.option, key, value)
    config.addinivalue_line(
        "markers",
        "lisa(platform=, category=, area=, priority=, tags=, features=, reuse=, count=, cpus=, memory_mb=, "
        "disks=, nics=): LISA test metadata; the closest mark (function, class, module) wins per field.",
    )
    try:
        path = config.getoption("lisa_runbook") or config.getini("lisa_runbook")
        book = runbook.load_file(str(path)) if path else None
        config.stash[CRITERIA_KEY] = selection.load_criteria(config, book)
    except errors.LisaError as error:
        raise pytest.UsageError(str(error)) from None
    mode_name = config.getoption("lisa_mode") or config.getini("lisa_mode") or None
    if mode_name and mode_name not in MODES:
        raise pytest.UsageError(f"lisa_mode = {mode_name!r} in the ini file; expected one of {', '.join(MODES)}")
    mode = MODES[mode_name] if mode_name else None
    run_id = workerinput.get("lisa_run_id") or config.getoption("lisa_run_id") or new_run_id()
    results_dir = os.path.abspath(
        config.getoption("lisa_results") or os.path.join(str(config.rootpath), "results", run_id)
    )
    if mode is not None:
        apply_mode(config, mode, results_dir)
    apply_timeout(config, mode, book)
    planning = os.environ.get(ondemand.PLAN_ENV)
    if planning:
        if book is None:
            raise pytest.UsageError("planning needs --lisa-runbook")
        ondemand.use_predictions(config, book)
        config.pluginmanager.register(ondemand.Planner(planning), "lisa-planner")
        config.stash[RUN_KEY] = Run(run_id, mode, None)
        return
    if book is not None and ondemand.wants_deploy(config):
        keep = bool(config.getoption("lisa_keep_targets") or (mode is not None and mode.keep_targets))
        config.pluginmanager.register(ondemand.OnDemand(config, book, run_id, keep), "lisa-ondemand")
    elif config.getoption("lisa_keep_targets"):
        raise pytest.UsageError(
            "--lisa-keep-targets keeps what pytest deploys for --lisa-runbook; with --hosts or --ansible-inventory "
            "pytest deploys nothing (targets deployed with playbooks/deploy.yml stay until 'lisa cleanup')"
        )
    # Runs on LISA targets (or in a mode) go to the results store; collecting alone records nothing.
    records = bool(book is not None or mode is not None or config.getoption("ansible_inventory", None))
    records = records and not config.option.collectonly
    store = ResultsStore(results_path(ondemand.state_dir_of(config))) if records else None
    run = Run(run_id, mode, store)
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(reports, "lisa-reports")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(reports.HtmlColumns(), "lisa-html")
    if store is not None and not workerinput:
        store.begin_run(run_id, mode_name or "", " ".join(config.invocation_params.args))
        run.recorder = reports.Recorder(store, run_id)
        config.pluginmanager.register(run.recorder, "lisa-recorder")


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--lisa-delete-targets: delete every target of the pool (the collection's cleanup playbook) and exit."""
    if not config.getoption("lisa_delete_targets"):
        return None
    outcome = runner.delete_targets(ondemand.state_dir_of(config), write=print, project_dir=str(config.rootpath))
    print(outcome.explain())
    return 0 if outcome.ok else 1


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller, before a worker starts."""
    node.workerinput["lisa_loadgroup"] = node.config.getvalue("dist") == "loadgroup"
    node.workerinput["lisa_run_id"] = node.config.stash[RUN_KEY].run_id


def _owner(request: pytest.FixtureRequest) -> str:
    return f"pytest {os.getpid()} {request.node.nodeid}"


@pytest.fixture
def target(host: Any, request: pytest.FixtureRequest) -> Iterator[Target]:
    """The target this test runs on: testinfra's ``host`` with LISA's helpers (ping, reboot, restart, ...).

    The test holds the target's lease meanwhile; a test marked ``reuse=False`` gets it replaced afterwards.
    """
    from pytest_lisa.target import Leases, Target  # noqa: PLC0415 - not needed to collect

    found = Target(host)
    leases = Leases(_owner(request))
    leases.acquire([found])
    try:
        yield found
        if not selection.metadata_of(request.node).reuse:
            found.replace(str(request.config.rootpath))
    finally:
        leases.release()
        found.close()


@pytest.fixture
def lisa_group(request: pytest.FixtureRequest) -> str:
    """The target group a test with ``count`` > 1 runs on."""
    return str(request.param)


@pytest.fixture
def targets(lisa_group: str, request: pytest.FixtureRequest) -> Iterator[list[Target]]:
    """The first ``count`` instances of one target group (mark ``lisa(count=N)``), leased together."""
    import testinfra  # noqa: PLC0415

    from pytest_lisa.target import Leases, Target  # noqa: PLC0415 - not needed to collect

    group = request.config.stash[selection.GROUPS_KEY][lisa_group]
    count = selection.metadata_of(request.node).count
    inventory = request.config.getoption("ansible_inventory", None)
    found = [
        Target(testinfra.get_host(name, connection="ansible", ansible_inventory=inventory))
        for name in group.instances[:count]
    ]
    leases = Leases(_owner(request))
    leases.acquire(found)
    try:
        yield found
    finally:
        leases.release()
        for one in found:
            one.close()


@pytest.fixture
def metrics(request: pytest.FixtureRequest) -> Metrics:
    """Record a test's figures in the results store; ``previous()`` looks up the last run's value."""
    config = request.config
    run = config.stash[RUN_KEY]
    store = run.store or ResultsStore(results_path(ondemand.state_dir_of(config)))
    found = {str(k): str(v) for k, v in request.node.user_properties}
    return Metrics(
        store,
        run.run_id,
        request.node.nodeid,
        found.get("lisa_test", request.node.name),
        found.get("lisa_target"),
        found.get("lisa_group"),
        request.node.user_properties,
    )


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
    if meta.count > 1 and "targets" not in metafunc.fixturenames:
        pytest.fail(
            f"{definition.nodeid}: count={meta.count} needs the 'targets' fixture (a list of the target "
            "group's instances); 'target' and 'host' are one instance",
            pytrace=False,
        )
    if "targets" in metafunc.fixturenames:
        groups = selection.inventory_groups(metafunc.config)
        if groups:
            metafunc.parametrize("lisa_group", sorted(groups), ids=sorted(groups), indirect=True)
        else:
            reason = (
                "needs target groups from LISA's pool: --lisa-runbook, or --connection=ansible "
                "--ansible-inventory=inventory/lisa.yml"
            )
            metafunc.parametrize(
                "lisa_group",
                [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                ids=["no-target-group"],
                indirect=True,
            )
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
    # Only pytest-xdist's loadgroup reads the groups (in the controller's or a worker's collection).
    grouped = getattr(config.option, "dist", "no") == "loadgroup" or bool(getattr(config.option, "loadgroup", False))
    shared: dict[int, list[tuple[str, str]]] = {}  # the metadata properties, once per test function
    for verdict in verdicts:
        if not verdict.selected:
            continue
        item = verdict.item
        meta = selection.metadata_of(item)
        if id(meta) not in shared:
            shared[id(meta)] = [("lisa_test", meta.name)] + [
                (f"lisa_{key}", ",".join(value) if isinstance(value, tuple) else str(value))
                for key, value in ((key, getattr(meta, key)) for key in METADATA_PROPERTIES)
            ]
        item.user_properties.extend(shared[id(meta)])
        if verdict.target is not None:
            target = verdict.target
            if grouped:
                # All tests of one target go to one worker, one at a time. A test of several instances goes
                # with its first; leases keep the others free for it.
                item.add_marker(pytest.mark.xdist_group(target.instances[0] if target.instances else target.name))
            shown = ",".join(target.instances[: meta.count]) if target.instances else target.name
            item.user_properties.append(("lisa_target", shown))
            group = target.name if target.instances else target.group
            if group:
                item.user_properties.append(("lisa_group", group))
    dropped = [v.item for v in verdicts if not v.selected]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


METADATA_PROPERTIES = ("area", "category", "priority", "platform", "tags", "features")
CHANNELS_KEY = pytest.StashKey[set[int]]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a target's first test: a persistent command channel to it (see pytest_lisa.channel)."""
    config = item.config
    callspec = getattr(item, "callspec", None)
    host = callspec.params.get("_testinfra_host") if callspec is not None else None
    done = config.stash.setdefault(CHANNELS_KEY, set())
    if host is None or id(host) in done or config.getoption("lisa_ssh_per_command"):
        return
    done.add(id(host))
    backend = host.backend
    if getattr(backend, "NAME", "") == "ansible" and backend.get_variables().get("lisa_state_dir"):
        from pytest_lisa import channel  # noqa: PLC0415 - not needed to collect

        channel.enable(host)


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


DESELECTED_KEY = pytest.StashKey[dict[str, list[str]]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker sends its deselection reasons to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["lisa_deselected"] = deselected_by_reason(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    found = getattr(node, "workeroutput", {}).get("lisa_deselected") or {}
    merged = node.config.stash.setdefault(DESELECTED_KEY, {})
    for reason, nodeids in found.items():
        merged[reason] = sorted(set(merged.get(reason, [])) | set(nodeids))


def deselected_by_reason(config: pytest.Config) -> dict[str, list[str]]:
    by_reason: dict[str, list[str]] = {}
    for verdict in config.stash.get(VERDICTS_KEY, []):
        if not verdict.selected:
            by_reason.setdefault(verdict.reason, []).append(verdict.item.nodeid)
    for reason, nodeids in config.stash.get(DESELECTED_KEY, {}).items():
        by_reason.setdefault(reason, []).extend(nodeids)
    return by_reason


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None and run.mode is not None and run.mode.summary and run.recorder is not None:
        reports.write_summary(terminalreporter, run.recorder)
    by_reason = deselected_by_reason(config)
    if not by_reason or config.getoption("lisa_explain") or config.getoption("lisa_list"):
        return
    terminalreporter.section("LISA: deselected")
    for reason, nodeids in sorted(by_reason.items(), key=lambda pair: -len(pair[1])):
        example = nodeids[0] + (f" and {len(nodeids) - 1} more" if len(nodeids) > 1 else "")
        terminalreporter.write_line(f"{len(nodeids)} deselected, {reason}: {example}")
