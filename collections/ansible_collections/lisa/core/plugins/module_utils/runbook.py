# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runbook: which targets to deploy, with which defaults, and which tests to run on them.

A runbook is checked whole before anything is deployed. Its JSON Schema (``runbook_schema()``, printed
by ``lisa schema``) is assembled from the platform registry; the same document drives the validator,
and the checks a schema cannot express (unique names, required platform parameters after defaults,
regular expressions that compile) follow it here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.lisa.core.plugins.module_utils.criteria import CRITERIA_SCHEMA, Criteria
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError, Problem, ValidationError
from ansible_collections.lisa.core.plugins.module_utils.platforms import PLATFORMS, Platform, instance_names
from ansible_collections.lisa.core.plugins.module_utils.schema import Validator, format_path

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

SCHEMA_ID = "https://lisa.invalid/schemas/runbook.json"
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
FEATURE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
SUITE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# Suites every runbook has; a runbook's own ``suites`` add to these or replace them by name.
BUILTIN_SUITES: Dict[str, List[Dict[str, Any]]] = {
    "smoke": [{"priority": 0}],
    "core": [{"area": "core"}],
    "network": [{"area": "network"}],
    "storage": [{"area": "storage"}],
    "all": [{}],
}

TARGET_COMMON: Dict[str, Any] = {
    "name": {
        "type": "string",
        "pattern": NAME_PATTERN,
        "description": "Name of the target group: lowercase letters, digits and '-', at most 40.",
    },
    "platform": {"description": "Platform the target is deployed on."},  # enum filled in from the registry
    "count": {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "description": "Identical instances of this target; tests of the group spread over them.",
    },
    "features": {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "pattern": FEATURE_PATTERN},
        "description": "Features the target offers (serial_console, data_disk, ...); tests may require them.",
    },
    "cost": {
        "type": "number",
        "minimum": 0,
        "maximum": 1000000,
        "description": "Relative cost of one instance, overriding the platform's; the cheapest fitting target wins.",
    },
}


def _target_definition(platform: Platform) -> Dict[str, Any]:
    properties: Dict[str, Any] = copy.deepcopy(TARGET_COMMON)
    properties["platform"] = {"const": platform.name}
    if not platform.scalable:
        properties["count"] = dict(properties["count"], maximum=1)
    properties.update(copy.deepcopy(dict(platform.parameters)))
    return {
        "type": "object",
        "title": "%s target" % platform.name,
        "description": platform.description,
        "additionalProperties": False,
        "required": ["name", "platform"],
        "properties": properties,
    }


def _defaults_definition(platform: Platform) -> Dict[str, Any]:
    properties: Dict[str, Any] = copy.deepcopy(dict(platform.parameters))
    properties["features"] = copy.deepcopy(TARGET_COMMON["features"])
    properties["cost"] = copy.deepcopy(TARGET_COMMON["cost"])
    return {
        "type": "object",
        "title": "%s defaults" % platform.name,
        "description": "Defaults for every %s target of this runbook." % platform.name,
        "additionalProperties": False,
        "properties": properties,
    }


def runbook_schema() -> Dict[str, Any]:
    """The runbook's JSON Schema (draft 2020-12), assembled from the platform registry."""
    names = sorted(PLATFORMS)
    defs: Dict[str, Any] = {"criteria": CRITERIA_SCHEMA}
    for name in names:
        defs["target_%s" % name] = _target_definition(PLATFORMS[name])
        defs["defaults_%s" % name] = _defaults_definition(PLATFORMS[name])
    target = {
        "type": "object",
        "required": ["name", "platform"],
        "properties": {"platform": {"enum": names, "description": TARGET_COMMON["platform"]["description"]}},
        "allOf": [
            {
                "if": {
                    "type": "object",
                    "required": ["platform"],
                    "properties": {"platform": {"const": name}},
                },
                "then": {"$ref": "#/$defs/target_%s" % name},
            }
            for name in names
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "LISA runbook",
        "description": "Targets to deploy and the criteria that select tests to run on them.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "platforms": {
                "type": "object",
                "description": "Defaults per platform; a target's own keys override them.",
                "additionalProperties": False,
                "properties": {name: {"$ref": "#/$defs/defaults_%s" % name} for name in names},
            },
            "targets": {"type": "array", "description": "Target groups to deploy.", "items": target},
            "criteria": {"$ref": "#/$defs/criteria"},
            "timeout": {
                "type": "integer",
                "minimum": 0,
                "maximum": 86400,
                "description": "Seconds a test may take before it fails (pytest-timeout); 0: no limit.",
            },
            "suites": {
                "type": "object",
                "description": "Named criteria lists, chosen with -e suite=NAME or --lisa-suite NAME.",
                "propertyNames": {"type": "string", "pattern": SUITE_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/criteria"},
            },
        },
        "$defs": defs,
    }


@dataclass(frozen=True)
class TargetSpec:
    """One target group of a runbook, with every default merged in."""

    name: str
    platform: str
    count: int = 1
    features: Tuple[str, ...] = ()
    cost: float = 1.0
    params: Mapping[str, Any] = field(default_factory=dict)

    def instance_names(self) -> List[str]:
        """Names of the target's instances in the pool and the inventory: ``<name>-1`` ... ``<name>-<count>``."""
        return instance_names(self.name, self.count)

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"name": self.name, "platform": self.platform, "count": self.count}
        data["features"] = list(self.features)
        data["cost"] = self.cost
        data.update(copy.deepcopy(dict(self.params)))
        return data


