"""The `local` stack on a local Kubernetes API server, with the real Pulumi engine and the real
Kubernetes provider plugin (both built by scripts/toolchain.sh): no Azure is involved, the gateway
is an `existing` one and its token a placeholder.

What it runs, each command's own output shown as it comes:

1. starts the local control plane (scripts/local_cluster.py) in ``.local-cluster/``, where the
   stack file's ``kubeconfigPath`` points, and gives it the static volume the backup claim binds;
2. ``pulumi up`` of the `local` stack: state in a file backend inside the project
   (``.pulumi-state/``), secrets with the passphrase provider, the placeholder token set as a
   secret in a copy of the stack file (``.local-cluster/Pulumi.local.yaml``, passed with
   ``--config-file``) so the tracked ``Pulumi.local.yaml`` is never written;
3. the checks: ``kubectl get deployments`` and ``kubectl get services`` in the gateway's namespace,
   and ``pulumi stack output gateways``;
4. ``pulumi preview --expect-no-changes``: a second run changes nothing;
5. unless ``--keep``: ``pulumi destroy``, then ``kubectl`` shows what ``backup.keepOnDestroy``
   left behind (the namespace and the claim), and the control plane is stopped.

    python scripts/local_demo.py [--keep] [--timeout 180] [--context NAME [--kubeconfig PATH]]
    python scripts/local_demo.py check-cli     # exit 0 when the `pulumi` on PATH can run the demo

``--context`` uses a cluster the user already has (kind, k3d, a dev AKS) from a kubeconfig
context instead of starting the local control plane: the copy of the stack file names that
context and kubeconfig, and turns the backup off (the local static volume exists only on the
local control plane). The demo still deploys only the `local` stack's gateway, into its own
namespace, and destroys it at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import local_cluster  # noqa: E402

STACK = "local"
PROJECT = "apim-gateway"
GATEWAY = "local-gw"
STATIC_VOLUME = """\
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {name}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce, ReadWriteMany]
  storageClassName: local-static
  persistentVolumeReclaimPolicy: Retain
  hostPath: {{path: /var/lib/apim-gateway-local/{name}}}
"""
"""A pre-provisioned volume for the backup claim: a local cluster has no provisioner. ``Retain``:
the volume (and, on a real node, its data) outlives a deleted claim."""


TESTED_CLI = "3.259.0"
"""The only Pulumi CLI this project is tested with (scripts/toolchain.sh DEFAULT_PULUMI_VERSION)."""
CLI_FLAGS = {("up",): "--config-file", ("stack", "rm"): "--preserve-config"}
"""Flags the demo passes that older CLIs lack, probed in each command's help rather than guessed."""


def sdk_minimum_cli() -> tuple[int, int, int]:
    """The oldest CLI the pinned Python SDK accepts: ``pulumi/automation/_minimum_version.py``
    (``_MINIMUM_VERSION``, which the Automation API checks a CLI against)."""
    from pulumi.automation._minimum_version import _MINIMUM_VERSION

    return (_MINIMUM_VERSION.major, _MINIMUM_VERSION.minor, _MINIMUM_VERSION.patch)


def parse_cli_version(text: str) -> tuple[int, int, int] | None:
    """``v3.259.0`` (``pulumi version``'s output) → (3, 259, 0); None for anything else."""
    parts = text.strip().removeprefix("v").split("-")[0].split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return (int(parts[0]), int(parts[1]), int(parts[2]))


def cli_problems(pulumi: str | None, run_cli: Callable[[list[str]], str] | None = None) -> list[str]:
    """Why the ``pulumi`` on PATH cannot run the demo (empty: it can). Within range: at least the
    SDK's minimum, major version 3 (the SDK's), and the flags the demo passes."""
    if pulumi is None:
        return ["no `pulumi` on PATH"]
    run_cli = run_cli or (
        lambda args: subprocess.run([pulumi, *args], capture_output=True, text=True, timeout=60).stdout
    )
    version = parse_cli_version(run_cli(["version"]))
    minimum = sdk_minimum_cli()
    if version is None:
        return [f"`{pulumi} version` printed no version"]
    problems = []
    if version < minimum or version[0] != minimum[0]:
        shown = ".".join(map(str, minimum))
        problems.append(f"pulumi {'.'.join(map(str, version))} is outside {shown} ≤ version < {minimum[0] + 1}.0.0")
    for command, flag in CLI_FLAGS.items():
        if flag not in run_cli([*command, "--help"]):
            problems.append(f"`pulumi {' '.join(command)}` has no {flag}")
    return problems


