# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test selection by criteria over LISA metadata.

A criteria list is applied in order. The fields of one entry are ANDed: ``name``, ``area`` and
``category`` are case-insensitive regular expressions that must match the whole value, ``priority`` is
a number or a list of numbers, ``tags`` matches a test carrying any of the listed tags. A matching
entry selects the test (``times`` repeats it) or, with ``exclude: true``, drops it; the last matching
entry decides. A list whose first entry is an exclude starts from every test, any other list from none,
so ``[{area: network, exclude: true}]`` means "everything but network".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Pattern, Sequence, Tuple

from ansible_collections.lisa.core.plugins.module_utils.errors import Problem, ValidationError
from ansible_collections.lisa.core.plugins.module_utils.schema import PathPart, Validator, format_path

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python < 3.8 on a managed node
    Protocol = object  # type: ignore[assignment]

PRIORITY = {"type": "integer", "minimum": 0, "maximum": 5}
_REGEX_FIELDS = ("name", "area", "category")

CRITERIA_ENTRY_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Fields are ANDed; the last entry matching a test decides whether it runs.",
    "properties": {
        "name": {"type": "string", "description": "Regular expression matching the whole test name."},
        "area": {"type": "string", "description": "Regular expression matching the whole area."},
        "category": {"type": "string", "description": "Regular expression matching the whole category."},
        "priority": {
            "anyOf": [PRIORITY, {"type": "array", "minItems": 1, "items": PRIORITY}],
            "description": "A priority or a list of priorities.",
        },
        "tags": {
            "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
            "description": "A tag or a list of tags; a test carrying any of them matches.",
        },
        "exclude": {"type": "boolean", "description": "Drop the matching tests instead of selecting them."},
        "times": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "description": "Run each matching test this often.",
        },
    },
}
CRITERIA_SCHEMA: Dict[str, Any] = {
    "type": "array",
    "description": "Criteria entries, applied in order.",
    "items": CRITERIA_ENTRY_SCHEMA,
}


class Selectable(Protocol):
    """What criteria look at: a test's name and its LISA metadata."""

    @property
    def name(self) -> str: ...

    @property
    def area(self) -> str: ...

    @property
    def category(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def tags(self) -> Tuple[str, ...]: ...


@dataclass(frozen=True)
class Entry:
    index: int
    source: Dict[str, Any]
    patterns: Tuple[Tuple[str, Pattern[str]], ...] = ()
    priorities: Optional[FrozenSet[int]] = None
    tags: Optional[FrozenSet[str]] = None
    exclude: bool = False
    times: int = 1

    def matches(self, test: Selectable) -> bool:
        for field_name, pattern in self.patterns:
            if not pattern.fullmatch(str(getattr(test, field_name))):
                return False
        if self.priorities is not None and test.priority not in self.priorities:
            return False
        return not (self.tags is not None and not self.tags.intersection(test.tags))

    def describe(self) -> str:
        parts = []
        for key, value in self.source.items():
            shown = ("true" if value else "false") if isinstance(value, bool) else value
            parts.append("%s: %s" % (key, shown))
        return "criteria[%d] {%s}" % (self.index, ", ".join(parts))


@dataclass(frozen=True)
class Decision:
    """Why a test runs or not; ``entry`` is the deciding entry's index, if any."""

    selected: bool
    times: int
    reason: str
    entry: Optional[int] = None


@dataclass(frozen=True)
class Criteria:
    entries: Tuple[Entry, ...] = ()
    name: str = "criteria"

    @classmethod
    def parse(cls, data: Any, path: Sequence[PathPart] = ("criteria",)) -> Tuple["Criteria", List[Problem]]:
        """Check and compile a criteria list; returns the criteria and the problems found."""
        problems = Validator(CRITERIA_SCHEMA).problems(data)
        prefix = list(path)
        if problems:
            return cls(name=format_path(prefix)), [_rebase(p, prefix) for p in problems]
        entries = []
        for index, raw in enumerate(data):
            where = [*prefix, index]
            patterns = []
            for field_name in _REGEX_FIELDS:
                if field_name in raw:
                    try:
                        patterns.append((field_name, re.compile(raw[field_name], re.IGNORECASE)))
                    except re.error as error:
                        problems.append(
                            Problem(
                                format_path([*where, field_name]),
                                "expected a regular expression, got %r (%s)" % (raw[field_name], error),
                            )
                        )
            if raw.get("exclude") and "times" in raw:
                problems.append(
                    Problem(
                        format_path([*where, "times"]),
                        "an entry with exclude: true drops tests; times has no meaning there",
                    )
                )
            priority = raw.get("priority")
            tags = raw.get("tags")
            entries.append(
                Entry(
                    index=index,
                    source=dict(raw),
                    patterns=tuple(patterns),
                    priorities=None
                    if priority is None
                    else frozenset([priority] if isinstance(priority, int) else priority),
                    tags=None if tags is None else frozenset([tags] if isinstance(tags, str) else tags),
                    exclude=bool(raw.get("exclude", False)),
                    times=int(raw.get("times", 1)),
                )
            )
        return cls(entries=tuple(entries), name=format_path(prefix)), problems

    @classmethod
    def from_data(cls, data: Any, path: Sequence[PathPart] = ("criteria",), source: str = "") -> "Criteria":
        """Like ``parse`` but raises ValidationError on any problem."""
        criteria, problems = cls.parse(data, path)
        if problems:
            raise ValidationError(problems, source)
        return criteria

    def __bool__(self) -> bool:
        return bool(self.entries)

    def explain(self, test: Selectable) -> Decision:
        if not self.entries:
            return Decision(True, 1, "selected: no criteria given")
        starts_with_exclude = self.entries[0].exclude
        decision = (
            Decision(True, 1, "selected: %s starts with an exclude, so every test starts selected" % self.name)
            if starts_with_exclude
            else Decision(False, 0, "not selected: no entry of %s matches it" % self.name)
        )
        for entry in self.entries:
            if not entry.matches(test):
                continue
            if entry.exclude:
                decision = Decision(False, 0, "dropped by %s" % entry.describe(), entry.index)
            else:
                times = " (%d times)" % entry.times if entry.times > 1 else ""
                decision = Decision(True, entry.times, "selected by %s%s" % (entry.describe(), times), entry.index)
        return decision

    def select(self, tests: Iterable[Any]) -> List[Tuple[Any, int]]:
        """The selected tests, in their given order, each with how many times it runs."""
        chosen = []
        for test in tests:
            decision = self.explain(test)
            if decision.selected:
                chosen.append((test, decision.times))
        return chosen


def _rebase(problem: Problem, prefix: List[PathPart]) -> Problem:
    base = format_path(prefix)
    if not problem.path:
        return Problem(base, problem.message)
    joiner = "" if problem.path.startswith("[") else "."
    return Problem(base + joiner + problem.path, problem.message)
