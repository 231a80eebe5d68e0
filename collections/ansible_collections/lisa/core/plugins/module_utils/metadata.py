# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LISA test metadata: the fields of the ``lisa`` mark, their defaults, validation and merging.

A test's metadata is merged from the marks on its module, class and function: the closest mark wins
field by field, and fields no mark gives take their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Tuple

from ansible_collections.lisa.core.plugins.module_utils.errors import Problem, ValidationError
from ansible_collections.lisa.core.plugins.module_utils.requirements import Requirement
from ansible_collections.lisa.core.plugins.module_utils.schema import Validator

CATEGORIES = ("Functional", "Performance", "Stress", "Community", "Longhaul")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_NAMES = {
    "anyOf": [
        {"type": "string", "pattern": _NAME},
        {"type": "array", "uniqueItems": True, "items": {"type": "string", "pattern": _NAME}},
    ]
}


def _minimum(description: str) -> Dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": 1048576, "description": description}


MARK_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "platform": dict(_NAMES, description="Platforms the test makes sense on; any when not given."),
        "category": {"enum": list(CATEGORIES), "description": "High-level kind of test."},
        "area": {"type": "string", "pattern": _NAME, "description": "Feature area the test covers."},
        "priority": {
            "type": "integer",
            "minimum": 0,
            "maximum": 5,
            "description": "0 is the most important.",
        },
        "tags": dict(_NAMES, description="Free-form labels for selection."),
        "features": dict(_NAMES, description="Target features the test needs."),
        "reuse": {"type": "boolean", "description": "False: the target is replaced after the test."},
        "count": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "description": "Targets the test needs at once.",
        },
        "cpus": _minimum("Minimum CPUs of each target."),
        "memory_mb": _minimum("Minimum memory of each target in MiB."),
        "disks": _minimum("Minimum data disks of each target."),
        "nics": _minimum("Minimum network interfaces of each target."),
    },
}
FIELDS = tuple(MARK_SCHEMA["properties"])
_LISTS = ("platform", "tags", "features")


@dataclass(frozen=True)
class Metadata:
    """The LISA metadata of one test; ``given`` names the fields some mark set explicitly."""

    name: str = ""
    platform: Tuple[str, ...] = ()
    category: str = "Functional"
    area: str = "default"
    priority: int = 2
    tags: Tuple[str, ...] = ()
    features: Tuple[str, ...] = ()
    reuse: bool = True
    count: int = 1
    cpus: int = 0
    memory_mb: int = 0
    disks: int = 0
    nics: int = 0
    description: str = ""
    given: FrozenSet[str] = field(default_factory=frozenset)

    @property
    def missing(self) -> Tuple[str, ...]:
        """The fields a well-described test should set but this one leaves to defaults."""
        return tuple(key for key in ("category", "area", "priority") if key not in self.given)

    def requirement(self) -> Requirement:
        return Requirement(
            platforms=frozenset(self.platform),
            cpus=self.cpus,
            memory_mb=self.memory_mb,
            disks=self.disks,
            nics=self.nics,
            features=frozenset(self.features),
            count=self.count,
        )

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "given":
                continue
            data[item.name] = list(value) if isinstance(value, tuple) else value
        return data


def normalize(fields_given: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[Problem]]:
    """Check one mark's fields; returns them normalized (lists as tuples, category capitalized)."""
    values = dict(fields_given)
    category = values.get("category")
    if isinstance(category, str):
        for known in CATEGORIES:
            if known.lower() == category.lower():
                values["category"] = known
    platform = values.get("platform")
    if isinstance(platform, str):
        values["platform"] = platform.lower()
    elif isinstance(platform, (list, tuple)):
        values["platform"] = [p.lower() if isinstance(p, str) else p for p in platform]
    problems = Validator(MARK_SCHEMA).problems(values)
    if problems:
        return {}, problems
    for key in _LISTS:
        if key in values:
            value = values[key]
            values[key] = (value,) if isinstance(value, str) else tuple(value)
    return values, []


def merge(marks: Iterable[Mapping[str, Any]], name: str = "", description: str = "") -> Metadata:
    """Merge the fields of marks ordered farthest first (module, class, function): the closest wins.

    Raises ValidationError naming the test and the field on a bad value.
    """
    merged: Dict[str, Any] = {}
    problems: List[Problem] = []
    for fields_given in marks:
        values, found = normalize(fields_given)
        problems.extend(found)
        merged.update(values)
    if problems:
        raise ValidationError(problems, "lisa mark of %s" % name if name else "lisa mark")
    return Metadata(name=name, description=description, given=frozenset(merged), **merged)
