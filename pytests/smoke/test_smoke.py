"""Smoke: the target is up, reboots cleanly and shows no kernel trouble."""

from __future__ import annotations

import re

import pytest

from pytest_lisa.core import backoff

pytestmark = pytest.mark.lisa(area="smoke", category="Functional", priority=0)

KERNEL_TROUBLE = re.compile(r"Kernel panic|Oops[:\s]|Call Trace:|BUG: |general protection fault")


def test_reachable_over_ssh(target):
    """The target accepts TCP on its SSH port and runs a command."""
    assert target.ping(timeout=60) < 60
    assert target.run("true").rc == 0


# Reboots only machines LISA created: a reboot of a "local" or "ssh" target reboots a machine it does not own.
@pytest.mark.lisa(platform=["libvirt", "azure", "hyperv", "baremetal"])
def test_reboot_gives_a_new_boot_id(target):
    """A reboot from inside brings the target back with a new boot id."""
    before = target.boot_id()
    after = target.reboot(timeout=300)
    assert after != before


def test_no_panic_oops_or_call_trace(target):
    """Neither dmesg nor the serial console (where there is one) shows a panic, an oops or a call trace."""
    dmesg = target.run("dmesg").stdout
    found = KERNEL_TROUBLE.findall(dmesg)
    if target.variables.get("lisa_serial_log"):
        found += KERNEL_TROUBLE.findall(target.serial_log())
    assert not found, f"kernel trouble on {target.name}: {sorted(set(found))}"


def test_system_is_not_degraded(target):
    """systemd finished starting and no unit failed."""

    def settled() -> str | None:
        state = target.run("systemctl is-system-running").stdout.strip()
        return None if state in ("initializing", "starting") else state

    state = backoff.wait_until(settled, 120, "systemd to finish starting", backoff.Backoff(1, 2, 5), retry_on=())
    if state == "degraded":
        failed = target.run("systemctl --failed --no-legend --plain").stdout
        pytest.fail(f"{target.name} is degraded; failed units:\n{failed}")
    assert state == "running"
