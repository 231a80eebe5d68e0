"""On-demand targets: ``pytest --lisa-runbook RUNBOOK`` deploys what the selected tests need, then deletes it.

How it goes, in the main pytest process (never in an xdist worker):
1. plan: a ``--collect-only`` pytest of the same tests, with the runbook's targets standing in for the pool
   (capabilities as the runbook promises them), names the instances that the selected tests would run on;
2. deploy those instances with the collection's deploy playbook through ansible-runner (live progress);
3. point testinfra at them (``--connection=ansible``, the pool's inventory, ``--hosts``) and test;
4. delete them in a separate ansible-runner run at the end, unless ``--lisa-keep-targets``.
A Ctrl-C during the deploy cancels it and still deletes; during the tests pytest stops and deletion follows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from typing import Any

import pytest

from pytest_lisa import runner, selection
from pytest_lisa.core import errors, pool, runbook

PLAN_ENV = "LISA_PLAN_FILE"


def state_dir_of(config: pytest.Config) -> str:
    """$LISA_STATE_DIR, else .lisa in pytest's root directory."""
    return os.path.abspath(pool.default_state_dir(str(config.rootpath)))


def write_inventory(state_dir: str) -> str:
    """An inventory file naming this state directory's pool (the plugin wants a name ending in lisa.yml)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    path = os.path.join(state_dir, "lisa.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            f"# Written by pytest --lisa-runbook: the pool of this state directory.\n"
            f"plugin: lisa.core.pool\nstate_dir: {json.dumps(state_dir)}\n"
        )
    return path


def wants_deploy(config: pytest.Config) -> bool:
    """A runbook and no targets named otherwise: pytest deploys the runbook's targets itself."""
    if hasattr(config, "workerinput"):
        return False
    runbook_path = config.getoption("lisa_runbook") or config.getini("lisa_runbook")
    return (
        bool(runbook_path) and not config.getoption("hosts", None) and not config.getoption("ansible_inventory", None)
    )


def use_predictions(config: pytest.Config, book: runbook.Runbook) -> None:
    """Let collection see the runbook's instances as if deployed, without connecting to anything."""
    groups, instances = selection.predicted_groups(book)
    config.stash[selection.PREDICTED_KEY] = instances
    config.stash[selection.GROUPS_KEY] = groups
    config.option.connection = "ssh"  # its hosts are made without connecting or reading an inventory
    config.option.hosts = ",".join(instances) or None


def needed_instances(items: Iterable[pytest.Item]) -> list[str]:
    """The instances the selected tests run on (a test with count=N uses the first N of its group)."""
    needed: set[str] = set()
    known: dict[int, selection.Target] = {}
    for item in items:
        target = selection.target_of(item, known)
        if target is None:
            continue
        if target.instances:
            needed.update(target.instances[: selection.metadata_of(item).count])
        else:
            needed.add(target.name)
    return sorted(needed)


def plan_command(config: pytest.Config, plan_file: str) -> list[str]:
    """The same test selection as a collection-only pytest, which writes the instances it needs."""
    option = config.option
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    command += ["-o", "addopts=", "--rootdir", str(config.rootpath)]
    if config.inipath is not None:
        command += ["-c", str(config.inipath)]
    args = list(config.invocation_params.args)
    for index, arg in enumerate(args[:-1]):  # plugins the user asked for (-p NAME)
        if arg == "-p" and not args[index + 1].startswith("no:"):
            command += ["-p", args[index + 1]]
    if option.keyword:
        command += ["-k", option.keyword]
    if option.markexpr:
        command += ["-m", option.markexpr]
    for path in option.ignore or []:
        command += ["--ignore", path]
    for nodeid in option.deselect or []:
        command += ["--deselect", nodeid]
    book_path = config.getoption("lisa_runbook") or config.getini("lisa_runbook")
    command += ["--lisa-runbook", os.path.abspath(str(book_path))]
    for name in ("lisa_suite", "lisa_criteria"):
        if config.getoption(name):
            command += [f"--{name.replace('_', '-')}", str(config.getoption(name))]
    return [*command, *config.args]


