"""Reading the local API server in tests (the official ``kubernetes`` client's dynamic client), and
the objects a stack file's program registers, recorded under Pulumi's mocks (``offline.py``).

Only the tests use this: what the stack does to a cluster is always done by the real engine and
Kubernetes plugin (``engine.LocalStack``); the program's recording is ``harness.run_main``. ``Cluster.apply`` is for the server's own checks of
recorded objects (``dryRun=All``) and for objects a test needs that the stack does not own.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine import placeholder_token
from harness import stack
from offline import Recording, restore_integers

NS = "apim-gateway"
FIELD_MANAGER = "apim-gateway-tests"
APPLY_ORDER = [
    "PriorityClass",
    "StorageClass",
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


def stack_config(environment: str, **gateway: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A stack file's config, its first gateway's settings overridden (``harness.stack``), with
    placeholder tokens for `existing` gateways."""
    config = stack(environment, **gateway)
    secret_keys: list[str] = []
    if config.get(f"{NS}:apim", {}).get("mode") == "existing":
        config[f"{NS}:gatewayTokens"] = {g["name"]: placeholder_token(g["name"]) for g in config[f"{NS}:gateways"]}
        secret_keys.append(f"{NS}:gatewayTokens")
    return config, tuple(secret_keys)


def kubernetes_objects(recording: Recording) -> list[dict[str, Any]]:
    """The recorded Kubernetes objects, integers restored, in dependency order."""
    objects = [
        restore_integers(r.inputs)
        for r in recording.resources
        if r.type.startswith("kubernetes:") and "kind" in r.inputs
    ]
    return sorted(objects, key=lambda obj: APPLY_ORDER.index(obj["kind"]))


class Cluster:
    """A thin client for reading objects (and applying the few a test needs itself)."""

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

    def find(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any | None:
        """The object, or None when the server answers 404."""
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.get(api_version, kind, name, namespace)
        except NotFoundError:
            return None

    def static_volume(self, name: str, size: str = "1Gi", storage_class: str = STATIC_STORAGE_CLASS) -> None:
        """A pre-provisioned volume for a backup claim (a local cluster has no provisioner)."""
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                    "storageClassName": storage_class,
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {"path": f"/var/lib/apim-gateway-local/{name}"},
                },
            }
        )


def delete_namespaces(cluster: Cluster, names: Iterable[str], timeout: float = 180) -> None:
    """Delete namespaces a test created for real and wait until they are gone (the namespace
    controller empties a namespace before it disappears: Kubernetes docs, "Namespaces"), so that no
    later test of the session meets one its stack does not own (the cluster guard refuses it)."""
    names = sorted(names)
    for name in names:
        cluster.resource("v1", "Namespace").delete(name=name)
    wait_for(
        f"namespaces {', '.join(names)} deleted",
        lambda: all(cluster.find("v1", "Namespace", name) is None for name in names),
        timeout=timeout,
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
    return bool(
        (status.get("observedGeneration") or 0) >= deployment.metadata.generation
        and (status.get("updatedReplicas") or 0) == wanted
        and (status.get("availableReplicas") or 0) == wanted
        and (status.get("replicas") or 0) == wanted
        and conditions.get("Available") == "True"
    )


class ReadyPods:
    """Samples, every 50 ms, the ready pods behind each named Service (its selector at that moment):
    what a client of that Service can reach."""

    def __init__(self, cluster: Cluster, namespace: str, services: list[str]) -> None:
        from kubernetes.client import CoreV1Api

        self.core: Any = CoreV1Api(cluster.api)
        self.namespace = namespace
        self.services = services
        self.samples: list[dict[str, int | None]] = []
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def behind(self, service: str) -> int | None:
        """Ready pods the Service selects; None while the Service does not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            selector = self.core.read_namespaced_service(service, self.namespace).spec.selector or {}
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        labels = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=labels).items
        return len([pod for pod in pods if _ready(pod)])

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append({service: self.behind(service) for service in self.services})
            self.times.append(time.monotonic())
            time.sleep(0.05)

    def summary(self) -> str:
        """What was measured, for the test's output (``pytest -s``)."""
        span = self.times[-1] - self.times[0] if self.times else 0.0
        lowest = {
            service: min([count for s in self.samples if (count := s[service]) is not None], default=None)
            for service in self.services
        }
        return f"{len(self.samples)} samples over {span:.1f} s; fewest ready pods while each Service existed: {lowest}"

    def __enter__(self) -> ReadyPods:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _ready(pod: Any) -> bool:
    """A pod that is not being deleted and whose Ready condition is True."""
    conditions = pod.status.conditions or []
    return pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True" for c in conditions)
