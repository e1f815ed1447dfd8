"""The local control plane behaves like a real cluster for what the gateway needs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

GATEWAY_IMAGE = "mcr.microsoft.com/azure-api-management/gateway:2.11.1"
AVAILABLE_TIMEOUT_S = 90


def _namespace(api_client: Any, prefix: str) -> str:
    from kubernetes import client

    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api_client).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _deployment(name: str, replicas: int) -> Any:
    from kubernetes import client

    labels = {"app.kubernetes.io/name": name}
    container = client.V1Container(
        name="gateway",
        image=GATEWAY_IMAGE,
        ports=[client.V1ContainerPort(name="http", container_port=8080)],
        readiness_probe=client.V1Probe(
            http_get=client.V1HTTPGetAction(path="/status-0123456789abcdef", port="http"),
            initial_delay_seconds=0,
            period_seconds=5,
        ),
    )
    spread = client.V1TopologySpreadConstraint(
        max_skew=1,
        topology_key="topology.kubernetes.io/zone",
        when_unsatisfiable="DoNotSchedule",
        label_selector=client.V1LabelSelector(match_labels=labels),
    )
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[container], topology_spread_constraints=[spread]),
            ),
        ),
    )


def test_deployment_becomes_available(k8s_api_client: Any) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(k8s_api_client)
    core = client.CoreV1Api(k8s_api_client)
    ns = _namespace(k8s_api_client, "it-deploy")
    apps.create_namespaced_deployment(ns, _deployment("gateway", replicas=2))

    deadline = time.monotonic() + AVAILABLE_TIMEOUT_S
    dep: Any = None
    while time.monotonic() < deadline:
        dep = apps.read_namespaced_deployment_status("gateway", ns)
        conditions = {c.type: c.status for c in (dep.status.conditions or [])}
        if conditions.get("Available") == "True" and (dep.status.available_replicas or 0) == 2:
            break
        time.sleep(1)
    else:
        pending: list[Any] = core.list_namespaced_pod(ns).items
        pytest.fail(
            f"deployment not Available within {AVAILABLE_TIMEOUT_S}s: status={dep.status if dep else None}; "
            f"pods={[(p.metadata.name, p.spec.node_name, p.status.phase) for p in pending]}"
        )

    pods: list[Any] = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=gateway").items
    assert len(pods) == 2
    assert all(p.status.phase == "Running" for p in pods)
    # The zone spread constraint put the two replicas on nodes in different zones.
    node_list: list[Any] = core.list_node().items
    nodes = {n.metadata.name: n for n in node_list}
    zones = {nodes[p.spec.node_name].metadata.labels["topology.kubernetes.io/zone"] for p in pods}
    assert len(zones) == 2


def test_server_side_dry_run_rejects_invalid_object(k8s_api_client: Any) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apps = client.AppsV1Api(k8s_api_client)
    ns = _namespace(k8s_api_client, "it-dryrun")

    bad = _deployment("bad", replicas=-1)  # negative replicas: rejected by validation
    bad.spec.template.spec.containers[0].name = "Not_A_DNS_Label"
    with pytest.raises(ApiException) as excinfo:
        apps.create_namespaced_deployment(ns, bad, dry_run="All")
    error: Any = excinfo.value
    assert error.status == 422
    assert "spec.replicas" in error.body

    # A valid object passes the same dry run and is not persisted.
    apps.create_namespaced_deployment(ns, _deployment("good", replicas=1), dry_run="All")
    assert apps.list_namespaced_deployment(ns).items == []
