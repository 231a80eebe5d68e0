"""The ``lisa`` pytest plugin: LISA metadata, selection and targets on top of pytest-testinfra.

testinfra owns ``host``, ``--connection``, ``--hosts`` and ``--ansible-inventory``; every option here
is namespaced ``--lisa-*`` and has an ini equivalent.
"""

from __future__ import annotations

import pytest

MODES = ("dev", "debug", "ci", "demo")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lisa", "LISA: Linux test targets, metadata and selection")
    group.addoption("--lisa-runbook", metavar="RUNBOOK", help="runbook file: targets to deploy, criteria, suites")
    group.addoption("--lisa-criteria", metavar="YAML", help="criteria as inline YAML or JSON, e.g. '[{priority: 0}]'")
    group.addoption("--lisa-suite", metavar="NAME", help="run the named suite of the runbook (smoke, core, ...)")
    group.addoption("--lisa-explain", action="store_true", help="print why each test runs or not on each target")
    group.addoption("--lisa-list", action="store_true", help="print the test inventory by area, category, priority")
    group.addoption("--lisa-mode", choices=MODES, help="preset of output and reporting: " + ", ".join(MODES))
    group.addoption("--lisa-keep-targets", action="store_true", help="do not delete deployed targets at the end")
    group.addoption("--lisa-delete-targets", action="store_true", help="delete every target in the pool and exit")
    parser.addini("lisa_runbook", "default runbook file (--lisa-runbook)")
    parser.addini("lisa_mode", "default user mode (--lisa-mode)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lisa(platform=, category=, area=, priority=, tags=, features=, reuse=, count=, cpus=, memory_mb=, "
        "disks=, nics=): LISA test metadata; the closest mark (function, class, module) wins per field.",
    )
