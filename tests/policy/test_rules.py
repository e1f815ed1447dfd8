"""The guardrail rules of ``policy/rules.py``: for every rule, a resource that passes and
resources that fail, with the exact message a policy violation shows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy import objects, pack, rules

RESOURCE_CHECKS = [spec.check for spec in pack.RESOURCE_RULES]
"""Every resource rule the pack registers."""

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
IMAGE = "mcr.microsoft.com/azure-api-management/gateway:2.11.1"
LABELS = {"app.kubernetes.io/name": "azure-api-management-gateway", "app.kubernetes.io/instance": "gw"}
DEP = 'Deployment "gateways/gw"'


def gateway_container(**overrides: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "gateway",
        "image": IMAGE,
        "env": [{"name": "config.service.auth", "valueFrom": {"secretKeyRef": {"name": "gw-token", "key": "value"}}}],
        "resources": {"requests": {"cpu": "2", "memory": "2Gi"}},
        "readinessProbe": {"httpGet": {"path": "/status-0123456789abcdef", "port": "http", "scheme": "HTTP"}},
        "volumeMounts": [{"name": "config-backup", "mountPath": "/apim/config"}],
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    container.update(overrides)
    return container


def deployment(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A Deployment that passes every rule, with ``spec`` keys replaced (None removes one)."""
    base: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gw", "namespace": "gateways", "labels": dict(LABELS)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": dict(LABELS)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": {**LABELS, "app.kubernetes.io/version": "2.11.1"}},
                "spec": {
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": list(containers) or [gateway_container()],
                    "volumes": [{"name": "config-backup", "persistentVolumeClaim": {"claimName": "gw-backup"}}],
                },
            },
        },
    }
    for key, value in spec.items():
        if value is None:
            del base["spec"][key]
        else:
            base["spec"][key] = value
    return base


def service(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw-live-traffic", "namespace": "gateways"},
        "spec": {"selector": dict(LABELS), "ports": [{"name": "http", "port": 80}], **spec},
    }


def config_map(data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gw-env", "namespace": "gateways"},
        "data": data,
    }


def budget(selector: Any, namespace: str = "gateways") -> dict[str, Any]:
    spec: dict[str, Any] = {"maxUnavailable": 1}
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": spec,
    }


def test_the_reference_deployment_passes_every_resource_rule() -> None:
    for rule in RESOURCE_CHECKS:
        assert rule(DEPLOYMENT, deployment()) == [], rule.__name__


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [
        ("kubernetes:apps/v1:Deployment", "Deployment"),
        ("kubernetes:core/v1:ConfigMap", "ConfigMap"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "PodDisruptionBudget"),
        ("kubernetes:apps/v1:DeploymentPatch", "Deployment"),
        ("kubernetes:core/v1:ConfigMapPatch", "ConfigMap"),
        ("kubernetes:yaml/v2:ConfigGroup", None),
        ("kubernetes:helm.sh/v3:Release", None),
        ("kubernetes:yaml:ConfigFile", None),
        ("pulumi:providers:kubernetes", None),
        ("azure-native:apimanagement:Gateway", None),
        ("apim-gateway:index:SelfHostedGateway", None),
    ],
)
def test_kubernetes_kind(resource_type: str, kind: str | None) -> None:
    assert objects.kubernetes_kind(resource_type) == kind


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        (IMAGE, ("mcr.microsoft.com/azure-api-management/gateway", "2.11.1", None)),
        (
            "mcr.microsoft.com/azure-api-management/gateway",
            ("mcr.microsoft.com/azure-api-management/gateway", None, None),
        ),
        ("registry:5000/gateway", ("registry:5000/gateway", None, None)),
        ("registry:5000/gateway:v2@sha256:abc", ("registry:5000/gateway", "v2", "sha256:abc")),
    ],
)
def test_split_image(image: str, parts: tuple[str, str | None, str | None]) -> None:
    assert objects.split_image(image) == parts


