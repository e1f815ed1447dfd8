"""The gateway-token alert that does not depend on GitHub (``apim-gateway:tokenExpiryAlert``).

A disabled ``renew-token`` schedule alerts nobody (docs/delivery.md, "Alerting"), so the stack can
subscribe to the APIM instance's own token events instead:

- ``azure-native:eventgrid:SystemTopic`` on the instance (``topicType``
  ``Microsoft.ApiManagement.Service``, ``source`` its resource id, in its region);
- ``azure-native:eventgrid:SystemTopicEventSubscription`` filtered to
  ``Microsoft.ApiManagement.GatewayTokenNearExpiry`` and ``Microsoft.ApiManagement.GatewayTokenExpired``
  (Microsoft Learn, "Azure API Management as an Event Grid source"), delivered to the
  ``MonitorAlert`` destination (pulumi-azure-native ``eventgrid.MonitorAlertEventSubscriptionDestinationArgs``:
  ``actionGroups``, ``severity``, ``description``; Event Grid API 2025-02-15), so each event fires an
  Azure Monitor alert;
- ``azure-native:monitor:ActionGroup`` (global, enabled) with the configured e-mail receivers
  (``MicrosoftCommonEmailReceiverArgs``, common alert schema).

The resource types and their arguments are those of pulumi-azure-native 3.29.0
(``pulumi_azure_native/eventgrid/system_topic.py``, ``system_topic_event_subscription.py``,
``monitor/action_group.py``). An instance has at most one system topic: a stack whose instance
already has one fails on create (docs/delivery.md).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from ..config import TokenExpiryAlert

TOKEN_EVENT_TYPES = (
    "Microsoft.ApiManagement.GatewayTokenNearExpiry",
    "Microsoft.ApiManagement.GatewayTokenExpired",
)
TOPIC_TYPE = "Microsoft.ApiManagement.Service"
ACTION_GROUP_SHORT_NAME = "apim-gw-tok"
"""Shown in the e-mails and SMS; at most 12 characters (Azure Monitor ``groupShortName``)."""
ALERT_DESCRIPTION = (
    "A self-hosted gateway token of {service} nears expiry or has expired: the scheduled renewal "
    "(renew-token) has not run. Run it by hand and look for the cause (docs/delivery.md, Alerting)."
)


class TokenExpiryAlertResources(pulumi.ComponentResource):
    """System topic, event subscription and action group for one APIM instance."""

    action_group_id: pulumi.Output[str]
    system_topic_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        alert: TokenExpiryAlert,
        apim_resource_group_name: str,
        apim_service_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("apim-gateway:index:TokenExpiryAlert", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        instance = azure_native.apimanagement.get_api_management_service_output(
            resource_group_name=apim_resource_group_name,
            service_name=apim_service_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        action_group = azure_native.monitor.ActionGroup(
            f"{name}-action-group",
            resource_group_name=apim_resource_group_name,
            action_group_name=f"{apim_service_name}-gateway-token-expiry",
            group_short_name=ACTION_GROUP_SHORT_NAME,
            enabled=True,
            location="Global",
            email_receivers=[
                azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
                    name=receiver.name, email_address=receiver.email_address, use_common_alert_schema=True
                )
                for receiver in alert.email_receivers
            ],
            opts=child,
        )
        topic_name = f"{apim_service_name}-events"
        topic = azure_native.eventgrid.SystemTopic(
            f"{name}-system-topic",
            resource_group_name=apim_resource_group_name,
            system_topic_name=topic_name,
            source=instance.id,
            topic_type=TOPIC_TYPE,
            location=instance.location,
            opts=child,
        )
        azure_native.eventgrid.SystemTopicEventSubscription(
            f"{name}-subscription",
            resource_group_name=apim_resource_group_name,
            system_topic_name=topic_name,
            event_subscription_name="gateway-token-expiry",
            filter=azure_native.eventgrid.EventSubscriptionFilterArgs(included_event_types=list(TOKEN_EVENT_TYPES)),
            destination=azure_native.eventgrid.MonitorAlertEventSubscriptionDestinationArgs(
                endpoint_type="MonitorAlert",
                action_groups=[action_group.id],
                severity=alert.severity,
                description=ALERT_DESCRIPTION.format(service=apim_service_name),
            ),
            event_delivery_schema="CloudEventSchemaV1_0",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic]),
        )
        self.action_group_id = action_group.id
        self.system_topic_name = pulumi.Output.from_input(topic_name)
        self.register_outputs({"actionGroupId": action_group.id, "systemTopicName": topic_name})
