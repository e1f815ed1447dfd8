"""Benchmark: the stack with the real Pulumi engine and Kubernetes plugin on a local API server,
side by side with its floor and with what a user of the portal's YAML runs, in one run.

Needs the toolchain (``scripts/toolchain.sh all``, then ``eval "$(scripts/toolchain.sh env)"``).
Starts its own control plane on 127.0.0.1 and stops it at the end. Prints, for 1 and 10 gateways
(backup off, one replica each, so the fleet needs no volumes):

- ``pulumi preview`` with nothing to do (median of ``--runs``), ``pulumi up`` of an empty cluster
  until every Deployment is Available, ``pulumi refresh``, and a token renewal (``pulumi up`` after
  a new token for every gateway);
- (a) the floor: a program with one ConfigMap on the same engine and plugin, its no-op preview;
- (b) ``kubectl apply --server-side`` of the same objects plus ``kubectl rollout status``;
- the ratios the targets are stated in: no-op preview of 1 gateway / floor (target 1.2), the
  preview cost of each extra gateway (target 0.3 s), first ``up`` / the kubectl path (target 1.5);
- where the time goes: the program's imports, the engine's per-resource step times from its
  event log (the provider's awaits), and the program's evaluation under Pulumi's mocks;
- first, the no-op preview of one gateway before and after: the program as commit ``--baseline``
  had it (default: the last commit before issue 21's guards, the figure that issue holds the
  stack to) and as this checkout has it, each beside the floor, median of ``--runs`` (at least
  5) each, the runs interleaved so that a slower moment of the machine hits both alike. Exits 1
  when "after" is more than 10 % slower than "before" relative to the floor.

    python benchmarks/bench.py [--runs 5] [--baseline COMMIT] [--comparison-only]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cluster_client import kubernetes_objects, stack_config  # noqa: E402
from engine import LocalStack, engine_env, placeholder_token, plugin_home  # noqa: E402
from harness import run_main  # noqa: E402

from scripts import local_cluster as lc  # noqa: E402

BASELINE_COMMIT = "e952e8c8c38f1d692ab5013366cac7c9af262113"
"""The last commit before issue 21 ("Safe wherever it runs") was worked on, and before the layout move."""
ALLOWED_SLOWDOWN = 1.10
"""Issue 21, item 9: the no-op preview must not get worse than the baseline's by more than 10 %."""

FLOOR_PROGRAM = """\
import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap("floor", metadata={"name": "floor", "namespace": "default"}, data={"a": "b"})
"""


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median(action: Callable[[], object], runs: int) -> float:
    return statistics.median(timed(action) for _ in range(runs))


def fleet(scratch: Path, kubeconfig: Path, size: int) -> LocalStack:
    """A `local` stack with ``size`` gateways, one replica each, backup off."""
    settings: dict[str, Any] = {"replicas": 1, "backup": {"enabled": False}}
    (scratch / f"fleet-{size}").mkdir()
    stack = LocalStack(scratch / f"fleet-{size}", kubeconfig, "bench-00", **settings)
    document = yaml.safe_load(stack.stack_file.read_text())
    gateways = document["config"]["apim-gateway:gateways"]
    gateways.extend({**gateways[0], "name": f"bench-{index:02d}"} for index in range(1, size))
    stack.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    for index in range(1, size):
        name = f"bench-{index:02d}"
        stack.run("config", "set", "--secret", "--path", f"gatewayTokens.{name}", placeholder_token(name))
    return stack


def renew(stack: LocalStack, size: int) -> None:
    for index in range(size):
        name = f"bench-{index:02d}"
        stack.run("config", "set", "--secret", "--path", f"gatewayTokens.{name}", placeholder_token(name, serial=1))


