"""A persistent command channel to a target: one SSH session, many commands.

testinfra's SSH backend starts one ``ssh`` process per command; even over a warm control master that
costs a fork, an exec and a session set-up on both ends (about 6 ms here). For LISA's targets the
backend's ``run_ssh`` instead sends each command to a small agent that one ``ssh`` session started on
the target (``python3``), which runs it with the user's shell and answers with the exit status, stdout
and stderr. Everything else (sudo, quoting, the ssh options from the inventory) stays testinfra's.

A target without ``python3`` keeps the process-per-command path. A channel that breaks (the target
rebooted) fails the command in flight as ssh would (RuntimeError); the next command opens a new one.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import shlex
import subprocess
import tempfile
import threading
import weakref
from typing import Any

from testinfra.backend import base
from testinfra.backend.ssh import SshBackend

AGENT = r"""
import base64, json, os, subprocess, sys
shell = os.environ.get("SHELL") or "/bin/sh"
out = sys.stdout.buffer
out.write(b"LISA-CHANNEL-READY\n"); out.flush()
for line in sys.stdin.buffer:
    done = subprocess.run([shell, "-c", json.loads(line)], stdin=subprocess.DEVNULL, capture_output=True)
    answer = [done.returncode, base64.b64encode(done.stdout).decode(), base64.b64encode(done.stderr).decode()]
    out.write(json.dumps(answer).encode() + b"\n"); out.flush()
"""
READY = b"LISA-CHANNEL-READY\n"
# No quotes inside: the agent travels as one shell word.
REMOTE = f"exec python3 -c 'import base64; exec(base64.b64decode(\"{base64.b64encode(AGENT.encode()).decode()}\"))'"

_OPEN: weakref.WeakSet[Channel] = weakref.WeakSet()


class ChannelLost(Exception):
    """The SSH session ended (target down or rebooting)."""


class AgentUnavailable(Exception):
    """The target cannot run the agent (no python3): use one ssh process per command."""


class Channel:
    """One ``ssh ... python3 agent`` process; one command at a time."""

    def __init__(self, shell_command: str) -> None:
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the channel
        self.process = subprocess.Popen(
            shell_command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors
        )
        _OPEN.add(self)
        if self.process.stdout is None or self.process.stdout.readline() != READY:
            code = self.process.wait()
            message = self._stderr()
            self.close()
            if code == 255:  # ssh's own failure: the target is not reachable now
                raise ChannelLost(message or "ssh exited 255")
            raise AgentUnavailable(message or f"exit {code}")

    def _stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace").strip()

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(command).encode() + b"\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = b""
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):  # close() ends it then
                self.process.wait(timeout=5)
            message = self._stderr()
            self.close()
            raise ChannelLost(message or "the SSH session ended")
        code, out, err = json.loads(line)
        return int(code), base64.b64decode(out), base64.b64decode(err)

    def close(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin is not None:
                self.process.stdin.close()  # the agent ends at end of input, then ssh
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.errors.close()
        _OPEN.discard(self)


@atexit.register
def _close_all() -> None:
    for channel in list(_OPEN):
        channel.close()


class ChannelSshBackend(SshBackend):  # type: ignore[misc]  # testinfra ships no types
    """testinfra's SSH backend with commands sent over persistent channels (a few, for threads)."""

    @classmethod
    def adopt(cls, backend: SshBackend) -> ChannelSshBackend:
        """The same backend (same host, options and testinfra host object), now with channels."""
        fast = cls.__new__(cls)
        fast.__dict__.update(backend.__dict__)
        fast._lock = threading.Lock()
        fast._idle = []
        fast._agent = True
        return fast

    _lock: threading.Lock
    _idle: list[Channel]
    _agent: bool

    def _take(self) -> Channel | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if not self._agent:
                return None
        cmd, args = self._build_ssh_command(REMOTE)
        command = " ".join(cmd) % tuple(shlex.quote(str(arg)) for arg in args)
        try:
            return Channel(command)
        except AgentUnavailable:
            self._agent = False
            return None

    def run_ssh(self, command: str) -> base.CommandResult:
        try:
            channel = self._take()
        except ChannelLost as error:
            raise RuntimeError(f"ssh to {self.host.name} failed: {error}") from None
        if channel is None:
            return super().run_ssh(command)
        try:
            code, out, err = channel.run(command)
        except ChannelLost as error:
            raise RuntimeError(f"connection to {self.host.name} lost while running {command!r}: {error}") from None
        with self._lock:
            self._idle.append(channel)
        return self.result(code, self.encode(command), out, err)

    def close_channels(self) -> None:
        """End every channel (before a reboot makes them lead nowhere)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for channel in idle:
            channel.close()


def enable(host: Any) -> bool:
    """Give a LISA target's testinfra host (ansible backend, ssh connection) persistent channels."""
    backend = host.backend
    if getattr(backend, "NAME", "") != "ansible" or getattr(backend, "force_ansible", False):
        return False
    real = backend.ansible_runner.get_host(
        backend.host, ssh_config=backend.ssh_config, ssh_identity_file=backend.ssh_identity_file
    )
    if real is None or type(real.backend) is not SshBackend:
        return isinstance(getattr(real, "backend", None), ChannelSshBackend)
    fast = ChannelSshBackend.adopt(real.backend)
    real.backend = fast
    fast.set_host(real)
    return True
