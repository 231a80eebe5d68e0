"""The core and storage suites on one VM with a data disk, through playbooks/run.yml, and nothing left after."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Lisa, libvirt_domains, render_report

pytestmark = pytest.mark.vm

CORE = {
    "test_kernel_version_and_command_line_are_recorded",
    "test_cpu_count_matches_what_was_asked",
    "test_memory_matches_what_was_asked",
    "test_disks_are_present",
    "test_clock_is_close_to_the_controllers",
    "test_hostname_is_the_instance_name",
}
STORAGE = {"test_data_disk_has_the_size_asked_for", "test_partition_format_mount_write_and_read_back"}


def test_core_and_storage_suites_on_a_vm_with_a_data_disk(lisa: Lisa, repo: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    runbook = repo / "runbooks/storage.yml"
    result = lisa.playbook("run", runbook, "-e", "suite=core-storage", "-e", f"results_dir={results}")
    assert result.returncode == 0, result.stdout[-8000:]

    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0")
    ran = {case.get("name", "").split("[")[0] for case in suite.iter("testcase")}
    assert ran == CORE | STORAGE
    properties = {
        (prop.get("name"), prop.get("value"))
        for case in suite.iter("testcase")
        for prop in case.iter("property")
        if case.get("name", "").startswith("test_kernel_version")
    }
    names = {name for name, _value in properties}
    assert {"kernel_release", "kernel_cmdline", "lisa_target"} <= names
    assert any(name == "kernel_cmdline" and "root=/dev/vda" in str(value) for name, value in properties)
    # The Hyper-V driver tests are in area core too; on libvirt the plugin leaves them out and says why.
    assert "3 deselected, runs only on azure or hyperv, target disk-1 is on libvirt" in result.stdout

    # The HTML report of the pass, as a browser shows it: every test of both suites passed on the VM.
    rows = render_report(results / "report.html", "report-vm-core-storage.png")
    assert {row["testId"].split("::")[-1].split("[")[0] for row in rows} == CORE | STORAGE
    assert {(row["result"], row["target"]) for row in rows} == {("Passed", "disk-1")}
    assert {row["area"] for row in rows} == {"core", "storage"}

    assert lisa.pool() == {}
    assert not [d for d in libvirt_domains() if d.endswith("-disk-1")]
