"""Stack rules that need a gateway Deployment's pods to be selected by another object of the
stack: a PodDisruptionBudget (rule 9) and an egress NetworkPolicy (issue 16.9).

Like ``rules.py``, pure functions of what a Pulumi policy receives; ``rules`` re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .objects import (
    DEFAULT_NAMESPACE,
    Props,
    _gateway_containers,
    _mapping,
    _sequence,
    describe,
    is_patch,
    kubernetes_kind,
)

# --------------------------------------------------------------------------- 9. disruption budget


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a label selector (``matchLabels``/``matchExpressions``) selects ``labels``.

    A missing selector selects nothing; an empty one (``{}``) selects everything, as for a
    ``policy/v1`` PodDisruptionBudget.
    """
    if not isinstance(selector, Mapping):
        return False
    for label, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(label) != value:
            return False
    for item in _sequence(selector.get("matchExpressions")):
        expression = _mapping(item)
        key, operator = str(expression.get("key")), expression.get("operator")
        values = list(_sequence(expression.get("values")))
        present = key in labels
        if operator == "In" and not (present and labels.get(key) in values):
            return False
        if operator == "NotIn" and present and labels.get(key) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _namespace_of(props: Props) -> str:
    namespace = _mapping(props.get("metadata")).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def _pod_labels(props: Props) -> Mapping[str, Any]:
    spec = _mapping(props.get("spec"))
    labels = _mapping(_mapping(_mapping(spec.get("template")).get("metadata")).get("labels"))
    return labels or _mapping(_mapping(spec.get("selector")).get("matchLabels"))


def missing_disruption_budgets(resources: Iterable[tuple[str, Props]]) -> list[tuple[int, str]]:
    """(index of the Deployment in ``resources``, message) for every gateway Deployment whose
    pods no PodDisruptionBudget of its namespace selects."""
    resources = list(resources)
    budgets = [
        (_namespace_of(props), _mapping(props.get("spec")).get("selector"))
        for resource_type, props in resources
        if kubernetes_kind(resource_type) == "PodDisruptionBudget"
    ]
    return [
        (
            index,
            f"{describe('Deployment', props)} has no PodDisruptionBudget selecting its pods in namespace "
            f'"{namespace}"; add one so node drains and cluster upgrades keep gateway replicas running.',
        )
        for index, props, namespace in _unselected_gateway_deployments(resources, budgets)
    ]


def _unselected_gateway_deployments(
    resources: Sequence[tuple[str, Props]], selectors: Sequence[tuple[str, Any]]
) -> Iterator[tuple[int, Props, str]]:
    """(index, props, namespace) of every gateway Deployment that none of ``selectors`` (namespace,
    label selector) selects; a Deployment patch is skipped (its object's selectors live elsewhere)."""
    for index, (resource_type, props) in enumerate(resources):
        if kubernetes_kind(resource_type) != "Deployment" or not any(_gateway_containers("Deployment", props)):
            continue
        if is_patch(resource_type):
            continue
        namespace, labels = _namespace_of(props), _pod_labels(props)
        if not any(ns == namespace and selector_matches(selector, labels) for ns, selector in selectors):
            yield index, props, namespace


def gateway_disruption_budget(resources: Sequence[tuple[str, Props]]) -> list[str]:
    """Every gateway Deployment has a PodDisruptionBudget that selects its pods (stack rule)."""
    return [message for _, message in missing_disruption_budgets(resources)]


def _selects_egress(props: Props) -> bool:
    """Whether a NetworkPolicy restricts egress: ``policyTypes`` names ``Egress``, or, without
    ``policyTypes``, it has ``egress`` rules (Kubernetes API, NetworkPolicySpec ``policyTypes``:
    "If this field is not specified, it will default based on the existence of egress rules")."""
    spec = _mapping(props.get("spec"))
    types = spec.get("policyTypes")
    if isinstance(types, Sequence) and not isinstance(types, str):
        return "Egress" in [str(t) for t in types]
    return "egress" in spec


def missing_egress_policies(resources: Iterable[tuple[str, Props]]) -> list[tuple[int, str]]:
    """(index of the Deployment, message) for every gateway Deployment whose pods no egress
    NetworkPolicy of its namespace selects (issue 16.9): without one the gateway reaches every
    address, the instance metadata and platform endpoints included, and
    ``egress-blocks-metadata-endpoints`` (which judges only policies that exist) sees nothing."""
    resources = list(resources)
    policies = [
        (_namespace_of(props), _mapping(props.get("spec")).get("podSelector"))
        for resource_type, props in resources
        if kubernetes_kind(resource_type) == "NetworkPolicy" and _selects_egress(props)
    ]
    return [
        (
            index,
            f"{describe('Deployment', props)} has no egress NetworkPolicy selecting its pods in namespace "
            f'"{namespace}"; without one the gateway may reach every address, the metadata endpoints '
            "169.254.169.254 and 168.63.129.16 included (networkPolicy.enabled).",
        )
        for index, props, namespace in _unselected_gateway_deployments(resources, policies)
    ]


def gateway_egress_network_policy(resources: Sequence[tuple[str, Props]]) -> list[str]:
    """Every gateway Deployment is selected by an egress NetworkPolicy (stack rule)."""
    return [message for _, message in missing_egress_policies(resources)]
