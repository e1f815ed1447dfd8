"""``apim-gateway:tokenExpiryAlert`` (issue 16, item 4): the alert that works without GitHub.

docs/delivery.md described an Event Grid alert on APIM's ``GatewayTokenNearExpiry`` /
``GatewayTokenExpired`` events (Microsoft Learn, "Azure API Management as an Event Grid
source") as in place, but nothing created it. With the key the stack creates the system topic on
the instance, a subscription filtered to those two event types delivered to a storage queue, a
metric alert on the topic's ``MatchedEventCount`` and an action group e-mailing the receivers
(issue 23: the former ``MonitorAlert`` destination is documented for Key Vault events only);
checked here under Pulumi's mocks like the rest of the Azure side.
"""

from __future__ import annotations

import json
import re
import runpy
from typing import Any

import jsonschema
import pytest
from arm_examples import example
from azure.eventgrid import SystemEventNames
from harness import ROOT, SUBSCRIPTION_ID, Recording, Registered, refused, run_main, run_program, stack_file_config
from offline import restore_integers

from components.azure.alerts import QUEUE_NAME, SUBSCRIPTION_NAME, TOKEN_EVENT_TYPES
from components.config import parse_stack_config
from components.config.alerts import default_storage_account_name
from components.config.stack_schema import stack_file_schema

KEY = "apim-gateway:tokenExpiryAlert"
RECEIVERS = [{"name": "platform-oncall", "emailAddress": "oncall@contoso.com"}]


def with_alert(alert: Any, stack: str = "dev") -> dict[str, Any]:
    config = stack_file_config(stack)
    config[KEY] = alert
    return config


def test_without_the_key_no_alert_resource_is_created() -> None:
    recording = run_main(stack_file_config("dev"))
    assert not [
        r for r in recording.resources if r.type.startswith(("azure-native:eventgrid:", "azure-native:monitor:"))
    ]
    assert "tokenExpiryAlert" not in recording.outputs


def alert_resources(recording: Recording) -> dict[str, Registered]:
    """The alert's Azure resources by short type name."""
    types = ("SystemTopic", "SystemTopicEventSubscription", "StorageAccount", "Queue", "MetricAlert", "ActionGroup")
    found = {r.type.rsplit(":", 1)[1]: r for r in recording.resources if r.type.rsplit(":", 1)[1] in types}
    assert set(found) == set(types), sorted(found)
    return found


