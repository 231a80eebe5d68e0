"""Core: the target is the machine that was asked for — kernel, CPUs, memory, disks, clock, hostname."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytestmark = pytest.mark.lisa(area="core", category="Functional", priority=1)

# The kernel keeps part of the memory for itself (its image, page tables, crash kernel, firmware maps), so
# MemTotal is below what the machine has; a VM missing more than this has less memory than was asked.
MEMORY_SLACK_FRACTION = 0.15
MEMORY_SLACK_MIN_MB = 64
# The guest clock starts from the host's real-time clock and runs on the host's timers; on an isolated
# VM no time server corrects it, so it has to stay close on its own.
CLOCK_TOLERANCE_S = 5.0
# Platforms where LISA names the machine after the instance (lisa.hostname= on libvirt, the VM name elsewhere).
NAMED_BY_LISA = ["libvirt", "azure", "hyperv"]


def asked(target: Any, key: str) -> Any:
    """What the runbook asked for (host var ``lisa_spec``), else what was measured at deploy, else None."""
    spec = target.variables.get("lisa_spec") or {}
    if key in spec:
        return spec[key]
    if target.capabilities is not None:
        return getattr(target.capabilities, key, None)
    return None


def data_disks(target: Any) -> list[str]:
    """Whole disks other than the one holding the root file system, as the deploy probe counts them."""
    root_source = target.check_output("findmnt -no SOURCE /")
    root = target.run(f"lsblk -no PKNAME {root_source}").stdout.strip().splitlines()
    root_disk = root[0] if root and root[0] else root_source.rsplit("/", 1)[-1]
    disks = target.check_output("lsblk -dn -o NAME,TYPE").splitlines()
    return sorted(line.split()[0] for line in disks if line.split()[1:] == ["disk"] and line.split()[0] != root_disk)


def test_kernel_version_and_command_line_are_recorded(target, record_property):
    """The running kernel's release and command line are recorded in the results (JUnit properties)."""
    release = target.check_output("uname -r")
    version = target.check_output("uname -v")
    cmdline = target.cat("/proc/cmdline").strip()
    # The SSH key LISA passes on libvirt is public, but long: keep the record readable.
    shown = re.sub(r"(lisa\.ssh_key=)\S+", r"\1...", cmdline)
    record_property("kernel_release", release)
    record_property("kernel_version", version)
    record_property("kernel_cmdline", shown)
    assert release and cmdline
    probed = (target.variables.get("lisa_capabilities") or {}).get("kernel")
    if probed:
        assert release == probed, f"{target.name} runs kernel {release}, the deploy probe saw {probed}"


def test_cpu_count_matches_what_was_asked(target):
    """The target has as many online CPUs as the runbook asked for (or as the deploy probe measured)."""
    wanted = asked(target, "cpus")
    if wanted is None:
        pytest.skip(f"{target.name}: neither the runbook nor the deploy probe says how many CPUs it has")
    online = int(target.check_output("nproc"))  # as the deploy probe counts them
    assert online == int(wanted), f"{target.name} has {online} CPUs, {wanted} were asked for"


def test_memory_matches_what_was_asked(target, record_property):
    """MemTotal is at most the memory asked for and misses no more than the kernel's own share of it."""
    wanted = asked(target, "memory_mb")
    if not wanted:
        pytest.skip(f"{target.name}: neither the runbook nor the deploy probe says how much memory it has")
    wanted = int(wanted)
    total_kib = int(re.search(r"^MemTotal:\s+(\d+) kB", target.cat("/proc/meminfo"), re.M).group(1))  # type: ignore[union-attr]
    total_mb = total_kib / 1024
    record_property("memtotal_mb", round(total_mb))
    slack = max(wanted * MEMORY_SLACK_FRACTION, MEMORY_SLACK_MIN_MB)
    assert wanted - slack <= total_mb <= wanted, (
        f"{target.name}: MemTotal {total_mb:.0f} MiB for {wanted} MiB asked (allowed {wanted - slack:.0f}–{wanted})"
    )


def test_disks_are_present(target):
    """The OS disk holds / and there is one more whole disk per data disk asked for (vdb, vdc, ... on libvirt)."""
    spec_disks = (target.variables.get("lisa_spec") or {}).get("disks")
    wanted = len(spec_disks) if isinstance(spec_disks, list) else asked(target, "disks")
    if wanted is None:
        pytest.skip(f"{target.name}: neither the runbook nor the deploy probe says how many data disks it has")
    found = data_disks(target)
    assert len(found) == int(wanted), f"{target.name} has data disks {found}, {wanted} were asked for"
    if target.platform == "libvirt":
        assert target.check_output("findmnt -no SOURCE /") == "/dev/vda"
        assert found == [f"vd{letter}" for letter in "bcdefghijklmnopq"[: int(wanted)]]
        for index, disk in enumerate(spec_disks or []):
            size = int(target.check_output(f"lsblk -bdn -o SIZE /dev/{found[index]}"))
            assert size == disk["size_gb"] * 1024**3, f"/dev/{found[index]} has {size} bytes"


def test_clock_is_close_to_the_controllers(target, record_property):
    """The target's clock is within a few seconds of the controller's.

    No time server may be reachable (an isolated VM has none), so this does not ask for NTP
    synchronization; it checks what matters to logs and certificates: the time is right. What
    systemd-timesyncd reports is recorded where there is one.
    """
    before = time.time()
    remote = float(target.check_output("date +%s.%N"))
    after = time.time()
    record_property("clock_offset_s", round(remote - (before + after) / 2, 3))
    assert before - CLOCK_TOLERANCE_S <= remote <= after + CLOCK_TOLERANCE_S, (
        f"{target.name}'s clock is {remote - (before + after) / 2:+.1f} s off the controller's"
    )
    # timedatectl needs D-Bus, which a minimal image may not have; the service state needs only systemd.
    status = target.run("timedatectl show -p NTP -p NTPSynchronized -p Timezone")
    if status.rc == 0:
        record_property("timedatectl", " ".join(status.stdout.split()))
    service = target.run("systemctl is-active systemd-timesyncd")
    if service.stdout.strip():
        record_property("systemd_timesyncd", service.stdout.strip())


@pytest.mark.lisa(platform=NAMED_BY_LISA)
def test_hostname_is_the_instance_name(target):
    """The machine calls itself by its LISA instance name, so its logs say which instance they came from."""
    assert target.check_output("hostname") == target.name
    assert target.cat("/etc/hostname").strip() == target.name
