"""libvirt/QEMU targets: real VMs from the built image, beside real SSH machines; crashes and faults."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, Lisa, libvirt_domains

pytestmark = pytest.mark.vm

VM = {"name": "vm", "platform": "libvirt", "memory_mb": 1024, "disks": [{"size_gb": 1}], "features": ["serial_console"]}


def leftovers(lisa: Lisa, pool_id: str) -> dict[str, Any]:
    """What of this pool still exists: domains, disks, records."""
    disks = (
        sorted(p.name for p in (lisa.state_dir / "libvirt").glob("*")) if (lisa.state_dir / "libvirt").exists() else []
    )
    return {
        "domains": [d for d in libvirt_domains() if d.startswith(f"lisa-{pool_id}-")],
        "disks": disks,
        "records": sorted(lisa.pool()),
    }


def pool_id(lisa: Lisa) -> str:
    return str(json.loads((lisa.state_dir / "pool.json").read_text())["pool_id"])


def test_vm_and_ssh_machines_deploy_inventory_testinfra_restart_delete(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(3)
    runbook = lisa.runbook({"targets": [VM, *(m.target(fleet.client_key) for m in fleet.machines)]})
    started = time.monotonic()
    lisa.playbook("deploy", runbook, check=True)
    deployed_in = time.monotonic() - started
    ident = pool_id(lisa)

    inventory = lisa.inventory()
    assert sorted(inventory["lisa"]["hosts"]) == ["m1-1", "m2-1", "m3-1", "vm-1"]
    assert inventory["lisa_libvirt"]["hosts"] == ["vm-1"]
    assert inventory["lisa_feature_serial_console"]["hosts"] == ["vm-1"]
    vm = inventory["_meta"]["hostvars"]["vm-1"]
    assert vm["ansible_host"] == "127.0.0.1" and vm["ansible_port"] > 1024
    assert vm["ansible_ssh_private_key_file"] == str(lisa.state_dir / "id_ed25519")
    assert vm["lisa_capabilities"]["cpus"] == 1
    assert vm["lisa_capabilities"]["memory_mb"] == 1024
    assert vm["lisa_capabilities"]["disks"] == 1
    assert vm["lisa_capabilities"]["hostname"] == {"__ansible_unsafe": "vm-1"}  # reported by the target: untrusted
    serial = Path(vm["lisa_serial_log"]).read_text(errors="replace")
    assert "LISA-HOSTKEY ssh-ed25519" in serial and "Linux version" in serial
    assert libvirt_domains().count(f"lisa-{ident}-vm-1") == 1

    tests = tmp_path / "test_on_targets.py"
    tests.write_text(
        textwrap.dedent("""\
        def test_root_file_system(host):
            assert host.mount_point("/").exists

        def test_sshd_runs(host):
            assert host.process.filter(comm="sshd")
        """)
    )
    result = lisa.pytest(tests)
    assert result.returncode == 0, result.stdout[-4000:]
    assert result.stdout.count("PASSED") == 8

    boot_id = vm["lisa_capabilities"]["boot_id"]["__ansible_unsafe"]
    lisa.playbook("restart", None, "-e", "target=vm-1", check=True)
    new_boot = ""
    for _ in range(90):  # the VM comes back about 20 s after the reset
        probe = lisa.run(
            "ansible",
            "-i",
            "inventory/lisa.yml",
            "vm-1",
            "-m",
            "ansible.builtin.command",
            "-a",
            "cat /proc/sys/kernel/random/boot_id",
            "-o",
        )
        if probe.returncode == 0 and boot_id not in probe.stdout:
            new_boot = probe.stdout
            break
        time.sleep(2)
    assert new_boot, "the VM did not come back with a new boot id after the power cycle"

    lisa.playbook("delete", runbook, check=True)
    assert leftovers(lisa, ident) == {"domains": [], "disks": [], "records": []}
    print(f"deployed 1 VM + 3 SSH machines in {deployed_in:.1f} s")


def run_and_kill(lisa: Lisa, runbook: Path, moment: str, deadline: float = 240) -> None:
    """Start a deploy and SIGKILL its whole process group when ``moment`` comes."""
    process = subprocess.Popen(
        ["ansible-playbook", "playbooks/deploy.yml", "-e", f"runbook={runbook}"],
        cwd=REPO,
        env=lisa.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            assert process.poll() is None, f"the deploy ended before the moment '{moment}'"
            record = lisa.pool().get("vm-1") if (lisa.state_dir / "pool.json").exists() else None
            if record is not None:
                created = record["resource"] in libvirt_domains()
                if moment == "recorded" and record["state"] == "deploying":
                    break
                if moment == "created" and created and not record["connection"]:
                    break
                if moment == "probing" and record["state"] == "deploying" and record["connection"]:
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"the moment '{moment}' did not come")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize("moment", ["recorded", "created", "probing"])
def test_killed_deploy_leaves_nothing_after_cleanup(lisa: Lisa, moment: str) -> None:
    runbook = lisa.runbook({"targets": [VM]})
    run_and_kill(lisa, runbook, moment)
    ident = pool_id(lisa)
    assert leftovers(lisa, ident)["records"] == ["vm-1"]  # the record survived the crash
    lisa.playbook("cleanup", check=True)
    assert leftovers(lisa, ident) == {"domains": [], "disks": [], "records": []}
    lisa.playbook("cleanup", check=True)  # safe twice


def assert_nothing_left(lisa: Lisa) -> None:
    assert lisa.pool() == {}
    assert not list((lisa.state_dir / "libvirt").glob("*")) if (lisa.state_dir / "libvirt").exists() else True


def test_missing_image_file(lisa: Lisa, tmp_path: Path) -> None:
    runbook = lisa.runbook({"targets": [{**VM, "image": str(tmp_path / "nowhere" / "disk.qcow2")}]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert "deploying target vm-1 (libvirt) failed" in result.stdout
    assert f"missing {tmp_path}/nowhere/disk.qcow2" in result.stdout
    assert_nothing_left(lisa)


def test_libvirtd_not_running(lisa: Lisa, tmp_path: Path) -> None:
    uri = f"qemu+unix:///system?socket={tmp_path}/no-libvirtd.sock"
    runbook = lisa.runbook({"targets": [{**VM, "uri": uri}]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert f"deploying target vm-1 (libvirt) failed in 'Start the VM': cannot reach libvirt at {uri}" in result.stdout
    assert "Is libvirtd running?" in result.stdout
    assert_nothing_left(lisa)


def test_port_already_taken(lisa: Lisa) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        runbook = lisa.runbook({"targets": [{**VM, "ssh_port": port}]})
        result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert f"target vm-1: port {port} on 127.0.0.1 is already taken" in result.stdout
    assert_nothing_left(lisa)


def test_deploy_failing_halfway_deletes_the_vm(lisa: Lisa) -> None:
    # The kernel panics when init exits: the domain exists, but the VM never boots to SSH.
    runbook = lisa.runbook({"targets": [{**VM, "kernel_cmdline": "init=/bin/false"}]})
    result = lisa.playbook("deploy", runbook, "-e", "libvirt_boot_timeout=25")
    assert result.returncode != 0
    assert (
        "deploying target vm-1 (libvirt) failed in 'Wait for the VM to print its host keys on the serial console'"
        in result.stdout
    )
    assert "the VM did not boot to its SSH set-up in 25 s" in result.stdout
    assert_nothing_left(lisa)
    assert not [d for d in libvirt_domains() if d.endswith("-vm-1")]
