"""Which tests run on which targets: LISA metadata, criteria and requirements over pytest items.

The logic is the shared core's (metadata, criteria, requirements); this module only connects it to
pytest's collection: marks -> metadata, options and runbook -> criteria, testinfra's host -> capabilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_lisa.core import criteria, errors, metadata, requirements, runbook

METADATA_KEY = pytest.StashKey[metadata.Metadata]()


def mark_fields(node: pytest.Item | pytest.Collector) -> list[dict[str, Any]]:
    """The fields of every ``lisa`` mark on a test, farthest first (module, class, function)."""
    found = []
    for mark in reversed(list(node.iter_markers("lisa"))):
        if mark.args:
            raise errors.ValidationError(
                [errors.Problem("", "takes keyword arguments only, e.g. @pytest.mark.lisa(priority=0)")],
                f"lisa mark of {function_name(node) if isinstance(node, pytest.Item) else node.name}",
            )
        found.append(dict(mark.kwargs))
    return found


def function_name(item: pytest.Item) -> str:
    return getattr(item, "originalname", None) or item.name


MERGED_KEY = pytest.StashKey[dict[tuple[str, str, str], metadata.Metadata]]()


def metadata_of(item: pytest.Item) -> metadata.Metadata:
    """The item's LISA metadata, validated once per test function and set of marks, kept on the item."""
    if METADATA_KEY not in item.stash:
        fields = mark_fields(item)
        key = (str(item.path), function_name(item), repr(fields))
        merged = item.config.stash.setdefault(MERGED_KEY, {})
        if key not in merged:
            doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
            merged[key] = metadata.merge(fields, name=function_name(item), description=" ".join(doc.split()))
        item.stash[METADATA_KEY] = merged[key]
    return item.stash[METADATA_KEY]


def unwrap(value: Any) -> Any:
    """Plain data from ``ansible-inventory --list``, which marks untrusted strings {"__ansible_unsafe": s}."""
    if isinstance(value, Mapping):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


@dataclass(frozen=True)
class Target:
    """What an item runs on: one target instance (testinfra's host), or a target group (``targets``)."""

    name: str
    capabilities: requirements.Capabilities | None
    # For a target group: its instances, of which a test with count=N gets the first N.
    instances: tuple[str, ...] = ()
    # For an instance: the target group it belongs to, when the inventory says.
    group: str | None = None


@dataclass(frozen=True)
class Group:
    """A target group of the pool (or of the runbook, before it is deployed) and its instances."""

    name: str
    instances: tuple[str, ...]
    capabilities: requirements.Capabilities | None


# Capabilities predicted from the runbook, by instance name, while planning what to deploy.
PREDICTED_KEY = pytest.StashKey[dict[str, requirements.Capabilities]]()
GROUPS_KEY = pytest.StashKey[dict[str, Group]]()


UNMEASURED = 1 << 30


def predicted_groups(book: runbook.Runbook) -> tuple[dict[str, Group], dict[str, requirements.Capabilities]]:
    """The runbook's groups and instances with the capabilities their specs promise."""
    groups, instances = {}, {}
    for spec in book.targets:
        # What a platform does not size (an ssh machine's CPUs) is unknown until measured: assume enough.
        unknown = dict.fromkeys(("cpus", "memory_mb", "disks", "nics"), UNMEASURED)
        caps = requirements.Capabilities.from_dict(
            {**unknown, **spec.params, "platform": spec.platform, "features": spec.features, "cost": spec.cost}
        )
        groups[spec.name] = Group(spec.name, tuple(spec.instance_names()), caps)
        instances.update(dict.fromkeys(spec.instance_names(), caps))
    return groups, instances


def inventory_groups(config: pytest.Config) -> dict[str, Group]:
    """Target groups of the Ansible inventory testinfra uses (--ansible-inventory), limited to --hosts."""
    if GROUPS_KEY in config.stash:
        return config.stash[GROUPS_KEY]
    groups: dict[str, Group] = {}
    if config.getoption("connection", None) == "ansible":
        from testinfra.utils.ansible_runner import AnsibleRunner  # noqa: PLC0415

        inventory = AnsibleRunner.get_runner(config.getoption("ansible_inventory", None)).inventory
        hostvars = unwrap(inventory.get("_meta", {}).get("hostvars", {}))
        wanted = config.getoption("hosts", None)
        chosen = set(wanted.split(",")) if wanted else set(hostvars)
        members: dict[str, list[str]] = {}
        for host in sorted(chosen & set(hostvars)):
            group = hostvars[host].get("lisa_target")
            if group:
                members.setdefault(str(group), []).append(host)
        for name, hosts in members.items():
            found = hostvars[hosts[0]].get("lisa_capabilities")
            caps = requirements.Capabilities.from_dict(found) if found else None
            groups[name] = Group(name, tuple(hosts), caps)
    config.stash[GROUPS_KEY] = groups
    return groups


