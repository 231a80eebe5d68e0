"""Shared fixtures of LISA's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fleet import Fleet
from tests.helpers import Lisa

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The root of this checkout."""
    return REPO


@pytest.fixture
def ssh_fleet() -> Iterator[Callable[[int], Fleet]]:
    """A factory: ``ssh_fleet(3)`` starts three sshd machines; all are removed after the test."""
    fleets: list[Fleet] = []

    def start(size: int, prefix: str = "m") -> Fleet:
        fleet = Fleet(size, prefix)
        fleets.append(fleet)
        fleet.start()
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


@pytest.fixture
def lisa(tmp_path: Path) -> Iterator[Lisa]:
    """An isolated LISA state directory; whatever a test leaves in its pool is cleaned up after it."""
    state = Lisa(tmp_path / "state")
    try:
        yield state
        if state.pool():
            state.playbook("cleanup")
            assert not state.pool(), "cleanup left targets in the pool"
    finally:
        state.close()
