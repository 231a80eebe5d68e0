"""The main job: the smoke suite on a local VM through playbooks/run.yml, and nothing left after."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Lisa, libvirt_domains

pytestmark = pytest.mark.vm


def test_smoke_suite_on_a_local_vm(lisa: Lisa, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = lisa.playbook("run", None, "-e", "suite=smoke", "-e", f"results_dir={results}")
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"JUnit XML: {results}/junit.xml" in result.stdout
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "0", "0")
    assert (results / "debian-1.serial.log").read_text(errors="replace").count("Linux version") >= 2  # boot + reboot
    assert lisa.pool() == {}
    assert not [d for d in libvirt_domains() if d.endswith("-debian-1")]