# --------------------------------------------------------------------------- 1. namespace


def test_namespace_passes_for_a_namespaced_object_in_its_own_namespace_and_for_cluster_scoped_kinds() -> None:
    assert rules.no_default_namespace(CONFIG_MAP, config_map({})) == []
    assert rules.no_default_namespace(NAMESPACE, {"metadata": {"name": "gw"}}) == []
    assert rules.no_default_namespace("kubernetes:storage.k8s.io/v1:StorageClass", {"metadata": {"name": "x"}}) == []
    assert rules.no_default_namespace("azure-native:apimanagement:Gateway", {"gatewayId": "gw"}) == []


def test_namespace_fails_for_the_default_namespace() -> None:
    obj = config_map({})
    obj["metadata"]["namespace"] = "default"
    assert rules.no_default_namespace(CONFIG_MAP, obj) == [
        'ConfigMap "default/gw-env" is in the "default" namespace; deploy it to a namespace of its own.'
    ]


def test_namespace_fails_when_missing() -> None:
    assert rules.no_default_namespace(SERVICE, {"metadata": {"name": "gw-live-traffic"}, "spec": {}}) == [
        'Service "gw-live-traffic" sets no metadata.namespace, so it lands in the provider\'s namespace '
        '(usually "default"); set the namespace explicitly.'
    ]
    assert rules.no_default_namespace("kubernetes:apps/v1:DeploymentPatch", {"metadata": {"name": "gw"}}) == [
        'Deployment "gw" sets no metadata.namespace, so it lands in the provider\'s namespace '
        '(usually "default"); set the namespace explicitly.'
    ]


# --------------------------------------------------------------------------- 2. replicas

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
REPLICA_ADVICE = "so a node drain or a rollout never takes the gateway down."


def autoscaler(min_replicas: float | None, target: str = "gw", namespace: str = "gateways") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "maxReplicas": 6,
    }
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    return {"metadata": {"name": "gw", "namespace": namespace}, "spec": spec}


def test_replicas_pass_from_two() -> None:
    assert rules.deployment_min_replicas([(DEPLOYMENT, deployment(replicas=2))]) == []
    assert rules.deployment_min_replicas([(DEPLOYMENT, deployment(replicas=3.0))]) == []  # numbers arrive as floats
    assert rules.deployment_min_replicas([(STATEFUL_SET, deployment(replicas=1))]) == []  # Deployments only


def test_replicas_fail_below_two() -> None:
    assert rules.deployment_min_replicas([(CONFIG_MAP, config_map({})), (DEPLOYMENT, deployment(replicas=1.0))]) == [
        f"{DEP} runs 1 replica(s); run at least 2 {REPLICA_ADVICE}"
    ]
    assert rules.low_replicas([(CONFIG_MAP, config_map({})), (DEPLOYMENT, deployment(replicas=1))])[0][0] == 1


def test_missing_replicas_count_as_one() -> None:
    assert rules.deployment_min_replicas([(DEPLOYMENT, deployment(replicas=None))]) == [
        f"{DEP} sets no replicas, which means 1; run at least 2 {REPLICA_ADVICE}"
    ]


def test_an_autoscaled_deployment_is_judged_by_its_autoscaler() -> None:
    scaled = deployment(replicas=None)
    assert rules.deployment_min_replicas([(DEPLOYMENT, scaled), (HPA, autoscaler(3.0))]) == []
    assert rules.low_replicas([(DEPLOYMENT, scaled), (HPA, autoscaler(1))]) == [
        (1, f'HorizontalPodAutoscaler "gateways/gw" of {DEP} has minReplicas 1; set it to at least 2 {REPLICA_ADVICE}')
    ]
    assert rules.deployment_min_replicas([(HPA, autoscaler(None)), (DEPLOYMENT, scaled)]) == [
        f'HorizontalPodAutoscaler "gateways/gw" of {DEP} sets no minReplicas, which means 1; set it to at least 2 '
        + REPLICA_ADVICE
    ]


