"""A fleet of SSH "machines" for LISA's own tests and benchmarks.

Each machine is an sshd in its own network namespace, reached from this machine over a veth pair with
its own address. Addresses come from 198.18.0.0/15 (RFC 2544's benchmarking range) and live only on the
veth pairs the fleet creates, so no traffic leaves the machine. sshd runs with a clean HOME (a bind
mount over /root in the namespace's private mount namespace), so the host's shell start-up files do not
run on every remote command. ``Fleet.stop()`` removes every process, namespace and file it made, and is
safe to call twice; use the fleet as a context manager so it runs on failure too.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SSHD = "/usr/sbin/sshd"
SSHD_CONFIG = """\
Port 22
ListenAddress {address}
HostKey {dir}/ssh_host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 200
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel ERROR
"""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Machine:
    name: str
    netns: str
    address: str
    host_address: str
    directory: Path
    host_key: str = ""
    process: subprocess.Popen[bytes] | None = None
    port: int = 22

    def target(self, key_file: Path, **extra: Any) -> dict[str, Any]:
        """This machine as an ssh target of a runbook."""
        return {
            "name": self.name,
            "platform": "ssh",
            "host": self.address,
            "port": self.port,
            "user": "root",
            "private_key_file": str(key_file),
            **extra,
        }


@dataclass
class Fleet:
    size: int
    prefix: str = "m"
    token: str = field(default_factory=lambda: secrets.token_hex(2))
    machines: list[Machine] = field(default_factory=list)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lisa-fleet-")))

    @property
    def client_key(self) -> Path:
        return self.directory / "id_ed25519"

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _subnet(self) -> tuple[int, int]:
        taken = ip("-4", "-o", "addr", "show").stdout
        for _ in range(100):
            second, third = random.choice((18, 19)), random.randrange(256)
            if f"198.{second}.{third}." not in taken:
                return second, third
        raise RuntimeError("no free /24 in 198.18.0.0/15 for the fleet")

    def start(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the SSH fleet needs root (network namespaces, bind mounts)")
        if not os.path.exists(SSHD):
            raise RuntimeError(f"{SSHD} is missing: install openssh-server (./bootstrap.sh installs it)")
        if self.size > 63:
            raise ValueError("a fleet has at most 63 machines (one /30 each in a /24)")
        os.makedirs("/run/sshd", exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)], check=True)
        public = (self.directory / "id_ed25519.pub").read_text()
        second, third = self._subnet()
        for index in range(self.size):
            name = f"{self.prefix}{index + 1}"
            directory = self.directory / name
            (directory / "home").mkdir(parents=True)
            machine = Machine(
                name=name,
                netns=f"lisa-{self.token}-{name}",
                address=f"198.{second}.{third}.{4 * index + 2}",
                host_address=f"198.{second}.{third}.{4 * index + 1}",
                directory=directory,
            )
            self.machines.append(machine)
            self._start_machine(machine, public)
        for machine in self.machines:
            self._wait_for_port(machine)

    def _start_machine(self, machine: Machine, public_key: str) -> None:
        host_if, guest_if = f"lf{self.token}{machine.name}h", f"lf{self.token}{machine.name}g"
        ip("netns", "add", machine.netns)
        ip("link", "add", host_if, "type", "veth", "peer", "name", guest_if)
        ip("link", "set", guest_if, "netns", machine.netns)
        ip("addr", "add", f"{machine.host_address}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", machine.netns, "addr", "add", f"{machine.address}/30", "dev", guest_if)
        ip("-n", machine.netns, "link", "set", guest_if, "up")
        ip("-n", machine.netns, "link", "set", "lo", "up")
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                machine.name,
                "-f",
                str(machine.directory / "ssh_host_ed25519_key"),
            ],
            check=True,
        )
        machine.host_key = " ".join((machine.directory / "ssh_host_ed25519_key.pub").read_text().split()[:2])
        (machine.directory / "authorized_keys").write_text(public_key)
        config = machine.directory / "sshd_config"
        config.write_text(SSHD_CONFIG.format(address=machine.address, dir=machine.directory))
        # ip netns exec gives the command a private mount namespace: the bind mount stays in there.
        script = (
            f"hostname {machine.name} && mount --bind {machine.directory / 'home'} /root && "
            f"exec {SSHD} -D -e -f {config}"
        )
        machine.process = subprocess.Popen(
            ["ip", "netns", "exec", machine.netns, "unshare", "--uts", "sh", "-c", script],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(machine.directory / "sshd.log", "wb"),  # noqa: SIM115 - closed with the process
        )

    def _wait_for_port(self, machine: Machine, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            assert machine.process is not None
            if machine.process.poll() is not None:
                log = (machine.directory / "sshd.log").read_text()
                raise RuntimeError(f"sshd of {machine.name} exited with {machine.process.returncode}: {log}")
            with socket.socket() as probe:
                probe.settimeout(1)
                if probe.connect_ex((machine.address, 22)) == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {machine.name} did not listen on {machine.address}:22 in {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def stop(self) -> None:
        for machine in self.machines:
            if machine.process is not None and machine.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(machine.process.pid, signal.SIGTERM)
                try:
                    machine.process.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(machine.process.pid, signal.SIGKILL)
                    machine.process.wait(5)
            # Anything else still in the namespace (sessions left by a test) goes too.
            pids = ip("netns", "pids", machine.netns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "del", machine.netns, check=False)
            ip("link", "del", f"lf{self.token}{machine.name}h", check=False)
        self.machines = []
        shutil.rmtree(self.directory, ignore_errors=True)