def target_of(item: pytest.Item, known: dict[int, Target] | None = None) -> Target | None:
    """The target of an item; ``known`` caches it per testinfra host, which all items of a target share."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    group = callspec.params.get("lisa_group")
    if group is not None:
        found = item.config.stash.get(GROUPS_KEY, {}).get(group)
        return Target(group, found.capabilities, found.instances) if found else None
    host = callspec.params.get("_testinfra_host")
    if getattr(host, "backend", None) is None:  # none, or pytest's NOTSET when testinfra found no host
        return None
    if known is not None:
        if id(host) not in known:
            known[id(host)] = _target(host, item.config)
        return known[id(host)]
    return _target(host, item.config)


def host_name(backend: Any) -> str:
    """The name testinfra's backend knows its host by (the ssh backend keeps a HostSpec)."""
    host = getattr(backend, "host", None)
    return str(getattr(host, "name", None) or host or backend.get_pytest_id())


def _target(host: Any, config: pytest.Config) -> Target:
    backend = host.backend
    name = host_name(backend)
    predicted = config.stash.get(PREDICTED_KEY, None)
    if predicted is not None:
        return Target(name, predicted.get(name))
    if getattr(backend, "NAME", "") != "ansible":
        return Target(name, None)
    variables = backend.get_variables()  # only what is needed is unwrapped: the groups are large
    found = unwrap(variables.get("lisa_capabilities"))
    group = unwrap(variables.get("lisa_target"))
    caps = requirements.Capabilities.from_dict(found) if found else None
    return Target(name, caps, group=str(group) if group else None)


@dataclass(frozen=True)
class Verdict:
    item: pytest.Item
    selected: bool
    times: int
    reason: str
    target: Target | None = None


VERDICTS_KEY = pytest.StashKey[list[Verdict]]()


def load_criteria(config: pytest.Config, book: runbook.Runbook | None) -> criteria.Criteria:
    """The criteria of this run: the suite's entries, then --lisa-criteria's (else the runbook's)."""
    entries: list[Any] = []
    suite = config.getoption("lisa_suite")
    if suite:
        if book is not None:
            entries += [dict(e.source) for e in book.suite(suite).entries]
        elif suite in runbook.BUILTIN_SUITES:
            entries += runbook.BUILTIN_SUITES[suite]
        else:
            raise errors.LisaError(
                f"--lisa-suite: unknown suite {suite!r}; built in: {', '.join(sorted(runbook.BUILTIN_SUITES))}"
                " (a runbook given with --lisa-runbook can add more)"
            )
    inline = config.getoption("lisa_criteria")
    if inline:
        data = runbook.parse_yaml(inline, "--lisa-criteria")
        if isinstance(data, Mapping):
            data = [data]
        entries += data if isinstance(data, list) else [data]
    elif book is not None:
        entries += [dict(e.source) for e in book.criteria.entries]
    return criteria.Criteria.from_data(entries, ["criteria"], "--lisa-criteria" if inline else "")


def judge(items: Iterable[pytest.Item], chosen: criteria.Criteria) -> list[Verdict]:
    """Decide each item: criteria on its metadata, then its requirement against its target.

    Items of one test function share their metadata and items of one target share it too, so each
    decision is made once per function and once per (function, target).
    """
    verdicts = []
    known: dict[int, Target] = {}
    decided: dict[int, criteria.Decision] = {}
    fits: dict[tuple[int, Target], str | None] = {}
    for item in items:
        meta = metadata_of(item)
        if id(meta) not in decided:
            decided[id(meta)] = chosen.explain(meta)
        decision = decided[id(meta)]
        target = target_of(item, known)
        if not decision.selected:
            verdicts.append(Verdict(item, False, 0, decision.reason, target))
            continue
        if target is not None:
            if (id(meta), target) not in fits:
                fits[(id(meta), target)] = unmet(meta, target)
            reason = fits[(id(meta), target)]
            if reason is not None:
                verdicts.append(Verdict(item, False, 0, reason, target))
                continue
        verdicts.append(Verdict(item, True, decision.times, decision.reason, target))
    return verdicts


def unmet(meta: metadata.Metadata, target: Target) -> str | None:
    """Why a target does not meet a test's requirement, or None when it does."""
    need = meta.requirement()
    if need.count > 1 and len(target.instances) < need.count:
        return f"needs {need.count} instances of one target group, {target.name} has {len(target.instances)}"
    if target.capabilities is not None:
        word = "target group" if target.instances else "target"
        met = need.met_by(target.capabilities, f"{word} {target.name}")
        if not met:
            return met.explain()
    return None
