"""The installed commands, run as a user runs them: lisa, pytest, ansible-playbook, ansible-galaxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def run(repo: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH="{}:{}".format(BIN, os.environ["PATH"]), ANSIBLE_NOCOLOR="1")
    return subprocess.run(argv, cwd=cwd or repo, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_lisa_check_bad_runbook_exits_2_without_traceback(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("targets:\n  - {name: debian, platform: libvirt, memroy_mb: 512}\n")
    result = run(repo, "lisa", "check", str(path))
    assert result.returncode == 2
    assert "targets[0].memroy_mb: unknown key; did you mean 'memory_mb'?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_lisa_check_local_runbook(repo: Path) -> None:
    result = run(repo, "lisa", "check", "runbooks/local.yml")
    assert result.returncode == 0, result.stderr
    assert "debian  libvirt" in result.stdout


def test_lisa_schema_is_json(repo: Path) -> None:
    result = run(repo, "lisa", "schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "LISA runbook"


def test_pytest_help_lists_the_lisa_options(repo: Path) -> None:
    result = run(repo, "pytest", "--help", cwd=repo / "tests")
    assert result.returncode == 0
    for option in (
        "--lisa-runbook",
        "--lisa-criteria",
        "--lisa-suite",
        "--lisa-explain",
        "--lisa-list",
        "--lisa-mode",
        "--lisa-keep-targets",
        "--lisa-delete-targets",
    ):
        assert option in result.stdout
    assert "--connection" in result.stdout and "--ansible-inventory" in result.stdout  # testinfra's, not ours


def test_pytest_markers_lists_the_lisa_mark(repo: Path) -> None:
    result = run(repo, "pytest", "--markers")
    assert "@pytest.mark.lisa(platform=, category=, area=, priority=" in result.stdout


def test_runbook_module_validates_through_ansible(repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("targets:\n  - {name: lab, platform: ssh, port: 70000}\n")
    playbook = tmp_path / "check.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - lisa.core.runbook: {src: '%s', suite: smoke}\n      register: plan\n"
        "    - ansible.builtin.debug: {var: plan}\n"
        % (repo / "runbooks/local.yml")
        + f"    - lisa.core.runbook: {{src: '{bad}'}}\n"
    )
    result = run(repo, "ansible-playbook", str(playbook))
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        '"criteria": [\n            {\n                "priority": 0' in result.stdout or "priority: 0" in result.stdout
    )
    assert "targets[0].port: expected an integer 1–65535, got 70000" in result.stdout


def test_galaxy_builds_the_collection(repo: Path, tmp_path: Path) -> None:
    result = run(
        repo,
        "ansible-galaxy",
        "collection",
        "build",
        "--output-path",
        str(tmp_path),
        "collections/ansible_collections/lisa/core",
    )
    assert result.returncode == 0, result.stderr
    tarball = tmp_path / "lisa-core-0.1.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {
        "MANIFEST.json",
        "plugins/module_utils/criteria.py",
        "plugins/modules/runbook.py",
        "meta/runtime.yml",
    } <= names
    assert not any(name.startswith("tests/output") for name in names)


def test_wheel_carries_plugin_command_and_collection(repo: Path, tmp_path: Path) -> None:
    result = run(
        repo,
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp_path),
        ".",
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("lisa-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("lisa-0.1.0.dist-info/entry_points.txt").decode()
    assert "ansible_collections/lisa/core/plugins/module_utils/runbook.py" in names
    assert "ansible_collections/lisa/core/galaxy.yml" in names
    assert "ansible_collections/lisa/core/meta/runtime.yml" in names
    assert "pytest_lisa/plugin.py" in names
    assert "lisa = pytest_lisa.plugin" in entry_points and "lisa = pytest_lisa.cli:main" in entry_points
