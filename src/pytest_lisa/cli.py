"""The ``lisa`` command."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from pytest_lisa import __version__, runner
from pytest_lisa.core import errors, pool, runbook
from pytest_lisa.results import ResultsStore, new_run_id, results_path

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_DEPLOY_FAILED = 3
EXIT_INTERRUPTED = 130


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _format_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_format_value(item) for item in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={_format_value(v)}" for k, v in value.items())
    return str(value)


def cmd_schema(args: argparse.Namespace) -> int:
    json.dump(runbook.runbook_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    book = runbook.load_file(args.runbook)
    headers = ["target", "platform", "count", "cost", "features", "parameters"]
    rows = []
    for spec in book.targets:
        params = " ".join(f"{k}={_format_value(v)}" for k, v in sorted(spec.params.items()))
        rows.append(
            [
                spec.name,
                spec.platform,
                str(spec.count),
                f"{spec.cost:g}",
                _format_value(spec.features),
                params,
            ]
        )
    instances = sum(spec.count for spec in book.targets)
    print(f"{args.runbook}: valid runbook, {len(book.targets)} target group(s), {instances} instance(s)")
    if rows:
        print(_table(headers, rows))
    print("criteria: %s" % (", ".join(e.describe() for e in book.criteria.entries) or "none (every test)"))
    print("suites: {}".format(", ".join(sorted(book.suites))))
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Delete every target of the pool through the collection's cleanup playbook."""
    project = project_dir()
    states = os.path.abspath(args.state_dir) if args.state_dir else state_dir(project)
    outcome = runner.delete_targets(states, write=_print, project_dir=project)
    print(outcome.explain(), file=sys.stdout if outcome.ok else sys.stderr)
    return EXIT_OK if outcome.ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    """The test inventory: pytest collects the tests and the lisa plugin counts them."""
    import pytest  # noqa: PLC0415 - only this command needs pytest loaded

    paths = args.paths or (["pytests"] if os.path.isdir("pytests") else [])
    options = ["--lisa-list", "-q", "-p", "no:cacheprovider"]
    for name in ("runbook", "suite", "criteria"):
        if getattr(args, name):
            options += [f"--lisa-{name}", getattr(args, name)]
    code = pytest.main([*options, *paths])
    return EXIT_OK if code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) else EXIT_USAGE


