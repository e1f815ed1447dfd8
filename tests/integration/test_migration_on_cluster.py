"""Migration from what exists (issue 24, item 1), on the local API server with the real engine and
Kubernetes plugin 4.25.0: the old gateway runs, the migration runs, the new one is Available, and the
ready pods behind the Services clients use are polled all along. kwok marks a pod ready as soon as
it is bound, so readiness probes never delay anything here: docs/migration.md works out from the
objects' specs where a real cluster would have a gap, and how long.

The old installs are written here from their sources, never copied:
- the portal's YAML: Microsoft Learn, "Deploy a self-hosted gateway to Kubernetes" (the download of
  Gateways > Deployment > Kubernetes, with its ``kubectl create secret generic <gw>-token
  --from-literal=value=...``), whose objects /work/shared/reference/self-hosted-gateway-facts.md
  lists: ConfigMap ``<gw>-env``, Secret ``<gw>-token`` (key ``value``), Deployment ``<gw>`` selecting
  ``app: <gw>`` (RollingUpdate maxUnavailable 0, maxSurge 25%, terminationGracePeriodSeconds 60,
  readiness GET /status-0123456789abcdef every 5 s), Service ``<gw>-live-traffic`` (LoadBalancer,
  externalTrafficPolicy Local, 80→8080, 443→8081), headless Service ``<gw>-instance-discovery``;
- the Helm chart azure-api-management-gateway 1.15.1 (Azure/api-management-self-hosted-gateway,
  commit 2d36f71, ``helm-charts/azure-api-management-gateway/templates/``) rendered by hand for
  ``HELM_VALUES`` with release name ``azure-api-management-gateway`` (its README's) in namespace
  ``helm-gw``: each object below cites the template and lines it comes from.
"""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster, deployment_available, wait_for
from engine import LocalStack, placeholder_token

pytestmark = pytest.mark.integration


class ReadyPods:
    """Samples, every 50 ms, the ready pods behind each named Service (its selector at that moment):
    what a client of that Service can reach."""

    def __init__(self, cluster: Cluster, namespace: str, services: list[str]) -> None:
        from kubernetes.client import CoreV1Api

        self.core = CoreV1Api(cluster.api)
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
        return sum(
            1
            for pod in pods
            if pod.metadata.deletion_timestamp is None
            and any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append({service: self.behind(service) for service in self.services})
            self.times.append(time.monotonic())
            time.sleep(0.05)

    def summary(self) -> str:
        """What was measured, for the test's output (``pytest -s``)."""
        span = self.times[-1] - self.times[0] if self.times else 0.0
        lowest = {service: min((s[service] or 0) for s in self.samples) for service in self.services}
        return f"{len(self.samples)} samples over {span:.1f} s; fewest ready pods seen per Service: {lowest}"

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
        assert live.metadata.annotations["apim-gateway/stack"] == "apim-gateway/local"
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


# --- the Helm chart -------------------------------------------------------------------------------

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
    assert namespace.annotations["apim-gateway/stack"] == "apim-gateway/local"
    assert namespace.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    stack.update(kubernetes={"adopt": None})
    stack.up()
    stack.preview("--expect-no-changes")
    stack.destroy()
