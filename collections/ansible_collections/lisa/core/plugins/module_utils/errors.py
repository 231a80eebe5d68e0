# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors that are meant for people: each says where, what was expected and what was found."""

from __future__ import annotations

from dataclasses import dataclass


class LisaError(Exception):
    """An error caused by the user's input or environment; shown without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, at a key path such as ``targets[1].memory_mb``."""

    path: str
    message: str

    def __str__(self) -> str:
        return "%s: %s" % (self.path or "(top level)", self.message)


class ValidationError(LisaError):
    """One or more problems found in an input (a runbook, a LISA mark, criteria)."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        prefix = "%s: " % self.source if self.source else ""
        return "\n".join(prefix + str(problem) for problem in self.problems)
