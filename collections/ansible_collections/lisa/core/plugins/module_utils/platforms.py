# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The platforms LISA can deploy targets on, each with its parameter schema and defaults.

A platform is declared once, here, by one ``register(Platform(...))`` call: the runbook schema, the
``lisa schema`` output, ``lisa check`` and the Ansible dispatch role all read this registry. Adding a
platform means adding its block below and its role ``lisa.core.<name>``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

_INT = "integer"


def _integer(low: int, high: int, description: str) -> Dict[str, Any]:
    return {"type": _INT, "minimum": low, "maximum": high, "description": description}


def _string(description: str, pattern: str = "") -> Dict[str, Any]:
    schema: Dict[str, Any] = {"type": "string", "minLength": 1, "description": description}
    if pattern:
        schema["pattern"] = pattern
    return schema


# Parameters that several platforms share; each platform picks the ones it understands.
CPUS = _integer(1, 256, "Virtual CPUs of each instance.")
MEMORY_MB = _integer(128, 1048576, "Memory of each instance in MiB.")
NICS = _integer(1, 8, "Network interfaces of each instance.")
DISKS = {
    "type": "array",
    "maxItems": 16,
    "description": "Data disks added to each instance, besides the OS disk.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["size_gb"],
        "properties": {"size_gb": _integer(1, 65536, "Size of the data disk in GiB.")},
    },
}
HOST = _string("Address or name the controller reaches the machine at.")
PORT = _integer(1, 65535, "SSH port.")
USER = _string("User LISA logs in as over SSH.", r"^[a-z_][a-z0-9_.-]*$")
KEY_FILE = _string("Private key file for SSH; by default the pool's own key.")


@dataclass(frozen=True)
class Platform:
    """What a runbook may say about targets on one platform."""

    name: str
    description: str
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    required: Tuple[str, ...] = ()
    # Relative cost of one instance; requirement matching prefers the cheapest targets.
    cost: float = 1.0
    # Whether one target group may have several identical instances (``count``).
    scalable: bool = True
    # Whether LISA reaches the target's SSH through a port it forwards on 127.0.0.1 (QEMU user networking).
    forwards_ssh: bool = False
    # Checks a schema cannot express: given a target's merged parameters and its count, the problems as
    # (key, message) pairs, found before anything is deployed.
    check: Optional[Callable[[Mapping[str, Any], int], List[Tuple[str, str]]]] = None
    # Whether ``nics: 2`` links the two instances of a target group point to point (see PRIVATE_LINK).
    links_instances: bool = False


# The second NIC of a two-instance target group: a point-to-point link between the two instances, with
# these addresses inside the guests (instance N gets .N). On the host the link is a pair of UDP sockets
# on 127.0.0.1, so no bridge, no multicast and no address outside the loopback is involved.
PRIVATE_LINK_PREFIX = "10.213.0."
PRIVATE_LINK_BITS = 24


def instance_names(group: str, count: int) -> List[str]:
    """Names of a target group's instances in the pool and the inventory: ``<group>-1`` ... ``<group>-<count>``."""
    return ["%s-%d" % (group, number) for number in range(1, count + 1)]


def private_address(number: int) -> str:
    """The address of instance ``number`` (1-based) of a linked target group on its second NIC."""
    return "%s%d" % (PRIVATE_LINK_PREFIX, number)


def _check_linked_nics(params: Mapping[str, Any], count: int) -> List[Tuple[str, str]]:
    """nics 1 anywhere; nics 2 only as the point-to-point link of a group of exactly two instances."""
    nics = int(params.get("nics", 1))
    if nics <= 1:
        return []
    if nics > 2:
        return [
            (
                "nics",
                "libvirt VMs have at most 2 network interfaces, got %d; use nics: 1, or nics: 2 with count: 2 "
                "(the second interface links the two instances of the group)" % nics,
            )
        ]
    if count != 2:
        return [
            (
                "nics",
                "nics: 2 on libvirt links the two instances of this target group point to point, so it needs "
                "count: 2 (this target has count: %d); set count: 2, or nics: 1" % count,
            )
        ]
    return []


PLATFORMS: Dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    if platform.name in PLATFORMS:
        raise ValueError("platform %r is registered twice" % platform.name)
    unknown = set(platform.defaults) - set(platform.parameters)
    if unknown:
        raise ValueError("platform %r has defaults for unknown parameters %s" % (platform.name, sorted(unknown)))
    PLATFORMS[platform.name] = platform
    return platform


