"""The LISA mark's fields: defaults, validation, closest-wins merging."""

from __future__ import annotations

import pytest

from pytest_lisa.core import errors, metadata

pytestmark = pytest.mark.unit


def test_defaults_when_no_mark_gives_a_field() -> None:
    meta = metadata.merge([], name="test_x")
    assert (meta.category, meta.area, meta.priority, meta.count, meta.reuse) == (
        "Functional",
        "default",
        2,
        1,
        True,
    )
    assert meta.missing == ("category", "area", "priority")


def test_closest_mark_wins_field_by_field() -> None:
    module = {"area": "network", "priority": 1, "tags": ["nightly"]}
    klass = {"priority": 0, "features": "sriov"}
    function = {"tags": ("quick", "smoke"), "count": 2}
    meta = metadata.merge([module, klass, function], name="test_ping")
    assert meta.area == "network"
    assert meta.priority == 0
    assert meta.tags == ("quick", "smoke")
    assert meta.features == ("sriov",)
    assert meta.count == 2
    assert meta.given == frozenset({"area", "priority", "tags", "features", "count"})


def test_category_and_platform_are_case_insensitive() -> None:
    meta = metadata.merge([{"category": "performance", "platform": ["Azure", "HyperV"]}])
    assert meta.category == "Performance"
    assert meta.platform == ("azure", "hyperv")


def test_requirement_from_metadata() -> None:
    req = metadata.merge([{"platform": "azure", "features": ["gpu"], "cpus": 4, "count": 2}]).requirement()
    assert (
        req.platforms == frozenset({"azure"})
        and req.features == frozenset({"gpu"})
        and req.cpus == 4
        and req.count == 2
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"priority": 7}, "lisa mark of test_x: priority: expected an integer 0–5, got 7"),
        ({"category": "Unit"}, "lisa mark of test_x: category: expected one of 'Functional', 'Performance'"),
        ({"count": 0}, "lisa mark of test_x: count: expected an integer 1–100, got 0"),
        ({"reuse": "no"}, "lisa mark of test_x: reuse: expected true or false, got 'no'"),
        ({"tags": [1]}, "lisa mark of test_x: tags[0]: expected a string matching"),
        ({"prio": 1}, "lisa mark of test_x: prio: unknown key; did you mean 'priority'?"),
    ],
)
def test_bad_fields_name_the_test_and_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        metadata.merge([fields], name="test_x")
    assert str(caught.value).startswith(message)
