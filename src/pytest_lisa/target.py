"""What a LISA test gets: testinfra's host for one target, plus LISA's helpers.

Everything testinfra's ``host`` offers is here too (``target.file(...)``, ``target.run(...)``); the
helpers add what a target test needs: ping with backoff, reboot detected by boot id (never a fixed
sleep), power-cycle through the platform (the Ansible layer), files, commands in the background, and
the serial console.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pytest_lisa.core import backoff, errors, requirements
from pytest_lisa.selection import unwrap

# The reboot is started in the background so that the SSH command returns before the machine goes down.
REBOOT_COMMAND = "nohup sh -c 'sleep 1; systemctl reboot || reboot' >/dev/null 2>&1 &"


class Target:
    """One target: ``host`` (testinfra) with LISA's helpers and what the pool knows of it."""

    def __init__(self, host: Any) -> None:
        self.host = host
        backend = host.backend
        self.name = str(getattr(backend, "host", None) or backend.get_pytest_id())
        self.variables: dict[str, Any] = (
            unwrap(backend.get_variables()) if getattr(backend, "NAME", "") == "ansible" else {}
        )
        found = self.variables.get("lisa_capabilities")
        self.capabilities = requirements.Capabilities.from_dict(found) if found else None
        self.platform = self.variables.get("lisa_platform", "local")
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"lisa-{self.name}")

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

        def connect() -> bool:
            with socket.create_connection((host, port), timeout=5):
                return True

        backoff.wait_until(connect, timeout, f"{self.name} ({host}:{port}) accepting TCP", backoff.Backoff(0.1, 2, 2))
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

    def upload(self, local: str | Path, remote: str, mode: str = "0644") -> None:
        result = self.host.ansible("ansible.builtin.copy", f"src={local} dest={remote} mode={mode}", check=False)
        if result.get("failed"):
            raise errors.LisaError(f"uploading {local} to {self.name}:{remote} failed: {result.get('msg')}")

    def download(self, remote: str, local: str | Path) -> Path:
        result = self.host.ansible("ansible.builtin.fetch", f"src={remote} dest={local} flat=true", check=False)
        if result.get("failed"):
            raise errors.LisaError(f"downloading {self.name}:{remote} failed: {result.get('msg')}")
        return Path(local)

    def run_async(self, command: str, *args: str) -> concurrent.futures.Future[Any]:
        """Run a command in the background; the future's result is testinfra's CommandResult."""
        return self._pool.submit(self.host.run, command, *args)

    def serial_log(self) -> str:
        """The serial console so far (platforms that have one: libvirt)."""
        path = self.variables.get("lisa_serial_log")
        if not path or not os.path.exists(path):
            raise errors.LisaError(f"{self.name} ({self.platform}) has no serial console log")
        return Path(path).read_text(errors="replace")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
