"""Requirement matching against the capabilities measured on real targets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import Lisa

pytestmark = pytest.mark.ssh


def test_tests_run_only_where_their_requirement_is_met(lisa: Lisa, ssh_fleet, tmp_path: Path) -> None:
    fleet = ssh_fleet(3)
    first, *others = fleet.machines
    targets = [first.target(fleet.client_key, features=["gpu"])] + [m.target(fleet.client_key) for m in others]
    lisa.playbook("deploy", lisa.runbook({"targets": targets}), check=True)
    tests = tmp_path / "test_needs.py"
    tests.write_text(
        textwrap.dedent("""\
        import pytest

        @pytest.mark.lisa(features=["gpu"])
        def test_gpu(host):
            assert host.backend.host == "m1-1"

        @pytest.mark.lisa(cpus=4096)
        def test_huge(host):
            raise AssertionError("must not run anywhere")

        @pytest.mark.lisa(platform="azure")
        def test_azure_driver(host):
            raise AssertionError("must not run outside Azure")

        def test_everywhere(host):
            assert host.run("true").rc == 0
        """)
    )
    result = lisa.pytest(tests)
    assert result.returncode == 0, result.stdout[-5000:]
    out = result.stdout
    assert "4 passed, 8 deselected" in out
    assert "test_gpu[ansible://m1-1] PASSED" in out
    assert "needs the feature gpu, which target m2-1 does not offer" in out
    assert "needs at least 4096 CPUs, target m1-1 has" in out
    assert "runs only on azure, target m3-1 is on ssh" in out
    assert "Capabilities" not in out and "Requirement(" not in out  # plain words, never a class name
