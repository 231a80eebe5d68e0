"""Run the collection's playbooks through ansible-runner, with live progress and a clean Ctrl-C.

Both the pytest plugin (on-demand targets) and ``lisa run`` drive the Ansible layer from here. A first
Ctrl-C cancels the playbook in flight (ansible-runner ends ansible-playbook); what was deployed is then
deleted by a *separate* run, which a single Ctrl-C does not cancel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_lisa.core import errors

Write = Callable[[str], None]

# Ansible's own inventory plugins plus LISA's: what ansible-inventory may use when no ansible.cfg says.
INVENTORY_PLUGINS = "lisa.core.pool,ansible.builtin.yaml,ansible.builtin.ini,ansible.builtin.host_list"


def collection_playbook(name: str) -> str:
    """Absolute path of one of the collection's playbooks (deploy, delete, cleanup, run, ...)."""
    # The collection's root, found from its module_utils (a namespace package has no single location).
    path = Path(errors.__file__).resolve().parents[2] / "playbooks" / f"{name}.yml"
    if not path.is_file():
        raise errors.LisaError(f"the collection lisa.core has no playbook {name!r}")
    return str(path)


def path_with_own_ansible() -> str:
    """PATH with the bin folder of the environment LISA runs in first: its ansible-playbook, ansible-inventory."""
    own = os.path.dirname(sys.executable)
    rest = [part for part in os.environ.get("PATH", os.defpath).split(os.pathsep) if part and part != own]
    return os.pathsep.join([own, *rest])


def ansible_environment(project_dir: str | os.PathLike[str] | None) -> dict[str, str]:
    """Environment for Ansible commands: the project's ansible.cfg when there is one, LISA's inventory plugin."""
    env: dict[str, str] = {}
    if project_dir is not None and os.path.isfile(os.path.join(project_dir, "ansible.cfg")):
        env["ANSIBLE_CONFIG"] = os.path.join(os.path.abspath(project_dir), "ansible.cfg")
    elif "ANSIBLE_INVENTORY_ENABLED" not in os.environ:
        env["ANSIBLE_INVENTORY_ENABLED"] = INVENTORY_PLUGINS
    return env


@dataclass
class Failure:
    host: str
    task: str
    message: str

    def __str__(self) -> str:
        return f"{self.host}: {self.task}: {self.message}"


@dataclass
class Outcome:
    """What one playbook run came to."""

    playbook: str
    status: str  # successful, failed, canceled, timeout
    rc: int
    seconds: float
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful"

    @property
    def canceled(self) -> bool:
        return self.status == "canceled"

    def explain(self) -> str:
        if self.ok:
            return f"{self.playbook}: done in {self.seconds:.1f} s"
        lines = [f"{self.playbook}: {self.status} (exit {self.rc}) after {self.seconds:.1f} s"]
        lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)


def _message(result: Mapping[str, Any]) -> str:
    text = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    if not text and result.get("results"):  # a loop: the first failed item says why
        for item in result["results"]:
            if isinstance(item, Mapping) and item.get("failed"):
                return _message(item)
    return " ".join(str(text).split())[:2000]


class Progress:
    """Turns ansible-runner events into one line per finished task and host, as they happen."""

    # Bookkeeping tasks that say nothing to a user watching a run.
    QUIET_ACTIONS = frozenset({"ansible.builtin.set_fact", "set_fact", "ansible.builtin.add_host", "add_host"})

    def __init__(self, label: str, write: Write, verbose: bool = False) -> None:
        self.label = label
        self.write = write
        self.verbose = verbose
        self.start = time.monotonic()
        self.failures: list[Failure] = []

    def _line(self, text: str) -> None:
        self.write(f"[{self.label} {time.monotonic() - self.start:6.1f}s] {text}")

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        task = str(data.get("task", "")).strip()
        host = str(data.get("host", ""))
        if kind == "playbook_on_play_start":
            self._line(f"== {data.get('play', '')}")
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            result = data.get("res") or {}
            failed = kind != "runner_on_ok" and not data.get("ignore_errors")
            if failed:
                failure = Failure(host, task, _message(result) if isinstance(result, Mapping) else str(result))
                self.failures.append(failure)
                self._line(f"{host}: {task}: FAILED: {failure.message}")
            elif self.verbose or data.get("task_action") not in self.QUIET_ACTIONS:
                duration = data.get("duration")
                took = f" ({duration:.1f}s)" if isinstance(duration, int | float) and duration >= 0.5 else ""
                word = "changed" if isinstance(result, Mapping) and result.get("changed") else "ok"
                self._line(f"{host}: {task}: {word}{took}")
        elif kind == "runner_on_skipped" and self.verbose:
            self._line(f"{host}: {task}: skipped")
        return True


