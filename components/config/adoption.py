"""Migration settings (issue 24): what a stack may take over from an earlier install, named one by one.

Nothing is adopted silently. ``kubernetes.adopt`` lists each existing Kubernetes object (kind,
name, namespace) that the cluster guard (``components/kubernetes/cluster_guard.py``) may let the
stack take over although it does not carry the stack's ownership annotation; every other object
that exists is refused as before. ``adoptGatewayResourceId`` names the one gateway resource in
APIM that the stack imports instead of creating. docs/migration.md has the recipes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from .fields import DnsLabel, DnsName, Model

if TYPE_CHECKING:
    from .azure import ApimSettings
    from .stack import GatewayConfig

AdoptableKind = Literal[
    "Namespace",
    "Secret",
    "ConfigMap",
    "ServiceAccount",
    "Service",
    "Deployment",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
]
"""Kinds of the objects a gateway's stack registers in the cluster. Cluster-wide classes
(PriorityClass, StorageClass) are shared by design and never adopted."""


class AdoptedObject(Model):
    """One existing object the stack may take over (``kubernetes.adopt``)."""

    kind: AdoptableKind
    """Kind of the object, as ``kubectl get`` shows it (``Service``, ``ConfigMap``...)."""
    name: DnsName
    """Its name: one of the names the stack gives its own objects (docs/migration.md lists them)."""
    namespace: DnsLabel | None = None
    """Its namespace; the gateway's namespace when left out. Never set for a ``Namespace``."""


ARM_GATEWAY_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ApiManagement/service/(?P<service>[^/]+)/gateways/(?P<gateway>[^/]+)$"
)
"""ARM id of a gateway resource (REST spec apimanagement 2024-05-01, ``Gateway_Get`` path
``/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ApiManagement/service/{serviceName}/gateways/{gatewayId}``)."""


def adopted_identity(gateway: GatewayConfig, entry: AdoptedObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name) of an entry, its namespace defaulted to the gateway's."""
    namespace = "" if entry.kind == "Namespace" else entry.namespace or gateway.namespace_name
    return (entry.kind, namespace, entry.name)


def adoption_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """``kubernetes.adopt`` lists each object once, in the gateway's namespace, outside render mode.
    That each names an object the stack registers is checked with the object names
    (``components/kubernetes/adoption.py`` ``check_adoption``), and again by the cluster guard."""
    entries = gateway.kubernetes.adopt
    if not entries:
        return []
    setting = f"{key}.kubernetes.adopt"
    if gateway.kubernetes.render_yaml_to_directory:
        return [
            f"{setting}: renderYamlToDirectory applies nothing to a cluster, so nothing can be adopted; "
            "remove kubernetes.adopt (a GitOps tool applies the rendered files)"
        ]
    problems = []
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        where = describe_entry(key, index, entry)
        identity = adopted_identity(gateway, entry)
        if identity in seen:
            problems.append(f"{where}: listed twice; list each object once")
        seen.add(identity)
        if entry.kind == "Namespace" and entry.namespace:
            problems.append(f"{where}: a Namespace has no namespace; remove namespace from this entry")
        elif entry.kind != "Namespace" and identity[1] != gateway.namespace_name:
            problems.append(
                f"{where}: the stack only registers objects in the gateway's namespace "
                f"{gateway.namespace_name!r}; remove namespace (or set namespace.name)"
            )
    return problems


def describe_entry(key: str, index: int, entry: AdoptedObject) -> str:
    """``<key>.kubernetes.adopt[i] = {kind: K, name: 'n'[, namespace: 'ns']}``: the setting and its value."""
    where = f"{key}.kubernetes.adopt[{index}] = {{kind: {entry.kind}, name: {entry.name!r}"
    return where + (f", namespace: {entry.namespace!r}}}" if entry.namespace else "}")


def gateway_adoption_problems(apim: ApimSettings, gateway: GatewayConfig, key: str) -> list[str]:
    """``adoptGatewayResourceId`` is the ARM id of this very gateway in the configured APIM instance."""
    resource_id = gateway.adopt_gateway_resource_id
    if resource_id is None:
        return []
    where = f"{key}.adoptGatewayResourceId = {resource_id!r}"
    if apim.mode != "managed":
        return [
            f"{where}: only apim.mode 'managed' creates (and so can import) the gateway resource, not "
            f"{apim.mode!r}; set apim.mode to 'managed' to manage the existing gateway from now on"
        ]
    match = ARM_GATEWAY_ID.match(resource_id)
    expected = (
        f"/subscriptions/<subscription id>/resourceGroups/{apim.resource_group_name}/providers/"
        f"Microsoft.ApiManagement/service/{apim.service_name}/gateways/{gateway.name}"
    )
    # ARM resource group and resource names compare case-insensitively (ARM "Resource naming").
    if (
        match is None
        or match["group"].lower() != (apim.resource_group_name or "").lower()
        or match["service"].lower() != (apim.service_name or "").lower()
        or match["gateway"].lower() != gateway.name.lower()
    ):
        return [f"{where}: must be the ARM id of this gateway in apim's instance, {expected}"]
    return []
