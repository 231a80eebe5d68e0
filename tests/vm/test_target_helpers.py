"""reboot(), restart() and serial_log() on a real VM."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import Lisa

pytestmark = pytest.mark.vm


def test_reboot_restart_serial_log(lisa: Lisa, tmp_path: Path) -> None:
    lisa.playbook("deploy", lisa.runbook({"targets": [{"name": "vm", "platform": "libvirt"}]}), check=True)
    tests = tmp_path / "test_boots.py"
    tests.write_text(
        textwrap.dedent("""\
        import time

        def test_reboot_by_boot_id(target):
            before = target.boot_id()
            target.run("true")  # a master connection exists and goes stale with the reboot
            start = time.monotonic()
            after = target.reboot(timeout=300)
            assert after != before
            assert target.boot_id() == after
            print(f"reboot took {time.monotonic() - start:.1f} s")

        def test_restart_power_cycles(target):
            before = target.boot_id()
            after = target.restart(timeout=300)
            assert after != before and target.boot_id() == after

        def test_serial_log_has_the_boots(target):
            log = target.serial_log()
            assert log.count("Linux version") >= 3  # deploy, reboot, power cycle
            assert "LISA-HOSTKEY ssh-ed25519" in log
        """)
    )
    result = lisa.pytest(tests, "-s")
    assert result.returncode == 0, result.stdout[-6000:]
    assert "3 passed" in result.stdout