class OnDemand:
    """Deploys the run's targets before collection and deletes them after the session (a pytest plugin)."""

    def __init__(self, config: pytest.Config, book: runbook.Runbook, run_id: str, keep: bool) -> None:
        self.config = config
        self.keep = keep
        self.book = book
        self.run_id = run_id
        self.state_dir = state_dir_of(config)
        self.deployed: list[str] = []
        self.attempted: list[str] = []
        self.deleted = False
        self.interrupts = runner.Interrupts()

    def write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            sys.stderr.write(line + "\n")

    def plan(self) -> list[str]:
        with tempfile.NamedTemporaryFile(prefix="lisa-plan-", suffix=".json", delete=False) as handle:
            plan_file = handle.name
        try:
            env = dict(os.environ, **{PLAN_ENV: plan_file})
            result = subprocess.run(
                plan_command(self.config, plan_file),
                cwd=str(self.config.invocation_params.dir),
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode not in (0, 5):
                raise errors.LisaError(
                    "planning which targets the tests need failed (pytest --collect-only):\n"
                    + (result.stdout[-3000:] + result.stderr[-2000:]).strip()
                )
            with open(plan_file, encoding="utf-8") as handle:
                return list(json.load(handle)["instances"])
        finally:
            os.unlink(plan_file)

    def extravars(self, instances: list[str]) -> dict[str, Any]:
        return {
            "runbook": os.path.abspath(self.book.source),
            "instances": instances,
            "lisa_state_dir": self.state_dir,
            "lisa_run_id": self.run_id,
        }

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            needed = self.plan()
        except errors.LisaError as error:
            raise pytest.UsageError(str(error)) from None
        if not needed:
            self.write("LISA: no selected test needs a target of the runbook; nothing is deployed")
            use_predictions(self.config, self.book)
            return
        self.write(f"LISA: deploying {', '.join(needed)} from {self.book.source} (run {self.run_id})")
        self.attempted = needed
        with self.interrupts.installed():
            outcome = runner.run_playbook(
                "deploy",
                self.extravars(needed),
                write=self.write,
                label="deploy",
                state_dir=self.state_dir,
                project_dir=str(self.config.rootpath),
                cancel=self.interrupts.cancel_requested,
            )
            if not outcome.ok:
                self.delete()
                if outcome.canceled:
                    raise KeyboardInterrupt
                pytest.exit(
                    f"LISA: deploying the targets failed; they were deleted.\n{outcome.explain()}", returncode=3
                )
        records = pool.Pool(self.state_dir).records()
        ready = {r["name"] for r in records if r["state"] == "ready"}
        missing = [name for name in needed if name not in ready]
        if missing:
            self.delete()
            pytest.exit(
                f"LISA: the deploy left {', '.join(missing)} not ready; what was deployed is deleted.\n"
                f"{outcome.explain()}",
                returncode=3,
            )
        self.deployed = needed
        option = self.config.option
        option.connection = "ansible"
        option.ansible_inventory = write_inventory(self.state_dir)
        option.hosts = ",".join(needed)
        self.write(f"LISA: deployed in {outcome.seconds:.1f} s; testing on {option.hosts}")

    def delete(self) -> None:
        if self.deleted or not self.attempted:
            return
        self.deleted = True
        self.write(f"LISA: deleting {', '.join(self.attempted)}")
        outcome = runner.delete_targets(
            self.state_dir,
            write=self.write,
            project_dir=str(self.config.rootpath),
            instances=self.attempted,
            interrupts=self.interrupts,
        )
        if not outcome.ok:
            self.write(f"LISA: deleting failed; run 'lisa cleanup' to retry.\n{outcome.explain()}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist workers test what the controller deployed."""
        node.workerinput["lisa_testinfra"] = {
            "connection": self.config.option.connection,
            "ansible_inventory": self.config.option.ansible_inventory,
            "hosts": self.config.option.hosts,
        }

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.keep:
            if self.deployed:
                self.write(
                    f"LISA: kept {', '.join(self.deployed)}; the next run with this runbook reuses them, "
                    "'lisa cleanup' deletes them"
                )
            return
        self.delete()


class Planner:
    """In the planning pytest: after selection, write the instances the selected tests need."""

    def __init__(self, plan_file: str) -> None:
        self.plan_file = plan_file

    # Last: after LISA's selection and pytest's own -k and -m.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        with open(self.plan_file, "w", encoding="utf-8") as handle:
            json.dump({"instances": needed_instances(items)}, handle)