def test_an_autoscaler_of_another_deployment_does_not_count() -> None:
    for other in (autoscaler(3, target="other"), autoscaler(3, namespace="elsewhere")):
        assert rules.deployment_min_replicas([(DEPLOYMENT, deployment(replicas=None)), (HPA, other)]) == [
            f"{DEP} sets no replicas, which means 1; run at least 2 {REPLICA_ADVICE}"
        ]


# --------------------------------------------------------------------------- 3. image


DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_pinned_gateway_image_passes_and_other_images_are_not_checked() -> None:
    sidecar = {
        "name": "proxy",
        "image": "envoyproxy/envoy:latest",
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
    }
    obj = deployment(gateway_container(image=IMAGE + "@" + DIGEST), sidecar)
    assert rules.gateway_image_pinned(DEPLOYMENT, obj) == []


@pytest.mark.parametrize(
    "image",
    [
        "mcr.microsoft.com/azure-api-management/gateway@" + DIGEST,
        "mcr.microsoft.com/azure-api-management/gateway:v2@" + DIGEST,
        "contoso.azurecr.io/azure-api-management/gateway:2.11.1",
        "registry.contoso.com:5000/mirror/azure-api-management/gateway@" + DIGEST,
    ],
)
def test_a_digest_pins_the_gateway_image_and_mirrors_are_recognised(image: str) -> None:
    assert objects.is_gateway_image(image)
    assert rules.gateway_image_pinned(DEPLOYMENT, deployment(gateway_container(image=image))) == []


def test_images_merely_named_like_the_gateway_are_not_the_gateway() -> None:
    assert not objects.is_gateway_image("contoso.azurecr.io/not-azure-api-management/gateway:latest")
    assert not objects.is_gateway_image("contoso.azurecr.io/azure-api-management/gateway-tools:latest")


@pytest.mark.parametrize(
    "image",
    [
        "mcr.microsoft.com/azure-api-management/gateway:v2",
        "mcr.microsoft.com/azure-api-management/gateway:latest",
        "mcr.microsoft.com/azure-api-management/gateway:2.11",
        "mcr.microsoft.com/azure-api-management/gateway",
        "contoso.azurecr.io/mirror/azure-api-management/gateway:latest",
    ],
)
def test_moving_or_missing_gateway_tags_fail(image: str) -> None:
    assert rules.gateway_image_pinned(DEPLOYMENT, deployment(gateway_container(image=image))) == [
        f'{DEP}: container "gateway" runs image "{image}"; pin the gateway image to a major.minor.patch tag '
        'such as "2.11.1" or to a digest (@sha256:...) (moving tags like "v2" or "latest" upgrade the gateway '
        "silently)."
    ]


@pytest.mark.parametrize("digest", ["sha256:0123", "sha256:" + "0123456789ABCDEF" * 4, "md5:" + "0" * 64])
def test_malformed_digests_fail(digest: str) -> None:
    image = f"{IMAGE}@{digest}"
    assert rules.gateway_image_pinned(DEPLOYMENT, deployment(gateway_container(image=image))) == [
        f'{DEP}: container "gateway" runs image "{image}", whose digest "{digest}" is not "sha256:" and 64 '
        "lowercase hex digits."
    ]


