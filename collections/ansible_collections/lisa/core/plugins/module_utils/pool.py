# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The target pool: every target LISA deployed, in one JSON file under the state directory.

A record is written *before* the platform is asked to create anything (state ``deploying``, with the
resource name LISA will use), so a run killed at any moment leaves records from which ``cleanup``
deletes everything. Writers hold a file lock (the ``filelock`` package); every write goes to a temporary
file that is flushed, fsynced and renamed over the pool, so readers without the lock always see a whole,
valid file. The pool file and the pool's SSH key are mode 0600, the state directory 0700.

States: deploying -> ready -> deleting -> (record removed); failed (deploy went wrong), bad (deployed but
unreachable). A ready record may carry a lease: the run or test using it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import socket
import subprocess
import tempfile
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.platforms import (
    PLATFORMS,
    PRIVATE_LINK_BITS,
    instance_names,
    private_address,
)

FORMAT = 1
STATES = ("deploying", "ready", "deleting", "failed", "bad")
DEFAULT_STATE_DIR = ".lisa"
LOCK_TIMEOUT = 60.0


def default_state_dir(project: Optional[str] = None) -> str:
    """$LISA_STATE_DIR, else ``.lisa`` in the project folder (the current folder when none is given)."""
    return os.environ.get("LISA_STATE_DIR") or (
        os.path.join(project, DEFAULT_STATE_DIR) if project else DEFAULT_STATE_DIR
    )


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(taken: "set[int]", host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A TCP (or with ``kind=socket.SOCK_DGRAM`` UDP) port on ``host`` that nothing uses and no record claims."""
    for _attempt in range(200):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            return port
    raise LisaError("found no free %s port on %s" % ("UDP" if kind == socket.SOCK_DGRAM else "TCP", host))


def _link_ports(record: Mapping[str, Any]) -> List[int]:
    link = record.get("link") or {}
    return [int(port) for port in (link.get("ports") or {}).values()]


def private_link(name: str, group: str, spec: Mapping[str, Any], records: Mapping[str, Any]) -> Dict[str, Any]:
    """The point-to-point link of instance ``name`` of a two-instance group with ``nics: 2``.

    Each instance's end is a UDP socket on 127.0.0.1; both ports are chosen when the first instance of the
    group is reserved and kept in every record of the group, so either instance knows its peer's port
    before either VM starts, whichever is reserved first (they deploy in parallel).
    """
    names = instance_names(spec.get("name", group), int(spec.get("count", 1)))
    if name not in names or len(names) != 2:
        raise LisaError(
            "target %s: nics 2 links the two instances of a target group (<group>-1 and <group>-2); "
            "this one is not one of %s" % (name, ", ".join(names) or "them")
        )
    ports: Dict[str, int] = {}
    for record in records.values():
        found = (record.get("link") or {}).get("ports") or {}
        if record.get("group") == group and sorted(found) == names:
            ports = {key: int(value) for key, value in found.items()}
            break
    if not ports:
        taken = {port for record in records.values() for port in _link_ports(record)}
        for each in names:
            ports[each] = free_port(taken, kind=socket.SOCK_DGRAM)
            taken.add(ports[each])
    number = names.index(name) + 1
    peer = names[2 - number]
    return {
        "number": number,
        "address": private_address(number),
        "prefix": PRIVATE_LINK_BITS,
        "port": ports[name],
        "peer": peer,
        "peer_address": private_address(3 - number),
        "peer_port": ports[peer],
        "ports": ports,
    }


class Pool:
    """The pool file ``<state_dir>/pool.json`` with its lock, SSH key pair and known_hosts."""

    def __init__(self, state_dir: Optional[str] = None) -> None:
        self.state_dir = os.path.abspath(os.path.expanduser(state_dir or default_state_dir()))
        self.path = os.path.join(self.state_dir, "pool.json")
        self.lock_path = os.path.join(self.state_dir, "pool.lock")
        self.private_key = os.path.join(self.state_dir, "id_ed25519")
        self.known_hosts = os.path.join(self.state_dir, "known_hosts")
        self.logs_dir = os.path.join(self.state_dir, "logs")

    @property
    def ssh_common_args(self) -> str:
        """SSH options for every connection to the pool's targets (Ansible and testinfra read them).

        Host keys are checked against the pool's own known_hosts; a connection whose machine went away
        (a reboot) is dropped after 15 s instead of hanging every command sent through it.
        """
        return (
            "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "
            "-o ServerAliveInterval=5 -o ServerAliveCountMax=3" % self.known_hosts
        )

    # -- file access ------------------------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.logs_dir, mode=0o700, exist_ok=True)

    def read(self) -> Dict[str, Any]:
        """The pool as it is now; no lock needed, since writes replace the file atomically."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return self._empty()
        except ValueError as error:
            raise LisaError(
                "the pool file %s is not valid JSON (%s); move it away to start a new pool" % (self.path, error)
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("targets"), dict):
            raise LisaError("the pool file %s has no 'targets' mapping; move it away to start a new pool" % self.path)
        if data.get("format") != FORMAT:
            raise LisaError(
                "the pool file %s has format %r; this LISA reads format %d" % (self.path, data.get("format"), FORMAT)
            )
        return data

    def _empty(self) -> Dict[str, Any]:
        return {"format": FORMAT, "pool_id": secrets.token_hex(3), "targets": {}}

    def _write(self, data: Mapping[str, Any]) -> None:
        handle, temporary = tempfile.mkstemp(prefix=".pool.", suffix=".json", dir=self.state_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=2, sort_keys=True)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(self.state_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        # Imported here: every pytest run imports this module, few of them write the pool.
        try:
            import filelock  # noqa: PLC0415
        except ImportError:  # pragma: no cover - exercised only where filelock is missing
            raise LisaError("the LISA pool needs the Python package filelock: pip install filelock") from None
        self._ensure_dir()
        try:
            with filelock.FileLock(self.lock_path, timeout=LOCK_TIMEOUT):
                yield
        except filelock.Timeout:
            raise LisaError(
                "the pool %s stayed locked for %ds; is another LISA run stuck?" % (self.path, LOCK_TIMEOUT)
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Dict[str, Any]]:
        """Lock, read, let the caller change the data, write it back (only if nothing was raised)."""
        with self.locked():
            data = self.read()
            yield data
            self._write(data)

    # -- records ----------------------------------------------------------------------------------------

    def records(self) -> List[Dict[str, Any]]:
        targets = self.read()["targets"]
        return [targets[name] for name in sorted(targets)]

    def get(self, name: str) -> Optional[Dict[str, Any]]:
        record = self.read()["targets"].get(name)
        return dict(record) if record is not None else None

    def reserve(
        self,
        name: str,
        group: str,
        platform: str,
        spec: Mapping[str, Any],
        run: str = "",
    ) -> Dict[str, Any]:
        """Write the ``deploying`` record for a target before anything is created.

        Returns the record. If the target already has a record in state ready, that record is returned
        unchanged (``reserved`` false): deploying twice does not create twice.
        """
        with self.transaction() as data:
            existing = data["targets"].get(name)
            if existing is not None:
                if existing["state"] == "ready":
                    return dict(existing, reserved=False)
                raise LisaError(
                    "target %s already has a record in state %s (from run %s); run 'lisa cleanup' or "
                    "playbooks/cleanup.yml first" % (name, existing["state"], existing.get("run") or "unknown")
                )
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
            record: Dict[str, Any] = {
                "name": name,
                "group": group,
                "platform": platform,
                "state": "deploying",
                "resource": "lisa-%s-%s" % (data["pool_id"], name),
                "run": run,
                "spec": dict(spec),
                "created": now(),
                "updated": now(),
                # A new log for every deploy: host keys are read from it, never from an older boot's.
                "serial_log": os.path.join(self.logs_dir, "%s.%s-%s.serial.log" % (name, stamp, secrets.token_hex(2))),
                "connection": {},
                "capabilities": {},
                "lease": None,
            }
            ssh_port = spec.get("ssh_port")
            if platform in PLATFORMS and PLATFORMS[platform].forwards_ssh:
                taken = {r.get("forward_port") for r in data["targets"].values()}
                if ssh_port:
                    if ssh_port in taken or not port_is_free(ssh_port):
                        raise LisaError(
                            "target %s: port %d on 127.0.0.1 is already taken; choose another ssh_port or leave "
                            "it out to get a free one" % (name, ssh_port)
                        )
                    record["forward_port"] = ssh_port
                else:
                    record["forward_port"] = free_port({int(p) for p in taken if p})
            if platform in PLATFORMS and PLATFORMS[platform].links_instances and int(spec.get("nics", 1)) == 2:
                record["link"] = private_link(name, group, spec, data["targets"])
            data["targets"][name] = record
            return dict(record, reserved=True)

    def update(self, name: str, **fields: Any) -> Dict[str, Any]:
        with self.transaction() as data:
            record = data["targets"].get(name)
            if record is None:
                raise LisaError("the pool has no target named %s" % name)
            state = fields.get("state")
            if state is not None and state not in STATES:
                raise ValueError("unknown pool state %r" % state)
            record.update(fields)
            record["updated"] = now()
            return dict(record)

    def remove(self, name: str) -> bool:
        """Forget a target and its host keys; returns whether there was a record."""
        with self.transaction() as data:
            record = data["targets"].pop(name, None)
            if record is not None:
                self._forget_host_keys(record)
            return record is not None

    # -- leases -----------------------------------------------------------------------------------------

    def lease(
        self, owner: str, names: Optional[List[str]] = None, group: Optional[str] = None, pid: Optional[int] = None
    ) -> Optional[str]:
        """Lease one ready, unleased target (of ``names`` or ``group`` if given) to ``owner``.

        A lease whose holder process is gone is taken over. Returns the target's name, or None.
        """
        holder = os.getpid() if pid is None else pid
        with self.transaction() as data:
            for name in sorted(data["targets"]):
                record = data["targets"][name]
                if record["state"] != "ready" or (names is not None and name not in names):
                    continue
                if group is not None and record["group"] != group:
                    continue
                lease = record.get("lease")
                if lease and process_alive(int(lease.get("pid", 0))):
                    continue
                record["lease"] = {"owner": owner, "pid": holder, "since": now()}
                return str(name)
        return None

    def release(self, name: str, owner: str) -> None:
        with self.transaction() as data:
            record = data["targets"].get(name)
            if record is None:
                return
            lease = record.get("lease")
            if lease and lease.get("owner") != owner:
                raise LisaError("target %s is leased by %s, not %s" % (name, lease.get("owner"), owner))
            record["lease"] = None

    # -- SSH trust --------------------------------------------------------------------------------------

    def ensure_keypair(self) -> str:
        """The pool's ed25519 key (created once, mode 0600); returns the public key line."""
        with self.locked():
            if not os.path.exists(self.private_key):
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lisa-pool", "-f", self.private_key],
                    check=True,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
                os.chmod(self.private_key, 0o600)
            if not os.path.exists(self.known_hosts):
                with open(self.known_hosts, "a", encoding="utf-8"):
                    pass
                os.chmod(self.known_hosts, 0o600)
        with open(self.private_key + ".pub", encoding="utf-8") as handle:
            return handle.read().strip()

    def record_host_keys(self, name: str, host: str, port: int, keys: List[str]) -> None:
        """Trust ``keys`` (``type base64`` lines) for host:port, replacing what was known for it."""
        pattern = host if port == 22 else "[%s]:%d" % (host, port)
        lines = []
        for key in keys:
            parts = key.split()
            if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
                raise LisaError("target %s: %r is not an SSH public host key" % (name, key))
            lines.append("%s %s %s\n" % (pattern, parts[0], parts[1]))
        if not lines:
            raise LisaError("target %s: no SSH host key was found to trust" % name)
        with self.locked():
            kept = [line for line in self._known_host_lines() if line.split(" ", 1)[0] != pattern]
            self._write_known_hosts(kept + lines)

    def _known_host_lines(self) -> List[str]:
        try:
            with open(self.known_hosts, encoding="utf-8") as handle:
                return handle.readlines()
        except FileNotFoundError:
            return []

    def _write_known_hosts(self, lines: List[str]) -> None:
        handle, temporary = tempfile.mkstemp(prefix=".known_hosts.", dir=self.state_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.writelines(lines)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.known_hosts)

    def _forget_host_keys(self, record: Mapping[str, Any]) -> None:
        connection = record.get("connection") or {}
        host, port = connection.get("host"), connection.get("port")
        if not host:
            return
        pattern = host if port in (None, 22) else "[%s]:%d" % (host, int(port))
        lines = self._known_host_lines()
        kept = [line for line in lines if line.split(" ", 1)[0] != pattern]
        if kept != lines:
            self._write_known_hosts(kept)


# The arguments of lisa.core.pool: the module (documentation, and any host) and the action plugin (the
# controller, without starting a Python interpreter per call) both take these and both call apply().
ARGUMENT_SPEC: Dict[str, Any] = {
    "state_dir": {"type": "path"},
    "name": {"type": "str", "required": True},
    "state": {
        "type": "str",
        "required": True,
        "choices": ["deploying", "ready", "deleting", "failed", "bad", "absent"],
    },
    "group": {"type": "str"},
    "platform": {"type": "str"},
    "spec": {"type": "dict", "default": {}},
    "run": {"type": "str", "default": ""},
    "connection": {"type": "dict"},
    "capabilities": {"type": "dict"},
    "host_keys": {"type": "list", "elements": "str", "no_log": False},
    "error": {"type": "str"},
    "data": {"type": "dict"},
}
REQUIRED_IF = [("state", "deploying", ("group", "platform"))]


def apply(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Carry out one lisa.core.pool call; returns the result, raises LisaError (with ``partial``)."""
    pool = Pool(params["state_dir"])
    name, state = params["name"], params["state"]
    result: Dict[str, Any] = {"changed": False, "reserved": False, "record": {}}
    result["public_key"] = pool.ensure_keypair()
    if state == "deploying" and not (params["connection"] or params["host_keys"] or params["data"]):
        record = pool.reserve(name, params["group"], params["platform"], params["spec"], params["run"])
        result["reserved"] = record.pop("reserved")
        result["changed"] = result["reserved"]
        result["record"] = record
    elif state == "absent":
        result["changed"] = pool.remove(name)
    else:
        fields: Dict[str, Any] = {"state": state}
        for key in ("connection", "capabilities", "error", "data"):
            if params[key] is not None:
                fields[key] = params[key]
        if params["host_keys"]:
            connection = params["connection"] or (pool.get(name) or {}).get("connection") or {}
            if not connection.get("host"):
                raise LisaError("target %s: host keys need the connection's host and port" % name)
            pool.record_host_keys(name, connection["host"], int(connection.get("port", 22)), params["host_keys"])
        result["record"] = pool.update(name, **fields)
        result["changed"] = True
    result["private_key_file"] = pool.private_key
    result["known_hosts"] = pool.known_hosts
    result["ssh_common_args"] = pool.ssh_common_args
    result["state_dir"] = pool.state_dir
    return result