def project_dir() -> str:
    """The LISA project: the nearest folder up from here with an ansible.cfg, else the current folder."""
    here = os.path.abspath(os.getcwd())
    folder = here
    while True:
        if os.path.isfile(os.path.join(folder, "ansible.cfg")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return here
        folder = parent


def state_dir(project: str) -> str:
    return os.path.abspath(pool.default_state_dir(project))


class FollowProgress:
    """Prints each test's outcome as pytest (run by the playbook) appends it to the progress file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self) -> FollowProgress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _follow(self) -> None:
        offset = 0
        while True:
            finished = self.done.is_set()
            if os.path.exists(self.path):
                with open(self.path, encoding="utf-8") as handle:
                    handle.seek(offset)
                    for line in handle:
                        if not line.endswith("\n"):
                            break
                        offset += len(line.encode())
                        self._show(json.loads(line))
            if finished:
                return
            self.done.wait(0.5)

    def _show(self, line: dict[str, Any]) -> None:
        self.lines.append(line)
        rerun = f", {line['reruns']} rerun(s)" if line.get("reruns") else ""
        print(
            f"[tests] {line['outcome'].upper():7} {line['test']} on {line['target'] or '-'} "
            f"({line['duration']:.1f}s{rerun})",
            flush=True,
        )


def _print(line: str) -> None:
    print(line, flush=True)


def _seconds(value: float) -> str:
    value = int(value)
    if value < 60:
        return f"{value}s"
    if value < 3600:
        return f"{value // 60}m{value % 60:02d}s"
    return f"{value // 3600}h{value % 3600 // 60:02d}m"


def cmd_run(args: argparse.Namespace) -> int:
    """The whole pass (playbooks/run.yml) through ansible-runner: deploy, test, collect, delete, report."""
    book = runbook.load_file(args.runbook)
    if args.suite:
        book.suite(args.suite)
    project = project_dir()
    states = state_dir(project)
    run_id = new_run_id()
    results = os.path.abspath(args.results or os.path.join(project, "results", run_id))
    os.makedirs(results, exist_ok=True)
    extravars: dict[str, Any] = {
        "runbook": os.path.abspath(args.runbook),
        "suite": args.suite,
        "keep_targets": args.keep_targets,
        "results_dir": results,
        "lisa_run_id": run_id,
        "lisa_state_dir": states,
        "lisa_project_dir": project,
    }
    if args.tests:
        extravars["tests_dir"] = os.path.abspath(args.tests)
    print(f"lisa: run {run_id}: suite {args.suite} on the targets of {args.runbook}; reports in {results}", flush=True)
    interrupts = runner.Interrupts()
    with FollowProgress(os.path.join(results, "progress.jsonl")) as follow, interrupts.installed():
        outcome = runner.run_playbook(
            "run",
            extravars,
            write=_print,
            label="run",
            state_dir=states,
            project_dir=project,
            cancel=interrupts.cancel_requested,
            verbose=args.verbose,
        )
    if outcome.canceled:
        left = [r["name"] for r in pool.Pool(states).records() if r.get("run") == run_id]
        if left and not args.keep_targets:
            print(f"lisa: deleting {', '.join(left)}", flush=True)
            gone = runner.delete_targets(
                states, write=_print, project_dir=project, instances=left, interrupts=interrupts
            )
            if not gone.ok:
                print(f"lisa: deleting failed; run 'lisa cleanup'\n{gone.explain()}", file=sys.stderr)
        print("lisa: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    rows = [[line["test"], line["target"] or "-", line["outcome"], f"{line['duration']:.1f}s"] for line in follow.lines]
    if rows:
        print()
        print(_table(["test", "target", "outcome", "duration"], rows))
    counts = {
        word: sum(1 for line in follow.lines if line["outcome"] == word)
        for word in ("passed", "failed", "error", "skipped")
    }
    print(
        f"\n{counts['passed']} passed, {counts['failed'] + counts['error']} failed, {counts['skipped']} skipped "
        f"in {_seconds(outcome.seconds)}; HTML report: {os.path.join(results, 'report.html')}; "
        f"JUnit XML: {os.path.join(results, 'junit.xml')}; logs: {results}"
    )
    tasks = " ".join(failure.task for failure in outcome.failures)
    # The deploy role reports each target it could not deploy; when none could, Ansible ends the run there.
    if "Fail when targets could not be deployed" in tasks or "Report why the target could not be deployed" in tasks:
        print("lisa: deploying failed:\n" + outcome.explain(), file=sys.stderr)
        return EXIT_DEPLOY_FAILED
    if counts["failed"] or counts["error"] or "Fail when tests failed" in tasks:
        return EXIT_TESTS_FAILED
    if not outcome.ok:
        print("lisa: the run did not complete:\n" + outcome.explain(), file=sys.stderr)
        return EXIT_DEPLOY_FAILED
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """What the pool holds now, with ages, and the latest runs of the results store."""
    states = os.path.abspath(args.state_dir) if args.state_dir else state_dir(project_dir())
    found = pool.Pool(states)
    records = found.records() if os.path.exists(found.path) else []
    now = datetime.datetime.now(datetime.UTC)
    print(f"pool {found.path}: {len(records)} target(s)")
    rows = []
    for record in records:
        created = datetime.datetime.fromisoformat(record["created"])
        lease = record.get("lease") or {}
        held = lease.get("owner", "") if lease and pool.process_alive(int(lease.get("pid", 0))) else ""
        connection = record.get("connection") or {}
        address = f"{connection.get('host', '')}:{connection.get('port', '')}" if connection.get("host") else "-"
        rows.append(
            [
                record["name"],
                record["group"],
                record["platform"],
                record["state"],
                _seconds((now - created).total_seconds()),
                record.get("run") or "-",
                address,
                held or "-",
            ]
        )
    if rows:
        print(_table(["target", "group", "platform", "state", "age", "run", "address", "leased by"], rows))
    store_path = results_path(states)
    if os.path.exists(store_path):
        runs = ResultsStore(store_path).runs(args.runs)
        print(f"\nlatest runs ({store_path}):")
        print(
            _table(
                ["run", "started", "mode", "passed", "failed", "skipped", "exit"],
                [
                    [
                        r["run_id"],
                        r["started"][:19].replace("T", " "),
                        r["mode"] or "-",
                        str(r["passed"]),
                        str(r["failed"]),
                        str(r["skipped"]),
                        "-" if r["exit_status"] is None else str(r["exit_status"]),
                    ]
                    for r in runs
                ],
            )
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lisa",
        description="Deploy Linux test targets, run LISA tests on them, report, and delete them.",
    )
    parser.add_argument("--version", action="version", version=f"lisa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    schema = sub.add_parser("schema", help="print the runbook's JSON Schema (for editors)")
    schema.set_defaults(func=cmd_schema)
    check = sub.add_parser("check", help="validate a runbook and print its resolved targets")
    check.add_argument("runbook", metavar="RUNBOOK", help="runbook YAML file")
    check.set_defaults(func=cmd_check)
    listing = sub.add_parser("list", help="print the test inventory: counts by area, category, priority, platform")
    listing.add_argument("paths", nargs="*", help="test files or folders (default: pytests/)")
    listing.add_argument("-r", "--runbook", help="apply this runbook's criteria")
    listing.add_argument("-s", "--suite", help="list only this suite's tests")
    listing.add_argument("-c", "--criteria", help="criteria as inline YAML")
    listing.set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="deploy a runbook's targets, run a suite on them, report, delete them")
    run.add_argument("-r", "--runbook", required=True, help="runbook YAML file")
    run.add_argument("-s", "--suite", default="smoke", help="suite to run (default: smoke)")
    run.add_argument("--keep-targets", action="store_true", help="keep the targets afterwards ('lisa cleanup')")
    run.add_argument("--results", metavar="DIR", help="folder for the reports and logs (default: results/RUN_ID)")
    run.add_argument("--tests", metavar="DIR", help="folder of the tests (default: pytests/ of the project)")
    run.add_argument("-v", "--verbose", action="store_true", help="show every task, skipped ones too")
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="what the pool holds, with ages, and the latest runs")
    status.add_argument("--state-dir", help="LISA state directory (default: $LISA_STATE_DIR, else .lisa)")
    status.add_argument("--runs", type=int, default=5, help="how many recent runs to show (default: 5)")
    status.set_defaults(func=cmd_status)
    cleanup = sub.add_parser("cleanup", help="delete every target of the pool, whatever its state (safe twice)")
    cleanup.add_argument("--state-dir", help="LISA state directory (default: $LISA_STATE_DIR, else .lisa)")
    cleanup.set_defaults(func=cmd_cleanup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except errors.LisaError as error:
        print(f"lisa: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