def test_patch_kinds_are_judged_like_their_kinds_on_the_fields_they_set() -> None:
    patch = "kubernetes:apps/v1:DeploymentPatch"
    image_only: dict[str, Any] = {
        "metadata": {"name": "gw", "namespace": "gateways"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "gateway", "image": IMAGE[: -len("2.11.1")] + "latest"}]}}
        },
    }
    assert len(rules.gateway_image_pinned(patch, image_only)) == 1
    pinned = copy.deepcopy(image_only)
    pinned["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE
    # Fields a patch leaves out keep their live values: their absence is not judged.
    for rule in RESOURCE_CHECKS:
        assert rule(patch, pinned) == [], rule.__name__
    assert rules.missing_disruption_budgets([(patch, pinned)]) == []
    assert rules.low_replicas([(patch, pinned)]) == []
    assert rules.low_replicas([(patch, {**pinned, "spec": {**pinned["spec"], "replicas": 1}})]) != []


def test_image_rule_reads_pods_and_cron_jobs_too() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [gateway_container(image=IMAGE[:-7] + ":v2")]},
    }
    assert len(rules.gateway_image_pinned(POD, pod)) == 1
    cron = {
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [gateway_container(image=IMAGE[:-7])]}}}}
        },
    }
    assert len(rules.gateway_image_pinned(CRON_JOB, cron)) == 1


# --------------------------------------------------------------------------- 4. requests


def test_requests_pass_when_every_container_sets_cpu_and_memory() -> None:
    assert rules.container_resource_requests(DEPLOYMENT, deployment()) == []
    assert rules.container_resource_requests(CONFIG_MAP, config_map({})) == []


def test_requests_fail_per_container_including_init_containers() -> None:
    obj = deployment(
        gateway_container(resources={"requests": {"cpu": "2"}}),
        {"name": "sidecar", "image": "busybox:1.37.0"},
    )
    obj["spec"]["template"]["spec"]["initContainers"] = [
        {
            "name": "init",
            "image": "busybox:1.37.0",
            "resources": {"requests": {"memory": "64Mi"}, "limits": {"cpu": "1"}},
        }
    ]
    assert rules.container_resource_requests(DEPLOYMENT, obj) == [
        f'{DEP}: container "init" requests no CPU; set resources.requests.cpu and resources.requests.memory.',
        f'{DEP}: container "gateway" requests no memory; set resources.requests.cpu and resources.requests.memory.',
        f'{DEP}: container "sidecar" requests no CPU and no memory; set resources.requests.cpu and '
        "resources.requests.memory.",
    ]


# --------------------------------------------------------------------------- 5. rollout


