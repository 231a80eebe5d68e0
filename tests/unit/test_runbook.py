"""The runbook: schema, validation messages with key paths, defaults merging, YAML loading."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_lisa.core import errors, platforms, runbook

pytestmark = pytest.mark.unit

LIBVIRT = {"name": "debian", "platform": "libvirt"}
SSH = {"name": "lab", "platform": "ssh", "host": "127.0.0.1"}
BMC = {"driver": "redfish", "address": "https://127.0.0.1:8000"}

# (runbook data, the exact message, or its start, expected among the problems)
MALFORMED: list[tuple[Any, str]] = [
    (
        {"targets": [LIBVIRT, {**LIBVIRT, "name": "big", "memory_mb": "lots"}]},
        "targets[1].memory_mb: expected an integer 128–1048576, got 'lots'",
    ),
    ({"target": [LIBVIRT]}, "target: unknown key; did you mean 'targets'?"),
    ({"targets": {"debian": LIBVIRT}}, "targets: expected a list"),
    ({"targets": [{"platform": "libvirt"}]}, "targets[0]: missing required key 'name'"),
    ({"targets": [{"name": "debian"}]}, "targets[0]: missing required key 'platform'"),
    (
        {"targets": [{"name": "debian", "platform": "kvm"}]},
        "targets[0].platform: expected one of 'azure', 'baremetal', 'hyperv', 'libvirt', 'local', 'ssh', got 'kvm'",
    ),
    ({"targets": [{**LIBVIRT, "name": "Debian"}]}, "targets[0].name: expected a string matching ^[a-z]"),
    ({"targets": [LIBVIRT, LIBVIRT]}, "targets[1].name: 'debian' is already the name of targets[0]"),
    ({"targets": [{**LIBVIRT, "count": 0}]}, "targets[0].count: expected an integer 1–100, got 0"),
    ({"targets": [{**SSH, "count": 2}]}, "targets[0].count: expected an integer 1–1, got 2"),
    (
        {"targets": [{"name": "lab", "platform": "ssh"}]},
        "targets[0]: missing required key 'host' for platform ssh (set it on the target or under platforms.ssh)",
    ),
    ({"targets": [{**SSH, "port": 70000}]}, "targets[0].port: expected an integer 1–65535, got 70000"),
    ({"targets": [{**SSH, "port": "22"}]}, "targets[0].port: expected an integer 1–65535, got '22'"),
    ({"targets": [{**LIBVIRT, "cpus": 0}]}, "targets[0].cpus: expected an integer 1–256, got 0"),
    ({"targets": [{**LIBVIRT, "cpus": True}]}, "targets[0].cpus: expected an integer 1–256, got true"),
    ({"targets": [{**LIBVIRT, "disks": 2}]}, "targets[0].disks: expected a list"),
    ({"targets": [{**LIBVIRT, "disks": [{}]}]}, "targets[0].disks[0]: missing required key 'size_gb'"),
    (
        {"targets": [{**LIBVIRT, "disks": [{"size_gb": -1}]}]},
        "targets[0].disks[0].size_gb: expected an integer 1–65536",
    ),
    (
        {"targets": [{**LIBVIRT, "disks": [{"size": 4}]}]},
        "targets[0].disks[0].size: unknown key; did you mean 'size_gb'?",
    ),
    ({"targets": [{**LIBVIRT, "features": "serial_console"}]}, "targets[0].features: expected a list"),
    ({"targets": [{**LIBVIRT, "features": ["gpu", "gpu"]}]}, "targets[0].features[1]: 'gpu' is listed twice"),
    (
        {"targets": [{**LIBVIRT, "features": ["Serial Console"]}]},
        "targets[0].features[0]: expected a string matching",
    ),
    (
        {"targets": [{**LIBVIRT, "memroy_mb": 512}]},
        "targets[0].memroy_mb: unknown key; did you mean 'memory_mb'?",
    ),
    ({"targets": [{**LIBVIRT, "host": "127.0.0.1"}]}, "targets[0].host: unknown key"),
    ({"platforms": {"kvm": {}}}, "platforms.kvm: unknown key"),
    (
        {"platforms": {"libvirt": {"memory_mb": 64}}},
        "platforms.libvirt.memory_mb: expected an integer 128–1048576, got 64",
    ),
    ({"platforms": {"libvirt": {"cpu": 2}}}, "platforms.libvirt.cpu: unknown key; did you mean 'cpus'?"),
    ({"platforms": {"libvirt": {"name": "x"}}}, "platforms.libvirt.name: unknown key"),
    ({"platforms": ["libvirt"]}, "platforms: expected a mapping, got a list"),
    ({"criteria": {"priority": 0}}, "criteria: expected a list"),
    ({"criteria": [{"priority": 9}]}, "criteria[0].priority: expected an integer 0–5, got 9"),
    ({"criteria": [{"priority": [0, 9]}]}, "criteria[0].priority[1]: expected an integer 0–5, got 9"),
    (
        {"criteria": [{"priority": 0}, {"names": "smoke"}]},
        "criteria[1].names: unknown key; did you mean 'name'?",
    ),
    ({"criteria": [{"name": "smoke("}]}, "criteria[0].name: expected a regular expression, got 'smoke('"),
    ({"criteria": [{"area": "net", "exclude": "yes please"}]}, "criteria[0].exclude: expected true or false"),
    ({"criteria": [{"name": "smoke", "times": 0}]}, "criteria[0].times: expected an integer 1–1000, got 0"),
    (
        {"criteria": [{"area": "net", "exclude": True, "times": 2}]},
        "criteria[0].times: an entry with exclude: true",
    ),
    ({"criteria": [{"tags": 5}]}, "criteria[0].tags: expected a string or a list"),
    ({"suites": {"smoke": {"priority": 0}}}, "suites.smoke: expected a list"),
    ({"suites": {"bad name!": []}}, "suites['bad name!']: bad key: expected a string matching"),
    ({"suites": {"nightly": [{"area": 5}]}}, "suites.nightly[0].area: expected a string, got 5"),
    (["targets"], "(top level): expected a mapping, got a list"),
    (
        {"targets": [{"name": "rack", "platform": "baremetal", "host": "h", "bmc": {**BMC, "driver": "ilo"}}]},
        "targets[0].bmc.driver: expected one of 'redfish', 'ipmi', got 'ilo'",
    ),
    (
        {"targets": [{"name": "rack", "platform": "baremetal", "host": "h", "bmc": {**BMC, "password": "hunter2"}}]},
        "targets[0].bmc.password: unknown key; did you mean 'password_env'?",
    ),
    (
        {"targets": [{"name": "rack", "platform": "baremetal", "host": "h"}]},
        "targets[0]: missing required key 'bmc' for platform baremetal",
    ),
    (
        {"targets": [{"name": "vm", "platform": "azure", "location": "West US"}]},
        "targets[0].location: expected a string matching",
    ),
    ({"targets": [{**LIBVIRT, "uri": "qemu"}]}, "targets[0].uri: expected a string matching"),
    ({"targets": [{**LIBVIRT, "cost": -1}]}, "targets[0].cost: expected a number 0–1000000, got -1"),
    ({"targets": [{**LIBVIRT, 7: "x"}]}, "targets[0]: keys must be strings, got 7"),
    (
        {"targets": [LIBVIRT, {**LIBVIRT, "name": "wide", "count": 2, "nics": 3}]},
        "targets[1].nics: libvirt VMs have at most 2 network interfaces, got 3; use nics: 1, or nics: 2 with count: 2",
    ),
    (
        {"targets": [{**LIBVIRT, "nics": 2}]},
        "targets[0].nics: nics: 2 on libvirt links the two instances of this target group point to point, so it "
        "needs count: 2 (this target has count: 1); set count: 2, or nics: 1",
    ),
]


def messages(data: Any) -> list[str]:
    with pytest.raises(errors.ValidationError) as caught:
        runbook.load(data)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(("data", "expected"), MALFORMED, ids=[m[1].split(":")[0] for m in MALFORMED])
def test_malformed_runbook_names_the_key_path(data: Any, expected: str) -> None:
    found = messages(data)
    assert any(message.startswith(expected) for message in found), found


def test_there_are_at_least_thirty_malformed_runbooks() -> None:
    assert len(MALFORMED) >= 30


def test_every_problem_is_reported_at_once() -> None:
    found = messages({"targets": [{**LIBVIRT, "cpus": 0, "memory_mb": 1}], "criteria": [{"times": 0}]})
    assert [m.split(":")[0] for m in found] == [
        "targets[0].cpus",
        "targets[0].memory_mb",
        "criteria[0].times",
    ]


def test_defaults_merge_platform_then_runbook_then_target() -> None:
    book = runbook.load(
        {
            "platforms": {"libvirt": {"memory_mb": 2048, "features": ["serial_console"]}},
            "targets": [LIBVIRT, {"name": "big", "platform": "libvirt", "memory_mb": 4096, "count": 3}],
        }
    )
    small, big = book.targets
    assert small.params["memory_mb"] == 2048  # the runbook's platform default
    assert small.params["cpus"] == 1  # the platform's built-in default
    assert small.features == ("serial_console",)
    assert big.params["memory_mb"] == 4096  # the target's own value
    assert big.count == 3
    assert small.cost == platforms.PLATFORMS["libvirt"].cost


def test_platform_default_satisfies_a_required_key() -> None:
    book = runbook.load({"platforms": {"ssh": {"host": "127.0.0.1"}}, "targets": [{"name": "a", "platform": "ssh"}]})
    assert book.targets[0].params["host"] == "127.0.0.1"


def test_builtin_suites_exist_and_runbook_suites_override_them() -> None:
    book = runbook.load({"suites": {"smoke": [{"area": "boot"}], "nightly": [{"priority": [0, 1]}]}})
    assert set(book.suites) >= {"smoke", "core", "network", "storage", "all", "nightly"}
    assert book.suite("smoke").entries[0].source == {"area": "boot"}
    with pytest.raises(errors.LisaError, match="unknown suite 'weekly'; this runbook has: all, core"):
        book.suite("weekly")


# -- the second NIC: a point-to-point link between the two instances of a libvirt target group ------------


def test_second_nic_needs_exactly_two_instances() -> None:
    assert messages({"targets": [{**LIBVIRT, "nics": 2, "count": 3}]}) == [
        "targets[0].nics: nics: 2 on libvirt links the two instances of this target group point to point, so it "
        "needs count: 2 (this target has count: 3); set count: 2, or nics: 1"
    ]


def test_second_nic_from_the_platform_defaults_says_where_it_is_set() -> None:
    assert messages({"platforms": {"libvirt": {"nics": 4}}, "targets": [{**LIBVIRT, "count": 2}]}) == [
        "targets[0].nics: libvirt VMs have at most 2 network interfaces, got 4; use nics: 1, or nics: 2 with "
        "count: 2 (the second interface links the two instances of the group) (nics: 4 is set under "
        "platforms.libvirt)"
    ]


def test_two_linked_instances_are_valid() -> None:
    book = runbook.load({"targets": [{**LIBVIRT, "count": 2, "nics": 2}, {**LIBVIRT, "name": "one"}]})
    assert [(t.name, t.count, t.params["nics"]) for t in book.targets] == [("debian", 2, 2), ("one", 1, 1)]
    assert platforms.private_address(2) == "10.213.0.2"


def test_other_platforms_keep_their_own_nics() -> None:
    book = runbook.load({"targets": [{"name": "vm", "platform": "azure", "nics": 3}]})
    assert book.targets[0].params["nics"] == 3


def test_empty_runbook_is_valid() -> None:
    assert runbook.load(None).targets == ()


def test_shipped_runbooks_are_valid(repo: Path) -> None:
    files = [*sorted((repo / "runbooks").glob("*.yml")), *sorted((repo / "runbooks/examples").glob("*.yml"))]
    names = {path.stem for path in files}
    assert names >= set(platforms.PLATFORMS), "every platform has an example runbook"
    for path in files:
        runbook.load_file(str(path))


def test_local_runbook_is_one_libvirt_target(repo: Path) -> None:
    book = runbook.load_file(str(repo / "runbooks/local.yml"))
    assert [(t.platform, t.count) for t in book.targets] == [("libvirt", 1)]


def test_yaml_key_given_twice_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "twice.yml"
    path.write_text("targets: []\ncriteria: []\ntargets: []\n")
    with pytest.raises(
        errors.LisaError,
        match=r"twice.yml: line 3: key 'targets' is given twice in one mapping \(first on line 1\)",
    ):
        runbook.load_file(str(path))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(
        textwrap.dedent("""\
        targets:
          - name: debian
           platform: libvirt
        """)
    )
    with pytest.raises(errors.LisaError, match=r"broken.yml: not valid YAML: line 3, column 4"):
        runbook.load_file(str(path))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(errors.LisaError, match=r"cannot read runbook .*nope.yml: No such file or directory"):
        runbook.load_file(str(tmp_path / "nope.yml"))


# -- the schema printed for editors -----------------------------------------------------------------------


def test_schema_is_valid_json_schema_2020_12() -> None:
    schema = runbook.runbook_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# Problems found after the schema (unique names, required keys after defaults, regexes that compile)
# are LISA's own checks; every other malformed runbook the printed schema must reject as well.
AFTER_SCHEMA = (
    "is already the name",
    "for platform",
    "expected a regular expression",
    "exclude: true",
    "keys must be",
    "network interfaces",
    "links the two instances",
)
SCHEMA_LEVEL = [case for case in MALFORMED if not any(word in case[1] for word in AFTER_SCHEMA)]


@pytest.mark.parametrize(("data", "expected"), SCHEMA_LEVEL, ids=[m[1].split(":")[0] for m in SCHEMA_LEVEL])
def test_printed_schema_rejects_the_same_runbooks(data: Any, expected: str) -> None:
    assert list(jsonschema.Draft202012Validator(runbook.runbook_schema()).iter_errors(data))


KEYS = sorted(
    {key for p in platforms.PLATFORMS.values() for key in p.parameters}
    | set(runbook.TARGET_COMMON)
    | {"size_gb", "driver", "address", "priority", "area", "tags", "exclude", "times", "bogus"}
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-2, 70000)
    | st.sampled_from([1.0, 2.5, 0.0])
    | st.sampled_from(
        [
            "",
            "debian-12",
            "libvirt",
            "ssh",
            "local",
            "127.0.0.1",
            "root",
            "qemu:///system",
            "redfish",
            "Bad Name",
            "a-b",
            "x",
            "westus3",
            "https://127.0.0.1",
        ]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=6,
)
TARGETS = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["debian", "lab", "Bad"]),
        "platform": st.sampled_from([*platforms.PLATFORMS, "kvm"]),
    },
    optional={key: VALUES for key in KEYS if key not in ("name", "platform")},
)
CRITERIA = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "priority": VALUES,
            "area": st.sampled_from(["net", "core"]) | VALUES,
            "exclude": VALUES,
            "times": VALUES,
        },
    ),
    max_size=3,
)
RUNBOOKS = st.fixed_dictionaries(
    {},
    optional={
        "targets": st.lists(TARGETS, max_size=3),
        "platforms": st.dictionaries(
            st.sampled_from([*platforms.PLATFORMS, "kvm"]),
            st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3),
            max_size=2,
        ),
        "criteria": CRITERIA,
        "suites": st.dictionaries(st.sampled_from(["smoke", "night ly"]), CRITERIA, max_size=2),
        "bogus": VALUES,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RUNBOOKS)
def test_lisa_validator_agrees_with_jsonschema(data: dict[str, Any]) -> None:
    schema = runbook.runbook_schema()
    ours = runbook.Validator(schema).problems(copy.deepcopy(data))
    theirs = list(jsonschema.Draft202012Validator(schema).iter_errors(copy.deepcopy(data)))
    assert bool(ours) == bool(theirs), (ours, [e.message for e in theirs])
