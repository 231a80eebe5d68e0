# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a target offers (capabilities) against what a test needs (a requirement).

``Requirement.met_by(capabilities)`` answers yes or no with the reasons in plain words, and
``choose()`` picks the cheapest targets that meet a requirement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Tuple

from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError

_QUANTITIES = (
    ("cpus", "CPU", "CPUs"),
    ("memory_mb", "MiB of memory", "MiB of memory"),
    ("disks", "data disk", "data disks"),
    ("nics", "network interface", "network interfaces"),
)


def _amount(value: int, singular: str, plural: str) -> str:
    return "%d %s" % (value, singular if value == 1 else plural)


@dataclass(frozen=True)
class Capabilities:
    """What one target instance offers; measured on the target after deploy, predicted before."""

    platform: str
    cpus: int = 1
    memory_mb: int = 0
    disks: int = 0
    nics: int = 1
    features: FrozenSet[str] = field(default_factory=frozenset)
    cost: float = 1.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Capabilities":
        disks = data.get("disks", 0)
        return cls(
            platform=str(data["platform"]),
            cpus=int(data.get("cpus", 1)),
            memory_mb=int(data.get("memory_mb", 0)),
            disks=len(disks) if isinstance(disks, (list, tuple)) else int(disks),
            nics=int(data.get("nics", 1)),
            features=frozenset(data.get("features", ())),
            cost=float(data.get("cost", 1.0)),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "platform": self.platform,
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "disks": self.disks,
            "nics": self.nics,
            "features": sorted(self.features),
            "cost": self.cost,
        }


@dataclass(frozen=True)
class Verdict:
    """Whether a target meets a requirement; ``reasons`` say why not."""

    met: bool
    reasons: Tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.met

    def explain(self) -> str:
        return "meets the requirement" if self.met else "; ".join(self.reasons)


@dataclass(frozen=True)
class Requirement:
    """What a test needs of each target instance it runs on, and how many instances."""

    platforms: FrozenSet[str] = field(default_factory=frozenset)  # empty: any platform
    cpus: int = 0
    memory_mb: int = 0
    disks: int = 0
    nics: int = 0
    features: FrozenSet[str] = field(default_factory=frozenset)
    count: int = 1

    def met_by(self, capabilities: Capabilities, target: str = "the target") -> Verdict:
        reasons: List[str] = []
        if self.platforms and capabilities.platform not in self.platforms:
            reasons.append(
                "runs only on %s, %s is on %s" % (" or ".join(sorted(self.platforms)), target, capabilities.platform)
            )
        for key, singular, plural in _QUANTITIES:
            needed, offered = getattr(self, key), getattr(capabilities, key)
            if offered < needed:
                reasons.append(
                    "needs at least %s, %s has %s"
                    % (_amount(needed, singular, plural), target, _amount(offered, singular, plural))
                )
        missing = sorted(self.features - capabilities.features)
        if missing:
            reasons.append(
                "needs the feature%s %s, which %s does not offer"
                % ("s" if len(missing) > 1 else "", ", ".join(missing), target)
            )
        return Verdict(not reasons, tuple(reasons))

    def is_covered_by(self, other: "Requirement") -> bool:
        """True when every target meeting ``other`` also meets this requirement."""
        platforms_ok = not self.platforms or (bool(other.platforms) and other.platforms <= self.platforms)
        return (
            platforms_ok
            and all(getattr(self, quantity[0]) <= getattr(other, quantity[0]) for quantity in _QUANTITIES)
            and self.features <= other.features
        )


class NoFittingTarget(LisaError):
    """No target, or not enough of them, meets a requirement."""


def choose(requirement: Requirement, candidates: Iterable[Tuple[str, Capabilities]]) -> List[str]:
    """Names of the ``requirement.count`` cheapest candidates that meet it (ties by name).

    Raises NoFittingTarget with every candidate's reason when there are too few.
    """
    fitting: List[Tuple[float, str]] = []
    rejected: List[str] = []
    for name, capabilities in candidates:
        verdict = requirement.met_by(capabilities, "target %r" % name)
        if verdict:
            fitting.append((capabilities.cost, name))
        else:
            rejected.append(verdict.explain())
    fitting.sort()
    if len(fitting) < requirement.count:
        found = "%d fitting target%s" % (len(fitting), "" if len(fitting) == 1 else "s")
        detail = (": " + "; ".join(rejected)) if rejected else ""
        raise NoFittingTarget("needs %d target(s), found %s%s" % (requirement.count, found, detail))
    return [name for _cost, name in fitting[: requirement.count]]
