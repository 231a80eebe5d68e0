"""How much longer deploying many targets takes than deploying one: they should deploy at once.

Prints the median wall time of `ansible-playbook playbooks/deploy.yml` for 1 versus 20 SSH machines (an
sshd fleet in network namespaces) and for 1 versus 2 libvirt VMs, each over several runs, and the ratio.
Goal: 20 SSH machines take at most 1.3 times as long as 1.

    .venv/bin/python benchmarks/deploy_parallel.py [--runs 5] [--vm-runs 3] [--no-vms]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fleet import Fleet
from tests.helpers import Lisa


def timed_deploy(targets: list[dict[str, object]]) -> float:
    with tempfile.TemporaryDirectory(prefix="lisa-bench-") as scratch:
        lisa = Lisa(Path(scratch) / "state")
        try:
            runbook = lisa.runbook({"targets": targets})
            start = time.monotonic()
            lisa.playbook("deploy", runbook, check=True)
            elapsed = time.monotonic() - start
            assert len(lisa.pool()) == sum(int(t.get("count", 1)) for t in targets)  # type: ignore[call-overload]
        finally:
            lisa.playbook("cleanup", check=True)
            lisa.close()
    return elapsed


def measure(label: str, targets: list[dict[str, object]], runs: int) -> float:
    times = [timed_deploy(targets) for _ in range(runs)]
    median = statistics.median(times)
    print(f"  {label:<22} median {median:6.2f} s   runs: {', '.join(f'{t:.2f}' for t in times)}", flush=True)
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per SSH figure (default 5)")
    parser.add_argument("--vm-runs", type=int, default=3, help="runs per VM figure (default 3)")
    parser.add_argument("--no-vms", action="store_true", help="measure SSH machines only")
    args = parser.parse_args()
    results: dict[str, float] = {}
    print("deploy_parallel: wall time of playbooks/deploy.yml", flush=True)
    with Fleet(20, prefix="b") as fleet:
        machines = [m.target(fleet.client_key) for m in fleet.machines]
        measure("warm-up (1 SSH)", machines[:1], 1)
        results["ssh_1"] = measure("1 SSH machine", machines[:1], args.runs)
        results["ssh_20"] = measure("20 SSH machines", machines, args.runs)
    results["ssh_ratio"] = results["ssh_20"] / results["ssh_1"]
    print(f"  ratio 20/1 SSH machines: {results['ssh_ratio']:.2f} (goal <= 1.3)")
    if not args.no_vms:
        vm = {"name": "vm", "platform": "libvirt", "memory_mb": 1024}
        results["vm_1"] = measure("1 VM", [vm], args.vm_runs)
        results["vm_2"] = measure("2 VMs", [{**vm, "count": 2}], args.vm_runs)
        results["vm_ratio"] = results["vm_2"] / results["vm_1"]
        print(f"  ratio 2/1 VMs: {results['vm_ratio']:.2f}")
    print(json.dumps({key: round(value, 3) for key, value in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
