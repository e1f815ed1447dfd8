"""Deploy a stack's gateway objects to the local Kubernetes API server, without Azure.

The program (``__main__.py``) runs under the offline plan (``components.offline``): the
component registers exactly what ``pulumi up`` would register, and the Kubernetes
objects it registered are applied here with server-side apply. This stands in for the
Pulumi Kubernetes provider, which this machine cannot build (see docs/toolchain.md).

    python scripts/local_demo.py [--stack local] [--keep]
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.offline import Recording, restore_integers, run_program  # noqa: E402
from scripts import local_cluster  # noqa: E402

FIELD_MANAGER = "apim-gateway-local-demo"
NS = "apim-gateway"
APPLY_ORDER = [
    "PriorityClass",
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
]
STATIC_STORAGE_CLASS = "local-static"


def placeholder_token(gateway: str, now: datetime | None = None) -> str:
    """A token-shaped placeholder: nothing here can reach Azure, so nothing could use a real one."""
    expiry = (now or datetime.now(UTC)) + timedelta(days=30)
    return f"GatewayKey {gateway}&{expiry:%Y%m%d%H%M}&bG9jYWwtZGVtby1wbGFjZWhvbGRlcg=="


def stack_config(stack: str, kubeconfig: Path | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stack file's config, with placeholder tokens for existing gateways that have none."""
    config: dict[str, Any] = dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])
    secret_keys: list[str] = []
    if config.get(f"{NS}:apim", {}).get("mode") == "existing":
        tokens = {gateway["name"]: placeholder_token(gateway["name"]) for gateway in config[f"{NS}:gateways"]}
        config[f"{NS}:gatewayTokens"] = tokens
        secret_keys.append(f"{NS}:gatewayTokens")
    if kubeconfig is not None:
        for gateway in config[f"{NS}:gateways"]:
            gateway.setdefault("kubernetes", {})["kubeconfigPath"] = str(kubeconfig)
    return config, tuple(secret_keys)


def plan(config: dict[str, Any], secret_keys: Iterable[str] = (), stack: str = "local") -> Recording:
    """Run the program offline and record what it registers."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return run_program(program, config, tuple(secret_keys), stack)


def kubernetes_objects(recording: Recording) -> list[dict[str, Any]]:
    """The recorded Kubernetes objects, integers restored, in apply order."""

    objects = [
        restore_integers(r.inputs)
        for r in recording.resources
        if r.type.startswith("kubernetes:") and "kind" in r.inputs
    ]
    return sorted(objects, key=lambda obj: APPLY_ORDER.index(obj["kind"]))


class Cluster:
    """A thin client for applying and reading objects (kubernetes' dynamic client)."""

    def __init__(self, kubeconfig: Path) -> None:
        from kubernetes import config as kube_config
        from kubernetes import dynamic
        from kubernetes.client import api_client

        loaded = kube_config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]
        self.api = api_client.ApiClient(configuration=loaded.configuration)
        self.client = dynamic.DynamicClient(self.api)  # type: ignore[no-untyped-call]

    def resource(self, api_version: str, kind: str) -> Any:
        return self.client.resources.get(api_version=api_version, kind=kind)

    def apply(self, obj: dict[str, Any], dry_run: bool = False) -> Any:
        metadata = obj["metadata"]
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self.resource(obj["apiVersion"], obj["kind"]).server_side_apply(
            body=obj, name=metadata["name"], namespace=metadata.get("namespace"), **kwargs
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return self.resource(api_version, kind).get(name=name, namespace=namespace)

    def static_volume(self, name: str = "local-gw-config-backup", size: str = "1Gi") -> None:
        """A pre-provisioned volume for backup claims (a local cluster has no provisioner)."""
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                    "storageClassName": STATIC_STORAGE_CLASS,
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {"path": f"/var/lib/apim-gateway-local/{name}"},
                },
            }
        )


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


def deployment_available(cluster: Cluster, name: str, namespace: str) -> bool:
    deployment = cluster.get("apps/v1", "Deployment", name, namespace)
    status = deployment.status or {}
    wanted = deployment.spec.replicas or 0
    conditions = {c["type"]: c["status"] for c in (status.get("conditions") or [])}
    return (
        (status.get("observedGeneration") or 0) >= deployment.metadata.generation
        and (status.get("updatedReplicas") or 0) == wanted
        and (status.get("availableReplicas") or 0) == wanted
        and (status.get("replicas") or 0) == wanted
        and conditions.get("Available") == "True"
    )


def wait_until_available(cluster: Cluster, name: str, namespace: str, timeout: float) -> None:
    wait_for(
        f"Deployment {namespace}/{name} did not become Available",
        lambda: deployment_available(cluster, name, namespace),
        timeout,
    )
    print(f"local-demo: Deployment {namespace}/{name} is Available")


def print_checks(kubeconfig: Path, namespace: str) -> None:
    """The seed's checks, run with the real ``kubectl`` the toolchain builds."""
    for kind in ("deployments", "services"):
        command = ("get", kind, "-n", namespace)
        print(f"\n$ kubectl {' '.join(command)}")
        print(local_cluster.kubectl(kubeconfig, *command), end="")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--dir", type=Path, default=ROOT / ".local-cluster", help="local cluster state directory")
    parser.add_argument("--keep", action="store_true", help="leave the local cluster running afterwards")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)

    config, secret_keys = stack_config(args.stack, kubeconfig=args.dir / "kubeconfig")
    recording = plan(config, secret_keys, args.stack)  # invalid config stops here, before any cluster work
    objects = kubernetes_objects(recording)
    cluster_process = local_cluster.LocalCluster(args.dir)
    print(f"local-demo: starting the local Kubernetes control plane in {args.dir}")
    kubeconfig = cluster_process.start(timeout=args.timeout)
    try:
        cluster = Cluster(kubeconfig)
        cluster.static_volume()
        for obj in objects:
            cluster.apply(obj)
            print(
                f"local-demo: applied {obj['kind']} {obj['metadata'].get('namespace', '-')}/{obj['metadata']['name']}"
            )
        for obj in objects:
            if obj["kind"] == "Deployment":
                wait_until_available(cluster, obj["metadata"]["name"], obj["metadata"]["namespace"], args.timeout)
                print_checks(kubeconfig, obj["metadata"]["namespace"])
        print("\nlocal-demo: stack outputs (as `pulumi stack output` would show them):")
        print(json.dumps(recording.plain_outputs, indent=2))
    finally:
        if args.keep:
            print(f"\nlocal-demo: cluster left running; KUBECONFIG={kubeconfig}")
            print(f"local-demo: stop it with: python scripts/local_cluster.py stop --dir {args.dir}")
        else:
            cluster_process.stop()
            print("\nlocal-demo: local cluster stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