def step_seconds(event_log: Path) -> dict[str, float]:
    """Seconds from each resource's step start to its outputs, from the engine's event log."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        stamp = float(event.get("timestamp", 0))
        if "resourcePreEvent" in event:
            started[event["resourcePreEvent"]["metadata"]["urn"]] = stamp
        elif "resOutputsEvent" in event:
            urn = event["resOutputsEvent"]["metadata"]["urn"]
            if urn in started:
                took[urn.rsplit("::", 1)[-1]] = stamp - started[urn]
    return took


def kubectl_path(scratch: Path, kubeconfig: Path, size: int) -> float:
    """What a user of the portal's YAML runs: server-side apply of the same objects, then wait."""
    config, secret_keys = stack_config("local", name="bench-00", replicas=1, backup={"enabled": False})
    template = config["apim-gateway:gateways"][0]
    config["apim-gateway:gateways"] = [{**template, "name": f"yaml-{index:02d}"} for index in range(size)]
    config["apim-gateway:gatewayTokens"] = {
        g["name"]: placeholder_token(g["name"]) for g in config["apim-gateway:gateways"]
    }
    objects = kubernetes_objects(run_main(config, secret_keys, "local"))
    manifest = scratch / f"yaml-{size}.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))

    def apply_and_wait() -> None:
        lc.kubectl(kubeconfig, "apply", "--server-side", "-f", str(manifest), timeout=300)
        for obj in objects:
            if obj["kind"] == "Deployment":
                name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
                lc.kubectl(kubeconfig, "rollout", "status", f"deployment/{name}", "-n", namespace, timeout=300)

    seconds = timed(apply_and_wait)
    for obj in objects:
        if obj["kind"] == "Namespace":
            lc.kubectl(kubeconfig, "delete", "namespace", obj["metadata"]["name"], "--wait=false")
    return seconds


def import_seconds() -> float:
    code = "import time; s = time.perf_counter(); import components; print(time.perf_counter() - s)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per median (at least 5)")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="the commit whose program is 'before'")
    parser.add_argument("--comparison-only", action="store_true", help="only the before/after no-op preview")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error(f"--runs {args.runs}: the medians need at least 5 runs each")
    if not (shutil.which("pulumi") and shutil.which("pulumi-language-python") and plugin_home()):
        print('bench: the toolchain is needed: scripts/toolchain.sh all && eval "$(scripts/toolchain.sh env)"')
        return 1
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        cluster = lc.LocalCluster(scratch / "cluster")
        kubeconfig = cluster.start(timeout=180)
        try:
            within = compare(scratch, kubeconfig, args.runs, args.baseline)
            if not args.comparison_only:
                report(scratch, kubeconfig, args.runs)
        finally:
            cluster.stop()
    return 0 if within else 1


