"""Stand-ins for the lisa plugin's ``targets`` and ``metrics`` fixtures, until the plugin offers them.

Loaded with ``-p tests.vm.stand_in_fixtures`` only when the plugin lacks them, so the network suite's
two-target tests run on real VMs now. ``targets`` are the hosts named in LISA_STAND_IN_TARGETS, in that
order; ``metrics`` appends to the JSON lines file LISA_STAND_IN_METRICS and reads the previous value there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

from pytest_lisa.target import Target


class Metrics:
    def __init__(self, path: Path, test: str) -> None:
        self.path, self.test = path, test

    def _rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def previous(self, name: str) -> float | None:
        values = [row["value"] for row in self._rows() if (row["test"], row["name"]) == (self.test, name)]
        return float(values[-1]) if values else None

    def record(self, name: str, value: float, unit: str = "") -> None:
        with self.path.open("a") as out:
            out.write(json.dumps({"test": self.test, "name": name, "value": value, "unit": unit}) + "\n")


@pytest.fixture
def targets(request: pytest.FixtureRequest) -> Iterator[list[Target]]:
    inventory = request.config.getoption("ansible_inventory")
    found = [
        Target(testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory))
        for name in os.environ["LISA_STAND_IN_TARGETS"].split(",")
    ]
    yield found
    for target in found:
        target.close()


@pytest.fixture
def metrics(request: pytest.FixtureRequest) -> Metrics:
    return Metrics(Path(os.environ["LISA_STAND_IN_METRICS"]), request.node.originalname)
