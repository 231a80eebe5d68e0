"""Storage: a data disk can be partitioned, formatted, mounted, and keeps what is written to it.

These tests write to the disk: they run only on platforms where LISA created the disk for this target
(never on a machine someone lent to LISA), and they leave the disk blank again.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.lisa(
    area="storage", category="Functional", priority=1, disks=1, platform=["libvirt", "azure", "hyperv"]
)

MOUNT_POINT = "/mnt/lisa-storage"
DATA_MB = 64


def the_data_disk(target: Any) -> str:
    """The device path of the target's first data disk: a whole disk not holding / and not mounted."""
    root_source = target.check_output("findmnt -no SOURCE /")
    root_disk = target.run(f"lsblk -no PKNAME {root_source}").stdout.strip() or root_source.rsplit("/", 1)[-1]
    for line in target.check_output("lsblk -dnp -o NAME,TYPE").splitlines():
        name, kind = line.split()[:2]
        if kind == "disk" and name.rsplit("/", 1)[-1] != root_disk:
            mounted = target.run(f"lsblk -nlo MOUNTPOINTS {name}").stdout.split()
            assert not mounted, f"{target.name}: data disk {name} is in use ({', '.join(mounted)}); not touching it"
            return str(name)
    pytest.fail(f"{target.name} has no data disk although the test requires one")


@pytest.fixture
def data_disk(target: Any) -> Iterator[str]:
    """The data disk, blank; afterwards unmounted and blank again, whatever the test did."""
    disk = the_data_disk(target)
    target.check_output(f"wipefs --all --quiet {disk}")
    yield disk
    target.run(f"umount {MOUNT_POINT}")
    target.run(f"rmdir {MOUNT_POINT}")
    target.run(f"wipefs --all --quiet {disk}1; wipefs --all --quiet {disk}; udevadm settle")


def test_data_disk_has_the_size_asked_for(target):
    """The first data disk is as large as the runbook asked (libvirt states the size in whole GiB)."""
    disk = the_data_disk(target)
    size = int(target.check_output(f"lsblk -bdn -o SIZE {disk}"))
    disks = (target.variables.get("lisa_spec") or {}).get("disks") or []
    if not disks:
        pytest.skip(f"{target.name}: the runbook does not say how large its data disk is")
    assert size == disks[0]["size_gb"] * 1024**3, f"{disk} has {size} bytes, {disks[0]['size_gb']} GiB were asked"


def test_partition_format_mount_write_and_read_back(target, data_disk, record_property):
    """One GPT partition, ext4, mounted; random data written, synced, remounted with caches dropped, read back."""
    layout = "label: gpt\n,,L\n"
    target.check_output(f"printf {shlex.quote(layout)} | sfdisk --quiet --wipe always {data_disk} && udevadm settle")
    parts = [p for p in target.check_output(f"lsblk -lnpo NAME,TYPE {data_disk}").splitlines() if p.endswith(" part")]
    assert len(parts) == 1, f"expected one partition on {data_disk}, found {parts}"
    partition = parts[0].split()[0]

    target.check_output(f"mkfs.ext4 -q -F -L lisa-data {partition}")
    target.check_output(f"mkdir -p {MOUNT_POINT} && mount {partition} {MOUNT_POINT}")
    assert target.check_output(f"findmnt -no FSTYPE {MOUNT_POINT}") == "ext4"

    data = f"{MOUNT_POINT}/random.bin"
    target.check_output(f"dd if=/dev/urandom of={data} bs=1M count={DATA_MB} conv=fsync status=none")
    written = target.check_output(f"sha256sum {data}").split()[0]
    record_property("sha256", written)

    # Read back from the disk, not from the page cache: unmount, drop the caches, mount again.
    target.check_output(f"umount {MOUNT_POINT} && sync && echo 3 > /proc/sys/vm/drop_caches")
    target.check_output(f"mount {partition} {MOUNT_POINT}")
    assert int(target.check_output(f"stat -c %s {data}")) == DATA_MB * 1024 * 1024
    read = target.check_output(f"sha256sum {data}").split()[0]
    assert read == written, f"{data} on {partition} read back with sha256 {read}, written with {written}"
