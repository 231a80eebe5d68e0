"""Backoff, wait_until and boot detection, on a fake clock (no real sleeping)."""

from __future__ import annotations

import random

import pytest
from ansible_collections.lisa.core.plugins.module_utils.backoff import (
    Backoff,
    WaitTimeout,
    wait_for_new_boot,
    wait_until,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@given(st.floats(0.01, 2), st.floats(1, 4), st.floats(2, 30), st.floats(0, 0.99), st.integers(0, 2**32))
def test_property_delays_grow_to_the_cap_within_jitter(
    initial: float, factor: float, maximum: float, jitter: float, seed: int
) -> None:
    backoff = Backoff(initial, factor, max(maximum, initial), jitter, random.Random(seed))
    base = initial
    for delay, _ in zip(backoff.delays(), range(30), strict=False):
        assert base * (1 - jitter) - 1e-9 <= delay <= base + 1e-9
        base = min(base * factor, backoff.maximum)


def test_bad_backoff_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="initial > 0"):
        Backoff(initial=0)


@given(st.integers(0, 50), st.floats(0.5, 60))
def test_property_wait_until_returns_the_first_true_value_and_never_sleeps_past_the_deadline(
    ready_after: int, timeout: float
) -> None:
    clock = FakeClock()
    start = clock.now
    calls = []

    def probe() -> str | None:
        calls.append(clock.now)
        return "ready" if len(calls) > ready_after else None

    try:
        result = wait_until(probe, timeout, clock=clock, sleep=clock.sleep)
    except WaitTimeout as error:
        timed_out: WaitTimeout | None = error
    else:
        timed_out = None
        assert result == "ready"
    if timed_out is not None:
        assert timed_out.attempts == len(calls)
        assert clock.now == pytest.approx(start + timeout)
    assert all(t <= start + timeout + 1e-9 for t in calls)
    assert clock.now <= start + timeout + 1e-9


def test_wait_until_reports_the_last_error() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(
        WaitTimeout,
        match=r"port 22 open did not happen within 3s \(\d+ attempts\); last error: connection refused",
    ):
        wait_until(probe, 3, "port 22 open", retry_on=(OSError,), clock=clock, sleep=clock.sleep)


def test_unexpected_errors_are_not_swallowed() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_until(probe, 3, clock=clock, sleep=clock.sleep)


def test_new_boot_is_detected_by_boot_id_change_through_downtime() -> None:
    clock = FakeClock()
    answers = iter(["old-id\n", ConnectionResetError("down"), ConnectionRefusedError("down"), "old-id", "new-id\n"])

    def read() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_for_new_boot(read, "old-id", timeout=60, clock=clock, sleep=clock.sleep) == "new-id"


def test_a_machine_that_never_reboots_times_out() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match="a new boot \\(boot id other than abc\\) did not happen within 30s"):
        wait_for_new_boot(lambda: "abc", "abc", timeout=30, clock=clock, sleep=clock.sleep)
