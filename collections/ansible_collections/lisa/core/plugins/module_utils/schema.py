# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small validator for the subset of JSON Schema 2020-12 that LISA's schemas use.

The runbook and the LISA mark are described by JSON Schema documents; ``lisa schema`` prints them for
editors. This module checks data against the same documents with the standard library alone (it runs
inside Ansible modules too) and words each problem for a person:
``targets[1].memory_mb: expected an integer ≥ 128, got 'lots'``.

Supported keywords: type, enum, const, minimum, maximum, minLength, pattern, items, minItems, maxItems,
uniqueItems, properties, required, additionalProperties, propertyNames, anyOf, allOf, if/then/else
and local ``$ref`` (``#/$defs/...``). Annotations (title, description, default, examples) are ignored.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Mapping, Sequence, Union

from ansible_collections.lisa.core.plugins.module_utils.errors import Problem

Schema = Mapping[str, Any]
PathPart = Union[str, int]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def format_path(parts: Sequence[PathPart]) -> str:
    """``["targets", 1, "memory_mb"]`` -> ``targets[1].memory_mb``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        elif _IDENTIFIER.match(part):
            text += ("." if text else "") + part
        else:
            text += "[%r]" % part
    return text


def describe_value(value: Any) -> str:
    """How a found value is shown in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a %s" % type(value).__name__


def _type_matches(value: Any, type_name: str) -> bool:
    if type_name == "object":
        return isinstance(value, Mapping)
    if type_name == "array":
        return isinstance(value, (list, tuple))
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if type_name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "null":
        return value is None
    raise ValueError("unsupported JSON Schema type %r" % type_name)


class Validator:
    """Checks instances against one root schema (which holds the ``$defs``)."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    def problems(self, instance: Any, schema: Schema | None = None) -> list[Problem]:
        found: list[Problem] = []
        self._check(instance, self.root if schema is None else schema, [], found)
        return found

    def is_valid(self, instance: Any, schema: Schema) -> bool:
        return not self.problems(instance, schema)

    # -- describing what is expected ------------------------------------------------------------------

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError("only local $ref is supported, got %r" % (ref,))
            target: Any = self.root
            for key in ref[2:].split("/"):
                target = target[key]
            schema = target
        return schema

    def describe(self, schema: Schema) -> str:
        """A phrase for what the schema accepts: ``an integer ≥ 128``, ``one of 'a', 'b'``."""
        schema = self.resolve(schema)
        if "const" in schema:
            return describe_value(schema["const"])
        if "enum" in schema:
            return "one of " + ", ".join(describe_value(v) for v in schema["enum"])
        if "anyOf" in schema:
            return " or ".join(self.describe(alt) for alt in schema["anyOf"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " or ".join(_TYPE_WORDS[k] for k in kind)
        if kind in ("integer", "number"):
            word = _TYPE_WORDS[kind]
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is not None and high is not None:
                return "%s %s–%s" % (word, low, high)
            if low is not None:
                return "%s ≥ %s" % (word, low)
            if high is not None:
                return "%s ≤ %s" % (word, high)
            return word
        if kind == "string":
            if "pattern" in schema:
                return "a string matching %s" % schema["pattern"]
            if schema.get("minLength"):
                return "a non-empty string"
            return "a string"
        if kind == "array":
            if "items" in schema:
                return "a list of (%s)" % self.describe(schema["items"])
            return "a list"
        if kind in _TYPE_WORDS:
            return _TYPE_WORDS[kind]
        return "a valid value"

    # -- checking --------------------------------------------------------------------------------------

    def _expected(self, schema: Schema, value: Any, path: list[PathPart], out: list[Problem]) -> None:
        out.append(Problem(format_path(path), "expected %s, got %s" % (self.describe(schema), describe_value(value))))

    def _check(self, value: Any, schema: Schema, path: list[PathPart], out: list[Problem]) -> None:
        if "$ref" in schema:
            self._check(value, self.resolve(schema), path, out)
            return
        if "anyOf" in schema:
            self._check_any_of(value, schema, path, out)
            return
        kind = schema.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(_type_matches(value, k) for k in kinds):
                self._expected(schema, value, path, out)
                return
        if "const" in schema and not _equal(value, schema["const"]):
            self._expected(schema, value, path, out)
            return
        if "enum" in schema and not any(_equal(value, v) for v in schema["enum"]):
            self._expected(schema, value, path, out)
            return
        if _type_matches(value, "number"):
            low, high = schema.get("minimum"), schema.get("maximum")
            if (low is not None and value < low) or (high is not None and value > high):
                self._expected(schema, value, path, out)
                return
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                self._expected(schema, value, path, out)
                return
            pattern = schema.get("pattern")
            if pattern is not None and not re.search(pattern, value):
                self._expected(schema, value, path, out)
                return
        if isinstance(value, (list, tuple)):
            self._check_array(value, schema, path, out)
        if isinstance(value, Mapping):
            self._check_object(value, schema, path, out)
        for sub in schema.get("allOf", ()):
            self._check(value, sub, path, out)
        if "if" in schema:
            branch = schema.get("then") if self.is_valid(value, schema["if"]) else schema.get("else")
            if branch is not None:
                self._check(value, branch, path, out)

    def _check_any_of(self, value: Any, schema: Schema, path: list[PathPart], out: list[Problem]) -> None:
        alternatives = [self.resolve(alt) for alt in schema["anyOf"]]
        attempts = []
        for alt in alternatives:
            found: list[Problem] = []
            self._check(value, alt, path, found)
            if not found:
                return
            attempts.append((alt, found))
        # Where exactly one alternative has the value's type, its own problems are the useful ones:
        # priority: [0, 9] -> "priority[1]: expected an integer 0–5, got 9".
        same_type = [found for alt, found in attempts if "type" in alt and _type_matches(value, str(alt["type"]))]
        if len(same_type) == 1:
            out.extend(same_type[0])
        else:
            self._expected(schema, value, path, out)

    def _check_array(self, value: Sequence[Any], schema: Schema, path: list[PathPart], out: list[Problem]) -> None:
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and len(value) < low:
            out.append(Problem(format_path(path), "expected at least %d item(s), got %d" % (low, len(value))))
        if high is not None and len(value) > high:
            out.append(Problem(format_path(path), "expected at most %d item(s), got %d" % (high, len(value))))
        if schema.get("uniqueItems"):
            for index, item in enumerate(value):
                if any(_equal(item, earlier) for earlier in value[:index]):
                    out.append(Problem(format_path([*path, index]), "%s is listed twice" % describe_value(item)))
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                self._check(item, items, [*path, index], out)

    def _check_object(self, value: Mapping[Any, Any], schema: Schema, path: list[PathPart], out: list[Problem]) -> None:
        properties: Mapping[str, Schema] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                out.append(Problem(format_path(path), "missing required key %r" % key))
        names = schema.get("propertyNames")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                out.append(Problem(format_path(path), "keys must be strings, got %s" % describe_value(key)))
                continue
            if names is not None and not self.is_valid(key, names):
                out.append(Problem(format_path([*path, key]), "bad key: expected %s" % self.describe(names)))
                continue
            if key in properties:
                self._check(item, properties[key], [*path, key], out)
            elif extra is False:
                out.append(Problem(format_path([*path, key]), _unknown_key_message(key, properties)))
            elif isinstance(extra, Mapping):
                self._check(item, extra, [*path, key], out)


def _unknown_key_message(key: str, allowed: Mapping[str, Any]) -> str:
    message = "unknown key"
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    if close:
        message += "; did you mean %r?" % close[0]
    if allowed:
        message += " (allowed here: %s)" % ", ".join(sorted(allowed))
    else:
        message += " (no keys are allowed here)"
    return message


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)