def context_stack_file(source: Path, destination: Path, context: str, kubeconfig: Path) -> None:
    """The `local` stack file for an existing cluster: its gateway uses ``context`` of ``kubeconfig``
    and no backup (the static volume is the local control plane's)."""
    import yaml

    document = yaml.safe_load(source.read_text())
    gateway = document["config"][f"{PROJECT}:gateways"][0]
    gateway["kubernetes"] = {**gateway.get("kubernetes", {}), "context": context, "kubeconfigPath": str(kubeconfig)}
    gateway["backup"] = {"enabled": False}
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(yaml.safe_dump(document, sort_keys=False))


def placeholder_token(gateway: str, now: datetime | None = None) -> str:
    """A token-shaped placeholder: nothing here can reach Azure, so nothing could use a real one."""
    expiry = (now or datetime.now(UTC)) + timedelta(days=30)
    return f"GatewayKey {gateway}&{expiry:%Y%m%d%H%M}&bG9jYWwtZGVtby1wbGFjZWhvbGRlcg=="


def engine_environment(state: Path) -> dict[str, str]:
    """The engine's environment: the project's file backend, the passphrase provider (a demo
    passphrase unless ``PULUMI_CONFIG_PASSPHRASE`` is set), no plugin downloads."""
    state.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "local-demo"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD", str(ROOT / ".venv" / "bin" / "python")),
    }


def run(command: Sequence[str], env: dict[str, str], check: bool = True, timeout: float = 900) -> int:
    """Run one command with its output going straight to ours, after printing it."""
    print(f"\n$ {' '.join(command)}", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"local-demo: `{' '.join(command)}` failed with exit code {done.returncode}")
    return done.returncode


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> None:
    """The toolchain's real ``kubectl``, its output as it printed it."""
    print(f"\n$ kubectl {' '.join(args)}", flush=True)
    print(local_cluster.kubectl(kubeconfig, *args, stdin=stdin), end="", flush=True)


