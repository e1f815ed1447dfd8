"""Guardrail rules for the self-hosted gateway's Kubernetes objects, as pure functions.

Every rule takes what a Pulumi policy receives for one resource, the resource type
(``kubernetes:apps/v1:Deployment``) and its properties as the Kubernetes API spells
them (camelCase: ``{"metadata": {...}, "spec": {...}}``), and returns the violation
messages, an empty list when the resource complies.

The stack rules (replicas, which must see the autoscaler, and disruption budgets)
take every resource of the stack at once.

The module needs neither Pulumi nor ``pulumi_policy``: ``pack.py`` wraps the rules as
policies, and tests call them directly. Properties may be plain dicts and lists or the
read-only proxies ``pulumi_policy`` hands to policies (``Mapping``/``Sequence``, which
raise on values unknown during preview); the rules only use the abstract interfaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .objects import (
    _DIGEST,
    _PINNED_TAG,
    AUTH_SETTING,
    BACKUP_MOUNT_PATH,
    CLUSTER_SCOPED_KINDS,
    DEFAULT_NAMESPACE,
    MIN_REPLICAS,
    STATUS_PATH,
    TOKEN_FREE_AUTH_MODES,
    TOKEN_PREFIX,
    Props,
    _container_name,
    _containers,
    _gateway_containers,
    _mapping,
    _sequence,
    describe,
    is_patch,
    kubernetes_kind,
    pod_spec,
    split_image,
)
from .selection_rules import (
    _namespace_of,
    gateway_disruption_budget,
    gateway_egress_network_policy,
    missing_disruption_budgets,
    missing_egress_policies,
    selector_matches,
)

__all__ = [
    "gateway_disruption_budget",
    "gateway_egress_network_policy",
    "missing_disruption_budgets",
    "missing_egress_policies",
    "selector_matches",
]

# --------------------------------------------------------------------------- 1. namespace


def no_default_namespace(resource_type: str, props: Props) -> list[str]:
    """Namespaced objects name a namespace, and it is not ``default``."""
    kind = kubernetes_kind(resource_type)
    if kind is None or kind.endswith("List"):
        return []
    if kind in CLUSTER_SCOPED_KINDS:
        return []
    namespace = _mapping(props.get("metadata")).get("namespace")
    if namespace is None or namespace == "":
        return [
            f"{describe(kind, props)} sets no metadata.namespace, so it lands in the provider's namespace "
            f'(usually "{DEFAULT_NAMESPACE}"); set the namespace explicitly.'
        ]
    if namespace == DEFAULT_NAMESPACE:
        return [
            f'{describe(kind, props)} is in the "{DEFAULT_NAMESPACE}" namespace; deploy it to a namespace of its own.'
        ]
    return []


# --------------------------------------------------------------------------- 2. replicas


def _name_of(props: Props) -> str | None:
    name = _mapping(props.get("metadata")).get("name")
    return name if isinstance(name, str) and name else None


def _replica_count(value: Any) -> int:
    """A replica field as Kubernetes reads it: missing means 1 (numbers may arrive as floats)."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 1


def low_replicas(resources: Iterable[tuple[str, Props]]) -> list[tuple[int, str]]:
    """(index in ``resources``, message) for every Deployment that may run fewer than 2 pods.

    A Deployment that a HorizontalPodAutoscaler of its namespace scales (the component then
    leaves ``replicas`` out) is judged by the autoscaler's ``minReplicas``, reported on the
    autoscaler; any other by its own ``replicas``. A missing value counts as 1.
    """
    resources = list(resources)
    autoscalers: dict[tuple[str, Any], int] = {}
    for index, (resource_type, props) in enumerate(resources):
        target = _mapping(_mapping(props.get("spec")).get("scaleTargetRef"))
        if kubernetes_kind(resource_type) == "HorizontalPodAutoscaler" and target.get("kind") == "Deployment":
            autoscalers[(_namespace_of(props), target.get("name"))] = index
    violations = []
    for index, (resource_type, props) in enumerate(resources):
        if kubernetes_kind(resource_type) != "Deployment":
            continue
        scaler_index = autoscalers.get((_namespace_of(props), _name_of(props)))
        if scaler_index is not None:
            scaler = resources[scaler_index][1]
            minimum = _mapping(scaler.get("spec")).get("minReplicas")
            if _replica_count(minimum) < MIN_REPLICAS:
                shown = (
                    "sets no minReplicas, which means 1"
                    if minimum is None
                    else f"has minReplicas {_replica_count(minimum)}"
                )
                violations.append(
                    (
                        scaler_index,
                        f"{describe('HorizontalPodAutoscaler', scaler)} of {describe('Deployment', props)} {shown}; "
                        f"set it to at least {MIN_REPLICAS} so a node drain or a rollout never takes the gateway down.",
                    )
                )
            continue
        replicas = _mapping(props.get("spec")).get("replicas")
        if replicas is None and is_patch(resource_type):
            continue
        if replicas is None:
            violations.append(
                (
                    index,
                    f"{describe('Deployment', props)} sets no replicas, which means 1; run at least {MIN_REPLICAS} "
                    "so a node drain or a rollout never takes the gateway down.",
                )
            )
        elif _replica_count(replicas) < MIN_REPLICAS:
            violations.append(
                (
                    index,
                    f"{describe('Deployment', props)} runs {_replica_count(replicas)} replica(s); run at least "
                    f"{MIN_REPLICAS} so a node drain or a rollout never takes the gateway down.",
                )
            )
    return violations


