"""Microsoft's REST examples as the answers of the Pulumi mocks (``tests/offline.py``).

Every ``x-ms-examples`` file of ``tests/fixtures/azure`` (copied from ``Azure/azure-rest-api-specs``;
path and commit in ``SOURCES.json``) is the request and response of one ARM operation. For each
azure-native resource type the stack registers, ``ARM_RESOURCES`` names its example, its PUT path
(the resource id azure-native derives from the inputs: pulumi/pulumi-azure-native
``provider/pkg/provider/crud/crud.go``, ``PrepareAzureRESTIdAndQuery``, read at commit 0354c94d:
path parameters substituted, a ``{scope}`` trimmed of slashes) and the SDK models of its request and response.

``ArmResource.outputs`` answers a registration as ARM would answer the PUT, in the shape
azure-native hands back to the program:

- the example's response, with ``id`` and ``name`` rebuilt from the inputs, the request's own
  values in place of the example's, and of the example's values only those ARM sets itself
  (read-only in the SDK model: ``provisioningState``, ``clientId``, ...); names of the example
  (``sto4445``, ``apimService1``) inside them are replaced with the stack's;
- identifiers ARM generates (a managed identity's ``clientId`` and ``principalId``, a system topic's
  ``metricResourceId``) derived from the resource id, so two resources never share one;
- ``properties`` flattened into the top level and REST names turned back into azure-native's
  (``odata.type`` -> ``odataType``), as azure-native's ``ResponseBodyToSdkOutputs`` does for
  ``x-ms-client-flatten`` properties; ``azureApiVersion`` added (azure-native 3.x outputs).

``ArmResource.request_body`` is the reverse: the PUT body azure-native would send for the inputs,
in REST shape, which the contract tests check against the SDK models (``tests/sdk_contract.py``).
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "azure"
SOURCES: dict[str, dict[str, str]] = json.loads((FIXTURES / "SOURCES.json").read_text())["fixtures"]
GENERATED = uuid.UUID("5e1b0f8a-7c1d-4d47-9a4e-2f3c9b8d6a10")
"""Namespace of the identifiers the fake ARM generates (uuid5 of the resource id and the property)."""


@cache
def example(name: str) -> dict[str, Any]:
    """One fixture, parsed (callers get a copy through ``copy.deepcopy`` where they change it)."""
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def restore_numbers(value: Any) -> Any:
    """The Pulumi wire format carries every number as a float; ARM's integers are integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: restore_numbers(child) for key, child in value.items()}
    if isinstance(value, list):
        return [restore_numbers(child) for child in value]
    return value


