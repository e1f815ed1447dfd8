"""Issue 24, item 4: every free-form Kubernetes structure of the config is checked against
Kubernetes' own schema (the pinned ``kubernetes`` client's OpenAPI models) when the config is
parsed, before anything registers; and ``extraSettings`` cannot set what the stack derives."""

from __future__ import annotations

from typing import Any

import pytest
from harness import parse, refused, stack
from kubernetes.client.configuration import Configuration
from pod_knobs import KNOBS, objects_by_name, token_gateway

from components.config.kubernetes_schema import KUBERNETES_SCHEMA_RELEASE, schema_problems
from components.kubernetes import manifests


def test_the_schema_release_named_is_the_pinned_clients() -> None:
    assert f"Version of the API: {KUBERNETES_SCHEMA_RELEASE}" in Configuration().to_debug_report()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"scheduling": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}},
            "scheduling.affinity = ",
        ),
        (
            {"scheduling": {"affinity": {"podAntiAfinity": {}}}},
            "podAntiAfinity: unknown field of Kubernetes Affinity (it has: nodeAffinity, podAffinity, podAntiAffinity)",
        ),
        (
            {"scheduling": {"tolerations": [{"key": "a", "operator": "Exists", "efect": "NoSchedule"}]}},
            "scheduling.tolerations[0] = ",
        ),
        (
            {"networkPolicy": {"ingressFrom": [{"podSelector": {"matchLabel": {"app": "x"}}}]}},
            "podSelector.matchLabel: unknown field of Kubernetes LabelSelector",
        ),
        (
            {"networkPolicy": {"ingressFrom": [{"ipBlock": {"cidr": 10}}]}},
            "ipBlock.cidr: must be a string, not int",
        ),
        (
            {
                "networkPolicy": {
                    "backendPeers": [{"peers": [{"namespaceSelector": {"matchExpressions": [{"key": "a"}]}}]}]
                }
            },
            "matchExpressions[0].operator: required by Kubernetes LabelSelectorRequirement",
        ),
    ],
)
def test_free_form_structures_are_checked_against_the_kubernetes_schema(
    overrides: dict[str, Any], expected: str
) -> None:
    message = refused(stack("dev", **overrides))
    assert expected in message and KUBERNETES_SCHEMA_RELEASE in message


def test_a_valid_affinity_passes_and_reaches_the_pods() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["gw"]}]}]
            }
        }
    }
    gateway = parse(stack("dev", scheduling={"affinity": affinity}))
    assert manifests.deployment(gateway, "d", None)["spec"]["template"]["spec"]["affinity"] == affinity


def test_the_rendered_objects_with_every_knob_fit_the_same_schema() -> None:
    """The typed knobs are rendered into objects the same schema accepts (the walker above, besides
    ``kubernetes_validate`` in test_pod_knobs)."""
    models = {
        "Namespace": "V1Namespace",
        "Secret": "V1Secret",
        "ServiceAccount": "V1ServiceAccount",
        "ConfigMap": "V1ConfigMap",
        "Deployment": "V1Deployment",
        "Service": "V1Service",
        "PodDisruptionBudget": "V1PodDisruptionBudget",
        "NetworkPolicy": "V1NetworkPolicy",
    }
    for name, obj in objects_by_name(token_gateway(**KNOBS)).items():
        assert schema_problems(obj, models[obj["kind"]]) == [], name
    broken = manifests.deployment(token_gateway(**KNOBS), "d", None)
    broken["spec"]["template"]["spec"]["hostAliases"][0]["hostname"] = ["x"]
    assert schema_problems(broken, "V1Deployment") == [
        "spec.template.spec.hostAliases[0].hostname: unknown field of Kubernetes HostAlias (it has: hostnames, ip)"
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("policy.rate-limit.sync.port", "stop the replicas sharing rate limits"),
        ("neighborhood.heartbeat.port", "stop the replicas finding each other"),
        ("k8s.ingress.enabled", "Kubernetes Ingress mode (experimental)"),
        ("k8s.ingress.namespace", "grants no RBAC"),
    ],
)
def test_extra_settings_cannot_set_what_the_stack_derives(setting: str, expected: str) -> None:
    message = refused(stack("dev", extraSettings={setting: "5000"}))
    assert "extraSettings" in message and setting in message and expected in message


def test_certificate_validation_stays_on_in_prod() -> None:
    setting = "config.service.endpoint.disableCertificateValidation"
    message = refused(stack("prod", extraSettings={setting: "True"}))
    assert setting in message and "refused in prod" in message
    assert parse(stack("prod", extraSettings={setting: "false"})).extra_settings[setting] == "false"
    assert parse(stack("dev", extraSettings={setting: "true"})).extra_settings[setting] == "true"
