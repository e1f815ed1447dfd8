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

    python scripts/local_demo.py [--keep] [--timeout 180]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
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


def prepare_stack(env: dict[str, str], config_file: Path, work: Path) -> None:
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
    shutil.copy(ROOT / f"Pulumi.{STACK}.yaml", config_file)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / ".local-cluster", help="local cluster state directory")
    parser.add_argument("--keep", action="store_true", help="leave the stack deployed and the cluster running")
    parser.add_argument("--timeout", type=float, default=180, help="seconds for the control plane to start")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
