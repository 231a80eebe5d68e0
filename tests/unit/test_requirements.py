"""Requirements against capabilities: yes/no with reasons, monotonicity, cheapest choice."""

from __future__ import annotations

import pytest
from ansible_collections.lisa.core.plugins.module_utils.requirements import (
    Capabilities,
    NoFittingTarget,
    Requirement,
    choose,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

SMALL = Capabilities(
    platform="libvirt", cpus=1, memory_mb=1024, disks=0, nics=1, features=frozenset({"serial_console"})
)
BIG = Capabilities(
    platform="libvirt",
    cpus=4,
    memory_mb=8192,
    disks=2,
    nics=2,
    features=frozenset({"serial_console", "gpu"}),
    cost=3,
)
AZURE = Capabilities(platform="azure", cpus=2, memory_mb=4096, nics=1, cost=10)


def test_met_with_no_reasons() -> None:
    verdict = Requirement(cpus=1).met_by(SMALL)
    assert verdict and verdict.reasons == () and verdict.explain() == "meets the requirement"


def test_reasons_are_plain_words() -> None:
    verdict = Requirement(
        platforms=frozenset({"azure", "hyperv"}),
        cpus=2,
        memory_mb=2048,
        disks=1,
        features=frozenset({"gpu", "sriov"}),
    ).met_by(SMALL, "target 'debian'")
    assert not verdict
    assert verdict.reasons == (
        "runs only on azure or hyperv, target 'debian' is on libvirt",
        "needs at least 2 CPUs, target 'debian' has 1 CPU",
        "needs at least 2048 MiB of memory, target 'debian' has 1024 MiB of memory",
        "needs at least 1 data disk, target 'debian' has 0 data disks",
        "needs the features gpu, sriov, which target 'debian' does not offer",
    )


def test_choose_prefers_the_cheapest_fitting_targets() -> None:
    candidates = [("big", BIG), ("azure", AZURE), ("small", SMALL)]
    assert choose(Requirement(cpus=1), candidates) == ["small"]
    assert choose(Requirement(cpus=2, count=2), candidates) == ["big", "azure"]


def test_choose_explains_when_too_few_fit() -> None:
    with pytest.raises(
        NoFittingTarget,
        match=r"needs 1 target\(s\), found 0 fitting targets: needs the feature gpu, which target 'small' does not",
    ):
        choose(Requirement(features=frozenset({"gpu"})), [("small", SMALL)])


def test_capabilities_round_trip_and_count_disk_lists() -> None:
    assert Capabilities.from_dict(BIG.to_dict()) == BIG
    assert Capabilities.from_dict({"platform": "libvirt", "disks": [{"size_gb": 1}, {"size_gb": 2}]}).disks == 2


features = st.frozensets(st.sampled_from(["gpu", "serial_console", "sriov", "data_disk"]))
capabilities = st.builds(
    Capabilities,
    platform=st.sampled_from(["libvirt", "azure", "ssh"]),
    cpus=st.integers(1, 16),
    memory_mb=st.integers(128, 16384),
    disks=st.integers(0, 4),
    nics=st.integers(1, 4),
    features=features,
    cost=st.floats(0, 20),
)
requirements = st.builds(
    Requirement,
    platforms=st.frozensets(st.sampled_from(["libvirt", "azure", "ssh"]), max_size=2),
    cpus=st.integers(0, 16),
    memory_mb=st.integers(0, 16384),
    disks=st.integers(0, 4),
    nics=st.integers(0, 4),
    features=features,
    count=st.integers(1, 3),
)


@given(requirements, capabilities, st.integers(0, 8), st.integers(0, 4096), features)
def test_property_more_capable_targets_still_meet(
    req: Requirement, caps: Capabilities, cpus: int, mem: int, extra: frozenset[str]
) -> None:
    bigger = Capabilities(
        caps.platform,
        caps.cpus + cpus,
        caps.memory_mb + mem,
        caps.disks,
        caps.nics,
        caps.features | extra,
        caps.cost,
    )
    if req.met_by(caps):
        assert req.met_by(bigger)


@given(requirements, capabilities)
def test_property_reasons_are_empty_exactly_when_met(req: Requirement, caps: Capabilities) -> None:
    verdict = req.met_by(caps)
    assert bool(verdict) == (verdict.reasons == ())


@given(requirements, requirements, capabilities)
def test_property_covered_requirements_are_met_too(a: Requirement, b: Requirement, caps: Capabilities) -> None:
    if a.is_covered_by(b) and b.met_by(caps):
        assert a.met_by(caps)


@given(requirements, st.lists(capabilities, max_size=6))
def test_property_choose_takes_the_cheapest_fitting(req: Requirement, pool: list[Capabilities]) -> None:
    candidates = [(f"t{i}", caps) for i, caps in enumerate(pool)]
    fitting = [(name, caps) for name, caps in candidates if req.met_by(caps)]
    if len(fitting) < req.count:
        with pytest.raises(NoFittingTarget):
            choose(req, candidates)
        return
    picked = choose(req, candidates)
    assert len(picked) == req.count == len(set(picked))
    costs = dict((name, caps.cost) for name, caps in candidates)
    worst_picked = max(costs[name] for name in picked)
    assert all(costs[name] >= worst_picked for name, _ in fitting if name not in picked)
