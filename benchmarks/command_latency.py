"""Milliseconds per remote command on an SSH machine, LISA's way versus plain SSH, in one run.

1. LISA: host.run("true") in a pytest test, `pytest --connection=ansible --ansible-inventory=inventory/lisa.yml`
   with the lisa plugin (commands go over a persistent channel, see src/pytest_lisa/channel.py);
2. raw `ssh ... true` over a warm control master (the floor for a process-per-command client);
3. the same pytest with `-p no:lisa`: plain testinfra, one ssh process per command over the control path;
4. testinfra's ansible backend without a control path (a full SSH handshake per command).
Medians over --commands commands, after a warm-up. Goal for (1): at most 6 ms and 0.6 x (2).

    .venv/bin/python benchmarks/command_latency.py [--commands 200]
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
sys.path.insert(0, str(REPO))

from tests.fleet import Fleet  # noqa: E402
from tests.helpers import Lisa  # noqa: E402


def median_ms(run: object, count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


TEST = """
import statistics, time

def test_latency(host):
    for _ in range(10):
        assert host.run("true").rc == 0
    samples = []
    for _ in range({count}):
        start = time.perf_counter(); host.run("true"); samples.append((time.perf_counter() - start) * 1000)
    with open({out!r}, "w") as handle:
        handle.write(str(statistics.median(samples)))
"""


def testinfra_ms(lisa: Lisa, config: Path, count: int, *pytest_args: str) -> float:
    """host.run("true") inside a real pytest run on the pool's inventory, with the given ansible.cfg."""
    with tempfile.TemporaryDirectory(prefix="lisa-latency-") as scratch:
        test, out = Path(scratch) / "test_latency.py", Path(scratch) / "median"
        test.write_text(TEST.format(count=count, out=str(out)))
        env = dict(lisa.env, ANSIBLE_CONFIG=str(config))
        env.pop("ANSIBLE_SSH_CONTROL_PATH_DIR")  # testinfra's own control path, as a user has it
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--connection=ansible",
            "--ansible-inventory=inventory/lisa.yml",
            "--hosts=m1-1",
            *pytest_args,
            str(test),
        ]
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"measuring testinfra failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return float(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=200, help="commands per figure (default 200)")
    args = parser.parse_args()
    os.makedirs(os.path.expanduser("~/.ansible/cp"), exist_ok=True)  # testinfra reuses connections only then
    with tempfile.TemporaryDirectory(prefix="lisa-bench-") as scratch, Fleet(1) as fleet:
        lisa = Lisa(Path(scratch) / "state")
        try:
            lisa.playbook("deploy", lisa.runbook({"targets": [fleet.machines[0].target(fleet.client_key)]}), check=True)
            machine = fleet.machines[0]
            control = Path(scratch) / "raw-%C"
            raw = [
                "ssh",
                "-o",
                f"ControlPath={control}",
                "-o",
                "ControlMaster=auto",
                "-o",
                "ControlPersist=60",
                "-o",
                f"UserKnownHostsFile={lisa.state_dir / 'known_hosts'}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-i",
                str(fleet.client_key),
                f"root@{machine.address}",
                "true",
            ]
            subprocess.run(raw, check=True)  # warm the master

            def raw_ssh() -> None:
                subprocess.run(raw, check=True)

            figures = {"raw_ssh_warm_master_ms": median_ms(raw_ssh, args.commands)}
            figures["lisa_testinfra_ansible_ms"] = testinfra_ms(lisa, REPO / "ansible.cfg", args.commands)
            figures["plain_testinfra_control_path_ms"] = testinfra_ms(
                lisa, REPO / "ansible.cfg", args.commands, "-p", "no:lisa"
            )
            plain = Path(scratch) / "ansible.cfg"
            plain.write_text((REPO / "ansible.cfg").read_text().replace("control_path = ", "# control_path = "))
            plain.write_text(
                plain.read_text()
                .replace("collections_path = ./collections", f"collections_path = {REPO}/collections")
                .replace("inventory = ./inventory/lisa.yml", f"inventory = {REPO}/inventory/lisa.yml")
            )
            figures["testinfra_ansible_no_control_path_ms"] = testinfra_ms(
                lisa, plain, max(20, args.commands // 10), "-p", "no:lisa"
            )
            subprocess.run(
                ["ssh", "-o", f"ControlPath={control}", "-O", "exit", f"root@{machine.address}"],
                capture_output=True,
                check=False,
            )
        finally:
            lisa.playbook("cleanup")
            lisa.close()
    figures["ratio_lisa_to_raw_ssh"] = figures["lisa_testinfra_ansible_ms"] / figures["raw_ssh_warm_master_ms"]
    print("command_latency: median milliseconds per `true` on one SSH machine")
    print(f"  raw ssh over a warm control master        {figures['raw_ssh_warm_master_ms']:7.2f} ms")
    print(
        f"  LISA: testinfra --connection=ansible       {figures['lisa_testinfra_ansible_ms']:7.2f} ms  "
        f"({figures['ratio_lisa_to_raw_ssh']:.2f} x raw ssh; goal <= 6 ms and <= 0.6 x)"
    )
    print(f"  plain testinfra (-p no:lisa), control path {figures['plain_testinfra_control_path_ms']:7.2f} ms")
    print(f"  testinfra ansible backend, no control path {figures['testinfra_ansible_no_control_path_ms']:7.2f} ms")
    print(json.dumps({key: round(value, 3) for key, value in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
