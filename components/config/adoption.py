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


def adoptable_names(gateway: GatewayConfig) -> dict[str, set[str]]:
    """Per kind, the names the stack gives its own objects: the only names ``kubernetes.adopt`` accepts."""
    # Imported here: the manifests import the config package (a cycle at import time otherwise).
    from ..kubernetes.manifests.common import object_names

    names = object_names(gateway)
    secrets = {names.token_secret, names.entra_secret, names.proxy_secret}
    if names.ca_secret and not gateway.custom_ca.secret_name:
        secrets.add(names.ca_secret)
    return {
        "Namespace": {names.namespace} if gateway.namespace.create else set(),
        "Secret": secrets,
        "ConfigMap": {names.settings_config_map},
        "ServiceAccount": {gateway.service_account_name} if gateway.service_account_name else set(),
        "Service": {names.traffic_service, names.discovery_service},
        "Deployment": {names.deployment},
        "PersistentVolumeClaim": {names.backup_claim}
        if gateway.backup.enabled and not gateway.backup.existing_claim
        else set(),
        "PodDisruptionBudget": {names.disruption_budget},
        "HorizontalPodAutoscaler": {names.autoscaler},
        "NetworkPolicy": {names.network_policy},
    }


def adopted_identity(gateway: GatewayConfig, entry: AdoptedObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name) of an entry, its namespace defaulted to the gateway's."""
    namespace = "" if entry.kind == "Namespace" else entry.namespace or gateway.namespace_name
    return (entry.kind, namespace, entry.name)


def adoption_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """``kubernetes.adopt`` names only objects this gateway's stack registers, each once."""
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
    allowed = adoptable_names(gateway)
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        where = f"{setting}[{index}] = {{kind: {entry.kind}, name: {entry.name!r}"
        where += f", namespace: {entry.namespace!r}}}" if entry.namespace else "}"
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
        elif entry.name not in allowed[entry.kind]:
            choices = ", ".join(repr(name) for name in sorted(allowed[entry.kind])) or "none in this configuration"
            problems.append(
                f"{where}: the stack registers no {entry.kind} of that name, and adopts only objects it "
                f"registers; allowed names for {entry.kind}: {choices}"
            )
    return problems


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
