"""Benchmark: how long the program takes to evaluate, and what the Pulumi engine adds.

Prints, from one run:
- the program's evaluation time under Pulumi's mocks (``components.offline``) for a stack
  with 1 and with 20 gateways (median of several runs) and the peak Python memory;
- with the Pulumi CLI and Python language host on PATH (``scripts/toolchain.sh env``): the
  wall time of ``pulumi preview`` of a trivial Python program with one resource (the
  engine's floor), and of this project's ``local`` stack with its ratio to the floor when
  the Kubernetes provider plugin is available (it cannot be built on this machine).

    python benchmarks/bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import local_demo  # noqa: E402

NS = "apim-gateway"


def fleet_config(size: int) -> tuple[dict[str, Any], tuple[str, ...]]:
    config, secret_keys = local_demo.stack_config("local")
    template = config[f"{NS}:gateways"][0]
    gateways = []
    for index in range(size):
        gateway = copy.deepcopy(template)
        gateway["name"] = f"gw-{index:02d}"
        gateways.append(gateway)
    config[f"{NS}:gateways"] = gateways
    config[f"{NS}:gatewayTokens"] = {g["name"]: local_demo.placeholder_token(g["name"]) for g in gateways}
    return config, secret_keys


def time_evaluation(size: int, runs: int) -> tuple[float, int, float]:
    """Median seconds, resources registered, peak MiB of one evaluation under mocks."""
    config, secret_keys = fleet_config(size)
    durations = []
    resources = 0
    for _ in range(runs):
        start = time.perf_counter()
        recording = local_demo.plan(config, secret_keys)
        durations.append(time.perf_counter() - start)
        resources = len(recording.resources)
    tracemalloc.start()
    local_demo.plan(config, secret_keys)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(durations), resources, peak / 2**20


TRIVIAL_PROGRAM = """import pulumi


class Floor(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("bench:index:Floor", name, None, None)
        self.register_outputs({})


Floor("floor")
pulumi.export("ok", True)
"""


def _pulumi(args: list[str], cwd: Path, env: dict[str, str]) -> str | None:
    """Run the CLI; None on success, else the last lines it printed."""
    done = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode == 0:
        return None
    lines = (done.stdout + done.stderr).strip().splitlines()
    errors = [line.strip() for line in lines if "error:" in line]
    return errors[-1] if errors else " | ".join(lines[-3:])


def engine_preview(
    program_dir: Path, stack: str, env: dict[str, str], setup: list[list[str]] | None = None
) -> float | str:
    """Wall seconds of `pulumi preview` on a fresh file backend, or why it could not run."""
    for args in (["stack", "init", stack], *(setup or [])):
        failure = _pulumi(args, program_dir, env)
        if failure:
            return f"set-up failed: {failure}"
    start = time.perf_counter()
    failure = _pulumi(["preview", "--non-interactive", "--stack", stack], program_dir, env)
    return f"failed: {failure}" if failure else time.perf_counter() - start


def engine_figures() -> None:
    if not shutil.which("pulumi") or not shutil.which("pulumi-language-python"):
        print('engine: pulumi / pulumi-language-python not on PATH (eval "$(scripts/toolchain.sh env)"); skipped')
        return
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch) / "state"
        state.mkdir()
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": "benchmark",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_HOME": str(Path(scratch) / "home"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        floor_dir = Path(scratch) / "floor"
        floor_dir.mkdir()
        (floor_dir / "Pulumi.yaml").write_text("name: floor\nruntime: python\n")
        (floor_dir / "__main__.py").write_text(TRIVIAL_PROGRAM)
        floor = engine_preview(floor_dir, "bench", env)
        print(f"engine: pulumi preview, trivial program (floor): {_seconds(floor)}")
        project_dir = Path(scratch) / "project"
        project_dir.mkdir()
        shutil.copytree(ROOT / "components", project_dir / "components")
        for name in ("__main__.py", "Pulumi.local.yaml"):
            shutil.copy(ROOT / name, project_dir / name)
        (project_dir / "Pulumi.yaml").write_text("name: apim-gateway\nruntime: python\n")
        token = local_demo.placeholder_token("local-gw").removeprefix("GatewayKey ")
        setup = [["config", "set", "--secret", "--path", "gatewayTokens.local-gw", token, "--stack", "local"]]
        project = engine_preview(project_dir, "local", env, setup)
        print(f"engine: pulumi preview, local stack:             {_seconds(project)}")
        if isinstance(floor, float) and isinstance(project, float):
            print(f"engine: ratio local stack / floor:               {project / floor:.2f}")


def _seconds(value: float | str) -> str:
    return f"{value:.2f} s" if isinstance(value, float) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for size in (1, 20):
        seconds, resources, peak = time_evaluation(size, args.runs)
        print(
            f"mocks: {size:>2} gateway(s): {seconds * 1000:7.1f} ms per evaluation (median of {args.runs}), "
            f"{resources} resources, peak {peak:.1f} MiB"
        )
    engine_figures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
