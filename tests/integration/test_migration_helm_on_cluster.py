"""Migration from the Helm chart (issue 24, item 1), on the local API server with the real engine and
Kubernetes plugin 4.25.0: the chart's gateway runs, the stack's comes up beside it, the chart's is
uninstalled, and the ready pods behind both Services are polled all along (docs/migration.md, "From
the Helm chart"). kwok marks a pod ready as soon as it is bound: docs/migration.md says where a real
cluster would differ.

The chart azure-api-management-gateway 1.15.1 (Azure/api-management-self-hosted-gateway, commit
2d36f71, ``helm-charts/azure-api-management-gateway/templates/``) is rendered by hand below for
``HELM_VALUES``, release name ``azure-api-management-gateway`` (its README's) in namespace
``helm-gw``: each object cites the template and lines it comes from. The chart itself is read, never
copied.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster, ReadyPods, deployment_available, kubectl, wait_for
from engine import LocalStack

pytestmark = pytest.mark.integration


HELM_GW = "helm-gw"
RELEASE = "azure-api-management-gateway"
"""The release name of the chart's README (``helm install --name azure-api-management-gateway``). It
contains the chart's name, so every object's name is the release name (``_helpers.tpl`` lines 14-24)."""
HELM_VALUES = {
    "replicaCount": 2,
    "gateway": {
        "configuration": {"uri": "local-apim.configuration.azure-api.net"},
        "auth": {"type": "GatewayToken", "key": f"GatewayKey {HELM_GW}&202612312359&b2xkLWhlbG0tdG9rZW4="},
    },
}
"""The fixed values file; every other value is the chart's default (``values.yaml``, chart 1.15.1)."""


def helm_objects(namespace: str) -> list[dict[str, Any]]:
    """What ``helm install azure-api-management-gateway -n <namespace> --create-namespace -f values``
    creates for ``HELM_VALUES``, rendered by hand from the chart's templates (cited per object)."""
    selector = {  # _helpers.tpl lines 51-55 (selectorLabels)
        "app.kubernetes.io/name": RELEASE,
        "app.kubernetes.io/component": "self-hosted-gateway",
        "app.kubernetes.io/instance": RELEASE,
    }
    labels = {  # _helpers.tpl lines 37-47 (labels); Chart.yaml version 1.15.1, appVersion 2.11.1
        "helm.sh/chart": "azure-api-management-gateway-1.15.1",
        **selector,
        "app.kubernetes.io/version": "2.11.1",
        "app.kubernetes.io/managed-by": "Helm",
    }
    meta = {"name": RELEASE, "namespace": namespace, "labels": labels}
    probe = {"httpGet": {"path": "/status-0123456789abcdef", "port": "http"}}  # values.yaml probes
    token = HELM_VALUES["gateway"]["auth"]["key"]  # type: ignore[index]
    env = [  # deployment.yaml lines 59-97
        {"name": "config.service.auth", "valueFrom": {"secretKeyRef": {"name": RELEASE, "key": "gateway-key"}}},
        {"name": "runtime.deployment.mechanism", "value": "Helm"},
        {"name": "runtime.deployment.artifact.version", "value": "1.15.1"},
        {"name": "runtime.deployment.artifact.source", "value": "Official"},
        {"name": "runtime.deployment.orchestrator.type", "value": "Kubernetes"},
        {"name": "runtime.deployment.highAvailability.enabled", "value": "true"},
        {"name": "runtime.deployment.dapr.enabled", "value": "false"},
        {"name": "neighborhood.host", "value": f"{RELEASE}-instance-discovery"},
    ]
    container = {  # deployment.yaml lines 55-137
        "name": "azure-api-management-gateway",
        "image": "mcr.microsoft.com/azure-api-management/gateway:2.11.1",
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "envFrom": [{"configMapRef": {"name": RELEASE}}],
        "ports": [
            {"name": "http", "containerPort": 8080},
            {"name": "https", "containerPort": 8081},
            {"name": "rate-limit-dc", "protocol": "UDP", "containerPort": 4290},
            {"name": "dc-heartbeat", "protocol": "UDP", "containerPort": 4291},
        ],
        "readinessProbe": probe,
        "livenessProbe": probe,
        "startupProbe": probe,
        "resources": {},
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},  # --create-namespace
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},  # serviceaccount.yaml lines 1-9
        {  # secret.yaml lines 1-14
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "Opaque",
            "data": {"gateway-key": base64.b64encode(token.encode()).decode()},
        },
        {  # configmap.yaml lines 3-11 and 33-74, with the values' defaults
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {
                "config.service.endpoint": "local-apim.configuration.azure-api.net",
                "telemetry.metrics.cloud": "true",
                "telemetry.logs.std": "text",
                "telemetry.logs.std.level": "info",
                "telemetry.logs.std.color": "true",
                "telemetry.logs.local": "auto",
                "telemetry.logs.local.json.endpoint": "127.0.0.1:8888",
                "telemetry.metrics.local": "none",
                "observability.opentelemetry.enabled": "false",
                "observability.opentelemetry.system-metrics.enabled": "false",
            },
        },
        {  # deployment.yaml lines 2-23, 42-58, 157-165 (highAvailability on by default)
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 60,
                        "serviceAccountName": RELEASE,
                        "containers": [container],
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "topology.kubernetes.io/zone",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": selector},
                            }
                        ],
                    },
                },
            },
        },
        {  # service.yaml lines 1-32 (type ClusterIP by default)
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "type": "ClusterIP",
                "ports": [
                    {"port": 8080, "targetPort": "http", "protocol": "TCP", "name": "http"},
                    {"port": 8081, "targetPort": "https", "protocol": "TCP", "name": "https"},
                ],
                "selector": selector,
            },
        },
        {  # service-instance-discovery.yaml lines 1-26; the name: _helpers.tpl lines 67-69
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                **meta,
                "name": f"{RELEASE}-instance-discovery",
                "annotations": {
                    "azure.apim.kubernetes.io/notes": "Headless service being used for instance discovery of SHGW"
                },
            },
            "spec": {
                "clusterIP": "None",
                "type": "ClusterIP",
                "ports": [
                    {"port": 4290, "targetPort": "rate-limit-dc", "protocol": "UDP", "name": "rate-limit-discovery"},
                    {"port": 4291, "targetPort": "dc-heartbeat", "protocol": "UDP", "name": "discovery-heartbeat"},
                ],
                "selector": selector,
            },
        },
        {  # pod-disruption-budget.yaml lines 1-18
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": selector}},
        },
    ]