def test_rolling_update_with_both_values_passes_even_without_an_explicit_type() -> None:
    assert rules.rolling_update_explicit(DEPLOYMENT, deployment()) == []
    strategy = {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert rules.rolling_update_explicit(DEPLOYMENT, deployment(strategy=strategy)) == []


def test_recreate_fails() -> None:
    assert rules.rolling_update_explicit(DEPLOYMENT, deployment(strategy={"type": "Recreate"})) == [
        f'{DEP} uses the "Recreate" strategy; use RollingUpdate so pods are replaced a few at a time and the '
        "gateway keeps serving."
    ]


def test_implicit_rolling_update_values_fail() -> None:
    message = f"{DEP} sets no strategy.rollingUpdate.maxUnavailable and no maxSurge; set both explicitly (for example maxUnavailable: 0 and maxSurge: 25%)."
    assert rules.rolling_update_explicit(DEPLOYMENT, deployment(strategy=None)) == [message]
    only_surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    assert rules.rolling_update_explicit(DEPLOYMENT, deployment(strategy=only_surge)) == [
        f"{DEP} sets no strategy.rollingUpdate.maxUnavailable; set both explicitly (for example maxUnavailable: 0 and maxSurge: 25%)."
    ]


# --------------------------------------------------------------------------- 6. readiness


def test_readiness_probe_on_the_status_path_passes() -> None:
    assert rules.gateway_readiness_probe(DEPLOYMENT, deployment()) == []
    # Other containers are not the gateway's: no probe required.
    other = {"name": "sidecar", "image": "busybox:1.37.0"}
    assert rules.gateway_readiness_probe(DEPLOYMENT, deployment(gateway_container(), other)) == []


def test_readiness_probe_missing_wrong_path_or_not_http_fails() -> None:
    where = f'{DEP}: gateway container "gateway"'
    missing = gateway_container()
    del missing["readinessProbe"]
    assert rules.gateway_readiness_probe(DEPLOYMENT, deployment(missing)) == [
        f"{where} has no readiness probe; add one with httpGet path /status-0123456789abcdef."
    ]
    wrong = gateway_container(readinessProbe={"httpGet": {"path": "/internal-status-0123456789abcdef", "port": 8090}})
    assert rules.gateway_readiness_probe(DEPLOYMENT, deployment(wrong)) == [
        f'{where} probes readiness at "/internal-status-0123456789abcdef"; probe httpGet path /status-0123456789abcdef.'
    ]
    tcp = gateway_container(readinessProbe={"tcpSocket": {"port": 8080}})
    assert rules.gateway_readiness_probe(DEPLOYMENT, deployment(tcp)) == [
        f"{where} has a readiness probe without httpGet; probe httpGet path /status-0123456789abcdef."
    ]


# --------------------------------------------------------------------------- 7. token


def test_token_from_a_secret_and_a_clean_config_map_pass() -> None:
    assert rules.gateway_token_in_secret(DEPLOYMENT, deployment()) == []
    settings = {
        "config.service.endpoint": "contoso.configuration.azure-api.net",
        "config.service.auth.tokenAudience": "x",
    }
    assert rules.gateway_token_in_secret(CONFIG_MAP, config_map(settings)) == []
    secret = {"metadata": {"name": "gw-token", "namespace": "gateways"}, "stringData": {"value": "GatewayKey gw&1&s=="}}
    assert rules.gateway_token_in_secret(SECRET, secret) == []


def test_token_in_a_config_map_fails() -> None:
    obj = config_map({"config.service.auth": "GatewayKey gw&202612231200&sig==", "other": "GatewayKey x"})
    assert rules.gateway_token_in_secret(CONFIG_MAP, obj) == [
        'ConfigMap "gateways/gw-env" sets "config.service.auth"; keep the gateway token in a Secret and read it '
        "with valueFrom.secretKeyRef.",
        'ConfigMap "gateways/gw-env": data key "config.service.auth" holds a gateway token (a value starting with '
        '"GatewayKey "); keep tokens only in Secrets.',
        'ConfigMap "gateways/gw-env": data key "other" holds a gateway token (a value starting with "GatewayKey "); '
        "keep tokens only in Secrets.",
    ]


def test_token_free_auth_modes_may_set_the_auth_setting_in_plain_text() -> None:
    for mode in ("azureAdApp", "workloadIdentity"):
        container = gateway_container(env=[{"name": "config.service.auth", "value": mode}])
        assert rules.gateway_token_in_secret(DEPLOYMENT, deployment(container)) == []


def test_a_token_in_any_plain_env_value_fails() -> None:
    container = gateway_container(env=[{"name": "GATEWAY_TOKEN", "value": "GatewayKey gw&1&s=="}])
    assert rules.gateway_token_in_secret(DEPLOYMENT, deployment(container)) == [
        f'{DEP}: container "gateway" sets env "GATEWAY_TOKEN" to a gateway token; read it from a Secret with '
        "valueFrom.secretKeyRef."
    ]


def test_token_as_a_plain_env_value_or_from_a_config_map_fails() -> None:
    plain = gateway_container(env=[{"name": "config.service.auth", "value": "gw&202612231200&sig=="}])
    assert rules.gateway_token_in_secret(DEPLOYMENT, deployment(plain)) == [
        f'{DEP}: container "gateway" sets env "config.service.auth" to a plain value; read it from a Secret with '
        "valueFrom.secretKeyRef."
    ]
    from_map = gateway_container(
        env=[{"name": "config.service.auth", "valueFrom": {"configMapKeyRef": {"name": "gw-env", "key": "t"}}}]
    )
    assert rules.gateway_token_in_secret(DEPLOYMENT, deployment(from_map)) == [
        f'{DEP}: container "gateway" reads env "config.service.auth" from somewhere other than a Secret; use '
        "valueFrom.secretKeyRef."
    ]


# --------------------------------------------------------------------------- 8. backup


def test_backup_mount_passes() -> None:
    assert rules.gateway_config_backup(DEPLOYMENT, deployment()) == []
    trailing = gateway_container(volumeMounts=[{"name": "config-backup", "mountPath": "/apim/config/"}])
    assert rules.gateway_config_backup(DEPLOYMENT, deployment(trailing)) == []


def test_missing_backup_mount_fails() -> None:
    other_mount = gateway_container(volumeMounts=[{"name": "custom-ca", "mountPath": "/apim/ca", "readOnly": True}])
    message = (
        f'{DEP}: gateway container "gateway" mounts no volume at /apim/config; mount a persistent volume there so '
        "the gateway can start from its configuration backup while the configuration endpoint is unreachable."
    )
    assert rules.gateway_config_backup(DEPLOYMENT, deployment(other_mount)) == [message]
    no_mounts = gateway_container()
    del no_mounts["volumeMounts"]
    assert rules.gateway_config_backup(DEPLOYMENT, deployment(no_mounts)) == [message]


# --------------------------------------------------------------------------- egress NetworkPolicy (issue 16.9)

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def network_policy(selector: Any, namespace: str = "gateways", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {"podSelector": selector, "policyTypes": ["Ingress", "Egress"], "egress": [], **spec},
    }


def test_an_egress_policy_selecting_the_gateway_pods_passes() -> None:
    selected = {"matchLabels": dict(LABELS)}
    assert (
        rules.gateway_egress_network_policy([(DEPLOYMENT, deployment()), (NETWORK_POLICY, network_policy(selected))])
        == []
    )
    # An empty podSelector selects every pod of the namespace; without policyTypes, egress rules
    # make it an egress policy (Kubernetes API, NetworkPolicySpec.policyTypes).
    everything = network_policy({}, policyTypes=None)
    del everything["spec"]["policyTypes"]
    assert rules.gateway_egress_network_policy([(DEPLOYMENT, deployment()), (NETWORK_POLICY, everything)]) == []
    other = deployment({"name": "web", "image": "nginx:1.29.0"})
    assert rules.gateway_egress_network_policy([(DEPLOYMENT, other)]) == []


@pytest.mark.parametrize(
    "policy",
    [
        None,  # networkPolicy.enabled: false
        network_policy({"matchLabels": dict(LABELS)}, policyTypes=["Ingress"]),  # ingress only
        network_policy({"matchLabels": dict(LABELS)}, namespace="other"),
        network_policy({"matchLabels": {"app.kubernetes.io/instance": "another"}}),
    ],
    ids=["none", "ingress-only", "other-namespace", "other-pods"],
)
def test_a_gateway_without_an_egress_policy_fails(policy: dict[str, Any] | None) -> None:
    resources = [(DEPLOYMENT, deployment())] + ([(NETWORK_POLICY, policy)] if policy else [])
    assert rules.gateway_egress_network_policy(resources) == [
        f'{DEP} has no egress NetworkPolicy selecting its pods in namespace "gateways"; without one the gateway '
        "may reach every address, the metadata endpoints 169.254.169.254 and 168.63.129.16 included "
        "(networkPolicy.enabled)."
    ]


# --------------------------------------------------------------------------- 9. disruption budget


def test_budget_selecting_the_gateway_pods_passes() -> None:
    resources = [(DEPLOYMENT, deployment()), (PDB, budget({"matchLabels": dict(LABELS)}))]
    assert rules.gateway_disruption_budget(resources) == []
    by_expression = {"matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "In", "values": ["gw"]}]}
    assert rules.gateway_disruption_budget([(DEPLOYMENT, deployment()), (PDB, budget(by_expression))]) == []
    # Deployments without a gateway container are not this rule's business.
    other = deployment({"name": "web", "image": "nginx:1.29.0"})
    assert rules.gateway_disruption_budget([(DEPLOYMENT, other)]) == []


@pytest.mark.parametrize(
    "budgets",
    [
        [],
        [budget({"matchLabels": {**LABELS, "app.kubernetes.io/instance": "other"}})],
        [budget({"matchLabels": dict(LABELS)}, namespace="elsewhere")],
        [budget(None)],
        [budget({"matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "NotIn", "values": ["gw"]}]})],
    ],
    ids=["none", "other-labels", "other-namespace", "no-selector", "excluding-expression"],
)
def test_missing_budget_fails(budgets: list[dict[str, Any]]) -> None:
    resources = [(DEPLOYMENT, deployment()), *((PDB, b) for b in budgets)]
    assert rules.gateway_disruption_budget(resources) == [
        f'{DEP} has no PodDisruptionBudget selecting its pods in namespace "gateways"; add one so node drains and '
        "cluster upgrades keep gateway replicas running."
    ]
    assert [index for index, _ in rules.missing_disruption_budgets(resources)] == [0]


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({}, True),
        ({"matchLabels": {"app.kubernetes.io/name": "azure-api-management-gateway"}}, True),
        ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Unknown"}]}, False),
        (None, False),
    ],
)
def test_selector_matches(selector: Any, selected: bool) -> None:
    assert rules.selector_matches(selector, LABELS) is selected


# --------------------------------------------------------------------------- 10. traffic policy


def test_local_load_balancer_and_other_service_types_pass() -> None:
    assert rules.load_balancer_local_traffic(SERVICE, service(type="LoadBalancer", externalTrafficPolicy="Local")) == []
    assert rules.load_balancer_local_traffic(SERVICE, service(type="ClusterIP")) == []
    assert rules.load_balancer_local_traffic(SERVICE, service(type="NodePort", externalTrafficPolicy="Cluster")) == []


def test_cluster_traffic_policy_on_a_load_balancer_fails() -> None:
    where = 'Service "gateways/gw-live-traffic" is a LoadBalancer with externalTrafficPolicy'
    advice = 'use "Local" to keep client IP addresses and avoid a second hop between nodes.'
    assert rules.load_balancer_local_traffic(
        SERVICE, service(type="LoadBalancer", externalTrafficPolicy="Cluster")
    ) == [f'{where} "Cluster"; {advice}']
    assert rules.load_balancer_local_traffic(SERVICE, service(type="LoadBalancer")) == [
        f'{where} "Cluster" (the default); {advice}'
    ]


# --------------------------------------------------------------------------- robustness


def test_rules_accept_read_only_mappings_and_sequences() -> None:
    """pulumi_policy hands policies Mapping/Sequence proxies, not dicts and lists."""
    from types import MappingProxyType

    def freeze(value: Any) -> Any:
        if isinstance(value, dict):
            return MappingProxyType({key: freeze(child) for key, child in value.items()})
        if isinstance(value, list):
            return tuple(freeze(child) for child in value)
        return value

    bad = deployment(gateway_container(image=IMAGE[:-7] + ":latest"), replicas=1)
    frozen = freeze(copy.deepcopy(bad))
    assert len(rules.deployment_min_replicas([(DEPLOYMENT, frozen)])) == 1
    assert len(rules.gateway_image_pinned(DEPLOYMENT, frozen)) == 1
    assert rules.gateway_disruption_budget([(DEPLOYMENT, frozen), (PDB, freeze(budget({"matchLabels": LABELS})))]) == []


def test_rules_tolerate_malformed_objects() -> None:
    for rule in RESOURCE_CHECKS:
        for props in ({}, {"metadata": None, "spec": "x"}, {"spec": {"template": {"spec": {"containers": [None, 3]}}}}):
            assert isinstance(rule(DEPLOYMENT, props), list)
