"""``apim-gateway:tokenExpiryAlert`` (issue 16, item 4): the alert that works without GitHub.

docs/delivery.md described an Event Grid alert on APIM's ``GatewayTokenNearExpiry`` /
``GatewayTokenExpired`` events (Microsoft Learn, "Azure API Management as an Event Grid
source") as in place, but nothing created it. With the key the stack creates the system topic on
the instance, a subscription filtered to those two event types with the Azure Monitor alert
destination, and an action group e-mailing the receivers (pulumi-azure-native 3.29.0
``eventgrid.SystemTopic``, ``eventgrid.SystemTopicEventSubscription``,
``eventgrid.MonitorAlertEventSubscriptionDestinationArgs``, ``monitor.ActionGroup``); checked
here under Pulumi's mocks like the rest of the Azure side.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from harness import SUBSCRIPTION_ID, refused, run_main, stack_file_config

from components.azure.alerts import TOKEN_EVENT_TYPES
from components.config import parse_stack_config
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


def test_the_stack_creates_the_topic_the_subscription_and_the_action_group() -> None:
    recording = run_main(with_alert({"emailReceivers": RECEIVERS, "severity": "Sev2"}))
    instance = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-apim-dev/providers/Microsoft.ApiManagement/service/contoso-apim-dev"
    topic = recording.one("azure-native:eventgrid:SystemTopic").inputs
    assert topic == {
        "resourceGroupName": "rg-apim-dev",
        "systemTopicName": "contoso-apim-dev-events",
        "source": instance,
        "topicType": "Microsoft.ApiManagement.Service",
        "location": "westeurope",
    }
    group = recording.one("azure-native:monitor:ActionGroup").inputs
    assert group["enabled"] is True and group["location"] == "Global" and len(group["groupShortName"]) <= 12
    assert group["emailReceivers"] == [
        {"name": "platform-oncall", "emailAddress": "oncall@contoso.com", "useCommonAlertSchema": True}
    ]
    subscription = recording.one("azure-native:eventgrid:SystemTopicEventSubscription").inputs
    assert subscription["systemTopicName"] == "contoso-apim-dev-events"
    assert subscription["filter"]["includedEventTypes"] == [
        "Microsoft.ApiManagement.GatewayTokenNearExpiry",
        "Microsoft.ApiManagement.GatewayTokenExpired",
    ]
    assert subscription["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    destination = subscription["destination"]
    assert destination["endpointType"] == "MonitorAlert" and destination["severity"] == "Sev2"
    assert destination["actionGroups"] == ["token-expiry-alert-action-group-id"]
    assert "renew-token" in destination["description"]
    assert set(recording.outputs["tokenExpiryAlert"]) == {"actionGroupId", "systemTopic"}
    assert tuple(subscription["filter"]["includedEventTypes"]) == TOKEN_EVENT_TYPES


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
