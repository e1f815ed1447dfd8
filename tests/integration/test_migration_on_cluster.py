"""Migration from the portal's YAML (issue 24, item 1), on the local API server with the real engine
and Kubernetes plugin 4.25.0: the old gateway runs, the migration runs, the new one is Available,
and the ready pods behind the Services clients use are polled all along. kwok marks a pod ready as
soon as it is bound, so readiness probes never delay anything here: docs/migration.md works out
from the objects' specs where a real cluster would have a gap, and how long. The Helm chart:
test_migration_helm_on_cluster.py.

The portal's objects are written here from Microsoft Learn, "Deploy a self-hosted gateway to
Kubernetes" (the download of Gateways > Deployment > Kubernetes, and its ``kubectl create secret
generic <gw>-token --from-literal=value=...``), as the project's facts sheet lists them: ConfigMap
``<gw>-env``, Secret ``<gw>-token`` (key ``value``), Deployment ``<gw>`` selecting ``app: <gw>``
(RollingUpdate maxUnavailable 0, maxSurge 25%, terminationGracePeriodSeconds 60, readiness GET
/status-0123456789abcdef every 5 s), Service ``<gw>-live-traffic`` (LoadBalancer,
externalTrafficPolicy Local, 80→8080, 443→8081), headless Service ``<gw>-instance-discovery``.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster, ReadyPods, deployment_available, kubectl, wait_for
from engine import LocalStack, placeholder_token

pytestmark = pytest.mark.integration


# --- the portal's YAML ------------------------------------------------------------------------

PORTAL_GW = "portal-gw"


def portal_yaml(gw: str, endpoint: str) -> list[dict[str, Any]]:
    """The objects of the portal's ``<gw>.yaml`` (the facts sheet's table of it), in ``default``."""
    app = {"app": gw}
    ports = [
        {"name": "http", "containerPort": 8080},
        {"name": "https", "containerPort": 8081},
        {"name": "rate-limit-dc", "protocol": "UDP", "containerPort": 4290},
        {"name": "dc-heartbeat", "protocol": "UDP", "containerPort": 4291},
    ]
    readiness = {
        "httpGet": {"path": "/status-0123456789abcdef", "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": 0,
        "periodSeconds": 5,
        "failureThreshold": 3,
        "successThreshold": 1,
    }
    container = {
        "name": gw,
        "image": "mcr.microsoft.com/azure-api-management/gateway:v2",
        "ports": ports,
        "readinessProbe": readiness,
        "env": [
            {"name": "config.service.auth", "valueFrom": {"secretKeyRef": {"name": f"{gw}-token", "key": "value"}}}
        ],
        "envFrom": [{"configMapRef": {"name": f"{gw}-env"}}],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{gw}-env", "labels": app},
            "data": {
                "config.service.endpoint": endpoint,
                "neighborhood.host": f"{gw}-instance-discovery",
                "runtime.deployment.artifact.source": "Azure Portal",
                "runtime.deployment.mechanism": "YAML",
                "runtime.deployment.orchestrator.type": "Kubernetes",
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": gw, "labels": app},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": app},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "template": {
                    "metadata": {"labels": app},
                    "spec": {"terminationGracePeriodSeconds": 60, "containers": [container]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{gw}-live-traffic", "labels": app},
            "spec": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "https", "port": 443, "targetPort": 8081},
                ],
                "selector": app,
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"{gw}-instance-discovery",
                "labels": app,
                "annotations": {
                    "azure.apim.kubernetes.io/notes": "Headless service being used for instance discovery of self-hosted gateway"
                },
            },
            "spec": {
                "clusterIP": "None",
                "type": "ClusterIP",
                "ports": [
                    {"name": "http", "port": 4290, "protocol": "UDP", "targetPort": 4290},
                    {"name": "https", "port": 4291, "protocol": "UDP", "targetPort": 4291},
                ],
                "selector": app,
            },
        },
    ]


PORTAL_ADOPT = [
    {"kind": "Secret", "name": f"{PORTAL_GW}-token"},
    {"kind": "ConfigMap", "name": f"{PORTAL_GW}-env"},
    {"kind": "Service", "name": f"{PORTAL_GW}-live-traffic"},
    {"kind": "Service", "name": f"{PORTAL_GW}-instance-discovery"},
]


def test_a_gateway_from_the_portal_yaml_is_taken_over_with_ready_pods_behind_its_services_throughout(
    local_cluster: Any, tmp_path: Path
) -> None:
    kubeconfig = local_cluster.kubeconfig
    cluster = Cluster(kubeconfig)
    old_token = f"GatewayKey {PORTAL_GW}&202612312359&b2xkLXBvcnRhbC10b2tlbg=="
    # The portal's two commands, into the default namespace.
    kubectl(kubeconfig, "create", "secret", "generic", f"{PORTAL_GW}-token", f"--from-literal=value={old_token}")
    manifest = yaml.safe_dump_all(portal_yaml(PORTAL_GW, "local-apim.configuration.azure-api.net"))
    kubectl(kubeconfig, "apply", "-f", "-", stdin=manifest)
    wait_for("the portal's gateway", lambda: deployment_available(cluster, PORTAL_GW, "default"), timeout=120)

    stack = LocalStack(
        tmp_path,
        kubeconfig,
        PORTAL_GW,
        replicas=2,
        backup={"enabled": False},
        namespace={"name": "default", "create": False},
        kubernetes={"adopt": [*PORTAL_ADOPT, {"kind": "Deployment", "name": PORTAL_GW}]},
    )
    # Nothing is taken silently: the Deployment, listed, is refused (its selector cannot change) ...
    refused = stack.preview(check=False)
    assert refused.returncode != 0
    assert "selects its pods with {'matchLabels': {'app': 'portal-gw'}}" in refused.stdout + refused.stderr
    assert f"kubectl delete deployment {PORTAL_GW} -n default --cascade=orphan" in refused.stdout + refused.stderr
    # ... and, not listed, refused as any object the stack does not own.
    stack.update(kubernetes={"adopt": PORTAL_ADOPT})
    unlisted = stack.preview(check=False)
    assert unlisted.returncode != 0
    assert f"Deployment default/{PORTAL_GW} already exists and was not created by this stack" in unlisted.stdout
    assert cluster.get("v1", "Secret", f"{PORTAL_GW}-token", "default").metadata.annotations is None  # untouched

    with ReadyPods(cluster, "default", [f"{PORTAL_GW}-live-traffic", f"{PORTAL_GW}-instance-discovery"]) as polled:
        # The cut-over (docs/migration.md): the old Deployment goes, its ReplicaSet and pods stay and serve.
        kubectl(kubeconfig, "delete", "deployment", PORTAL_GW, "--cascade=orphan", "--wait=true")
        stack.up()
        assert deployment_available(cluster, PORTAL_GW, "default")
        taken_over = len(polled.samples)
        # The old pods: their ReplicaSet has the portal's label, which the stack's pods do not carry.
        kubectl(kubeconfig, "delete", "replicaset", "-l", f"app={PORTAL_GW}", "--wait=true")
        wait_for(
            "the old pods gone",
            lambda: not cluster.resource("v1", "Pod").get(namespace="default", label_selector=f"app={PORTAL_GW}").items,
            timeout=120,
        )
        time.sleep(1)
    traffic = [sample[f"{PORTAL_GW}-live-traffic"] for sample in polled.samples]
    switched = polled.times[traffic.index(2)] - polled.times[0]
    print(f"portal: {polled.summary()}; the Service selected the new pods {switched:.1f} s after the cut-over began")
    assert len(traffic) > 20 and taken_over < len(traffic)
    assert min(count or 0 for count in traffic) >= 1, traffic
    # The old pod until the Service is taken over, after the new pods are available; then the new two.
    assert traffic[0] == 1 and traffic[-1] == 2
    assert set(traffic) == {1, 2}

    for entry in PORTAL_ADOPT:
        live = cluster.get("v1", entry["kind"], entry["name"], "default")
        assert live.metadata.annotations["apim-gateway/stack"] == stack.owner
    selector = cluster.get("v1", "Service", f"{PORTAL_GW}-live-traffic", "default").spec.selector
    # The whole selector is the stack's: ServiceSpec.selector is an atomic map (k8s.io/api v0.34.3
    # core/v1/types.go lines 5858-5859, "+mapType=atomic"), so the forced apply replaced it, key app too.
    assert dict(selector) == {
        "app.kubernetes.io/name": "azure-api-management-gateway",
        "app.kubernetes.io/instance": PORTAL_GW,
    }
    settings = cluster.get("v1", "ConfigMap", f"{PORTAL_GW}-env", "default").data
    assert settings["runtime.deployment.mechanism"] == "pulumi-component"  # the stack's values replace the portal's
    secret = cluster.get("v1", "Secret", f"{PORTAL_GW}-token", "default").to_dict()["data"]["value"]
    assert base64.b64decode(secret).decode() == placeholder_token(PORTAL_GW)  # replaced by the stack's token

    # The entries can go: the objects carry the stack's annotation now.
    stack.update(kubernetes={"adopt": None})
    stack.up()
    stack.preview("--expect-no-changes")
    stack.destroy()
    assert cluster.find("v1", "Service", f"{PORTAL_GW}-live-traffic", "default") is None
