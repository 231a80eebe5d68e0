"""What a LISA test gets: testinfra's host for one target, plus LISA's helpers.

Everything testinfra's ``host`` offers is here too (``target.file(...)``, ``target.run(...)``); the
helpers add what a target test needs: ping with backoff, reboot detected by boot id (never a fixed
sleep), power-cycle through the platform (the Ansible layer), files, commands in the background, and
the serial console.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tenacity

from pytest_lisa import runner
from pytest_lisa.channel import ChannelSshBackend
from pytest_lisa.core import backoff, errors, pool, requirements
from pytest_lisa.selection import host_name, unwrap

log = logging.getLogger("lisa")

# The reboot is started in the background so that the SSH command returns before the machine goes down.
REBOOT_COMMAND = "nohup sh -c 'sleep 1; systemctl reboot || reboot' >/dev/null 2>&1 &"


class Target:
    """One target: ``host`` (testinfra) with LISA's helpers and what the pool knows of it."""

    def __init__(self, host: Any) -> None:
        self.host = host
        backend = host.backend
        self.name = host_name(backend)
        self.variables: dict[str, Any] = (
            unwrap(backend.get_variables()) if getattr(backend, "NAME", "") == "ansible" else {}
        )
        found = self.variables.get("lisa_capabilities")
        self.capabilities = requirements.Capabilities.from_dict(found) if found else None
        self.platform = self.variables.get("lisa_platform", "local")
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"lisa-{self.name}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.host, name)

    def __repr__(self) -> str:
        return f"<Target {self.name} ({self.platform})>"

    # -- reachability -------------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return str(self.variables.get("ansible_host", "127.0.0.1")), int(self.variables.get("ansible_port", 22))

    def ping(self, timeout: float = 60) -> float:
        """Connect to the target's SSH port, retrying with exponential backoff; returns the seconds it took."""
        host, port = self.address
        start = time.monotonic()
        try:
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_delay(timeout),
                wait=tenacity.wait_exponential(multiplier=0.1, max=2),
                retry=tenacity.retry_if_exception_type(OSError),
                reraise=True,
            ):
                with attempt, socket.create_connection((host, port), timeout=5):
                    pass
        except OSError as error:
            raise errors.LisaError(
                f"{self.name} ({host}:{port}) did not accept TCP within {timeout:g} s: {error}"
            ) from None
        return time.monotonic() - start

    # -- boots ----------------------------------------------------------------------------------------

    def boot_id(self) -> str:
        return str(self.host.check_output(backoff.BOOT_ID_COMMAND)).strip()

    def _read_boot_id(self) -> str:
        try:
            result = self.host.run(backoff.BOOT_ID_COMMAND)
        except RuntimeError as error:  # testinfra raises when ssh itself fails (exit 255): still down
            raise ConnectionError(str(error)) from None
        if result.rc != 0:
            raise ConnectionError(result.stderr.strip() or f"exit {result.rc}")
        return str(result.stdout)

    def _forget_connection(self) -> None:
        """End the SSH master connection: after a reboot it leads to a machine that no longer exists."""
        ssh = self._ssh_backend()
        if isinstance(ssh, ChannelSshBackend):
            ssh.close_channels()
        if ssh is None or not getattr(ssh, "controlpath", None):
            return
        host, port = self.address
        user = self.variables.get("ansible_user", "root")
        subprocess.run(
            [
                "ssh",
                "-O",
                "exit",
                "-o",
                f"ControlPath={ssh.controlpath.replace('%%', '%')}",
                "-p",
                str(port),
                f"{user}@{host}",
            ],
            capture_output=True,
            check=False,
            timeout=30,
        )

    def _ssh_backend(self) -> Any:
        backend = self.host.backend
        if getattr(backend, "NAME", "") == "ansible":
            real = backend.ansible_runner.get_host(backend.host)
            return real.backend if real is not None else None
        return backend if getattr(backend, "NAME", "") in ("ssh", "safe-ssh") else None

    def reboot(self, timeout: float = 600) -> str:
        """Reboot from inside and return once the machine answers with a new boot id (which is returned)."""
        old = self.boot_id()
        self.host.run(REBOOT_COMMAND)
        self._forget_connection()
        return backoff.wait_for_new_boot(self._read_boot_id, old, timeout, retry_on=(OSError,))

    def restart(self, timeout: float = 600) -> str:
        """Power-cycle through the platform (the Ansible layer) and wait for the new boot id."""
        old = self.boot_id()
        state_dir = self.variables.get("lisa_state_dir")
        command = [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "lisa.core.restart",
            "-e",
            f"target={self.name}",
        ]
        if state_dir:
            command += ["-e", f"lisa_state_dir={state_dir}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
        if result.returncode != 0:
            raise errors.LisaError(f"power-cycling {self.name} failed:\n{result.stdout[-2000:]}{result.stderr[-1000:]}")
        self._forget_connection()
        return backoff.wait_for_new_boot(self._read_boot_id, old, timeout, retry_on=(OSError,))

    # -- files and commands ---------------------------------------------------------------------------

    def cat(self, path: str) -> str:
        """A remote file's content as text."""
        return str(self.host.file(path).content_string)

    # A file transfer that fails because the connection dropped is tried again; one that fails for a
    # reason (no such file) fails at once.
    _TRANSFER_RETRY = tenacity.retry(
        retry=tenacity.retry_if_exception_type(ConnectionError),
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential(multiplier=0.5, max=4),
        reraise=True,
    )

    def _transfer(self, module: str, arguments: str, what: str) -> None:
        result = self.host.ansible(module, arguments, check=False)
        if result.get("unreachable"):
            raise ConnectionError(f"{what} failed: {self.name} is unreachable: {result.get('msg')}")
        if result.get("failed"):
            raise errors.LisaError(f"{what} failed: {result.get('msg')}")

    @_TRANSFER_RETRY
    def upload(self, local: str | Path, remote: str, mode: str = "0644") -> None:
        self._transfer(
            "ansible.builtin.copy",
            f"src={local} dest={remote} mode={mode}",
            f"uploading {local} to {self.name}:{remote}",
        )

    @_TRANSFER_RETRY
    def download(self, remote: str, local: str | Path) -> Path:
        self._transfer(
            "ansible.builtin.fetch", f"src={remote} dest={local} flat=true", f"downloading {self.name}:{remote}"
        )
        return Path(local)

    def run_async(self, command: str, *args: str) -> concurrent.futures.Future[Any]:
        """Run a command in the background; the future's result is testinfra's CommandResult."""
        return self._executor.submit(self.host.run, command, *args)

    def serial_log(self) -> str:
        """The serial console so far (platforms that have one: libvirt)."""
        path = self.variables.get("lisa_serial_log")
        if not path or not os.path.exists(path):
            raise errors.LisaError(f"{self.name} ({self.platform}) has no serial console log")
        return Path(path).read_text(errors="replace")

    def tail(self, lines: int = 40, timeout: float = 20) -> dict[str, str]:
        """The end of the serial console and of dmesg, for a failure report; what cannot be read says why."""
        found: dict[str, str] = {}
        if self.variables.get("lisa_serial_log"):
            try:
                found["serial console"] = "\n".join(self.serial_log().splitlines()[-lines:])
            except (errors.LisaError, OSError) as error:
                found["serial console"] = f"(not readable: {error})"
        future = self.run_async(f"dmesg 2>&1 | tail -n {int(lines)}")
        try:
            found["dmesg"] = str(future.result(timeout=timeout).stdout)
        except concurrent.futures.TimeoutError:
            found["dmesg"] = f"(no answer from {self.name} within {timeout:g} s)"
        except Exception as error:
            found["dmesg"] = f"(not available: {error})"
        return found

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def pool(self) -> pool.Pool | None:
        """The pool this target is recorded in, when LISA deployed it."""
        state_dir = self.variables.get("lisa_state_dir")
        return pool.Pool(str(state_dir)) if state_dir else None

    def replace(self, project_dir: str | None = None) -> None:
        """Delete this instance and deploy it again from its recorded spec (same name and SSH port)."""
        found = self.pool
        record = found.get(self.name) if found is not None else None
        if found is None or record is None:
            raise errors.LisaError(f"{self.name} is not in a LISA pool; only targets LISA deployed can be replaced")
        spec = dict(record["spec"])
        if record.get("forward_port"):
            spec["ssh_port"] = record["forward_port"]
        book = os.path.join(found.state_dir, f"replace-{self.name}.yml")
        with open(book, "w", encoding="utf-8") as handle:
            json.dump({"targets": [spec]}, handle)  # JSON is YAML
        self._forget_connection()
        try:
            for playbook, extra in (
                ("delete", {"instances": [self.name]}),
                ("deploy", {"instances": [self.name], "runbook": book, "lisa_run_id": record.get("run", "")}),
            ):
                outcome = runner.run_playbook(
                    playbook,
                    {**extra, "lisa_state_dir": found.state_dir},
                    write=log.info,
                    label=f"replace {self.name}",
                    state_dir=found.state_dir,
                    project_dir=project_dir,
                )
                if not outcome.ok:
                    raise errors.LisaError(f"replacing {self.name} failed:\n{outcome.explain()}")
        finally:
            os.unlink(book)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class Leases:
    """Target instances held by one test: no other test (in any process) runs on them meanwhile."""

    def __init__(self, owner: str, timeout: float = 3600) -> None:
        self.owner = owner
        self.timeout = timeout
        self.held: list[tuple[pool.Pool, str]] = []

    def acquire(self, found: Sequence[Target]) -> None:
        """Lease every target that a pool knows, all or none, in name order (no two tests deadlock)."""
        known = [(target.pool, target.name) for target in found]
        wanted = sorted(
            ((p, name) for p, name in known if p is not None and p.get(name) is not None), key=lambda w: w[1]
        )
        if not wanted:
            return

        def take_all() -> bool:
            for target_pool, name in wanted:
                if target_pool.lease(self.owner, names=[name]) is None:
                    self.release()
                    return False
                self.held.append((target_pool, name))
            return True

        names = ", ".join(name for _, name in wanted)
        try:
            tenacity.Retrying(
                stop=tenacity.stop_after_delay(self.timeout),
                wait=tenacity.wait_exponential(multiplier=0.05, max=2),
                retry=tenacity.retry_if_result(lambda got: got is False),
            )(take_all)
        except tenacity.RetryError:
            raise errors.LisaError(f"{names}: still leased by another test after {self.timeout:g} s") from None

    def release(self) -> None:
        while self.held:
            target_pool, name = self.held.pop()
            target_pool.release(name, self.owner)