@dataclass(frozen=True)
class Runbook:
    targets: Tuple[TargetSpec, ...]
    criteria: Criteria
    suites: Mapping[str, Criteria]
    source: str = ""
    timeout: Optional[int] = None

    def suite(self, name: str) -> Criteria:
        if name not in self.suites:
            raise LisaError(
                "%sunknown suite %r; this runbook has: %s"
                % (_prefix(self.source), name, ", ".join(sorted(self.suites)))
            )
        return self.suites[name]

    def target(self, name: str) -> TargetSpec:
        for spec in self.targets:
            if spec.name == name:
                return spec
        raise LisaError("%sno target named %r" % (_prefix(self.source), name))


def _prefix(source: str) -> str:
    return "%s: " % source if source else ""


def load(data: Any, source: str = "") -> Runbook:
    """Validate runbook data and resolve it; raises ValidationError listing every problem."""
    if data is None:
        data = {}
    problems = Validator(runbook_schema()).problems(data)
    if problems:
        raise ValidationError(problems, source)
    platform_defaults: Mapping[str, Mapping[str, Any]] = data.get("platforms", {})
    targets: List[TargetSpec] = []
    seen: Dict[str, int] = {}
    for index, raw in enumerate(data.get("targets", [])):
        path: List[Any] = ["targets", index]
        if raw["name"] in seen:
            problems.append(
                Problem(
                    format_path([*path, "name"]),
                    "%r is already the name of targets[%d]; target names must be unique"
                    % (raw["name"], seen[raw["name"]]),
                )
            )
            continue
        seen[raw["name"]] = index
        spec, missing = _resolve_target(raw, platform_defaults.get(raw["platform"], {}))
        for key in missing:
            problems.append(
                Problem(
                    format_path(path),
                    "missing required key %r for platform %s (set it on the target or under platforms.%s)"
                    % (key, raw["platform"], raw["platform"]),
                )
            )
        check = PLATFORMS[spec.platform].check
        if check is not None and not missing:
            for key, message in check(spec.params, spec.count):
                where = ""
                if key not in raw:  # the value came from the runbook's platform defaults: say so
                    where = " (%s: %s is set under platforms.%s)" % (key, spec.params[key], spec.platform)
                problems.append(Problem(format_path([*path, key]), message + where))
        targets.append(spec)
    criteria, criteria_problems = Criteria.parse(data.get("criteria", []), ["criteria"])
    problems.extend(criteria_problems)
    suites: Dict[str, Criteria] = {}
    for name, entries in BUILTIN_SUITES.items():
        suites[name] = Criteria.parse(entries, ["suites", name])[0]
    for name, entries in data.get("suites", {}).items():
        suites[name], suite_problems = Criteria.parse(entries, ["suites", name])
        problems.extend(suite_problems)
    if problems:
        raise ValidationError(problems, source)
    return Runbook(targets=tuple(targets), criteria=criteria, suites=suites, source=source, timeout=data.get("timeout"))


def _resolve_target(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> Tuple[TargetSpec, List[str]]:
    platform = PLATFORMS[raw["platform"]]
    merged: Dict[str, Any] = copy.deepcopy(dict(platform.defaults))
    merged.update(copy.deepcopy(dict(defaults)))
    merged.update(copy.deepcopy({k: v for k, v in raw.items() if k not in ("name", "platform", "count")}))
    features = tuple(merged.pop("features", ()))
    cost = float(merged.pop("cost", platform.cost))
    missing = [key for key in platform.required if key not in merged]
    spec = TargetSpec(
        name=raw["name"],
        platform=platform.name,
        count=int(raw.get("count", 1)),
        features=features,
        cost=cost,
        params=merged,
    )
    return spec, missing


class _UniqueKeyLoader(yaml.SafeLoader if HAS_YAML else object):  # type: ignore[misc]
    """A YAML loader that rejects a key given twice in one mapping, instead of keeping the last."""


def _construct_mapping(loader: Any, node: Any, deep: bool = False) -> Dict[Any, Any]:
    seen: Dict[Any, Any] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise LisaError(
                "line %d: key %r is given twice in one mapping (first on line %d)"
                % (key_node.start_mark.line + 1, key, seen[key] + 1)
            )
        seen[key] = key_node.start_mark.line
    return dict(loader.construct_mapping(node, deep=deep))


if HAS_YAML:
    _UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, source: str = "") -> Any:
    """Parse YAML text; a syntax error becomes a LisaError naming the line."""
    if not HAS_YAML:
        raise LisaError("reading YAML needs PyYAML: install it with 'pip install PyYAML'")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except LisaError as error:
        raise LisaError("%s%s" % (_prefix(source), error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = "line %d, column %d: " % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise LisaError("%snot valid YAML: %s%s" % (_prefix(source), where, problem)) from None


def load_file(path: str, extra: Optional[Mapping[str, Any]] = None) -> Runbook:
    """Read, validate and resolve a runbook file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise LisaError("cannot read runbook %s: %s" % (path, error.strerror or error)) from None
    data = parse_yaml(text, path)
    if extra:
        data = dict(data or {}, **extra)
    return load(data, path)