def load(dotted: str) -> type:
    """``"azure.mgmt.msi.v2023_01_31.models:Identity"`` -> the class."""
    module, name = dotted.split(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


def _readonly(model: type) -> set[str]:
    """REST keys (dotted, as in ``_attribute_map``) the model marks read-only."""
    validation = getattr(model, "_validation", {}) or {}
    return {
        model._attribute_map[attribute]["key"]  # type: ignore[attr-defined]
        for attribute, rules in validation.items()
        if rules.get("readonly")
    }


def sdk_shape(value: Any, renames: Mapping[str, str], property_renames: Mapping[str, str] | None = None) -> Any:
    """REST JSON in azure-native's output shape: ``properties`` flattened, REST names renamed."""
    if isinstance(value, list):
        return [sdk_shape(item, renames) for item in value]
    if not isinstance(value, dict):
        return value
    shaped: dict[str, Any] = {}
    for key, child in value.items():
        if key == "properties" and isinstance(child, dict):
            for inner, inner_value in child.items():
                name = (property_renames or {}).get(inner, renames.get(inner, inner))
                shaped[name] = sdk_shape(inner_value, renames)
        else:
            shaped[renames.get(key, key)] = sdk_shape(child, renames)
    return shaped


@dataclass(frozen=True)
class ArmResource:
    """One azure-native resource type, the example ARM answers it from, and its SDK models."""

    token: str
    fixture: str
    path: str
    """PUT path; ``{name}`` are azure-native input names (ARM's path parameter names)."""
    request_model: str
    response_model: str = ""
    top_level: frozenset[str] = frozenset({"location", "tags"})
    """Input keys that stay at the top of the body; every other non-path input goes to ``properties``."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """azure-native input name -> REST name, at any depth (``odataType`` -> ``odata.type``)."""
    nested_properties: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Objects that have a ``properties`` of their own: key -> the keys that stay outside it."""
    property_renames: Mapping[str, str] = field(default_factory=dict)
    """A ``properties`` key azure-native renames on the way out (it collides with a top-level key)."""
    generated: tuple[str, ...] = ()
    """Properties ARM makes up (GUIDs): derived from the resource id here."""
    from_path: Mapping[str, str] = field(default_factory=dict)
    """Response properties that repeat a path parameter (a role assignment's ``scope``)."""
    echo: bool = True
    """The response describes the request's resource (``False``: it describes another one, as
    ``GatewayApi_CreateOrUpdate`` answers with the API)."""

    @property
    def path_parameters(self) -> list[str]:
        return [name for name in re.findall(r"\{(\w+)\}", self.path) if name != "subscriptionId"]

    @property
    def api_version(self) -> str:
        return SOURCES[self.fixture]["pinned"]

    def model(self, which: str = "request") -> type:
        return load(self.request_model if which == "request" or not self.response_model else self.response_model)

    def arm_id(self, inputs: Mapping[str, Any], subscription_id: str) -> str:
        """The resource id azure-native derives from the inputs (its Pulumi id)."""
        values = {"subscriptionId": subscription_id, **{key: str(inputs[key]) for key in self.path_parameters}}
        path = self.path
        for key, value in values.items():
            path = path.replace("{" + key + "}", value.strip("/") if key == "scope" else value)
        return path

    def _rest(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._rest(item) for item in value]
        if not isinstance(value, dict):
            return value
        shaped: dict[str, Any] = {}
        for key, child in value.items():
            name = self.renames.get(key, key)
            if key in self.nested_properties and isinstance(child, dict):
                outside = self.nested_properties[key]
                inner = {self.renames.get(k, k): self._rest(v) for k, v in child.items() if k not in outside}
                shaped[name] = {k: self._rest(v) for k, v in child.items() if k in outside}
                if inner:
                    shaped[name]["properties"] = inner
            else:
                shaped[name] = self._rest(child)
        return shaped

    def request_body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The PUT body (REST shape) azure-native sends for these inputs."""
        body: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        for key, value in restore_numbers(dict(inputs)).items():
            if key in self.path_parameters:
                continue
            target = body if key in self.top_level else properties
            target.update(self._rest({key: value}))
        if properties:
            body["properties"] = properties
        return body

    def response(self, inputs: Mapping[str, Any], subscription_id: str, tenant_id: str) -> dict[str, Any]:
        """ARM's answer to the PUT, in REST shape (see the module docstring)."""
        document = example(self.fixture)
        responses = document["responses"]
        template: dict[str, Any] = copy.deepcopy(
            responses["201"]["body"] if "201" in responses else responses["200"]["body"]
        )
        arm_id = self.arm_id(inputs, subscription_id)
        request = self.request_body(inputs)
        if self.echo:
            readonly = _readonly(self.model("response"))
            kept = {key: value for key, value in template.items() if key in readonly and key != "properties"}
            kept_properties = {
                key: value
                for key, value in (template.get("properties") or {}).items()
                if f"properties.{key}" in readonly
            }
            names = self._example_names(document, inputs, subscription_id)
            body = dict(_renamed(kept, names))
            properties = dict(_renamed(kept_properties, names))
        else:
            body = {key: value for key, value in template.items() if key != "properties"}
            properties = dict(template.get("properties") or {})
        body.update({key: value for key, value in request.items() if key != "properties"})
        properties.update(request.get("properties", {}))
        for key in self.generated:
            properties[key] = tenant_id if key == "tenantId" else str(uuid.uuid5(GENERATED, f"{arm_id}#{key}"))
        for key, parameter in self.from_path.items():
            properties[key] = "/" + str(inputs[parameter]).strip("/")
        body["id"] = arm_id
        body["name"] = arm_id.rsplit("/", 1)[1]
        if properties or "properties" in template:
            body["properties"] = properties
        return body

    def _example_names(
        self, document: dict[str, Any], inputs: Mapping[str, Any], subscription_id: str
    ) -> dict[str, str]:
        """Example path values -> the stack's, to rebuild names inside read-only values (URLs)."""
        parameters = document["parameters"]
        pairs = {str(parameters[key]): str(inputs[key]) for key in self.path_parameters if key in parameters}
        if "subscriptionId" in parameters:
            pairs[str(parameters["subscriptionId"])] = subscription_id
        return {old: new for old, new in pairs.items() if len(old) > 3}

    def outputs(self, inputs: Mapping[str, Any], subscription_id: str, tenant_id: str) -> tuple[str, dict[str, Any]]:
        """(Pulumi id, outputs) as azure-native returns them for ARM's answer."""
        body = self.response(inputs, subscription_id, tenant_id)
        reverse = {rest: sdk for sdk, rest in self.renames.items()}
        shaped: dict[str, Any] = sdk_shape(body, reverse, self.property_renames)
        shaped.pop("id")
        shaped["azureApiVersion"] = self.api_version
        return self.arm_id(inputs, subscription_id), shaped


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    if not names:
        return value
    text = json.dumps(value)
    for old, new in names.items():
        text = text.replace(old, new)
    return json.loads(text)


APIM = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ApiManagement/service/{serviceName}"
APIM_MODELS = "azure.mgmt.apimanagement.models"
AUTHORIZATION_ASSIGNMENTS = "azure.mgmt.authorization.v2022_04_01.models"
AUTHORIZATION_DEFINITIONS = "azure.mgmt.authorization.v2022_05_01_preview.models"
MSI = "azure.mgmt.msi.v2023_01_31.models"
IDENTITIES = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"

ARM_RESOURCES: dict[str, ArmResource] = {
    resource.token: resource
    for resource in (
        ArmResource(
            "azure-native:apimanagement:ApiManagementService",
            "apimanagement/ApiManagementCreateService.json",
            APIM,
            f"{APIM_MODELS}:ApiManagementServiceResource",
            top_level=frozenset({"location", "tags", "sku", "identity", "zones"}),
        ),
        ArmResource(
            "azure-native:apimanagement:Gateway",
            "apimanagement/ApiManagementCreateGateway.json",
            APIM + "/gateways/{gatewayId}",
            f"{APIM_MODELS}:GatewayContract",
        ),
        ArmResource(
            "azure-native:apimanagement:GatewayApiEntityTag",
            "apimanagement/ApiManagementCreateGatewayApi.json",
            APIM + "/gateways/{gatewayId}/apis/{apiId}",
            f"{APIM_MODELS}:AssociationContract",
            f"{APIM_MODELS}:ApiContract",
            echo=False,
        ),
        ArmResource(
            "azure-native:apimanagement:GatewayHostnameConfiguration",
            "apimanagement/ApiManagementCreateGatewayHostnameConfiguration.json",
            APIM + "/gateways/{gatewayId}/hostnameConfigurations/{hcId}",
            f"{APIM_MODELS}:GatewayHostnameConfigurationContract",
        ),
        ArmResource(
            "azure-native:apimanagement:GatewayCertificateAuthority",
            "apimanagement/ApiManagementCreateGatewayCertificateAuthority.json",
            APIM + "/gateways/{gatewayId}/certificateAuthorities/{certificateId}",
            f"{APIM_MODELS}:GatewayCertificateAuthorityContract",
        ),
        ArmResource(
            "azure-native:authorization:RoleDefinition",
            "authorization/PutRoleDefinition.json",
            "/{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
            f"{AUTHORIZATION_DEFINITIONS}:RoleDefinition",
            property_renames={"type": "roleType"},
            top_level=frozenset(),
        ),
        ArmResource(
            "azure-native:authorization:RoleAssignment",
            "authorization/RoleAssignments_CreateForResource.json",
            "/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
            f"{AUTHORIZATION_ASSIGNMENTS}:RoleAssignmentCreateParameters",
            f"{AUTHORIZATION_ASSIGNMENTS}:RoleAssignment",
            top_level=frozenset(),
            from_path={"scope": "scope"},
        ),
        ArmResource(
            "azure-native:managedidentity:UserAssignedIdentity",
            "msi/IdentityCreate.json",
            IDENTITIES,
            f"{MSI}:Identity",
            generated=("clientId", "principalId", "tenantId"),
        ),
        ArmResource(
            "azure-native:managedidentity:FederatedIdentityCredential",
            "msi/FederatedIdentityCredentialCreate.json",
            IDENTITIES + "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}",
            f"{MSI}:FederatedIdentityCredential",
        ),
        ArmResource(
            "azure-native:eventgrid:SystemTopic",
            "eventgrid/SystemTopics_CreateOrUpdate.json",
            GROUP + "/Microsoft.EventGrid/systemTopics/{systemTopicName}",
            "azure.mgmt.eventgrid.models:SystemTopic",
            top_level=frozenset({"location", "tags", "identity"}),
            generated=("metricResourceId",),
        ),
        ArmResource(
            "azure-native:eventgrid:SystemTopicEventSubscription",
            "eventgrid/SystemTopicEventSubscriptions_CreateOrUpdate.json",
            GROUP + "/Microsoft.EventGrid/systemTopics/{systemTopicName}/eventSubscriptions/{eventSubscriptionName}",
            "azure.mgmt.eventgrid.models:EventSubscription",
            top_level=frozenset(),
            nested_properties={
                "destination": frozenset({"endpointType"}),
                "deadLetterDestination": frozenset({"endpointType"}),
            },
        ),
        ArmResource(
            "azure-native:monitor:ActionGroup",
            "monitor/createOrUpdateActionGroup.json",
            GROUP + "/Microsoft.Insights/actionGroups/{actionGroupName}",
            "azure.mgmt.monitor.models:ActionGroupResource",
        ),
        ArmResource(
            "azure-native:monitor:MetricAlert",
            "monitor/createOrUpdateMetricAlertSingleResource.json",
            GROUP + "/Microsoft.Insights/metricAlerts/{ruleName}",
            "azure.mgmt.monitor.models:MetricAlertResource",
            renames={"odataType": "odata.type"},
        ),
        ArmResource(
            "azure-native:storage:StorageAccount",
            "storage/StorageAccountCreate.json",
            GROUP + "/Microsoft.Storage/storageAccounts/{accountName}",
            "azure.mgmt.storage.models:StorageAccountCreateParameters",
            "azure.mgmt.storage.models:StorageAccount",
            top_level=frozenset({"location", "tags", "sku", "kind", "identity", "extendedLocation"}),
            renames={"enableHttpsTrafficOnly": "supportsHttpsTrafficOnly"},
        ),
        ArmResource(
            "azure-native:storage:Queue",
            "storage/QueueOperationPutWithMetadata.json",
            GROUP + "/Microsoft.Storage/storageAccounts/{accountName}/queueServices/default/queues/{queueName}",
            "azure.mgmt.storage.models:StorageQueue",
            top_level=frozenset(),
        ),
    )
}

INSTANCE_EXAMPLES = {
    "msi": "apimanagement/ApiManagementServiceGetServiceHavingMsi.json",
    "premium": "apimanagement/ApiManagementServiceGetService.json",
}
"""The two ``ApiManagementService_Get`` examples: a Premium instance in West Europe with system- and
user-assigned identities (the default), and one in East US."""


def instance(variant: str, subscription_id: str, resource_group_name: str, service_name: str) -> dict[str, Any]:
    """``getApiManagementService`` as azure-native returns ARM's answer: the example's instance
    under the stack's names (id, name and URLs rebuilt), ``properties`` flattened."""
    document = example(INSTANCE_EXAMPLES[variant])
    body = copy.deepcopy(document["responses"]["200"]["body"])
    old_name = body["name"]
    arm_id = (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
        f"/providers/Microsoft.ApiManagement/service/{service_name}"
    )
    body = _renamed(
        body,
        {
            body["id"]: arm_id,
            old_name.lower(): service_name.lower(),
            old_name: service_name,
            document["parameters"]["subscriptionId"]: subscription_id,
        },
    )
    shaped: dict[str, Any] = sdk_shape(body, {})
    shaped["azureApiVersion"] = SOURCES[INSTANCE_EXAMPLES[variant]]["pinned"]
    return shaped