class Interrupts:
    """Ctrl-C handling while playbooks run: the first press cancels; deletion needs a second press."""

    def __init__(self) -> None:
        self.pressed = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous_int = signal.signal(signal.SIGINT, self._handle)
        previous_term = signal.signal(signal.SIGTERM, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)

    def _handle(self, number: int, frame: Any) -> None:
        self.pressed += 1
        if self.pressed == 1:
            sys.stderr.write(
                "\nlisa: interrupted; cancelling, then deleting what was deployed (Ctrl-C again skips the deletion)\n"
            )

    def cancel_requested(self) -> bool:
        return self.pressed > 0

    @contextlib.contextmanager
    def shield(self) -> Iterator[Callable[[], bool]]:
        """For the deletion: cancelled only by a press made after it started, and then only a second one."""
        start = self.pressed

        def cancelled() -> bool:
            return self.pressed - start >= 1 and self.pressed >= 2

        yield cancelled


def _parents() -> dict[int, int]:
    """Every process's parent, from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        found[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants (Ansible's workers are in sessions of their own, still children)."""
    parents = _parents()
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _playbook_process(marker: str) -> int | None:
    """Our child that runs the playbook: its command line names the run's private folder."""
    for pid, parent in _parents().items():
        if parent != os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    return pid
        except OSError:
            continue
    return None


def stop_playbook(marker: str) -> None:
    """End a playbook run at once: ansible-playbook, its workers and the modules they run.

    Everything is first stopped (so nothing forks or writes meanwhile), then killed, then awaited: when
    this returns no process of the run can still create anything, and deleting what it made is safe.
    """
    root = _playbook_process(marker)
    if root is None:
        return
    for _ in range(3):  # a fork in flight shows up in the next round
        for pid in _tree(root):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
    doomed = _tree(root)
    for pid in doomed:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in doomed):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Not gone and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_playbook(
    name: str,
    extravars: Mapping[str, Any],
    *,
    write: Write,
    label: str,
    state_dir: str,
    project_dir: str | None = None,
    cancel: Callable[[], bool] | None = None,
    verbose: bool = False,
    limit: str | None = None,
) -> Outcome:
    """Run a collection playbook with ansible-runner; progress goes to ``write`` as it happens."""
    import ansible_runner  # noqa: PLC0415 - imported only by the runs that deploy

    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    private = tempfile.mkdtemp(prefix=f"runner-{name}-", dir=state_dir)
    progress = Progress(label, write, verbose)
    # ansible-runner looks ansible-playbook up in PATH.
    env = {"LISA_STATE_DIR": state_dir, "PATH": path_with_own_ansible(), **ansible_environment(project_dir)}
    started = time.monotonic()
    cancelled = False
    try:
        thread, result = ansible_runner.run_async(
            private_data_dir=private,
            playbook=collection_playbook(name),
            extravars=dict(extravars),
            envvars=env,
            project_dir=project_dir or os.getcwd(),
            event_handler=progress,
            # Never ansible-runner's own cancel: it kills ansible-playbook's process group only, and
            # Ansible's workers run in sessions of their own, so their modules would go on.
            cancel_callback=lambda: False,
            quiet=True,
            limit=limit,
            settings={"suppress_ansible_output": True},
        )
        while thread.is_alive():
            thread.join(0.2)
            if cancel is not None and not cancelled and cancel():
                cancelled = True
                stop_playbook(private)
        thread.join()
        status, rc = str(result.status), int(result.rc if result.rc is not None else 1)
        if cancelled:
            status = "canceled"
        if status == "failed" and not progress.failures:
            stdout = Path(private, "artifacts", result.config.ident, "stdout")
            tail = stdout.read_text(errors="replace")[-3000:] if stdout.exists() else ""
            progress.failures.append(Failure("ansible-playbook", name, tail.strip() or f"exit {rc}"))
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return Outcome(name, status, rc, time.monotonic() - started, progress.failures)


def delete_targets(
    state_dir: str,
    *,
    write: Write,
    project_dir: str | None = None,
    instances: list[str] | None = None,
    interrupts: Interrupts | None = None,
) -> Outcome:
    """Delete the named instances, or with none named every target of the pool, in a run of its own.

    A single Ctrl-C does not cancel it (one that cancelled a deploy leads here); a second one does.
    """
    interrupts = interrupts or Interrupts()
    name, extra = ("cleanup", {}) if instances is None else ("delete", {"instances": instances})
    with interrupts.installed(), interrupts.shield() as cancelled:
        return run_playbook(
            name,
            {**extra, "lisa_state_dir": state_dir},
            write=write,
            label=name,
            state_dir=state_dir,
            project_dir=project_dir,
            cancel=cancelled,
        )
