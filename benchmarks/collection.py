"""Collection cost of the lisa plugin: --collect-only with the plugin versus plain testinfra.

An inventory of N pool targets (records only: collecting connects to nothing) and a test module of T
tests give N x T items. Prints the median --collect-only wall time of `pytest --connection=ansible
--ansible-inventory=inventory/lisa.yml --hosts=lisa` with the plugin and with `-p no:lisa`, for
50 targets x 20 tests (goal: at most 1.1x) and for growing sizes up to 10,000 items (should be linear).

    .venv/bin/python benchmarks/collection.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.lisa.core.plugins.module_utils.pool import Pool  # noqa: E402


def make_pool(state_dir: Path, targets: int) -> None:
    pool = Pool(str(state_dir))
    for number in range(targets):
        name = f"t{number}-1"
        pool.reserve(name, f"t{number}", "ssh", {"host": "127.0.0.1", "port": 22, "features": []})
        capabilities = {"platform": "ssh", "cpus": 2, "memory_mb": 2048, "disks": 0, "nics": 1, "features": []}
        pool.update(
            name, state="ready", connection={"host": "127.0.0.1", "port": 22, "user": "root"}, capabilities=capabilities
        )


def make_tests(folder: Path, tests: int) -> Path:
    body = ["import pytest", "", 'pytestmark = pytest.mark.lisa(area="bench", priority=1)', ""]
    for number in range(tests):
        body += [f"def test_{number}(host):", "    pass", ""]
    path = folder / "test_bench.py"
    path.write_text("\n".join(body))
    return path


def collect(state_dir: Path, tests: Path, plugin: bool) -> float:
    env = dict(os.environ, LISA_STATE_DIR=str(state_dir), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        "--connection=ansible",
        "--ansible-inventory=inventory/lisa.yml",
        "--hosts=lisa",
        str(tests),
    ]
    if not plugin:
        argv[4:4] = ["-p", "no:lisa"]
    start = time.monotonic()
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    return elapsed


def measure(targets: int, tests: int, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="lisa-bench-") as scratch:
        state = Path(scratch) / "state"
        make_pool(state, targets)
        path = make_tests(Path(scratch), tests)
        # Alternated, so that whatever else the machine does weighs on both alike.
        timed: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(runs):
            for plugin in (True, False):
                timed[plugin].append(collect(state, path, plugin))
    return statistics.median(timed[True]), statistics.median(timed[False])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    print("collection: median --collect-only seconds, with the lisa plugin and with -p no:lisa")
    for targets, tests in ((50, 20), (50, 50), (100, 50), (100, 100)):
        lisa, plain = measure(targets, tests, args.runs)
        items = targets * tests
        figures[f"items_{items}_lisa_s"], figures[f"items_{items}_plain_s"] = lisa, plain
        print(
            f"  {targets:>3} targets x {tests:>3} tests = {items:>6} items: lisa {lisa:6.2f} s, plain testinfra "
            f"{plain:6.2f} s, ratio {lisa / plain:.2f}",
            flush=True,
        )
    figures["ratio_1000_items"] = figures["items_1000_lisa_s"] / figures["items_1000_plain_s"]
    print(f"  ratio at 50 x 20: {figures['ratio_1000_items']:.2f} (goal <= 1.1)")
    print(json.dumps({key: round(value, 3) for key, value in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
