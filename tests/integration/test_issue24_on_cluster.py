"""Issue 24 on the local API server with the real engine and Kubernetes plugin: the pod knobs, a
token read from a Secret someone else renews (read at every ``up``, never written, a renewal rolls
the pods at the next ``up``), and proxy credentials through a Secret the stack creates."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster, deployment_available, wait_for
from engine import LocalStack

pytestmark = pytest.mark.integration

PASSWORD = "s3cr@t:pw"


def _token(gateway: str, expiry: str) -> str:
    return f"GatewayKey {gateway}&{expiry}&c2lnbmF0dXJlLW9mLWJ5bw=="


def test_the_pod_knobs_deploy_with_the_real_engine(local_cluster: Any, tmp_path: Path) -> None:
    gateway = "knobs-gw"
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        gateway,
        replicas=1,
        backup={"enabled": False},
        commonLabels={"team": "payments"},
        serviceAccount={"annotations": {"example.com/role": "gateway"}},
        service={
            "type": "LoadBalancer",
            "loadBalancerIP": "192.0.2.10",
            "loadBalancerIPAnnotation": "metallb.io/loadBalancerIPs",
            "allocateLoadBalancerNodePorts": False,
            "externalTrafficPolicy": "Cluster",
        },
        pod={
            "annotations": {"sidecar.istio.io/inject": "false"},
            "labels": {"mesh": "none"},
            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "16Mi"}}],
            "volumeMounts": [{"name": "scratch", "mountPath": "/mnt/scratch"}],
            "hostAliases": [{"ip": "10.0.0.5", "hostnames": ["backend.internal"]}],
            "runAsUser": 10001,
            "runAsGroup": 10001,
        },
    )
    cluster = Cluster(local_cluster.kubeconfig)
    # The traffic Service waits for a load balancer address no local cluster hands out: skip that wait.
    stack.update(service={"annotations": {"pulumi.com/skipAwait": "true"}})
    stack.up()
    wait_for("the Deployment", lambda: deployment_available(cluster, gateway, gateway), timeout=120)
    deployment = cluster.get("apps/v1", "Deployment", gateway, gateway)
    template = deployment.spec.template
    assert template.metadata.labels["team"] == "payments" and template.metadata.labels["mesh"] == "none"
    assert "team" not in deployment.spec.selector.matchLabels
    assert template.spec.hostAliases[0].hostnames == ["backend.internal"]
    assert template.spec.securityContext.runAsUser == 10001
    assert template.spec.serviceAccountName == gateway
    account = cluster.get("v1", "ServiceAccount", gateway, gateway)
    assert account.metadata.annotations["example.com/role"] == "gateway"
    service = cluster.get("v1", "Service", f"{gateway}-live-traffic", gateway)
    assert service.spec.allocateLoadBalancerNodePorts is False
    assert service.metadata.annotations["metallb.io/loadBalancerIPs"] == "192.0.2.10"
    assert stack.preview("--expect-no-changes").returncode == 0
    stack.destroy()


def test_a_token_from_an_existing_secret_is_read_never_written(local_cluster: Any, tmp_path: Path) -> None:
    gateway = "byo-token-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": gateway}})
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "gateway-token", "namespace": gateway},
        "stringData": {"gateway-key": _token(gateway, "203012312359")},  # the chart's key, the default
    }
    cluster.apply(secret)
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        gateway,
        replicas=1,
        backup={"enabled": False},
        namespace={"create": False},
        token={"existingSecret": {"name": "gateway-token"}},
    )
    stack.run("config", "rm", "gatewayTokens")  # never taken with an existing Secret
    stack.up()
    wait_for("the Deployment", lambda: deployment_available(cluster, gateway, gateway), timeout=120)
    deployment = cluster.get("apps/v1", "Deployment", gateway, gateway)
    env = {e.name: e for e in deployment.spec.template.spec.containers[0].env}
    assert env["config.service.auth"].valueFrom.secretKeyRef.name == "gateway-token"
    digest = deployment.spec.template.metadata.annotations["checksum/existing-token"]
    assert stack.outputs()["gateways"][gateway]["tokenExpiresOn"] == "2030-12-31T23:59:00Z"
    # The read Secret's data is a secret in state: neither the token nor its base64 form in plain text.
    exported = json.dumps(stack.state())
    token = _token(gateway, "203012312359")
    assert token not in exported and base64.b64encode(token.encode()).decode() not in exported
    # Its owner renews it; the next `up` rolls the pods.
    cluster.apply({**secret, "stringData": {"gateway-key": _token(gateway, "203101312359")}})
    stack.up()
    renewed = cluster.get("apps/v1", "Deployment", gateway, gateway).spec.template.metadata.annotations
    assert renewed["checksum/existing-token"] != digest
    # The stack never wrote it: no field of it belongs to the provider's field manager.
    managers = {
        entry["manager"] for entry in cluster.get("v1", "Secret", "gateway-token", gateway).metadata.managedFields
    }
    assert not any(manager.startswith("pulumi") for manager in managers), managers
    stack.destroy()
    assert cluster.find("v1", "Secret", "gateway-token", gateway) is not None  # a read is never deleted


def test_proxy_credentials_reach_the_pods_through_a_secret(local_cluster: Any, tmp_path: Path) -> None:
    gateway = "proxy-gw"
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        gateway,
        replicas=1,
        backup={"enabled": False},
        proxy={"https": "http://proxy.example.com:3128"},
    )
    stack.run("config", "set", "--secret", "--path", f"proxyCredentials.{gateway}", f"me:{PASSWORD}")
    stack.up()
    cluster = Cluster(local_cluster.kubeconfig)
    data = cluster.get("v1", "Secret", f"{gateway}-proxy", gateway).data
    assert base64.b64decode(data["HTTPS_PROXY"]).decode() == "http://me:s3cr%40t%3Apw@proxy.example.com:3128"
    settings = cluster.get("v1", "ConfigMap", f"{gateway}-env", gateway).data
    assert settings["HTTPS_PROXY"] == "http://proxy.example.com:3128"
    policy = cluster.get("networking.k8s.io/v1", "NetworkPolicy", gateway, gateway)
    assert any(port.port == 3128 for rule in policy.spec.egress for port in (rule.ports or []))
    exported = json.dumps(stack.state())
    assert PASSWORD not in exported and "s3cr%40t" not in exported
    stack.destroy()
