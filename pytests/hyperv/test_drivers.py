"""Hyper-V drivers: a Linux guest on Hyper-V or Azure talks to the host through VMBus and its drivers.

These tests mean nothing elsewhere: on libvirt, ssh or local targets the plugin deselects them and says why.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lisa(
    area="core", category="Functional", priority=0, platform=["hyperv", "azure"], tags=["lis", "drivers"]
)


def driver_registered(target, name: str) -> bool:
    """Built in or loaded as a module, a VMBus driver shows up under /sys/bus/vmbus/drivers."""
    return bool(target.file(f"/sys/bus/vmbus/drivers/{name}").is_directory)


def test_vmbus_is_up(target):
    """The VMBus driver (hv_vmbus) is running and found devices on the bus."""
    assert target.file("/sys/bus/vmbus").is_directory, f"{target.name} has no VMBus: is hv_vmbus missing?"
    devices = target.check_output("ls /sys/bus/vmbus/devices | wc -l")
    assert int(devices) > 0, f"{target.name}: VMBus has no devices"


@pytest.mark.parametrize("driver", ["hv_netvsc", "hv_storvsc"])
def test_synthetic_drivers_are_loaded(target, driver):
    """The synthetic network (hv_netvsc) and storage (hv_storvsc) drivers are registered on VMBus."""
    if not driver_registered(target, driver):
        loaded = target.run("lsmod | grep -E '^hv_' || true").stdout.strip() or "no hv_* module"
        pytest.fail(f"{target.name}: {driver} is not registered on VMBus; loaded: {loaded}")
