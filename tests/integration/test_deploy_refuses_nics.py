"""A libvirt nics combination LISA cannot give is refused by the deploy playbook before anything exists."""

from __future__ import annotations

import pytest

from tests.helpers import Lisa, libvirt_domains

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            {"count": 1, "nics": 2},
            "targets[0].nics: nics: 2 on libvirt links the two instances of this target group point to point, so it "
            "needs count: 2 (this target has count: 1); set count: 2, or nics: 1",
        ),
        (
            {"count": 2, "nics": 3},
            "targets[0].nics: libvirt VMs have at most 2 network interfaces, got 3; use nics: 1, or nics: 2 with "
            "count: 2",
        ),
    ],
    ids=["nics2-count1", "nics3"],
)
def test_deploy_refuses_nics_before_creating_anything(lisa: Lisa, target: dict[str, int], expected: str) -> None:
    domains = set(libvirt_domains())
    runbook = lisa.runbook({"targets": [{"name": "wide", "platform": "libvirt", **target}]})
    result = lisa.playbook("deploy", runbook)
    assert result.returncode != 0
    assert "TASK [Validate the runbook]" in result.stdout
    assert expected in result.stdout, result.stdout[-3000:]
    assert "Record the target in the pool" not in result.stdout
    assert lisa.pool() == {}
    assert not {d for d in libvirt_domains() if d.endswith("-wide-1")} - domains
