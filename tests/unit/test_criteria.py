"""Criteria: AND within an entry, order between entries, exclude, times, explain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from ansible_collections.lisa.core.plugins.module_utils.criteria import Criteria
from hypothesis import given
from hypothesis import strategies as st

from pytest_lisa.core import errors

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class T:
    name: str
    area: str = "core"
    category: str = "Functional"
    priority: int = 2
    tags: tuple[str, ...] = ()


SMOKE = T("test_smoke", area="boot", priority=0, tags=("quick",))
NET = T("test_ping", area="network", priority=0)
NET_PERF = T("test_iperf", area="network", category="Performance", priority=3, tags=("slow",))
DISK = T("test_disk", area="storage", priority=1, tags=("quick", "disk"))
TESTS = [SMOKE, NET, NET_PERF, DISK]


def chosen(entries: list[dict[str, Any]], tests: list[T] = TESTS) -> list[tuple[str, int]]:
    return [(t.name, n) for t, n in Criteria.from_data(entries).select(tests)]


def test_no_criteria_selects_everything_once() -> None:
    assert chosen([]) == [(t.name, 1) for t in TESTS]


def test_fields_of_one_entry_are_anded() -> None:
    assert chosen([{"area": "network", "priority": 0}]) == [("test_ping", 1)]


def test_regex_matches_the_whole_value_case_insensitively() -> None:
    assert chosen([{"area": "NET"}]) == []
    assert chosen([{"area": "NET.*"}]) == [("test_ping", 1), ("test_iperf", 1)]
    assert chosen([{"name": "smoke"}]) == []  # the whole name, not a part of it
    assert chosen([{"name": ".*smoke"}]) == [("test_smoke", 1)]
    assert chosen([{"category": "performance"}]) == [("test_iperf", 1)]


def test_priority_is_a_number_or_a_list() -> None:
    assert chosen([{"priority": 1}]) == [("test_disk", 1)]
    assert chosen([{"priority": [1, 3]}]) == [("test_iperf", 1), ("test_disk", 1)]


def test_tags_match_any_of_the_listed() -> None:
    assert chosen([{"tags": "disk"}]) == [("test_disk", 1)]
    assert chosen([{"tags": ["slow", "quick"]}]) == [("test_smoke", 1), ("test_iperf", 1), ("test_disk", 1)]


def test_a_later_exclude_removes_and_a_later_select_adds_back() -> None:
    entries = [{"priority": 0}, {"area": "network", "exclude": True}]
    assert chosen(entries) == [("test_smoke", 1)]
    assert chosen([*entries, {"name": "test_ping"}]) == [("test_smoke", 1), ("test_ping", 1)]


def test_a_list_starting_with_exclude_starts_from_every_test() -> None:
    assert chosen([{"area": "network", "exclude": True}]) == [("test_smoke", 1), ("test_disk", 1)]


def test_times_repeats_and_the_last_matching_select_decides() -> None:
    assert chosen([{"priority": 0}, {"name": "test_smoke", "times": 3}]) == [
        ("test_smoke", 3),
        ("test_ping", 1),
    ]
    assert chosen([{"name": "test_smoke", "times": 3}, {"priority": 0}]) == [
        ("test_smoke", 1),
        ("test_ping", 1),
    ]


def test_explain_names_the_deciding_entry() -> None:
    criteria = Criteria.from_data(
        [{"priority": 0}, {"area": "network", "exclude": True}, {"name": ".*smoke", "times": 2}]
    )
    assert criteria.explain(NET).reason == "dropped by criteria[1] {area: network, exclude: true}"
    assert criteria.explain(SMOKE).reason == "selected by criteria[2] {name: .*smoke, times: 2} (2 times)"
    assert criteria.explain(DISK).reason == "not selected: no entry of criteria matches it"
    assert criteria.explain(SMOKE).entry == 2
    assert Criteria.from_data([]).explain(DISK).reason == "selected: no criteria given"


def test_bad_criteria_are_rejected_with_their_path() -> None:
    with pytest.raises(errors.ValidationError, match=r"suites.nightly\[0\].name: expected a regular expression"):
        Criteria.from_data([{"name": "("}], ["suites", "nightly"])


# -- properties -----------------------------------------------------------------------------------------

AREAS = ["core", "network", "storage"]
tests_strategy = st.lists(
    st.builds(
        T,
        name=st.sampled_from(["test_a", "test_b", "test_smoke", "test_net"]),
        area=st.sampled_from(AREAS),
        category=st.sampled_from(["Functional", "Performance"]),
        priority=st.integers(0, 5),
        tags=st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True).map(tuple),
    ),
    max_size=8,
)
field_strategy = st.fixed_dictionaries(
    {},
    optional={
        "area": st.sampled_from([*AREAS, "net.*", ".*"]),
        "name": st.sampled_from(["test_a", "test_.*", ".*smoke"]),
        "priority": st.integers(0, 5) | st.lists(st.integers(0, 5), min_size=1, max_size=3),
        "tags": st.sampled_from(["x", "y"]) | st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=2),
        "category": st.sampled_from(["functional", "perf.*"]),
    },
)
entry_strategy = st.one_of(
    field_strategy,
    field_strategy.map(lambda e: {**e, "exclude": True}),
    st.tuples(field_strategy, st.integers(1, 4)).map(lambda p: {**p[0], "times": p[1]}),
)


def names(entries: list[dict[str, Any]], tests: list[T]) -> list[int]:
    return [id(t) for t, _ in Criteria.from_data(entries).select(tests)]


@given(field_strategy, field_strategy, tests_strategy)
def test_property_one_entry_is_the_intersection_of_its_fields(
    a: dict[str, Any], b: dict[str, Any], tests: list[T]
) -> None:
    if set(a) & set(b):
        return
    both = set(names([{**a, **b}], tests))
    assert both == set(names([a], tests)) & set(names([b], tests))


@given(st.lists(field_strategy, min_size=1, max_size=4), tests_strategy, st.randoms())
def test_property_selects_alone_are_a_union_in_any_order(
    entries: list[dict[str, Any]], tests: list[T], rnd: Any
) -> None:
    union = set().union(*(names([e], tests) for e in entries))
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert set(names(entries, tests)) == union == set(names(shuffled, tests))


@given(st.lists(entry_strategy, min_size=1, max_size=5), field_strategy, tests_strategy)
def test_property_appending_an_exclude_never_adds_and_drops_what_it_matches(
    entries: list[dict[str, Any]], exclude: dict[str, Any], tests: list[T]
) -> None:
    before = set(names(entries, tests))
    after_criteria = Criteria.from_data([*entries, {**exclude, "exclude": True}])
    after = {id(t) for t, _ in after_criteria.select(tests)}
    assert after <= before
    assert not any(after_criteria.entries[-1].matches(t) for t in tests if id(t) in after)


@given(st.lists(entry_strategy, min_size=1, max_size=5), field_strategy, tests_strategy)
def test_property_appending_a_select_never_removes(
    entries: list[dict[str, Any]], select: dict[str, Any], tests: list[T]
) -> None:
    assert set(names(entries, tests)) <= set(names([*entries, select], tests))


@given(st.lists(entry_strategy, max_size=5), tests_strategy)
def test_property_explain_agrees_with_select(entries: list[dict[str, Any]], tests: list[T]) -> None:
    criteria = Criteria.from_data(entries)
    selected = {id(t): n for t, n in criteria.select(tests)}
    for test in tests:
        decision = criteria.explain(test)
        assert decision.selected == (id(test) in selected)
        assert decision.times == selected.get(id(test), 0)
        if decision.entry is not None:
            assert criteria.entries[decision.entry].matches(test)