def deployment_min_replicas(resources: Sequence[tuple[str, Props]]) -> list[str]:
    """Deployments run at least 2 replicas (no ``replicas`` means 1), or are scaled by a
    HorizontalPodAutoscaler whose ``minReplicas`` is at least 2 (stack rule)."""
    return [message for _, message in low_replicas(resources)]


# --------------------------------------------------------------------------- 3. image tag


def gateway_image_pinned(resource_type: str, props: Props) -> list[str]:
    """The gateway image carries a ``major.minor.patch`` tag or a ``sha256`` digest; a digest,
    when present, is well formed (``sha256:`` and 64 lowercase hex digits)."""
    kind = kubernetes_kind(resource_type)
    if kind is None:
        return []
    violations = []
    for container in _gateway_containers(kind, props):
        image = str(container.get("image"))
        _, tag, digest = split_image(image)
        where = f'{describe(kind, props)}: container "{_container_name(container)}" runs image "{image}"'
        if digest is not None and not _DIGEST.match(digest):
            violations.append(f'{where}, whose digest "{digest}" is not "sha256:" and 64 lowercase hex digits.')
        elif digest is None and (tag is None or not _PINNED_TAG.match(tag)):
            violations.append(
                f'{where}; pin the gateway image to a major.minor.patch tag such as "2.11.1" or to a '
                'digest (@sha256:...) (moving tags like "v2" or "latest" upgrade the gateway silently).'
            )
    return violations


# --------------------------------------------------------------------------- 4. requests


def container_resource_requests(resource_type: str, props: Props) -> list[str]:
    """Every container (init containers too) requests CPU and memory."""
    kind = kubernetes_kind(resource_type)
    spec = pod_spec(kind, props) if kind is not None else None
    if kind is None or spec is None:
        return []
    violations = []
    for container in _containers(spec, init=True):
        requests = _mapping(_mapping(container.get("resources")).get("requests"))
        missing = [label for key, label in (("cpu", "CPU"), ("memory", "memory")) if requests.get(key) in (None, "")]
        if missing and not is_patch(resource_type):
            violations.append(
                f'{describe(kind, props)}: container "{_container_name(container)}" requests no '
                f"{' and no '.join(missing)}; set resources.requests.cpu and resources.requests.memory."
            )
    return violations


# --------------------------------------------------------------------------- 5. rollout


def rolling_update_explicit(resource_type: str, props: Props) -> list[str]:
    """Deployments roll out with RollingUpdate and explicit maxUnavailable and maxSurge."""
    if kubernetes_kind(resource_type) != "Deployment":
        return []
    strategy = _mapping(_mapping(props.get("spec")).get("strategy"))
    strategy_type = strategy.get("type")
    if strategy_type not in (None, "RollingUpdate"):
        return [
            f'{describe("Deployment", props)} uses the "{strategy_type}" strategy; use RollingUpdate '
            "so pods are replaced a few at a time and the gateway keeps serving."
        ]
    rolling_update = _mapping(strategy.get("rollingUpdate"))
    missing = [key for key in ("maxUnavailable", "maxSurge") if rolling_update.get(key) is None]
    if missing and not is_patch(resource_type):
        return [
            f"{describe('Deployment', props)} sets no strategy.rollingUpdate.{' and no '.join(missing)}; "
            "set both explicitly (for example maxUnavailable: 0 and maxSurge: 25%)."
        ]
    return []


# --------------------------------------------------------------------------- 6. readiness