@pytest.mark.parametrize(
    ("instance_example", "region"), [("msi", "westeurope"), ("premium", "eastus")], ids=["west-europe", "east-us"]
)
def test_the_stack_creates_the_topic_the_queue_the_metric_alert_and_the_action_group(
    instance_example: str, region: str
) -> None:
    """Events to a storage queue and a metric alert on the topic's matched events, the documented
    path (components/azure/alerts.py); answered by the mocks as Microsoft's REST examples answer
    (tests/arm_examples.py), so each reference below is to an id ARM would report."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    recording = run_program(
        program,
        with_alert({"emailReceivers": RECEIVERS, "severity": "Sev2"}),
        instance_example=instance_example,
    )
    found = alert_resources(recording)
    instance = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-apim-dev/providers/Microsoft.ApiManagement/service/contoso-apim-dev"
    topic = found["SystemTopic"]
    # ApiManagementService_Get answers "West Europe" / "East US": the topic gets the region's name.
    assert topic.inputs == {
        "resourceGroupName": "rg-apim-dev",
        "systemTopicName": "contoso-apim-dev-events",
        "source": instance,
        "topicType": "Microsoft.ApiManagement.Service",
        "location": region,
    }
    account = found["StorageAccount"]
    assert account.inputs == {
        "resourceGroupName": "rg-apim-dev",
        "accountName": default_storage_account_name("rg-apim-dev", "contoso-apim-dev"),
        "location": region,
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "enableHttpsTrafficOnly": True,
    }
    queue = found["Queue"]
    assert (queue.inputs["accountName"], queue.inputs["queueName"]) == (account.inputs["accountName"], QUEUE_NAME)
    assert any(urn.endswith(f"::{account.name}") for urn in queue.dependencies)
    subscription = found["SystemTopicEventSubscription"].inputs
    assert subscription["systemTopicName"] == "contoso-apim-dev-events"
    assert subscription["eventSubscriptionName"] == SUBSCRIPTION_NAME
    assert subscription["filter"]["includedEventTypes"] == list(TOKEN_EVENT_TYPES)
    assert subscription["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    assert subscription["destination"] == {
        "endpointType": "StorageQueue",
        "resourceId": account.id,  # the storage account's ARM id, as the StorageQueue example sends it
        "queueName": QUEUE_NAME,
    }
    assert "MonitorAlert" not in json.dumps([r.inputs for r in recording.resources])
    group = found["ActionGroup"]
    assert group.inputs["enabled"] is True and group.inputs["location"] == "Global"
    assert len(group.inputs["groupShortName"]) <= 12
    assert group.inputs["emailReceivers"] == [
        {"name": "platform-oncall", "emailAddress": "oncall@contoso.com", "useCommonAlertSchema": True}
    ]
    alert = restore_integers(found["MetricAlert"].inputs)
    assert alert["scopes"] == [topic.id] and alert["location"] == "global"
    assert alert["severity"] == 2 and alert["enabled"] is True
    assert (alert["evaluationFrequency"], alert["windowSize"]) == ("PT5M", "PT15M")
    assert alert["actions"] == [{"actionGroupId": group.id}]
    assert alert["criteria"] == {
        "odataType": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
        "allOf": [
            {
                "criterionType": "StaticThresholdCriterion",
                "name": "gateway-token-events",
                "metricName": "MatchedEventCount",
                "metricNamespace": "Microsoft.EventGrid/systemTopics",
                "operator": "GreaterThan",
                "threshold": 0,
                "timeAggregation": "Total",
            }
        ],
    }
    assert "renew-token" in alert["description"] and account.inputs["accountName"] in alert["description"]
    assert set(recording.outputs["tokenExpiryAlert"]) == {"actionGroupId", "systemTopic"}


def test_a_named_storage_account_is_used_and_a_bad_name_refused() -> None:
    recording = run_main(with_alert({"emailReceivers": RECEIVERS, "storageAccountName": "contosogwtokens"}))
    found = alert_resources(recording)
    assert found["StorageAccount"].inputs["accountName"] == "contosogwtokens"
    assert found["Queue"].inputs["accountName"] == "contosogwtokens"
    message = refused(with_alert({"emailReceivers": RECEIVERS, "storageAccountName": "Contoso-GW"}))
    assert f"{KEY}.storageAccountName = 'Contoso-GW': String should match pattern '^[a-z0-9]{{3,24}}$'" in message


def test_the_default_storage_account_name_is_a_valid_name_per_instance() -> None:
    names = {
        default_storage_account_name(group, service) for group in ("rg-a", "rg-b") for service in ("apim1", "apim2")
    }
    assert len(names) == 4
    assert all(re.fullmatch(r"[a-z0-9]{3,24}", name) for name in names)
    assert default_storage_account_name("RG-A", "APIM1") == default_storage_account_name("rg-a", "apim1")


def test_the_filter_names_microsofts_event_types() -> None:
    """The two types the subscription filters on are Microsoft's own names: the data-plane SDK's
    ``SystemEventNames`` (azure-eventgrid 4.22.1) and the ``type`` of the CloudEvents examples in
    azure-rest-api-specs (``eventgrid/data-plane/Microsoft.ApiManagement/.../cloud-events-schema``)."""
    names = {
        SystemEventNames.ApiManagementGatewayTokenNearExpiryEventName.value,
        SystemEventNames.ApiManagementGatewayTokenExpiredEventName.value,
    }
    assert set(TOKEN_EVENT_TYPES) == names
    examples = {example(f"events/{name}.json")["type"] for name in ("gatewayTokenNearExpiry", "gatewayTokenExpired")}
    assert set(TOKEN_EVENT_TYPES) == examples


def test_the_events_arrive_once_per_gateway_instance() -> None:
    """What the alert's e-mail and docs say: each event names one instance of one gateway
    (subject ``/gateways/{gateway-name}/{instance-name}``, ``data.gatewayInfo.instanceId``)."""
    for name in ("gatewayTokenNearExpiry", "gatewayTokenExpired"):
        event = example(f"events/{name}.json")
        assert event["subject"] == "/gateways/{gateway-name}/{instance-name}"
        assert set(event["data"]["gatewayInfo"]) == {"gatewayId", "instanceId"}


def test_defaults() -> None:
    alert = parse_stack_config(with_alert({"emailReceivers": RECEIVERS}), now=None).token_expiry_alert
    assert alert is not None and alert.severity == "Sev1"
    assert alert.email_receivers[0].email_address == "oncall@contoso.com"


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ({}, f"{KEY}.emailReceivers: required setting is missing"),
        ({"emailReceivers": []}, f"{KEY}.emailReceivers = []: Tuple should have at least 1 item"),
        (
            {"emailReceivers": [{"name": "oncall", "emailAddress": "not-an-address"}]},
            f"{KEY}.emailReceivers[0].emailAddress = 'not-an-address': String should match pattern",
        ),
        (
            {"emailReceivers": RECEIVERS, "severity": "critical"},
            f"{KEY}.severity = 'critical': Input should be 'Sev0', 'Sev1', 'Sev2', 'Sev3' or 'Sev4'",
        ),
        (
            {"emailReceivers": RECEIVERS * 2},
            f"{KEY}.emailReceivers = ",
        ),
        (
            {"emailReceivers": RECEIVERS, "sms": "+31"},
            f"{KEY}.sms: unknown setting (check the spelling; keys are camelCase)",
        ),
    ],
    ids=["empty", "no-receivers", "bad-address", "bad-severity", "repeated-name", "unknown-key"],
)
def test_invalid_alert_settings_are_refused_with_key_value_and_what_is_allowed(alert: Any, message: str) -> None:
    assert message in refused(with_alert(alert))


def test_repeated_receiver_names_are_named() -> None:
    assert "receiver names must be distinct ('platform-oncall' repeated)" in refused(
        with_alert({"emailReceivers": RECEIVERS * 2})
    )


def test_the_alert_needs_the_instance() -> None:
    config = with_alert({"emailReceivers": RECEIVERS}, stack="local")
    assert f"{KEY}: needs apim.resourceGroupName and apim.serviceName" in refused(config)


def test_the_stack_file_schema_knows_the_key() -> None:
    validator = jsonschema.Draft202012Validator(stack_file_schema())
    good = {"config": {**stack_file_config("dev"), KEY: {"emailReceivers": RECEIVERS}}}
    assert list(validator.iter_errors(good)) == []
    bad = {"config": {**stack_file_config("dev"), KEY: {"emailReceivers": RECEIVERS, "severity": "loud"}}}
    assert [error.json_path for error in validator.iter_errors(bad)] == [f"$.config['{KEY}'].severity"]
