"""The security rules of ``policy/security_rules.py``: pod security context, Pod Security
labels of namespaces, egress to the metadata endpoints, Helm releases.

Sources: Kubernetes "Pod Security Standards" (restricted: runAsNonRoot, allowPrivilegeEscalation
false, capabilities drop ALL, seccomp RuntimeDefault or Localhost) and "Enforce Pod Security
Standards with Namespace Labels" (``pod-security.kubernetes.io/<mode>[-version]``); the
NetworkPolicy API (an egress rule without ``to`` matches every destination; ``ipBlock.except``
removes ranges from ``cidr``); pulumi-kubernetes ``provider/pkg/provider/helm/v4/chart.go``
(a v4 Chart registers its objects as child resources; a v3 Release does not).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy import security_rules as sec

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PATCH = "kubernetes:apps/v1:DeploymentPatch"
CRON_JOB = "kubernetes:batch/v1:CronJob"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
WHERE = 'Deployment "gateways/gw": container "gateway"'
SAFE_CONTAINER: dict[str, Any] = {
    "name": "gateway",
    "image": "mcr.microsoft.com/azure-api-management/gateway:2.11.1",
    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}


def workload(container: dict[str, Any] | None = None, pod_context: dict[str, Any] | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [container if container is not None else copy.deepcopy(SAFE_CONTAINER)]}
    pod["securityContext"] = pod_context if pod_context is not None else {"seccompProfile": {"type": "RuntimeDefault"}}
    return {"metadata": {"name": "gw", "namespace": "gateways"}, "spec": {"template": {"spec": pod}}}


def with_context(**context: Any) -> dict[str, Any]:
    container = copy.deepcopy(SAFE_CONTAINER)
    container["securityContext"] = {**container["securityContext"], **context}
    return container


# --------------------------------------------------------------------------- pod security context


def test_a_restricted_pod_passes() -> None:
    assert sec.pod_security_context(DEPLOYMENT, workload()) == []
    localhost = workload(pod_context={"seccompProfile": {"type": "Localhost", "localhostProfile": "gw.json"}})
    assert sec.pod_security_context(DEPLOYMENT, localhost) == []


def test_the_pod_level_settings_count_unless_the_container_overrides_them() -> None:
    container = copy.deepcopy(SAFE_CONTAINER)
    del container["securityContext"]["runAsNonRoot"]
    pod = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert sec.pod_security_context(DEPLOYMENT, workload(container, pod)) == []
    overridden = with_context(runAsNonRoot=False, seccompProfile={"type": "Unconfined"})
    assert sec.pod_security_context(DEPLOYMENT, workload(overridden, pod)) == [
        f"{WHERE} may run as root; set securityContext.runAsNonRoot: true.",
        f'{WHERE} has seccomp profile "Unconfined"; set securityContext.seccompProfile.type: RuntimeDefault '
        "(on the pod or the container).",
    ]


def test_an_unhardened_container_fails_every_check() -> None:
    bare = {"name": "gateway", "image": "x"}
    assert sec.pod_security_context(DEPLOYMENT, workload(bare, {})) == [
        f"{WHERE} may run as root; set securityContext.runAsNonRoot: true.",
        f"{WHERE} may escalate privileges; set securityContext.allowPrivilegeEscalation: false.",
        f'{WHERE} keeps Linux capabilities; set securityContext.capabilities.drop: ["ALL"].',
        f"{WHERE} has seccomp profile none; set securityContext.seccompProfile.type: RuntimeDefault "
        "(on the pod or the container).",
    ]


def test_init_containers_and_cron_jobs_are_checked() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["initContainers"] = [with_context(allowPrivilegeEscalation=True) | {"name": "init"}]
    assert sec.pod_security_context(DEPLOYMENT, obj) == [
        'Deployment "gateways/gw": container "init" may escalate privileges; '
        "set securityContext.allowPrivilegeEscalation: false."
    ]
    cron = {"metadata": {"name": "c", "namespace": "n"}, "spec": {"jobTemplate": {"spec": obj["spec"]}}}
    assert len(sec.pod_security_context(CRON_JOB, cron)) == 1


def test_a_patch_is_judged_on_what_it_sets() -> None:
    partial = {"name": "gateway", "image": "x"}
    assert sec.pod_security_context(PATCH, workload(partial, {})) == []
    assert sec.pod_security_context(
        PATCH, workload({"name": "gateway", "securityContext": {"runAsNonRoot": False}}, {})
    ) == ['Deployment "gateways/gw": container "gateway" may run as root; set securityContext.runAsNonRoot: true.']
    capabilities = {"name": "gateway", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
    assert len(sec.pod_security_context(PATCH, workload(capabilities, {}))) == 1


# --------------------------------------------------------------------------- namespace labels

GOOD_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "v1.34",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def namespace(**labels: str | None) -> dict[str, Any]:
    merged = {key: value for key, value in {**GOOD_LABELS, **labels}.items() if value is not None}
    return {"metadata": {"name": "gateways", "labels": merged}}


def test_a_restricted_pinned_namespace_passes() -> None:
    assert sec.namespace_pod_security(NAMESPACE, namespace()) == []


def test_missing_or_weaker_modes_fail() -> None:
    obj = namespace(**{"pod-security.kubernetes.io/warn": None, "pod-security.kubernetes.io/audit": "baseline"})
    assert sec.namespace_pod_security(NAMESPACE, obj) == [
        'Namespace "gateways" has no label for pod-security.kubernetes.io/warn; set it to "restricted".',
        'Namespace "gateways" has "baseline" for pod-security.kubernetes.io/audit; set it to "restricted".',
    ]


@pytest.mark.parametrize("version", [None, "latest", "1.34", "v1"])
def test_an_unpinned_enforce_version_fails(version: str | None) -> None:
    problems = sec.namespace_pod_security(
        NAMESPACE, namespace(**{"pod-security.kubernetes.io/enforce-version": version})
    )
    assert len(problems) == 1
    assert "pin the enforced version to a Kubernetes minor version" in problems[0]


def test_a_namespace_patch_is_judged_on_the_labels_it_sets() -> None:
    patch = "kubernetes:core/v1:NamespacePatch"
    assert sec.namespace_pod_security(patch, {"metadata": {"name": "gateways", "labels": {"team": "x"}}}) == []
    weakened = {"metadata": {"name": "gateways", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
    assert len(sec.namespace_pod_security(patch, weakened)) == 1


# --------------------------------------------------------------------------- egress

EXCEPTED = ["169.254.169.254/32", "168.63.129.16/32"]


def network_policy(*egress: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "gw", "namespace": "gateways"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": list(egress)},
    }


def test_egress_with_the_metadata_addresses_excepted_passes() -> None:
    obj = network_policy(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": EXCEPTED}}], "ports": [{"port": 443}]},
        {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]},
        {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}, {"ipBlock": {"cidr": "::/0"}}]},
        {"to": [{"ipBlock": {"cidr": "160.0.0.0/4", "except": ["169.254.0.0/16", "168.63.0.0/16"]}}]},
    )
    assert sec.network_policy_blocks_metadata(NETWORK_POLICY, obj) == []


def test_a_rule_without_to_allows_both_addresses() -> None:
    assert sec.network_policy_blocks_metadata(NETWORK_POLICY, network_policy({"ports": [{"port": 443}]})) == [
        "NetworkPolicy \"gateways/gw\": egress rule 0 has no 'to', so it allows every destination, including "
        "168.63.129.16 and 169.254.169.254; list them in an ipBlock's except (for example cidr 0.0.0.0/0, "
        "except 169.254.169.254/32 and 168.63.129.16/32)."
    ]


@pytest.mark.parametrize(
    ("block", "allowed"),
    [
        ({"cidr": "0.0.0.0/0"}, "168.63.129.16 and 169.254.169.254"),
        ({"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}, "168.63.129.16"),
        ({"cidr": "169.254.0.0/16", "except": ["169.254.169.0/30"]}, "169.254.169.254"),
        ({"cidr": "168.63.129.16/32"}, "168.63.129.16"),
        ({"cidr": "not-a-cidr"}, "168.63.129.16 and 169.254.169.254"),
    ],
)
def test_ip_blocks_covering_the_addresses_fail(block: dict[str, Any], allowed: str) -> None:
    obj = network_policy({"to": [{"podSelector": {}}]}, {"to": [{"ipBlock": block}]})
    problems = sec.network_policy_blocks_metadata(NETWORK_POLICY, obj)
    assert len(problems) == 1
    assert f"egress rule 1 allows {allowed};" in problems[0]


def test_other_kinds_are_not_judged_as_network_policies() -> None:
    assert sec.network_policy_blocks_metadata(DEPLOYMENT, network_policy({})) == []


# --------------------------------------------------------------------------- Helm


def test_helm_v3_releases_are_flagged_and_charts_are_not() -> None:
    props = {"name": "gw", "chart": "azure-api-management-gateway"}
    assert sec.helm_release_not_inspectable("kubernetes:helm.sh/v3:Release", props) == [
        'Helm release "gw" (chart "azure-api-management-gateway"): its Kubernetes objects are installed inside '
        "the provider, so this policy pack cannot check them; use kubernetes:helm.sh/v4:Chart, whose objects "
        "are checked one by one."
    ]
    assert sec.helm_release_not_inspectable("kubernetes:helm.sh/v4:Chart", props) == []
    assert sec.helm_release_not_inspectable("kubernetes:helm.sh/v3:Chart", props) == []
