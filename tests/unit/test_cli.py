"""The ``lisa`` command's schema and check subcommands, in process."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_lisa import cli

pytestmark = pytest.mark.unit


def test_schema_prints_a_valid_2020_12_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {"platforms", "targets", "criteria", "suites", "timeout"}


def test_check_prints_the_resolved_targets(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(repo / "runbooks/examples/libvirt.yml")]) == 0
    out = capsys.readouterr().out
    assert "valid runbook, 2 target group(s), 3 instance(s)" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("debian")}
    assert "memory_mb=2048" in rows["debian-big"] and "disks=size_gb=4" in rows["debian-big"]
    assert "memory_mb=1024" in rows["debian"]  # the runbook's platform default
    assert "nightly" in out


def test_check_reports_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("targets:\n  - {name: a, platform: libvirt}\n  - {name: b, platform: libvirt, memory_mb: lots}\n")
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"lisa: error: {path}: targets[1].memory_mb: expected an integer 128–1048576, got 'lots'\n"
