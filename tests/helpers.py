"""Running LISA's real commands from tests, as a user would."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class Lisa:
    """One isolated LISA project state (its own state directory) and the commands to drive it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        # SSH control sockets of this test, apart from the user's ~/.ansible/cp; short, because a Unix
        # socket path is limited to 108 bytes and pytest's tmp_path is long.
        self.control_dir = Path(tempfile.mkdtemp(prefix="lisa-cp-"))
        self.env = dict(
            os.environ,
            PATH=f"{BIN}:{os.environ['PATH']}",
            LISA_STATE_DIR=str(state_dir),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PYTHONUNBUFFERED="1",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.control_dir),
        )

    def runbook(self, data: dict[str, Any], name: str = "runbook.yml") -> Path:
        path = self.state_dir.parent / name
        path.write_text(yaml.safe_dump(data))
        return path

    def run(self, *argv: str, timeout: float = 900, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def playbook(
        self, name: str, runbook: Path | None = None, *extra: str, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        args = ["ansible-playbook", f"playbooks/{name}.yml"]
        if runbook is not None:
            args += ["-e", f"runbook={runbook}"]
        return self.run(*args, *extra, check=check)

    def pytest(self, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        """pytest on the pool's targets through testinfra's ansible connection and the LISA inventory."""
        return self.run(
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            "--connection=ansible",
            "--ansible-inventory=inventory/lisa.yml",
            "--hosts=lisa",
            *extra,
            str(path),
        )

    def start(self, *argv: str) -> subprocess.Popen[str]:
        """A LISA command in the background (to interrupt it), its output in one stream."""
        return subprocess.Popen(
            [str(BIN / argv[0]), *argv[1:]],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @staticmethod
    def interrupt(process: subprocess.Popen[str], timeout: float = 300) -> str:
        """Ctrl-C to a command started with start(); its whole output once it ended."""
        try:
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return out

    def pytest_ondemand(
        self, path: Path, runbook: Path, *extra: str, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """pytest deploying the runbook's targets itself (--lisa-runbook), testing, deleting."""
        return self.run(
            "pytest", "-p", "no:cacheprovider", "-v", f"--lisa-runbook={runbook}", *extra, str(path), timeout=timeout
        )

    def inventory(self) -> dict[str, Any]:
        result = self.run("ansible-inventory", "-i", "inventory/lisa.yml", "--list", check=True)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def pool(self) -> dict[str, Any]:
        path = self.state_dir / "pool.json"
        return json.loads(path.read_text())["targets"] if path.exists() else {}  # type: ignore[no-any-return]

    def close(self) -> None:
        """End the SSH master connections this test opened and remove their sockets."""
        for socket in self.control_dir.iterdir():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "lisa-target"], capture_output=True, check=False
            )
        shutil.rmtree(self.control_dir, ignore_errors=True)


def libvirt_domains() -> list[str]:
    """Names of the LISA domains libvirt knows, running or not."""
    out = subprocess.run(
        ["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.split() if line.startswith("lisa-")]


ARTIFACTS = REPO / "test-artifacts"


def render_report(report: Path, screenshot_name: str) -> list[dict[str, str]]:
    """Open an HTML report in headless Chromium: a screenshot goes to test-artifacts/, the rendered rows come back.

    pytest-html builds its results table with JavaScript, so the rows exist only once a browser ran it.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (./bootstrap.sh install installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]
    url = report.resolve().as_uri()
    shot = ARTIFACTS / screenshot_name
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, check=True, timeout=120)
    assert shot.stat().st_size > 10_000, f"{shot} looks empty"
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for body in re.findall(r'<tbody class="results-table-row [^"]*"[^>]*>(.*?)</tbody>', dom, re.S):
        cells = dict(re.findall(r'<td class="col-([A-Za-z]+)[^"]*">(.*?)</td>', body, re.S))
        rows.append({key: html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for key, value in cells.items()})
    return rows


def leftover_processes(state_dir: Path) -> list[str]:
    """Ansible or pytest processes still running for a LISA state directory (through their environment)."""
    marker = f"LISA_STATE_DIR={state_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in environment and any(word in command for word in ("ansible", "AnsiballZ", "pytest")):
            found.append(f"{entry.name}: {command[:200]}")
    return found