def prepare_stack(env: dict[str, str], config_file: Path, work: Path, context: tuple[str, Path] | None = None) -> None:
    """A fresh `local` stack: the state of an earlier run describes a cluster that is gone."""
    stacks = ROOT / ".pulumi-state" / ".pulumi" / "stacks" / PROJECT
    if (stacks / f"{STACK}.json").exists():
        print("local-demo: removing the `local` stack of an earlier run (its cluster is gone)")
        # --preserve-config: without it `stack rm` deletes the tracked Pulumi.local.yaml.
        run(["pulumi", "stack", "rm", STACK, "--yes", "--force", "--preserve-config", "--non-interactive"], env)
    # `stack init` writes the passphrase salt into the stack file of the directory it runs in: run
    # it in a scratch project of the same name, so the tracked Pulumi.local.yaml stays as it is.
    scratch = work / "stack-init"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
    (scratch / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)
    run(["pulumi", "stack", "init", STACK, "--non-interactive", "--cwd", str(scratch)], env)
    if context is None:
        shutil.copy(ROOT / f"Pulumi.{STACK}.yaml", config_file)
    else:
        context_stack_file(ROOT / f"Pulumi.{STACK}.yaml", config_file, *context)
    token = placeholder_token(GATEWAY)
    print(
        f"\n$ pulumi config set --secret --path gatewayTokens.{GATEWAY} <placeholder token> --config-file {config_file}"
    )
    subprocess.run(
        [
            *("pulumi", "config", "set", "--secret", "--path", f"gatewayTokens.{GATEWAY}", token),
            *("--stack", STACK, "--config-file", str(config_file), "--non-interactive"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,  # the command would echo nothing secret, but keep the token off the screen
    )
    # A new stack instance gets its own ownership key (docs/cluster-lifecycle.md, "Ownership").
    print(f'$ pulumi config set --secret apim-gateway:ownerKey "$(openssl rand -hex 32)" --config-file {config_file}')
    subprocess.run(
        [
            *("pulumi", "config", "set", "--secret", "apim-gateway:ownerKey", secrets.token_hex(32)),
            *("--stack", STACK, "--config-file", str(config_file), "--non-interactive"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check-cli"]:
        problems = cli_problems(shutil.which("pulumi"))
        for problem in problems:
            print(f"local-demo: not reusing the Pulumi CLI on PATH: {problem}", file=sys.stderr)
        if not problems:
            print(f"local-demo: reusing the Pulumi CLI on PATH (only {TESTED_CLI} is tested here)", file=sys.stderr)
        return 1 if problems else 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / ".local-cluster", help="local cluster state directory")
    parser.add_argument("--keep", action="store_true", help="leave the stack deployed and the cluster running")
    parser.add_argument("--timeout", type=float, default=180, help="seconds for the control plane to start")
    parser.add_argument("--context", help="use this context of an existing cluster instead of a local control plane")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser(),
        help="kubeconfig holding --context (default: $KUBECONFIG's first file, else ~/.kube/config)",
    )
    args = parser.parse_args(argv)
    if args.context:
        return existing_cluster_demo(args)
    directory: Path = args.dir.resolve()
    if directory != (ROOT / ".local-cluster").resolve():
        print(f"local-demo: note: Pulumi.{STACK}.yaml's kubeconfigPath names .local-cluster/kubeconfig")

    env = engine_environment(ROOT / ".pulumi-state")
    config_file = directory / f"Pulumi.{STACK}.yaml"
    stack = ["--stack", STACK, "--config-file", str(config_file), "--non-interactive"]
    cluster = local_cluster.LocalCluster(directory)
    print(f"local-demo: starting the local Kubernetes control plane in {directory}", flush=True)
    kubeconfig = cluster.start(timeout=args.timeout)
    deployed = False
    try:
        kubectl(kubeconfig, "apply", "-f", "-", stdin=STATIC_VOLUME.format(name=f"{GATEWAY}-config-backup"))
        prepare_stack(env, config_file, directory)
        run(["pulumi", "up", "--yes", "--skip-preview", *stack], env)
        deployed = True
        kubectl(kubeconfig, "get", "deployments", "-n", GATEWAY)
        kubectl(kubeconfig, "get", "services", "-n", GATEWAY)
        run(["pulumi", "stack", "output", "gateways", "--stack", STACK], env)
        run(["pulumi", "preview", "--expect-no-changes", *stack], env)
    finally:
        if args.keep:
            print(f"\nlocal-demo: left running. KUBECONFIG={kubeconfig}")
            print(
                "local-demo: from the project directory, with PULUMI_BACKEND_URL=file://.pulumi-state and "
                f"PULUMI_CONFIG_PASSPHRASE={env['PULUMI_CONFIG_PASSPHRASE']}:\n"
                f"  pulumi preview --stack {STACK} --config-file {config_file}\n"
                f"  pulumi destroy --stack {STACK} --config-file {config_file}\n"
                f"  python scripts/local_cluster.py stop --dir {directory}"
            )
        else:
            try:
                if deployed:
                    run(["pulumi", "destroy", "--yes", "--skip-preview", *stack], env)
                    print("\nlocal-demo: what backup.keepOnDestroy left behind (kept for the next `up` to adopt):")
                    kubectl(kubeconfig, "get", "namespace", GATEWAY)
                    kubectl(kubeconfig, "get", "persistentvolumeclaims", "-n", GATEWAY)
            finally:
                cluster.stop()
                print("\nlocal-demo: local cluster stopped")
    return 0


def existing_cluster_demo(args: argparse.Namespace) -> int:
    """The demo on a cluster the user names (``--context``): no control plane started or stopped."""
    directory: Path = args.dir.resolve()
    env = engine_environment(ROOT / ".pulumi-state")
    config_file = directory / f"Pulumi.{STACK}.yaml"
    stack = ["--stack", STACK, "--config-file", str(config_file), "--non-interactive"]
    kubeconfig = args.kubeconfig.resolve()
    print(f"local-demo: using context {args.context!r} of {kubeconfig} (no local control plane)", flush=True)
    prepare_stack(env, config_file, directory, (args.context, kubeconfig))
    run(["pulumi", "up", "--yes", "--skip-preview", *stack], env)
    try:
        run(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                args.context,
                "get",
                "deployments,services",
                "-n",
                GATEWAY,
            ],
            env,
            check=False,
        )
        run(["pulumi", "stack", "output", "gateways", "--stack", STACK], env)
        run(["pulumi", "preview", "--expect-no-changes", *stack], env)
    finally:
        if args.keep:
            print(
                f"\nlocal-demo: left deployed on context {args.context!r}; `pulumi destroy --stack {STACK} "
                f"--config-file {config_file}` removes it"
            )
        else:
            run(["pulumi", "destroy", "--yes", "--skip-preview", *stack], env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
