"""The ``lisa`` command."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from pytest_lisa import __version__
from pytest_lisa.core import errors, runbook

EXIT_OK = 0
EXIT_USAGE = 2


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


def ansible_command(name: str) -> str:
    """An Ansible command from the environment LISA is installed in, else from PATH."""
    sibling = os.path.join(os.path.dirname(sys.executable), name)
    found = sibling if os.access(sibling, os.X_OK) else shutil.which(name)
    if not found:
        raise errors.LisaError(f"{name} is not installed; install LISA with pip, which brings ansible-core")
    return found


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Delete every target of the pool through the collection's cleanup playbook."""
    command = [ansible_command("ansible-playbook"), "lisa.core.cleanup"]
    if args.state_dir:
        command += ["-e", f"lisa_state_dir={os.path.abspath(args.state_dir)}"]
    return subprocess.run(command, check=False).returncode and 1


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