register(
    Platform(
        name="local",
        description="This machine; nothing is deployed or deleted.",
        cost=0.0,
        scalable=False,
    )
)

register(
    Platform(
        name="ssh",
        description="A machine that is already running and reachable over SSH; deploy checks it, delete forgets it.",
        parameters={"host": HOST, "port": PORT, "user": USER, "private_key_file": KEY_FILE},
        defaults={"port": 22, "user": "root"},
        required=("host",),
        cost=0.0,
        scalable=False,
    )
)

register(
    Platform(
        name="libvirt",
        description="A QEMU virtual machine per instance, from a base image, through libvirt.",
        parameters={
            "image": _string("A built image name (debian-12) or the path of a qcow2 file."),
            "cpus": CPUS,
            "memory_mb": MEMORY_MB,
            "disks": DISKS,
            "nics": NICS,
            "uri": _string("libvirt connection URI.", r"^[a-z+]+://"),
            "ssh_port": _integer(1024, 65535, "Port on 127.0.0.1 forwarded to the VM's SSH; a free one by default."),
            "kernel_cmdline": _string("Extra kernel command line for direct kernel boot."),
        },
        defaults={
            "image": "debian-12",
            "cpus": 1,
            "memory_mb": 1024,
            "disks": [],
            "nics": 1,
            "uri": "qemu:///system",
        },
        cost=1.0,
        forwards_ssh=True,
        check=_check_linked_nics,
        links_instances=True,
    )
)

register(
    Platform(
        name="baremetal",
        description="A physical machine reached over SSH and power-cycled through its BMC (Redfish or IPMI).",
        parameters={
            "host": HOST,
            "port": PORT,
            "user": USER,
            "private_key_file": KEY_FILE,
            "bmc": {
                "type": "object",
                "additionalProperties": False,
                "required": ["driver", "address"],
                "description": "The machine's baseboard management controller.",
                "properties": {
                    "driver": {"enum": ["redfish", "ipmi"], "description": "BMC protocol."},
                    "address": _string("Redfish URL or IPMI host of the BMC."),
                    "system_id": _string("Redfish system identity (the UUID or the name of the system)."),
                    "username": _string("BMC user name."),
                    "password_env": _string(
                        "Name of the environment variable holding the BMC password (never the password itself).",
                        r"^[A-Za-z_][A-Za-z0-9_]*$",
                    ),
                },
            },
        },
        defaults={"port": 22, "user": "root"},
        required=("host", "bmc"),
        cost=5.0,
        scalable=False,
    )
)

register(
    Platform(
        name="azure",
        description="An Azure VM per instance, deployed from an ARM template into its own resource group.",
        parameters={
            "image": _string("Marketplace image URN (publisher:offer:sku:version) or an image resource id."),
            "vm_size": _string("Azure VM size.", r"^[A-Za-z0-9_]+$"),
            "location": _string("Azure region.", r"^[a-z0-9]+$"),
            "subscription_id": _string("Subscription to deploy into; by default AZURE_SUBSCRIPTION_ID."),
            "endpoint": _string("Azure Resource Manager endpoint.", r"^https?://"),
            "disks": DISKS,
            "nics": NICS,
        },
        defaults={
            "image": "Debian:debian-12:12-gen2:latest",
            "vm_size": "Standard_D2s_v5",
            "location": "westus3",
            "endpoint": "https://management.azure.com",
            "disks": [],
            "nics": 1,
        },
        cost=10.0,
    )
)

register(
    Platform(
        name="hyperv",
        description="A Hyper-V VM per instance, created over WinRM/PSRP on a Windows host.",
        parameters={
            "server": _string("The Hyper-V host (WinRM endpoint)."),
            "server_user": _string("Windows user on the Hyper-V host."),
            "password_env": _string(
                "Name of the environment variable holding that user's password.", r"^[A-Za-z_][A-Za-z0-9_]*$"
            ),
            "image": _string("Path of the VHDX image on the Hyper-V host."),
            "switch": _string("Virtual switch the VM's network adapter connects to."),
            "cpus": CPUS,
            "memory_mb": MEMORY_MB,
            "disks": DISKS,
            "nics": NICS,
        },
        defaults={"cpus": 1, "memory_mb": 1024, "disks": [], "nics": 1, "switch": "Default Switch"},
        required=("server", "image"),
        cost=2.0,
    )
)
