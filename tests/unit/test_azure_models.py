"""Microsoft's management SDK models are the contract of every Azure resource the stack registers.

For each azure-native resource of a set of stacks that together register every Azure type the
program can, the PUT body azure-native would send for its inputs (``ArmResource.request_body``) is

- checked key by key against the model of Microsoft's own Python SDK for that API version
  (``tests/sdk_contract.py``: unknown and read-only keys, required keys, types, enum values,
  length/pattern/range rules), because the SDK's serializer alone lets all of these through
  (``test_the_sdk_serializer_alone_would_let_these_through``);
- read and written back by the SDK's serializer unchanged; and
- sent through the SDK's own client, on a fake transport (``tests/azure_fakes.py``), which shows
  the SDK builds the same URL (the resource id the mocks answer with) and the same body, with the
  API version azure-native uses.

SDK releases (requirements-dev.txt) and the API versions of their models: azure-mgmt-apimanagement
5.0.0 (2024-05-01), azure-mgmt-authorization 4.0.0 (``v2022_05_01_preview`` role definitions,
``v2022_04_01`` role assignments), azure-mgmt-msi 7.0.0 (``v2023_01_31``), azure-mgmt-eventgrid
10.4.0 (2025-02-15), azure-mgmt-storage 23.0.0 (2024-01-01), azure-mgmt-monitor 7.0.0 (metric
alerts 2018-03-01; action groups 2023-01-01: no stable release has azure-native's
2024-10-01-preview, so the closest is used, see ``SDK_API_VERSION_EXCEPTIONS``).
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
from arm_examples import ARM_RESOURCES, ArmResource, example, restore_numbers
from azure.core.pipeline.transport import RequestsTransport
from azure_fakes import FakeArm, FakeCredential
from harness import (
    ENTRA_AUTH,
    NS,
    ROOT,
    SUBSCRIPTION_ID,
    WORKLOAD_AUTH,
    Recording,
    Registered,
    run_program,
    stack,
)
from offline import TENANT_ID
from sdk_contract import problems, round_trip

EXAMPLE_ONLY = {"azure-native:apimanagement:ApiManagementService"}
"""Answered by the mocks for examples/reuse; the stack itself never creates an instance."""

RECEIVERS = [{"name": "platform-oncall", "emailAddress": "oncall@contoso.com"}]


def _program() -> None:
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def _stacks() -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
    """Stacks that together register every Azure resource type of the program."""
    workload = stack(
        auth={**WORKLOAD_AUTH, "createApimValidatorRole": True},
        hostnames=[{"hostname": "*.apis.contoso.com", "certificateId": "contoso-wildcard", "http2Enabled": False}],
        certificateAuthorities=[{"certificateId": "contoso-root", "isTrusted": True}],
    )
    workload[f"{NS}:tokenExpiryAlert"] = {"emailReceivers": RECEIVERS, "severity": "Sev0"}
    entra = stack(auth={**ENTRA_AUTH, "customRoleScope": "subscription", "createApimValidatorRole": True})
    entra[f"{NS}:entraClientSecrets"] = {entra[f"{NS}:gateways"][0]["name"]: "client-secret-value"}
    return {"workload-identity": (workload, ()), "entra-app": (entra, (f"{NS}:entraClientSecrets",))}


@pytest.fixture(scope="module")
def azure_resources() -> dict[str, list[Registered]]:
    """Every Azure resource the stacks register, by type."""
    found: dict[str, list[Registered]] = {}
    for config, secret_keys in _stacks().values():
        recording: Recording = run_program(_program, config, secret_keys, "prod")
        for resource in recording.resources:
            if resource.type.startswith("azure-native:"):
                found.setdefault(resource.type, []).append(resource)
    return found


def types_in_the_code() -> set[str]:
    """``azure_native.<module>.<Resource>(`` in the component code: what the program can register."""
    pattern = re.compile(r"azure_native\.(\w+)\.([A-Z]\w*)\(")
    found = set()
    for path in (ROOT / "components").rglob("*.py"):
        for module, name in pattern.findall(path.read_text()):
            if not name.endswith("Args"):
                found.add(f"azure-native:{module}:{name}")
    return found


def test_the_stacks_cover_every_azure_type_the_code_registers(azure_resources: dict[str, list[Registered]]) -> None:
    in_code = types_in_the_code()
    assert len(in_code) >= 14  # gateway (4), roles (2), identity (2), alert (6): the scan is not vacuous
    assert set(azure_resources) == in_code
    assert in_code == set(ARM_RESOURCES) - EXAMPLE_ONLY


@pytest.mark.parametrize("token", sorted(set(ARM_RESOURCES) - EXAMPLE_ONLY))
def test_every_request_body_is_one_the_sdk_model_describes(
    azure_resources: dict[str, list[Registered]], token: str
) -> None:
    resource = ARM_RESOURCES[token]
    model = resource.model()
    for registered in azure_resources[token]:
        body = resource.request_body(registered.inputs)
        assert problems(model, body) == [], registered.name
        assert round_trip(model, body) == body, registered.name


# -- the SDK's own client, on a fake transport ------------------------------------------------

SDK_CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "azure-native:apimanagement:Gateway": (
        "azure.mgmt.apimanagement:ApiManagementClient",
        {},
        "gateway.create_or_update",
    ),
    "azure-native:apimanagement:GatewayApiEntityTag": (
        "azure.mgmt.apimanagement:ApiManagementClient",
        {},
        "gateway_api.create_or_update",
    ),
    "azure-native:apimanagement:GatewayHostnameConfiguration": (
        "azure.mgmt.apimanagement:ApiManagementClient",
        {},
        "gateway_hostname_configuration.create_or_update",
    ),
    "azure-native:apimanagement:GatewayCertificateAuthority": (
        "azure.mgmt.apimanagement:ApiManagementClient",
        {},
        "gateway_certificate_authority.create_or_update",
    ),
    "azure-native:authorization:RoleDefinition": (
        "azure.mgmt.authorization:AuthorizationManagementClient",
        {"api_version": "2022-05-01-preview"},
        "role_definitions.create_or_update",
    ),
    "azure-native:authorization:RoleAssignment": (
        "azure.mgmt.authorization:AuthorizationManagementClient",
        {"api_version": "2022-04-01"},
        "role_assignments.create",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "azure.mgmt.msi:ManagedServiceIdentityClient",
        {"api_version": "2023-01-31"},
        "user_assigned_identities.create_or_update",
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "azure.mgmt.msi:ManagedServiceIdentityClient",
        {"api_version": "2023-01-31"},
        "federated_identity_credentials.create_or_update",
    ),
    "azure-native:eventgrid:SystemTopic": (
        "azure.mgmt.eventgrid:EventGridManagementClient",
        {},
        "system_topics.begin_create_or_update",
    ),
    "azure-native:eventgrid:SystemTopicEventSubscription": (
        "azure.mgmt.eventgrid:EventGridManagementClient",
        {},
        "system_topic_event_subscriptions.begin_create_or_update",
    ),
    "azure-native:monitor:ActionGroup": (
        "azure.mgmt.monitor:MonitorManagementClient",
        {},
        "action_groups.create_or_update",
    ),
    "azure-native:monitor:MetricAlert": (
        "azure.mgmt.monitor:MonitorManagementClient",
        {},
        "metric_alerts.create_or_update",
    ),
    "azure-native:storage:StorageAccount": (
        "azure.mgmt.storage:StorageManagementClient",
        {},
        "storage_accounts.begin_create",
    ),
    "azure-native:storage:Queue": ("azure.mgmt.storage:StorageManagementClient", {}, "queue.create"),
}
SDK_API_VERSION_EXCEPTIONS = {"azure-native:monitor:ActionGroup": "2023-01-01"}
"""No stable azure-mgmt-monitor release has azure-native's 2024-10-01-preview action groups
(7.0.0's are 2023-01-01; 8.0.0 is in beta). The stack's body uses only keys both versions have
(``groupShortName``, ``enabled``, ``emailReceivers``), which the contract test shows."""


def sdk_call(resource: ArmResource, inputs: dict[str, Any], adapter: FakeArm) -> Any:
    """The SDK operation for ``resource``, called with the stack's path values and its body as the
    SDK's model, through ``adapter``."""
    client_name, options, operation = SDK_CALLS[resource.token]
    module, name = client_name.split(":")
    session = requests.Session()
    session.mount("https://", adapter)
    client = getattr(importlib.import_module(module), name)(
        FakeCredential(),
        SUBSCRIPTION_ID,
        transport=RequestsTransport(session=session, session_owner=False),
        retry_total=0,
        **options,
    )
    group, method = operation.split(".")
    arguments = [str(inputs[key]).strip("/") for key in resource.path_parameters]
    model = resource.model().deserialize(resource.request_body(inputs))  # type: ignore[attr-defined]
    result = getattr(getattr(client, group), method)(*arguments, model)
    return result.result() if method.startswith("begin_") else result


def arm_answer(resource: ArmResource, inputs: dict[str, Any]) -> Callable[[requests.PreparedRequest], tuple[int, Any]]:
    status = 201 if "201" in example(resource.fixture)["responses"] else 200

    def answer(request: requests.PreparedRequest) -> tuple[int, Any]:
        # The example's own status for the PUT (the SDK checks it), 200 for an LRO's GET.
        return (status if request.method == "PUT" else 200), resource.response(inputs, SUBSCRIPTION_ID, TENANT_ID)

    return answer


@pytest.mark.parametrize("token", sorted(SDK_CALLS))
def test_the_sdk_client_sends_the_same_url_version_and_body(
    azure_resources: dict[str, list[Registered]], token: str
) -> None:
    resource = ARM_RESOURCES[token]
    for registered in azure_resources[token]:
        adapter = FakeArm(answer=arm_answer(resource, registered.inputs))
        result = sdk_call(resource, registered.inputs, adapter)
        put = adapter.requests[0]
        url = urlsplit(put.url or "")
        assert put.method == "PUT"
        # The SDK's URL is the resource id the mocks answer with (and azure-native's Pulumi id).
        assert unquote(url.path) == resource.arm_id(registered.inputs, SUBSCRIPTION_ID) == registered.id
        sent_version = parse_qs(url.query)["api-version"][0]
        assert sent_version == SDK_API_VERSION_EXCEPTIONS.get(token, resource.api_version)
        assert json.loads(put.body or b"{}") == resource.request_body(registered.inputs)
        assert result is not None and result.name == registered.id.rsplit("/", 1)[1]


def test_the_api_versions_are_the_ones_azure_native_uses() -> None:
    """``pinned`` in SOURCES.json is the version pulumi-azure-native 3.29.0 documents for the type
    ("Uses Azure REST API version ..."), so a provider upgrade that moves one fails here."""
    pulumi_azure_native = importlib.import_module("pulumi_azure_native")
    for token, resource in ARM_RESOURCES.items():
        _, module, name = token.split(":")
        cls = getattr(getattr(pulumi_azure_native, module), name)
        source = Path(sys.modules[cls.__module__].__file__ or "").read_text()
        documented = re.search(r"Uses Azure REST API version (\S+?)\.", source)
        assert documented is not None, token
        assert documented.group(1) == resource.api_version, token


# -- the checks themselves can fail -----------------------------------------------------------


def _alert_bodies(azure_resources: dict[str, list[Registered]]) -> tuple[dict[str, Any], dict[str, Any]]:
    subscription = azure_resources["azure-native:eventgrid:SystemTopicEventSubscription"][0]
    alert = azure_resources["azure-native:monitor:MetricAlert"][0]
    return (
        ARM_RESOURCES[subscription.type].request_body(subscription.inputs),
        ARM_RESOURCES[alert.type].request_body(alert.inputs),
    )


BROKEN = {
    "misspelt key": (
        "subscription",
        ["properties", "destination", "properties"],
        "queueNme",
        "q",
        "queueNme: not a key",
    ),
    "wrong type": ("alert", ["properties"], "severity", "2", "'2' is not of type int"),
    "missing required": ("alert", ["properties"], "scopes", None, "properties.scopes: required by MetricAlertResource"),
    "enum outside the spec": (
        "subscription",
        ["properties"],
        "eventDeliverySchema",
        "CloudEvents",
        "'CloudEvents' is not one of ['CloudEventSchemaV1_0', 'CustomInputSchema', 'EventGridSchema']",
    ),
    "unknown destination": (
        "subscription",
        ["properties", "destination"],
        "endpointType",
        "StorageQueues",
        "endpointType = 'StorageQueues': not one of",
    ),
    "duration that is none": (
        "alert",
        ["properties"],
        "windowSize",
        "15 minutes",
        "'15 minutes' is not of type duration",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_contract_check_fails_on_a_broken_body(azure_resources: dict[str, list[Registered]], case: str) -> None:
    subscription, alert = _alert_bodies(azure_resources)
    which, path, key, value, expected = BROKEN[case]
    body = copy.deepcopy(subscription if which == "subscription" else alert)
    model = ARM_RESOURCES[
        "azure-native:eventgrid:SystemTopicEventSubscription"
        if which == "subscription"
        else "azure-native:monitor:MetricAlert"
    ].model()
    assert problems(model, body) == []  # the untouched body passes
    node = body
    for step in path:
        node = node[step]
    if value is None:
        del node[key]
    else:
        node[key] = value
    found = problems(model, body)
    assert any(expected in problem for problem in found), found


def test_the_sdk_serializer_alone_would_let_these_through(azure_resources: dict[str, list[Registered]]) -> None:
    """Why the contract check exists: the SDK's own (de)serializer drops a misspelt key without a
    word and takes any string for an extensible enum."""
    subscription, _ = _alert_bodies(azure_resources)
    model = ARM_RESOURCES["azure-native:eventgrid:SystemTopicEventSubscription"].model()
    misspelt = copy.deepcopy(subscription)
    misspelt["properties"]["destination"]["properties"]["queueNme"] = "q"
    assert "queueNme" not in json.dumps(round_trip(model, misspelt))  # dropped silently
    outside = copy.deepcopy(subscription)
    outside["properties"]["eventDeliverySchema"] = "CloudEvents"
    assert round_trip(model, outside)["properties"]["eventDeliverySchema"] == "CloudEvents"  # kept as is


# -- Microsoft's own examples against the same models -----------------------------------------

EXAMPLE_BODIES = {
    "apimanagement/ApiManagementCreateService.json": "parameters",
    "apimanagement/ApiManagementCreateGateway.json": "parameters",
    "apimanagement/ApiManagementCreateGatewayApi.json": "parameters",
    "apimanagement/ApiManagementCreateGatewayHostnameConfiguration.json": "parameters",
    "apimanagement/ApiManagementCreateGatewayCertificateAuthority.json": "parameters",
    "authorization/PutRoleDefinition.json": "body",
    "authorization/RoleAssignments_CreateForResource.json": "parameters",
    "msi/IdentityCreate.json": "parameters",
    "msi/FederatedIdentityCredentialCreate.json": "parameters",
    "eventgrid/SystemTopics_CreateOrUpdate.json": "systemTopicInfo",
    "eventgrid/SystemTopicEventSubscriptions_CreateOrUpdate.json": "eventSubscriptionInfo",
    "monitor/createOrUpdateActionGroup.json": "actionGroup",
    "monitor/createOrUpdateMetricAlertSingleResource.json": "parameters",
    "storage/StorageAccountCreate.json": "parameters",
    "storage/QueueOperationPutWithMetadata.json": "queue",
}
KNOWN_DEPARTURES = {
    "authorization/PutRoleDefinition.json": [
        "$.roleDefinition: not a key of RoleDefinition",  # the example wraps the body in a "roleDefinition" key
    ],
    "monitor/createOrUpdateActionGroup.json": [
        # 2024-10-01-preview additions the closest stable SDK (2023-01-01) does not have; the stack uses none.
        "$.identity: not a key of ActionGroupResource",
        "$.properties.webhookReceivers[1].managedIdentity: not a key of WebhookReceiver",
        "$.properties.automationRunbookReceivers[0].managedIdentity: not a key of AutomationRunbookReceiver",
        "$.properties.logicAppReceivers[0].managedIdentity: not a key of LogicAppReceiver",
        "$.properties.azureFunctionReceivers[0].managedIdentity: not a key of AzureFunctionReceiver",
        "$.properties.eventHubReceivers[0].managedIdentity: not a key of EventHubReceiver",
        "$.properties.incidentReceivers: not a key of ActionGroupResource",
    ],
    "monitor/createOrUpdateMetricAlertSingleResource.json": [
        # The example writes durations in lowercase and "webhookProperties" where the model (and
        # the spec's createOrUpdateMetricAlertWithDimensions.json) say "webHookProperties".
        "$.properties.evaluationFrequency: 'Pt1m' is not of type duration",
        "$.properties.windowSize: 'Pt15m' is not of type duration",
        "$.properties.actions[0].webhookProperties: not a key of MetricAlertAction",
    ],
}


@pytest.mark.parametrize("fixture", sorted(EXAMPLE_BODIES))
def test_microsofts_example_requests_meet_the_same_check(fixture: str) -> None:
    """The checker is no stricter than Microsoft: each example's request passes it, but for the
    departures listed (and only those), each of which is explained above."""
    resource = next(r for r in ARM_RESOURCES.values() if r.fixture == fixture)
    body = restore_numbers(example(fixture)["parameters"][EXAMPLE_BODIES[fixture]])
    found = [problem.split(" (known:")[0] for problem in problems(resource.model(), body)]
    assert found == KNOWN_DEPARTURES.get(fixture, [])
