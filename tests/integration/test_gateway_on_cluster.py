"""The component's Kubernetes objects on a real API server (with controller-manager,
scheduler and kwok nodes): accepted, running, rolled with zero unavailable replicas."""

from __future__ import annotations

import copy
import re
import threading
import time
from typing import Any

import pulumi
import pytest

from scripts import local_demo

pytestmark = pytest.mark.integration
NS = "apim-gateway"


def local_objects(token: str | None = None, **gateway: Any) -> list[dict[str, Any]]:
    """The Kubernetes objects the local stack's program registers."""
    config, secret_keys = local_demo.stack_config("local")
    config[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    if token is not None:
        config[f"{NS}:gatewayTokens"] = {"local-gw": token}
    return local_demo.kubernetes_objects(local_demo.plan(config, secret_keys))


@pytest.fixture(scope="module")
def deployed(local_cluster: Any) -> tuple[local_demo.Cluster, list[dict[str, Any]]]:
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    cluster.static_volume()
    objects = local_objects()
    for obj in objects:
        cluster.apply(obj)
    local_demo.wait_for(
        "the gateway Deployment did not become Available",
        lambda: local_demo.deployment_available(cluster, "local-gw", "local-gw"),
        timeout=180,
    )
    return cluster, objects


def test_every_object_is_created_and_reads_back_as_specified(
    deployed: tuple[local_demo.Cluster, list[dict[str, Any]]],
) -> None:
    cluster, objects = deployed
    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds == sorted(
        [
            "Namespace",
            "Secret",
            "ConfigMap",
            "PersistentVolumeClaim",
            "Deployment",
            "Service",
            "Service",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ]
    )
    namespace = cluster.get("v1", "Namespace", "local-gw")
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"

    deployment = cluster.get("apps/v1", "Deployment", "local-gw", "local-gw")
    assert deployment.spec.replicas == 2
    assert deployment.spec.strategy.rollingUpdate.maxUnavailable == 0
    assert deployment.spec.strategy.rollingUpdate.maxSurge == "25%"
    pod = deployment.spec.template.spec
    container = pod.containers[0]
    assert container.image == "mcr.microsoft.com/azure-api-management/gateway:2.12.1"
    for probe in (container.readinessProbe, container.livenessProbe, container.startupProbe):
        assert probe.httpGet.path == "/status-0123456789abcdef"
    assert sorted((p.containerPort, p.protocol) for p in container.ports) == [
        (4290, "UDP"),
        (4291, "UDP"),
        (8080, "TCP"),
        (8081, "TCP"),
    ]
    assert pod.securityContext.fsGroup == 1001
    mounts = {m.name: m.mountPath for m in container.volumeMounts}
    assert mounts["config-backup"] == "/apim/config"

    traffic = cluster.get("v1", "Service", "local-gw-live-traffic", "local-gw")
    assert traffic.spec.type == "NodePort" and traffic.spec.externalTrafficPolicy == "Local"
    assert [(p.port, p.targetPort) for p in traffic.spec.ports] == [(80, "http"), (443, "https")]
    discovery = cluster.get("v1", "Service", "local-gw-instance-discovery", "local-gw")
    assert discovery.spec.clusterIP == "None"

    claim_name = next(o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim")
    assert [v.persistentVolumeClaim.claimName for v in pod.volumes] == [claim_name]
    claim = cluster.get("v1", "PersistentVolumeClaim", claim_name, "local-gw")
    assert claim.status.phase == "Bound"

    import base64

    secret = cluster.get("v1", "Secret", "local-gw-token", "local-gw")
    assert base64.b64decode(secret.data["value"]).decode().startswith("GatewayKey local-gw&")
    config_map = cluster.get("v1", "ConfigMap", "local-gw-env", "local-gw")
    assert config_map.data["config.service.endpoint"] == "local-apim.configuration.azure-api.net"
    assert "GatewayKey" not in str(config_map.data)


def test_pods_pass_the_restricted_pod_security_standard_and_spread_over_zones(
    deployed: tuple[local_demo.Cluster, list[dict[str, Any]]],
) -> None:
    cluster, _ = deployed
    pods = (
        cluster.resource("v1", "Pod")
        .get(namespace="local-gw", label_selector="app.kubernetes.io/instance=local-gw")
        .items
    )
    running = [p for p in pods if p.status.phase == "Running"]
    assert len(running) == 2
    nodes = {p.spec.nodeName for p in running}
    zones = {cluster.get("v1", "Node", node).metadata.labels["topology.kubernetes.io/zone"] for node in nodes}
    assert len(zones) == 2  # the topology spread constraint put them in different zones


def test_reapplying_the_same_program_changes_nothing(deployed: tuple[local_demo.Cluster, list[dict[str, Any]]]) -> None:
    cluster, objects = deployed
    before = cluster.get("apps/v1", "Deployment", "local-gw", "local-gw").metadata.generation
    again = local_objects()  # same program, same inputs
    assert sorted((o["kind"], o["metadata"]["name"]) for o in again) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in objects
    )
    deployment = next(o for o in again if o["kind"] == "Deployment")
    cluster.apply(deployment)
    assert cluster.get("apps/v1", "Deployment", "local-gw", "local-gw").metadata.generation == before


def test_a_new_token_rolls_the_pods_with_zero_unavailable(
    deployed: tuple[local_demo.Cluster, list[dict[str, Any]]],
) -> None:
    cluster, _ = deployed
    old_template = cluster.get("apps/v1", "Deployment", "local-gw", "local-gw").spec.template
    new_token = local_demo.placeholder_token("local-gw").replace("bG9jYWwt", "cm90YXRl")
    objects = local_objects(token=new_token)

    lowest_available: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            status = cluster.get("apps/v1", "Deployment", "local-gw", "local-gw").status
            lowest_available.append(status.availableReplicas or 0)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for obj in objects:
            if obj["kind"] in ("Secret", "Deployment"):
                cluster.apply(obj)
        new_template = cluster.get("apps/v1", "Deployment", "local-gw", "local-gw").spec.template
        assert (
            new_template.metadata.annotations["checksum/credentials"]
            != old_template.metadata.annotations["checksum/credentials"]
        )
        local_demo.wait_for(
            "the rollout did not finish",
            lambda: local_demo.deployment_available(cluster, "local-gw", "local-gw"),
            timeout=180,
        )
    finally:
        stop.set()
        watcher.join(timeout=5)
    replica_sets = cluster.resource("apps/v1", "ReplicaSet").get(namespace="local-gw").items
    assert len(replica_sets) >= 2  # a new ReplicaSet: the pods were replaced
    assert len(lowest_available) > 5
    assert min(lowest_available) >= 2  # maxUnavailable 0, observed


def test_the_demo_checks_are_real_kubectl_output(
    local_cluster: Any, deployed: tuple[local_demo.Cluster, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo runs the toolchain's kubectl (``scripts/toolchain.sh cluster`` builds
    ``k8s.io/kubernetes/cmd/kubectl`` with the API server) for the seed's checks. Its table
    printer puts AGE last on both tables and EXTERNAL-IP on services (``kubectl get`` default
    columns); the imitation it replaces printed neither."""
    local_demo.print_checks(local_cluster.kubeconfig, "local-gw")
    out = capsys.readouterr().out
    assert "$ kubectl get deployments -n local-gw" in out
    assert re.search(r"^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$", out, re.MULTILINE)
    assert re.search(r"^local-gw +2/2 +2 +2 +\S+$", out, re.MULTILINE)
    assert re.search(r"^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$", out, re.MULTILINE)
    assert re.search(
        r"^local-gw-instance-discovery +ClusterIP +None +<none> +4290/UDP,4291/UDP +\S+$", out, re.MULTILINE
    )
    assert re.search(
        r"^local-gw-live-traffic +NodePort +10\.96\.\S+ +<none> +80:\d+/TCP,443:\d+/TCP +\S+$", out, re.MULTILINE
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_dev_and_prod_objects_are_accepted_by_the_api_server(local_cluster: Any, stack: str) -> None:
    """Server-side dry run: admission, defaulting and validation of the real API server."""
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    config = local_demo.stack_config(stack)[0]
    objects = local_demo.kubernetes_objects(local_demo.plan(config, (), stack))
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    cluster.apply(namespace)  # namespaced dry runs need the namespace itself
    for obj in objects:
        if obj["kind"] != "Namespace":
            cluster.apply(obj, dry_run=True)
    names = {
        o["metadata"]["name"]
        for o in cluster.resource("apps/v1", "Deployment").get(namespace=namespace["metadata"]["name"]).items
    }
    assert names == set()  # dry run: nothing was persisted


def test_invalid_config_fails_before_anything_reaches_the_cluster(local_cluster: Any) -> None:
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    before = {n.metadata.name for n in cluster.resource("v1", "Namespace").get().items}
    config, secret_keys = local_demo.stack_config("local", kubeconfig=local_cluster.kubeconfig)
    config[f"{NS}:gateways"][0]["namespace"] = {"name": "Bad_Namespace"}
    with pytest.raises(pulumi.RunError) as caught:
        local_demo.plan(config, secret_keys)
    assert "namespace.name = 'Bad_Namespace': must be a DNS-1123 label" in str(caught.value)
    after = {n.metadata.name for n in cluster.resource("v1", "Namespace").get().items}
    assert after == before


def test_a_fleet_of_two_gateways_runs_in_two_namespaces(local_cluster: Any) -> None:
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    config, secret_keys = local_demo.stack_config("local")
    first = copy.deepcopy(config[f"{NS}:gateways"][0])
    second = copy.deepcopy(first)
    first["name"], second["name"] = "fleet-a", "fleet-b"
    for gateway in (first, second):
        gateway["backup"] = {"enabled": False}  # one static volume only on the local cluster
        gateway["replicas"] = 1
    config[f"{NS}:gateways"] = [first, second]
    config[f"{NS}:gatewayTokens"] = {g["name"]: local_demo.placeholder_token(g["name"]) for g in (first, second)}
    # The fleet shares one kubeconfig here; each gateway could name its own context.
    objects = local_demo.kubernetes_objects(local_demo.plan(config, secret_keys))
    namespaces = sorted(o["metadata"]["name"] for o in objects if o["kind"] == "Namespace")
    assert namespaces == ["fleet-a", "fleet-b"]
    for obj in objects:
        cluster.apply(obj)
    for name in ("fleet-a", "fleet-b"):
        local_demo.wait_for(
            f"{name} did not become Available",
            lambda name=name: local_demo.deployment_available(cluster, name, name),  # type: ignore[misc]
            timeout=180,
        )
        settings = cluster.get("v1", "ConfigMap", f"{name}-env", name).data
        assert settings["neighborhood.host"] == f"{name}-instance-discovery.{name}.svc.cluster.local"
