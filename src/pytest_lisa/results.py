"""The results store: every test's outcome, duration and metrics, run after run, in SQLite.

It lives in the state directory (``results.sqlite`` beside the pool). pytest-xdist workers write metrics
from their own processes, so every connection waits for the others' locks instead of failing.
"""

from __future__ import annotations

import datetime
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, mode TEXT, command TEXT, exit_status INTEGER
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL, nodeid TEXT NOT NULL, test TEXT NOT NULL, target TEXT, target_group TEXT,
    outcome TEXT NOT NULL, duration REAL NOT NULL, reruns INTEGER NOT NULL DEFAULT 0, recorded TEXT NOT NULL,
    PRIMARY KEY (run_id, nodeid)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, nodeid TEXT NOT NULL, test TEXT NOT NULL, target TEXT, target_group TEXT,
    name TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '', recorded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_lookup ON metrics (test, target_group, name, recorded);
"""


def results_path(state_dir: str) -> str:
    """Where the results store of a state directory is, beside its pool."""
    return os.path.join(state_dir, "results.sqlite")


def new_run_id() -> str:
    """A run's name: when it started (UTC), and a random part so two runs started together differ."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


class ResultsStore:
    """One SQLite file; each call opens its own short connection (safe across processes and threads)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=60)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # one transaction
                yield db

    def begin_run(self, run_id: str, mode: str, command: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO runs (run_id, started, mode, command) VALUES (?, ?, ?, ?)",
                (run_id, now(), mode, command),
            )

    def end_run(self, run_id: str, exit_status: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET finished = ?, exit_status = ? WHERE run_id = ?", (now(), exit_status, run_id))

    def record_result(
        self,
        run_id: str,
        nodeid: str,
        test: str,
        target: str | None,
        group: str | None,
        outcome: str,
        duration: float,
        reruns: int = 0,
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, nodeid, test, target, group, outcome, duration, reruns, now()),
            )

    def record_metric(
        self,
        run_id: str,
        nodeid: str,
        test: str,
        target: str | None,
        group: str | None,
        name: str,
        value: float,
        unit: str = "",
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, nodeid, test, target, group, name, float(value), unit, now()),
            )

    def previous_metric(self, test: str, group: str | None, name: str, before_run: str) -> float | None:
        """The newest value of a test's metric on the same target group from an earlier run."""
        with self._connect() as db:
            row = db.execute(
                "SELECT value FROM metrics WHERE test = ? AND target_group IS ? AND name = ? AND run_id != ?"
                " ORDER BY recorded DESC LIMIT 1",
                (test, group, name, before_run),
            ).fetchone()
        return None if row is None else float(row["value"])

    def results(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM results WHERE run_id = ? ORDER BY nodeid", (run_id,)).fetchall()
        return [dict(row) for row in rows]

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM metrics WHERE run_id = ? ORDER BY recorded", (run_id,)).fetchall()
        return [dict(row) for row in rows]

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest runs first, each with its counts of outcomes."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT r.*, "
                " (SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.outcome = 'passed') AS passed,"
                " (SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.outcome != 'passed'"
                "   AND x.outcome != 'skipped') AS failed,"
                " (SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.outcome = 'skipped') AS skipped"
                " FROM runs r ORDER BY started DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [dict(row) for row in rows]


class Regression(AssertionError):
    """A metric got worse than the previous run's by more than the tolerance."""


@dataclass
class Metrics:
    """What a test gets from the ``metrics`` fixture: record values, compare with the previous run."""

    store: ResultsStore
    run_id: str
    nodeid: str
    test: str
    target: str | None
    group: str | None
    properties: list[tuple[str, object]]

    def record(self, name: str, value: float, unit: str = "") -> float:
        """Store a value (shown in the JUnit properties and the HTML report too) and return it."""
        self.store.record_metric(self.run_id, self.nodeid, self.test, self.target, self.group, name, value, unit)
        self.properties.append((f"metric_{name}", f"{value:g} {unit}".strip()))
        return value

    def previous(self, name: str) -> float | None:
        """The value this test recorded on the same target group in the newest earlier run, if any."""
        return self.store.previous_metric(self.test, self.group, name, self.run_id)

    def check_regression(self, name: str, value: float, tolerance: float = 0.1, higher_is_better: bool = True) -> None:
        """Fail when ``value`` is worse than the previous run's by more than ``tolerance`` (a fraction)."""
        before = self.previous(name)
        if before is None or before == 0:
            return
        change = (value - before) / abs(before)
        worse = -change if higher_is_better else change
        if worse > tolerance:
            raise Regression(
                f"{name} regressed: {value:g} now, {before:g} in the previous run "
                f"({abs(change):.0%} {'lower' if higher_is_better else 'higher'}; tolerance {tolerance:.0%})"
            )