def gateway_readiness_probe(resource_type: str, props: Props) -> list[str]:
    """The gateway container's readiness probe calls the gateway's status endpoint."""
    kind = kubernetes_kind(resource_type)
    if kind is None:
        return []
    violations = []
    for container in _gateway_containers(kind, props):
        where = f'{describe(kind, props)}: gateway container "{_container_name(container)}"'
        probe = container.get("readinessProbe")
        if probe is None and is_patch(resource_type):
            continue
        if not isinstance(probe, Mapping):
            violations.append(f"{where} has no readiness probe; add one with httpGet path {STATUS_PATH}.")
            continue
        http_get = probe.get("httpGet")
        if not isinstance(http_get, Mapping):
            violations.append(f"{where} has a readiness probe without httpGet; probe httpGet path {STATUS_PATH}.")
        elif http_get.get("path") != STATUS_PATH:
            violations.append(
                f'{where} probes readiness at "{http_get.get("path")}"; probe httpGet path {STATUS_PATH}.'
            )
    return violations


# --------------------------------------------------------------------------- 7. token


def gateway_token_in_secret(resource_type: str, props: Props) -> list[str]:
    """The gateway token lives only in a Secret: not in a ConfigMap, not in a plain env value.

    ``config.service.auth`` may be a plain value only when it names a token-free mode
    (``azureAdApp``, ``workloadIdentity``); in token mode it must come from a Secret.
    """
    kind = kubernetes_kind(resource_type)
    if kind is None:
        return []
    violations = []
    if kind == "ConfigMap":
        data = _mapping(props.get("data"))
        keys = list(data)  # keys first: a value may be unknown during preview
        if AUTH_SETTING in keys:
            violations.append(
                f'{describe(kind, props)} sets "{AUTH_SETTING}"; keep the gateway token in a Secret '
                "and read it with valueFrom.secretKeyRef."
            )
        for key in keys:
            value = data[key]
            if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
                violations.append(
                    f'{describe(kind, props)}: data key "{key}" holds a gateway token '
                    f'(a value starting with "{TOKEN_PREFIX}"); keep tokens only in Secrets.'
                )
        return violations
    spec = pod_spec(kind, props)
    if spec is None:
        return []
    for container in _containers(spec, init=True):
        where = f'{describe(kind, props)}: container "{_container_name(container)}"'
        for entry in _sequence(container.get("env")):
            env = _mapping(entry)
            name, value = env.get("name"), env.get("value")
            if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
                violations.append(
                    f'{where} sets env "{name}" to a gateway token; read it from a Secret with valueFrom.secretKeyRef.'
                )
            elif name != AUTH_SETTING or (isinstance(value, str) and value in TOKEN_FREE_AUTH_MODES):
                continue
            elif "value" in env:
                violations.append(
                    f'{where} sets env "{AUTH_SETTING}" to a plain value; read it from a Secret '
                    "with valueFrom.secretKeyRef."
                )
            elif not isinstance(_mapping(env.get("valueFrom")).get("secretKeyRef"), Mapping):
                violations.append(
                    f'{where} reads env "{AUTH_SETTING}" from somewhere other than a Secret; '
                    "use valueFrom.secretKeyRef."
                )
    return violations


# --------------------------------------------------------------------------- 8. backup


def gateway_config_backup(resource_type: str, props: Props) -> list[str]:
    """The gateway container mounts a volume at ``/apim/config`` (configuration backup)."""
    kind = kubernetes_kind(resource_type)
    if kind is None:
        return []
    violations = []
    for container in _gateway_containers(kind, props):
        paths = {
            str(_mapping(mount).get("mountPath", "")).rstrip("/") for mount in _sequence(container.get("volumeMounts"))
        }
        if BACKUP_MOUNT_PATH not in paths and not is_patch(resource_type):
            violations.append(
                f'{describe(kind, props)}: gateway container "{_container_name(container)}" mounts no volume at '
                f"{BACKUP_MOUNT_PATH}; mount a persistent volume there so the gateway can start from its "
                "configuration backup while the configuration endpoint is unreachable."
            )
    return violations


# --------------------------------------------------------------------------- 9. selected pods
# A PodDisruptionBudget and an egress NetworkPolicy for every gateway Deployment: selection_rules.py.

# --------------------------------------------------------------------------- 10. traffic policy


def load_balancer_local_traffic(resource_type: str, props: Props) -> list[str]:
    """LoadBalancer Services keep ``externalTrafficPolicy: Local``."""
    if kubernetes_kind(resource_type) != "Service":
        return []
    spec = _mapping(props.get("spec"))
    if spec.get("type") != "LoadBalancer":
        return []
    policy = spec.get("externalTrafficPolicy")
    if policy == "Local" or (policy is None and is_patch(resource_type)):
        return []
    shown = f'"{policy}"' if policy is not None else '"Cluster" (the default)'
    return [
        f'{describe("Service", props)} is a LoadBalancer with externalTrafficPolicy {shown}; use "Local" '
        "to keep client IP addresses and avoid a second hop between nodes."
    ]
