"""Gateway settings on a real API server: what the restricted Pod Security Standard admits,
and that a first run creates everything its pods need (CA bundle, PriorityClass)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster, deployment_available, kubernetes_objects, stack_config
from engine import LocalStack
from harness import run_main
from kubernetes.client.exceptions import ApiException

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
    config, secret_keys = stack_config("local", name=name, replicas=1, backup={"enabled": False}, **gateway)
    return kubernetes_objects(run_main(config, secret_keys, "local"))


def test_a_first_up_with_a_custom_ca_and_priority_class_becomes_available(local_cluster: Any, tmp_path: Path) -> None:
    """On an empty cluster the pods start only if the run itself creates the CA bundle Secret they
    mount (a pod with a missing Secret volume stays ContainerCreating) and the PriorityClass they
    name (the Priority admission plugin rejects a pod naming an unknown class); the engine's
    ``pulumi up`` returns once the Deployment is Available (4.25.0 ``await/deployment.go``). The
    namespace enforces the restricted Pod Security Standard: a Secret volume and env are allowed."""
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        "ca-gw",
        replicas=1,
        backup={"enabled": False},
        customCa={"certificates": CA_PEM},
        scheduling={"priorityClass": {"name": "apim-gateway-local", "create": True, "value": 1000}},
    )
    stack.up()
    cluster = Cluster(local_cluster.kubeconfig)
    assert deployment_available(cluster, "ca-gw", "ca-gw")
    pods = cluster.resource("v1", "Pod").get(namespace="ca-gw").items
    assert pods and all(pod.spec.priority == 1000 for pod in pods)
    env = {e.name: e.value for e in pods[0].spec.containers[0].env if e.name.startswith("SSL_CERT_")}
    assert env == {"SSL_CERT_FILE": "/apim/certificates/ca/ca-bundle.crt", "SSL_CERT_DIR": "/etc/ssl/certs"}
    stack.destroy()


def test_the_restricted_namespace_refuses_the_charts_dev_log_volume(local_cluster: Any) -> None:
    """The chart's localsyslog volume (templates/deployment.yaml: ``hostPath: {path: /dev/log,
    type: Socket}``) in a pod the stack's namespace would run: the API server's PodSecurity
    admission refuses it, which is why the config refuses ``localsyslog`` and ``journal``."""
    cluster = Cluster(local_cluster.kubeconfig)
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
