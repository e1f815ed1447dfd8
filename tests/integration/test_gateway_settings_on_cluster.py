"""Gateway settings on a real API server: what the restricted Pod Security Standard admits,
and that a first run creates everything its pods need (CA bundle, PriorityClass)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from scripts import local_demo

pytestmark = pytest.mark.integration
NS = "apim-gateway"
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBwTCCAWagAwIBAgIUC0T9PWoBJm1u194QtJ02raJ8+bswCgYIKoZIzj0EAwIw
PjEaMBgGA1UECgwRQ29udG9zbyAoZXhhbXBsZSkxIDAeBgNVBAMMF0NvbnRvc28g
RXhhbXBsZSBSb290IENBMB4XDTI2MDEwMTAwMDAwMFoXDTM1MTIzMDAwMDAwMFow
PjEaMBgGA1UECgwRQ29udG9zbyAoZXhhbXBsZSkxIDAeBgNVBAMMF0NvbnRvc28g
RXhhbXBsZSBSb290IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBr3RRC+I
4g3tLeraHPQXl0aR1grIcd+N0kcLr/1Z7xGS/ssSKeukrY3t54UdoQr3OZJEgqHW
gavvkKXZq20FkaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
HQYDVR0OBBYEFBZ6sImshnYlToZ6s6sEQNZ4DzD/MAoGCCqGSM49BAMCA0kAMEYC
IQCZ5c5UfW/rqAPE084Q7txCRK5opmNiU4rSO/r4nIuAfwIhAJNubEvXKkKnGrbM
VP4SVefZkh1DamzZloWECzQEe1iM
-----END CERTIFICATE-----
"""


def objects_for(name: str, **gateway: Any) -> list[dict[str, Any]]:
    config, secret_keys = local_demo.stack_config("local")
    entry = copy.deepcopy(config[f"{NS}:gateways"][0])
    entry.update(name=name, replicas=1, backup={"enabled": False}, **copy.deepcopy(gateway))
    config[f"{NS}:gateways"] = [entry]
    config[f"{NS}:gatewayTokens"] = {name: local_demo.placeholder_token(name)}
    return local_demo.kubernetes_objects(local_demo.plan(config, secret_keys))


def test_a_first_run_with_a_custom_ca_and_priority_class_becomes_available(local_cluster: Any) -> None:
    """On an empty namespace the pods start only if the run itself creates the CA bundle Secret
    they mount (a pod with a missing Secret volume stays ContainerCreating) and the PriorityClass
    they name (the Priority admission plugin rejects a pod naming an unknown class). The
    namespace enforces the restricted Pod Security Standard: a Secret volume and env are allowed."""
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    objects = objects_for(
        "ca-gw",
        customCa={"certificates": CA_PEM},
        scheduling={"priorityClass": {"name": "apim-gateway-local", "create": True, "value": 1000}},
    )
    kinds = [obj["kind"] for obj in objects]
    assert kinds[0] == "PriorityClass" and kinds.count("Secret") == 2
    for obj in objects:
        cluster.apply(obj)
    local_demo.wait_for(
        "the gateway Deployment did not become Available",
        lambda: local_demo.deployment_available(cluster, "ca-gw", "ca-gw"),
        timeout=180,
    )
    pods = cluster.resource("v1", "Pod").get(namespace="ca-gw").items
    assert pods and all(pod.spec.priority == 1000 for pod in pods)
    env = {e.name: e.value for e in pods[0].spec.containers[0].env if e.name.startswith("SSL_CERT_")}
    assert env == {"SSL_CERT_FILE": "/apim/certificates/ca/ca-bundle.crt", "SSL_CERT_DIR": "/etc/ssl/certs"}


def test_the_restricted_namespace_refuses_the_charts_dev_log_volume(local_cluster: Any) -> None:
    """The chart's localsyslog volume (templates/deployment.yaml: ``hostPath: {path: /dev/log,
    type: Socket}``) in a pod the stack's namespace would run: the API server's PodSecurity
    admission refuses it, which is why the config refuses ``localsyslog`` and ``journal``."""
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    objects = objects_for("syslog-gw")
    namespace = next(obj for obj in objects if obj["kind"] == "Namespace")
    cluster.apply(namespace)
    deployment = next(obj for obj in objects if obj["kind"] == "Deployment")
    pod_spec = copy.deepcopy(deployment["spec"]["template"]["spec"])
    pod_spec["volumes"] = [
        *pod_spec.get("volumes", []),
        {"name": "logs", "hostPath": {"path": "/dev/log", "type": "Socket"}},
    ]
    pod_spec["containers"][0]["volumeMounts"] = [{"name": "logs", "mountPath": "/dev/log"}]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "syslog-probe", "namespace": "syslog-gw"},
        "spec": pod_spec,
    }
    with pytest.raises(ApiException) as refused:
        cluster.resource("v1", "Pod").create(body=pod, namespace="syslog-gw", dry_run="All")
    assert refused.value.status == 403
    assert "hostPath" in str(refused.value.body) and "restricted" in str(refused.value.body)
    del pod_spec["volumes"][-1], pod_spec["containers"][0]["volumeMounts"]
    cluster.resource("v1", "Pod").create(body=pod, namespace="syslog-gw", dry_run="All")
