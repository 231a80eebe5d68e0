"""SSH targets on real sshd machines: deploy, inventory, testinfra, host key trust, delete, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.fleet import Fleet
from tests.helpers import REPO, Lisa

pytestmark = pytest.mark.ssh


def deploy(lisa: Lisa, fleet: Fleet, **extra: object) -> Path:
    runbook = lisa.runbook({"targets": [m.target(fleet.client_key, features=["lab"], **extra) for m in fleet.machines]})
    lisa.playbook("deploy", runbook, check=True)
    return runbook


def test_deploy_inventory_testinfra_delete(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(3)
    runbook = deploy(lisa, fleet)

    inventory = lisa.inventory()
    hosts = {f"{m.name}-1": m for m in fleet.machines}
    assert sorted(inventory["lisa"]["hosts"]) == sorted(hosts)
    assert sorted(inventory["lisa_ssh"]["hosts"]) == sorted(hosts)
    assert inventory["lisa_target_m2"]["hosts"] == ["m2-1"]
    assert sorted(inventory["lisa_feature_lab"]["hosts"]) == sorted(hosts)
    known_hosts = (lisa.state_dir / "known_hosts").read_text()
    for name, machine in hosts.items():
        hostvars = inventory["_meta"]["hostvars"][name]
        assert hostvars["ansible_host"] == machine.address
        assert hostvars["ansible_port"] == 22
        assert hostvars["ansible_ssh_private_key_file"] == str(fleet.client_key)
        assert "StrictHostKeyChecking=yes" in hostvars["ansible_ssh_common_args"]
        assert f"UserKnownHostsFile={lisa.state_dir}/known_hosts" in hostvars["ansible_ssh_common_args"]
        assert hostvars["lisa_platform"] == "ssh" and hostvars["lisa_target"] == machine.name
        assert hostvars["lisa_capabilities"]["nics"] == 1  # measured: the machine's one veth
        # The recorded host key is the machine's real one.
        assert f"{machine.address} {machine.host_key}" in known_hosts

    ping = lisa.run("ansible", "-i", "inventory/lisa.yml", "lisa", "-m", "ansible.builtin.ping")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count("SUCCESS") == 3

    tests = tmp_path / "test_on_targets.py"
    tests.write_text(
        textwrap.dedent("""\
        def test_each_machine_is_itself(host):
            name = host.backend.get_hostname()
            assert host.check_output("hostname") == name.split("-")[0]

        def test_clean_home(host):
            assert host.file("/root/.bashrc").exists is False
        """)
    )
    result = lisa.pytest(tests)
    assert result.returncode == 0, result.stdout[-4000:]
    assert result.stdout.count("PASSED") == 6

    lisa.playbook("delete", runbook, check=True)
    assert lisa.pool() == {}
    assert (lisa.state_dir / "known_hosts").read_text() == ""


def test_deploying_twice_creates_nothing_new(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(2)
    runbook = deploy(lisa, fleet)
    first = lisa.pool()
    again = lisa.playbook("deploy", runbook, check=True)
    assert lisa.pool() == first
    assert "included: lisa.core.ssh for m1-1" not in again.stdout  # the platform was never asked to create


def test_host_keys_are_checked_after_deploy(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(1)
    deploy(lisa, fleet)
    machine = fleet.machines[0]
    # The machine gets a new host key, as a machine replaced behind an address would.
    key = machine.directory / "ssh_host_ed25519_key"
    key.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, input="y\n", text=True)
    assert machine.process is not None
    os.killpg(machine.process.pid, signal.SIGHUP)  # sshd re-executes and reads the new key
    # End the SSH connection kept open since deploy, so the next command makes a new handshake.
    subprocess.run(
        ["ssh", "-O", "exit", "-o", f"ControlPath={lisa.control_dir}/%C", f"root@{machine.address}"], check=False
    )
    ping = lisa.run("ansible", "-i", "inventory/lisa.yml", "lisa", "-m", "ansible.builtin.ping")
    assert ping.returncode != 0
    assert (
        "REMOTE HOST IDENTIFICATION HAS CHANGED" in ping.stdout + ping.stderr
        or "Host key verification failed" in ping.stdout + ping.stderr
    )


def test_unreachable_machine_fails_clearly_and_leaves_nothing(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(2)
    down = fleet.machines[1]
    assert down.process is not None
    os.killpg(down.process.pid, signal.SIGTERM)
    down.process.wait(10)
    runbook = lisa.runbook({"targets": [m.target(fleet.client_key) for m in fleet.machines]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert (
        f"deploying target m2-1 (ssh) failed in 'Wait for the machine to answer and read its host keys': "
        f"{down.address}:22 does not answer over SSH after 10s" in result.stdout
    )
    assert list(lisa.pool()) == ["m1-1"]  # the reachable one deployed; the other left no record


def test_unknown_platform_is_refused_before_anything(lisa: Lisa) -> None:
    runbook = lisa.runbook({"targets": [{"name": "vm", "platform": "vmware"}]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert (
        "targets[0].platform: expected one of 'azure', 'baremetal', 'hyperv', 'libvirt', 'local', 'ssh', got 'vmware'"
        in result.stdout
    )
    assert not (lisa.state_dir / "pool.json").exists()


def test_declared_platform_without_a_role_is_refused(lisa: Lisa) -> None:
    runbook = lisa.runbook({"targets": [{"name": "vm", "platform": "azure"}]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert "platform azure is declared in the runbook schema but LISA cannot deploy it yet" in result.stdout
    assert lisa.pool() == {}


def test_cleanup_deletes_everything_and_is_safe_twice(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(2)
    deploy(lisa, fleet)
    assert len(lisa.pool()) == 2
    lisa.playbook("cleanup", check=True)
    assert lisa.pool() == {}
    lisa.playbook("cleanup", check=True)
    assert lisa.pool() == {}


def test_lisa_cleanup_command(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(2)
    deploy(lisa, fleet)
    assert len(lisa.pool()) == 2
    result = lisa.run("lisa", "cleanup", "--state-dir", str(lisa.state_dir))
    assert result.returncode == 0, result.stdout[-3000:]
    assert lisa.pool() == {}


def test_pytest_lisa_delete_targets(lisa: Lisa, ssh_fleet) -> None:
    fleet = ssh_fleet(1)
    deploy(lisa, fleet)
    result = lisa.run("pytest", "--lisa-delete-targets")
    assert result.returncode == 0, result.stdout[-3000:]
    assert lisa.pool() == {}


def test_local_target_is_this_machine(lisa: Lisa) -> None:
    runbook = lisa.runbook({"targets": [{"name": "controller", "platform": "local"}]})
    lisa.playbook("deploy", runbook, check=True)
    hostvars = lisa.inventory()["_meta"]["hostvars"]["controller-1"]
    assert hostvars["ansible_connection"] == "local"
    assert hostvars["lisa_capabilities"]["cpus"] == os.cpu_count()
    lisa.playbook("delete", runbook, check=True)
    assert lisa.pool() == {}


def test_inventory_constructs_groups_and_vars(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(2)
    deploy(lisa, fleet)
    custom = tmp_path / "custom.lisa.yml"
    custom.write_text(
        textwrap.dedent(f"""\
        plugin: lisa.core.pool
        state_dir: {lisa.state_dir}
        compose:
          many_cpus: lisa_capabilities.cpus >= 1
        groups:
          first_machine: lisa_target == 'm1'
        keyed_groups:
          - key: lisa_platform
            prefix: platform
        """)
    )
    result = lisa.run("ansible-inventory", "-i", str(custom), "--list", check=True)
    inventory = json.loads(result.stdout)
    assert inventory["first_machine"]["hosts"] == ["m1-1"]
    assert sorted(inventory["platform_ssh"]["hosts"]) == ["m1-1", "m2-1"]
    assert inventory["_meta"]["hostvars"]["m2-1"]["many_cpus"] is True


def test_broken_pool_is_a_clear_inventory_error(lisa: Lisa) -> None:
    lisa.state_dir.mkdir(parents=True)
    (lisa.state_dir / "pool.json").write_text("[1, 2")
    result = lisa.run("ansible-inventory", "-i", "inventory/lisa.yml", "--list")
    assert "LISA pool inventory" in result.stderr and "is not valid JSON" in result.stderr
    (lisa.state_dir / "pool.json").unlink()


def test_the_repository_inventory_file_is_the_default(lisa: Lisa) -> None:
    assert "inventory = ./inventory/lisa.yml" in (REPO / "ansible.cfg").read_text()
