"""Issue 24, item 3: the pod knobs every chart user expects, each typed, validated, rendered into
objects the Kubernetes schema accepts, and inside the restricted Pod Security Standard."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from harness import refused, stack
from pod_knobs import KNOBS, objects_by_name, token_gateway

from components.kubernetes import manifests
from policy import security_rules

KUBERNETES_VERSION = "1.34.0"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def test_every_knob_renders_into_objects_the_kubernetes_schema_accepts() -> None:
    gateway = token_gateway(**KNOBS)
    objects = objects_by_name(gateway)
    for obj in objects.values():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    name = gateway.name
    deployment = objects[f"Deployment/{name}"]
    template = deployment["spec"]["template"]
    pod = template["spec"]
    container = pod["containers"][0]
    # Labels: common labels everywhere, pod labels on the pods; selectors unchanged (immutable).
    assert deployment["spec"]["selector"]["matchLabels"] == manifests.selector_labels(gateway)
    assert objects[f"Service/{name}-live-traffic"]["spec"]["selector"] == manifests.selector_labels(gateway)
    for obj in objects.values():
        assert obj["metadata"]["labels"]["team"] == "payments", obj["kind"]
    assert template["metadata"]["labels"]["mesh"] == "ambient" and "mesh" not in deployment["metadata"]["labels"]
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "true"
    assert "checksum/settings" in template["metadata"]["annotations"]
    # Extra environment: env from keys, envFrom before the stack's settings (the last source wins).
    assert {
        "name": "REDIS_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "redis", "key": "password", "optional": True}},
    } in container["env"]
    assert container["envFrom"][-1] == {"configMapRef": {"name": f"{name}-env"}}
    assert container["envFrom"][0] == {"secretRef": {"name": "gateway-extra", "optional": False}, "prefix": "X_"}
    # Extra volumes and mounts, host aliases.
    assert {volume["name"] for volume in pod["volumes"]} >= {"kv", "scratch", "certs"}
    assert {"name": "kv", "mountPath": "/mnt/secrets", "readOnly": True} in container["volumeMounts"]
    assert pod["hostAliases"] == [{"ip": "10.0.0.5", "hostnames": ["backend.internal", "legacy.internal"]}]
    # The ServiceAccount exists without workload identity, only for its metadata, and the pods use it.
    account = objects[f"ServiceAccount/{name}"]
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn"}
    assert "azure.workload.identity/use" not in account["metadata"]["labels"]
    assert pod["serviceAccountName"] == name and pod["automountServiceAccountToken"] is False
    # The load balancer IP through MetalLB's annotation, no AKS annotation; no node ports.
    service = objects[f"Service/{name}-live-traffic"]
    assert service["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.0.2.10"
    assert not any(key.startswith("service.beta.kubernetes.io/azure") for key in service["metadata"]["annotations"])
    assert service["spec"]["allocateLoadBalancerNodePorts"] is False and "loadBalancerIP" not in service["spec"]
    # Restricted Pod Security still holds (the policy pack's rule).
    assert security_rules.pod_security_context(DEPLOYMENT, deployment) == []


def test_the_load_balancer_ip_can_go_into_the_deprecated_spec_field() -> None:
    service = manifests.traffic_service(
        token_gateway(service={"loadBalancerIP": "192.0.2.10", "loadBalancerIPInSpec": True})
    )
    assert service["spec"]["loadBalancerIP"] == "192.0.2.10"
    assert not any(key.startswith("service.beta.kubernetes.io/azure") for key in service["metadata"]["annotations"])
    # Default: AKS's annotation, as before.
    aks = manifests.traffic_service(token_gateway(service={"loadBalancerIP": "192.0.2.10"}))
    assert aks["metadata"]["annotations"][manifests.AZURE_LOAD_BALANCER_IPV4] == "192.0.2.10"


def test_user_and_group_are_settable_and_restricted_still_holds() -> None:
    gateway = token_gateway(pod={"runAsUser": 10001, "runAsGroup": 0})
    deployment = manifests.deployment(gateway, "digest", None)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] | {"runAsUser": 10001, "runAsGroup": 0, "fsGroup": 0} == pod["securityContext"]
    assert pod["containers"][0]["securityContext"]["runAsUser"] == 10001
    assert security_rules.pod_security_context(DEPLOYMENT, deployment) == []
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_ids_from_the_platform_set_none_for_openshift() -> None:
    """OpenShift's restricted-v2 SCC assigns the user, group and fsGroup from the namespace's range;
    the pod must set none of them, and still runs as non-root."""
    deployment = manifests.deployment(token_gateway(pod={"idsFromPlatform": True}), "digest", None)
    pod = deployment["spec"]["template"]["spec"]
    context = pod["securityContext"]
    assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(context)
    assert "runAsUser" not in pod["containers"][0]["securityContext"]
    assert context["runAsNonRoot"] is True
    assert security_rules.pod_security_context(DEPLOYMENT, deployment) == []


def test_the_created_backup_class_follows_the_pods_ids() -> None:
    backup = {"enabled": True, "storageClassName": "gw-files", "createStorageClass": True}
    default = manifests.backup_storage_class(token_gateway(backup=backup))
    assert default is not None and default["mountOptions"][:2] == ["uid=1001", "gid=1001"]
    chosen = manifests.backup_storage_class(token_gateway(backup=backup, pod={"runAsUser": 5000, "runAsGroup": 6000}))
    assert chosen is not None and chosen["mountOptions"][:2] == ["uid=5000", "gid=6000"]
    message = refused(stack("dev", backup=backup, pod={"idsFromPlatform": True}))
    assert "pod.idsFromPlatform = True" in message and "backup.createStorageClass" in message


def test_certificate_authorities_need_uid_1001() -> None:
    authorities = [{"certificateId": "corp-root"}]
    message = refused(stack("dev", certificateAuthorities=authorities, pod={"runAsUser": 5000}))
    assert "pod.runAsUser = 5000" in message and "UID 1001" in message
    assert "pod.idsFromPlatform = True" in refused(
        stack("dev", certificateAuthorities=authorities, pod={"idsFromPlatform": True})
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"commonLabels": {"app.kubernetes.io/name": "x"}}, "commonLabels = ['app.kubernetes.io/name']"),
        ({"commonLabels": {"pod-security.kubernetes.io/enforce": "privileged"}}, "a label the stack sets itself"),
        ({"pod": {"labels": {"app.kubernetes.io/instance": "x"}}}, "pod.labels = ['app.kubernetes.io/instance']"),
        ({"pod": {"annotations": {"checksum/settings": "x"}}}, "'checksum/' annotations are the stack's"),
        ({"pod": {"labels": {"bad key!": "x"}}}, "not a valid Kubernetes label/annotation key"),
        ({"pod": {"runAsUser": 0}}, "pod.runAsUser"),
        ({"pod": {"env": [{"name": "SSL_CERT_FILE", "secretKeyRef": {"name": "s", "key": "k"}}]}}, "set by the stack"),
        (
            {
                "pod": {
                    "env": [{"name": "config.service.auth.azureAd.clientId", "secretKeyRef": {"name": "s", "key": "k"}}]
                }
            },
            "use auth.*",
        ),
        ({"pod": {"env": [{"name": "A"}]}}, "exactly one of secretKeyRef and configMapKeyRef"),
        ({"pod": {"envFrom": [{"prefix": "X"}]}}, "exactly one of secretRef and configMapRef"),
        ({"pod": {"volumes": [{"name": "v"}]}}, "exactly one of secret, configMap"),
        ({"pod": {"volumes": [{"name": "v", "hostPath": {"path": "/"}}]}}, "pod.volumes[0].hostPath: unknown setting"),
        ({"pod": {"volumes": [{"name": "custom-ca", "emptyDir": {}}]}}, "volume of the stack's own"),
        ({"pod": {"volumeMounts": [{"name": "nope", "mountPath": "/mnt"}]}}, "'nope' is not one of pod.volumes"),
        (
            {
                "pod": {
                    "volumes": [{"name": "v", "emptyDir": {}}],
                    "volumeMounts": [{"name": "v", "mountPath": "/apim/config"}],
                }
            },
            "would hide or share a mount of the stack's own",
        ),
        ({"pod": {"hostAliases": [{"ip": "not-an-ip", "hostnames": ["a.b"]}]}}, "pod.hostAliases[0].ip"),
        ({"pod": {"hostAliases": [{"ip": "10.0.0.1", "hostnames": []}]}}, "pod.hostAliases[0].hostnames"),
        ({"serviceAccount": {"annotations": {"azure.workload.identity/client-id": "x"}}}, "set by the stack"),
        (
            {"service": {"type": "ClusterIP", "allocateLoadBalancerNodePorts": False}},
            "only applies to type LoadBalancer",
        ),
        (
            {"service": {"loadBalancerIPAnnotation": "metallb.io/loadBalancerIPs"}},
            "only applies together with loadBalancerIP",
        ),
        (
            {
                "service": {
                    "loadBalancerIP": "10.0.0.1",
                    "loadBalancerIPAnnotation": "a.io/b",
                    "loadBalancerIPInSpec": True,
                }
            },
            "set one of",
        ),
        (
            {"pod": {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]}},
            "pod.volumes[0]: names an object in the namespace",
        ),
    ],
)
def test_bad_knobs_are_refused_naming_the_setting(overrides: dict[str, Any], expected: str) -> None:
    """Each refusal names the key, the value and what is allowed (namespace.create is on in dev)."""
    assert expected in refused(stack("dev", **overrides))


def test_knobs_are_in_the_schema_reference_and_package_types() -> None:
    from harness import ROOT

    from components.config.stack_schema import stack_file_schema

    schema = str(stack_file_schema())
    reference = (ROOT / "docs" / "configuration.md").read_text()
    types = (ROOT / "components" / "package" / "types.py").read_text()
    for key in (
        "hostAliases",
        "idsFromPlatform",
        "allocateLoadBalancerNodePorts",
        "loadBalancerIPAnnotation",
        "envFrom",
    ):
        assert key in schema and key in reference and key in types, key
    for key in ("commonLabels", "pod.volumeMounts", "serviceAccount.annotations", "pod.runAsGroup"):
        assert f"apim-gateway:gateways[].{key}" in reference, key