def test_a_gateway_from_the_helm_chart_is_replaced_beside_it_and_only_the_named_namespace_is_adopted(
    local_cluster: Any, tmp_path: Path
) -> None:
    kubeconfig = local_cluster.kubeconfig
    cluster = Cluster(kubeconfig)
    chart = helm_objects(HELM_GW)
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(chart))
    wait_for("the chart's gateway", lambda: deployment_available(cluster, RELEASE, HELM_GW), timeout=120)

    stack = LocalStack(tmp_path, kubeconfig, HELM_GW, replicas=2, backup={"enabled": False})
    refused = stack.preview(check=False)
    assert refused.returncode != 0
    assert f"Namespace {HELM_GW} already exists and was not created by this stack" in refused.stdout
    assert "list it in kubernetes.adopt" in refused.stdout

    stack.update(kubernetes={"adopt": [{"kind": "Namespace", "name": HELM_GW}]})
    services = [RELEASE, f"{HELM_GW}-live-traffic"]
    with ReadyPods(cluster, HELM_GW, services) as polled:
        stack.up()
        assert deployment_available(cluster, HELM_GW, HELM_GW)
        # The chart's objects are all still the chart's: none was named, so none was touched.
        for obj in chart[1:]:
            live = cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], HELM_GW).to_dict()
            assert "apim-gateway/stack" not in (live["metadata"].get("annotations") or {}), obj["kind"]
            assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        both_served = len(polled.samples)
        # 'helm uninstall' of the release: its objects, by name (never the namespace, which Helm
        # does not delete and the stack now owns).
        for obj in reversed(chart[1:]):
            kubectl(kubeconfig, "delete", obj["kind"], obj["metadata"]["name"], "-n", HELM_GW, "--wait=true")
        wait_for(
            "the chart's pods gone",
            lambda: (
                not cluster.resource("v1", "Pod")
                .get(namespace=HELM_GW, label_selector=f"app.kubernetes.io/instance={RELEASE}")
                .items
            ),
            timeout=120,
        )
        time.sleep(1)
    old = [sample[RELEASE] for sample in polled.samples]
    new = [sample[f"{HELM_GW}-live-traffic"] for sample in polled.samples]
    overlap = sum(1 for a, b in zip(old, new, strict=True) if a and b)
    print(f"helm: {polled.summary()}; both Services had ready pods in {overlap} samples")
    assert len(old) > 20 and both_served < len(old)
    # The chart's Service kept its two ready pods until it was deleted. The stack's Service is made
    # beside its Deployment, so it may exist a moment before its pods are ready, one by one (no
    # client uses it yet); from its first two ready pods on it kept them. At every moment one of the two Services
    # had two ready pods, and for a while both did: the window in which clients move (docs/migration.md).
    assert {count for count in old if count is not None} == {2}
    first = new.index(2)
    assert set(new[first:]) == {2}
    assert all((a or 0) + (b or 0) >= 2 for a, b in zip(old, new, strict=True))
    assert any(a and b for a, b in zip(old, new, strict=True)) and old[-1] is None and new[-1] == 2

    namespace = cluster.get("v1", "Namespace", HELM_GW).metadata
    assert namespace.annotations["apim-gateway/stack"] == stack.owner
    assert namespace.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    stack.update(kubernetes={"adopt": None})
    stack.up()
    stack.preview("--expect-no-changes")
    stack.destroy()
