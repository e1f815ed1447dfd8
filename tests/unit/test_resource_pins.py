"""Every resource's type and name, pinned by hand (not a regenerated snapshot).

The engine identifies a resource by its URN: stack, project, the type chain of its parents and
its own type, and its name (Pulumi docs, "Resource names": "the URN ... is derived from the
resource's project, stack, type, and name ... and any parent resources"). A change to any of them
without an ``aliases`` entry is a new resource: the engine creates the new one and deletes the
old, and for a Kubernetes object under the same name that is an upsert followed by a delete of
the live object (pulumi-kubernetes 4.25.0 ``provider/pkg/await/await.go`` Creation, lines
187-229). A layout change, a refactor of the registration code or a renamed helper must leave
these lists as they are; a deliberate rename changes the list here *and* gives the resource an
``aliases`` entry with its old type or name (as ``kubernetes/objects.py`` does for the namespace and
the backup claim, whose type follows ``backup.keepOnDestroy``).

The tuples are (parent type, type, name); the parent type of a top-level resource is ``stack``.
``{gw}`` is the gateway's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from harness import ENTRA_AUTH, NS, Recording, run_main, stack, stack_file_config

COMPONENT = "apim-gateway:index:SelfHostedGateway"
ALERT = "apim-gateway:index:TokenExpiryAlert"

Pin = tuple[str, str, str]

# What every stack registers once, beside its gateways: the record of what it owns and could delete
# (components/kubernetes/removal_guard.py; a removed gateway registers nothing of its own).
STACK: list[Pin] = [("stack", "pulumi-python:dynamic/apim-gateway:RemovalGuard", "removal-guard")]

# What every gateway registers, whatever its settings: the component, its APIM gateway resource (managed
# mode), the two guards, the stack's own Kubernetes provider and the objects every gateway has.
ALWAYS: list[Pin] = [
    *STACK,
    ("stack", COMPONENT, "{gw}"),
    (COMPONENT, "azure-native:apimanagement:Gateway", "{gw}-gateway"),
    (COMPONENT, "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard", "{gw}-delivery-mode"),
    (COMPONENT, "pulumi-python:dynamic/apim-gateway:ClusterGuard", "{gw}-cluster"),
    (COMPONENT, "pulumi:providers:kubernetes", "{gw}-kubernetes"),
    (COMPONENT, "kubernetes:core/v1:ConfigMap", "{gw}-settings"),
    (COMPONENT, "kubernetes:apps/v1:Deployment", "{gw}-deployment"),
    (COMPONENT, "kubernetes:core/v1:Service", "{gw}-traffic"),
    (COMPONENT, "kubernetes:core/v1:Service", "{gw}-discovery"),
    (COMPONENT, "kubernetes:policy/v1:PodDisruptionBudget", "{gw}-disruption-budget"),
    (COMPONENT, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "{gw}-network-policy"),
]

DEV: list[Pin] = [
    *ALWAYS,
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-echo-api"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-access-token"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-rollout-key"),
    (COMPONENT, "kubernetes:core/v1:Namespace", "{gw}-namespace"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-token"),
]

PROD_WORKLOAD_IDENTITY_WITH_ALERT: list[Pin] = [
    *ALWAYS,
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-orders-api"),
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-payments-api"),
    (COMPONENT, "azure-native:managedidentity:UserAssignedIdentity", "{gw}-identity"),
    (COMPONENT, "azure-native:managedidentity:FederatedIdentityCredential", "{gw}-federation"),
    (COMPONENT, "azure-native:authorization:RoleDefinition", "{gw}-configuration-reader"),
    (COMPONENT, "azure-native:authorization:RoleAssignment", "{gw}-configuration-reader"),
    (COMPONENT, "azure-native:authorization:RoleDefinition", "{gw}-apim-validator"),
    (COMPONENT, "azure-native:authorization:RoleAssignment", "{gw}-apim-validator"),
    (COMPONENT, "kubernetes:core/v1:NamespacePatch", "{gw}-namespace"),
    (COMPONENT, "kubernetes:scheduling.k8s.io/v1:PriorityClass", "{gw}-priority-class"),
    (COMPONENT, "kubernetes:storage.k8s.io/v1:StorageClass", "{gw}-backup-storage-class"),
    (COMPONENT, "kubernetes:core/v1:PersistentVolumeClaimPatch", "{gw}-config-backup"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-ca-bundle"),
    (COMPONENT, "kubernetes:core/v1:ServiceAccount", "{gw}-service-account"),
    ("stack", ALERT, "token-expiry-alert"),
    (ALERT, "azure-native:monitor:ActionGroup", "token-expiry-alert-action-group"),
    (ALERT, "azure-native:eventgrid:SystemTopic", "token-expiry-alert-system-topic"),
    (ALERT, "azure-native:eventgrid:SystemTopicEventSubscription", "token-expiry-alert-subscription"),
    # Issue 23: the events go to a storage queue and a metric alert tells the action group.
    (ALERT, "azure-native:storage:StorageAccount", "token-expiry-alert-storage"),
    (ALERT, "azure-native:storage:Queue", "token-expiry-alert-queue"),
    (ALERT, "azure-native:monitor:MetricAlert", "token-expiry-alert-metric-alert"),
]

PROD_TOKEN_EVERY_OPTION: list[Pin] = [
    *ALWAYS,
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-orders-api"),
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-payments-api"),
    (COMPONENT, "azure-native:apimanagement:GatewayHostnameConfiguration", "{gw}-hostname-apis-contoso-com"),
    (COMPONENT, "azure-native:apimanagement:GatewayCertificateAuthority", "{gw}-ca-contoso-root"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-access-token"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-retired-key"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-rollout-key"),
    (COMPONENT, "kubernetes:core/v1:Namespace", "{gw}-namespace"),
    (COMPONENT, "kubernetes:scheduling.k8s.io/v1:PriorityClass", "{gw}-priority-class"),
    (COMPONENT, "kubernetes:core/v1:PersistentVolumeClaim", "{gw}-config-backup"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-ca-bundle"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-token"),
    (COMPONENT, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "{gw}-autoscaler"),
]

PROD_ENTRA_APP: list[Pin] = [
    *ALWAYS,
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-orders-api"),
    (COMPONENT, "azure-native:apimanagement:GatewayApiEntityTag", "{gw}-api-payments-api"),
    (COMPONENT, "azure-native:authorization:RoleDefinition", "{gw}-configuration-reader"),
    (COMPONENT, "azure-native:authorization:RoleAssignment", "{gw}-configuration-reader"),
    (COMPONENT, "pulumi-python:dynamic:Resource", "{gw}-rollout-key"),
    (COMPONENT, "kubernetes:core/v1:NamespacePatch", "{gw}-namespace"),
    (COMPONENT, "kubernetes:scheduling.k8s.io/v1:PriorityClass", "{gw}-priority-class"),
    (COMPONENT, "kubernetes:storage.k8s.io/v1:StorageClass", "{gw}-backup-storage-class"),
    (COMPONENT, "kubernetes:core/v1:PersistentVolumeClaimPatch", "{gw}-config-backup"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-ca-bundle"),
    (COMPONENT, "kubernetes:core/v1:Secret", "{gw}-entra-secret"),
]


def _prod_with_alert() -> dict[str, Any]:
    raw = stack_file_config("prod")
    raw[f"{NS}:tokenExpiryAlert"] = {"emailReceivers": [{"name": "oncall", "emailAddress": "oncall@contoso.com"}]}
    return raw


def _prod_token_every_option() -> dict[str, Any]:
    return stack(
        "prod",
        auth={"mode": "token"},
        token={"keyType": "secondary", "regenerateRetiredKey": True},
        hostnames=[{"hostname": "*.apis.contoso.com", "certificateId": "contoso-wildcard"}],
        certificateAuthorities=[{"certificateId": "contoso-root", "isTrusted": True}],
        backup={"enabled": True, "keepOnDestroy": False, "storageClassName": "managed-csi"},
        autoscaling={"enabled": True, "minReplicas": 3, "maxReplicas": 6},
    )


def _prod_entra() -> tuple[dict[str, Any], tuple[str, ...]]:
    raw = stack("prod", auth=ENTRA_AUTH)
    raw[f"{NS}:entraClientSecrets"] = {raw[f"{NS}:gateways"][0]["name"]: "client-secret"}
    return raw, (f"{NS}:entraClientSecrets",)


def _parent_type(parent_urn: str) -> str:
    """The parent's own type: the last entry of the type chain in its URN
    (``urn:pulumi:<stack>::<project>::<type chain, joined by $>::<name>``)."""
    parent_type = parent_urn.split("::")[2].split("$")[-1]
    return "stack" if parent_type == "pulumi:pulumi:Stack" else parent_type


def _pins(recording: Recording) -> list[Pin]:
    return sorted((_parent_type(r.parent), r.type, r.name) for r in recording.resources)


def _expected(pins: list[Pin], gateway: str) -> list[Pin]:
    return sorted((p, t, n.format(gw=gateway)) for p, t, n in pins)


def _dev() -> Recording:
    return run_main(stack_file_config("dev"))


def _prod_alert() -> Recording:
    return run_main(_prod_with_alert(), stack="prod")


def _prod_token() -> Recording:
    return run_main(_prod_token_every_option(), stack="prod")


def _prod_entra_app() -> Recording:
    return run_main(*_prod_entra(), stack="prod")


CASES: list[tuple[Callable[[], Recording], list[Pin], str]] = [
    (_dev, DEV, "contoso-dev-gw"),
    (_prod_alert, PROD_WORKLOAD_IDENTITY_WITH_ALERT, "contoso-weu-gw"),
    (_prod_token, PROD_TOKEN_EVERY_OPTION, "contoso-weu-gw"),
    (_prod_entra_app, PROD_ENTRA_APP, "contoso-weu-gw"),
]


@pytest.mark.parametrize(("run", "expected", "gateway"), CASES, ids=lambda case: getattr(case, "__name__", ""))
def test_every_resource_keeps_its_type_and_name(
    run: Callable[[], Recording], expected: list[Pin], gateway: str
) -> None:
    assert _pins(run()) == _expected(expected, gateway)


def test_the_pins_cover_every_resource_type_the_component_registers() -> None:
    """A resource type none of the pinned stacks registers would escape the pins."""
    pinned = {type_ for _, pins, _ in CASES for _, type_, _ in pins}
    registered = {resource.type for run, _, _ in CASES for resource in run().resources}
    assert registered == pinned
    assert {"kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:NamespacePatch"} <= pinned