def floor_stack(scratch: Path, kubeconfig: Path, name: str) -> tuple[Callable[..., None], float]:
    """The floor program (one ConfigMap) deployed as its own stack: a CLI runner for it, and the
    seconds of its first ``up``."""
    floor_dir = scratch / name
    floor_dir.mkdir()
    (floor_dir / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (floor_dir / "__main__.py").write_text(FLOOR_PROGRAM.replace('"floor"', f'"{name}"'))
    (scratch / f"{name}-env").mkdir()
    env = engine_env(scratch / f"{name}-env", KUBECONFIG=str(kubeconfig))

    def floor(*command: str) -> None:
        subprocess.run(
            ["pulumi", *command, "--non-interactive"], cwd=floor_dir, env=env, check=True, capture_output=True
        )

    floor("stack", "init", name)
    return floor, timed(lambda: floor("up", "--yes", "--skip-preview"))


def compare(scratch: Path, kubeconfig: Path, runs: int, baseline: str) -> bool:
    """The no-op preview of one gateway, before (``baseline``'s program) and after (this
    checkout's), each against the floor; True when after/floor is within 10 % of before/floor."""
    floor, _ = floor_stack(scratch, kubeconfig, "floor-compare")
    settings: dict[str, Any] = {"replicas": 1, "backup": {"enabled": False}}
    # Different gateway names: the two stacks share project and stack name, hence the owner.
    (scratch / "before").mkdir()
    (scratch / "after").mkdir()
    before = LocalStack(scratch / "before", kubeconfig, "bench-before", commit=baseline, **settings)
    after = LocalStack(scratch / "after", kubeconfig, "bench-after", **settings)
    before.up()
    after.up()
    times: dict[str, list[float]] = {"floor": [], "before": [], "after": []}
    for _ in range(runs):  # interleaved: a slow moment of the machine hits all three alike
        times["floor"].append(timed(lambda: floor("preview", "--expect-no-changes")))
        times["before"].append(timed(lambda: before.preview("--expect-no-changes")))
        times["after"].append(timed(lambda: after.preview("--expect-no-changes")))
    before.destroy()
    after.destroy()
    medians = {key: statistics.median(values) for key, values in times.items()}
    ratio_before, ratio_after = medians["before"] / medians["floor"], medians["after"] / medians["floor"]
    change = ratio_after / ratio_before
    print(f"no-op preview, 1 gateway, median of {runs} interleaved runs each (floor: one ConfigMap):")
    print(f"   floor                    {medians['floor']:6.2f} s")
    print(f"   before ({baseline[:12]})  {medians['before']:6.2f} s ({ratio_before:.2f}x the floor)")
    print(f"   after (this checkout)    {medians['after']:6.2f} s ({ratio_after:.2f}x the floor)")
    verdict = "within" if change <= ALLOWED_SLOWDOWN else "NOT within"
    print(f"   after / before, each against the floor: {change:.3f} ({verdict} the allowed {ALLOWED_SLOWDOWN:.2f})")
    return change <= ALLOWED_SLOWDOWN


def report(scratch: Path, kubeconfig: Path, runs: int) -> None:
    floor, floor_up = floor_stack(scratch, kubeconfig, "floor")
    floor_preview = median(lambda: floor("preview", "--expect-no-changes"), runs)
    print(f"(a) floor, one ConfigMap: no-op preview {floor_preview:6.2f} s, first up {floor_up:6.2f} s")

    figures: dict[int, dict[str, float]] = {}
    for size in (1, 10):
        figures[size] = measure(scratch, kubeconfig, size, runs)
        up, preview, refresh, renewal, kubectl = (
            figures[size][key] for key in ("up", "preview", "refresh", "renewal", "kubectl")
        )
        print(
            f"{size:>2} gateway(s): no-op preview {preview:6.2f} s ({preview / floor_preview:.2f}x the floor), "
            f"first up {up:6.2f} s, refresh {refresh:6.2f} s, token renewal {renewal:6.2f} s; "
            f"(b) kubectl apply --server-side + rollout status {kubectl:6.2f} s (up / kubectl {up / kubectl:.2f}x)"
        )
        slowest = sorted(step_seconds(scratch / f"events-{size}.json").items(), key=lambda item: -item[1])[:6]
        print("   slowest steps of the first up: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest))
    per_gateway = (figures[10]["preview"] - figures[1]["preview"]) / 9
    print(f"targets: preview 1 gw / floor {figures[1]['preview'] / floor_preview:.2f} (<= 1.2); ", end="")
    print(f"each extra gateway +{per_gateway:.2f} s (<= 0.3); ", end="")
    print(f"first up / kubectl {figures[1]['up'] / figures[1]['kubectl']:.2f} (<= 1.5, 1 gw), ", end="")
    print(f"{figures[10]['up'] / figures[10]['kubectl']:.2f} (10 gw)")
    print(f"where the time goes: `import components` {import_seconds():.2f} s in a fresh interpreter")
    for size in (1, 10):
        print(f"   the program's evaluation under mocks, {size:>2} gateway(s): {evaluation(size, runs) * 1000:6.0f} ms")


def measure(scratch: Path, kubeconfig: Path, size: int, runs: int) -> dict[str, float]:
    """The engine's figures for a fleet of ``size`` gateways, then the kubectl path's."""
    stack = fleet(scratch, kubeconfig, size)
    events = str(scratch / f"events-{size}.json")
    figures = {
        # --event-log is one of the CLI's debug flags (shown with PULUMI_DEBUG_COMMANDS).
        "up": timed(
            lambda: stack.run(
                "up",
                "--yes",
                "--skip-preview",
                "--non-interactive",
                "--event-log",
                events,
                env={"PULUMI_DEBUG_COMMANDS": "true"},
            )
        ),
        "preview": median(lambda: stack.preview("--expect-no-changes"), runs),
        "refresh": timed(lambda: stack.run("refresh", "--yes", "--non-interactive")),
    }
    renew(stack, size)
    figures["renewal"] = timed(stack.up)
    stack.destroy()
    figures["kubectl"] = kubectl_path(scratch, kubeconfig, size)
    return figures


def evaluation(size: int, runs: int) -> float:
    """Median seconds of one evaluation of the program under Pulumi's mocks."""
    config, secret_keys = stack_config("local")
    template = config["apim-gateway:gateways"][0]
    names = [f"gw-{index:02d}" for index in range(size)]
    config["apim-gateway:gateways"] = [{**template, "name": name} for name in names]
    config["apim-gateway:gatewayTokens"] = {name: placeholder_token(name) for name in names}
    return median(lambda: run_main(config, secret_keys, "local"), runs)


if __name__ == "__main__":
    sys.exit(main())
