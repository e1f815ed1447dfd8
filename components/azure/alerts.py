"""The gateway-token alert that does not depend on GitHub (``apim-gateway:tokenExpiryAlert``).

A disabled ``renew-token`` schedule alerts nobody (docs/delivery.md, "Alerting"), so the stack
watches the APIM instance's own token events, ``Microsoft.ApiManagement.GatewayTokenNearExpiry``
and ``Microsoft.ApiManagement.GatewayTokenExpired`` (Microsoft Learn, "Azure API Management as an
Event Grid source": both marked **preview**; their subject is ``/gateways/{gateway}/{instance}`` and
``data.gatewayInfo.instanceId`` the "unique instance ID of the deployed gateway", so each running
gateway pod sends its own event). Only documented paths:

- ``azure-native:eventgrid:SystemTopic`` on the instance (``topicType``
  ``Microsoft.ApiManagement.Service``, ``source`` its resource id, ``location`` its region);
- ``azure-native:eventgrid:SystemTopicEventSubscription`` filtered to the two event types and
  delivered to a **storage queue** (Microsoft Learn, "Storage queue as an event handler for Azure
  Event Grid events": ``endpointType: StorageQueue`` with the account's ``resourceId`` and
  ``queueName``), in the CloudEvents schema, where the events can be read (which gateway, which
  instance, when). The former ``MonitorAlert`` destination is documented for Key Vault events only
  (Microsoft Learn, "How to send events to Azure monitor alerts": "Azure Monitor alert as a
  destination in Event Grid event subscriptions is currently available only for Azure Key Vault
  system events"), so it is not used;
- ``azure-native:storage:StorageAccount`` and ``azure-native:storage:Queue`` for it;
- ``azure-native:monitor:MetricAlert`` on the system topic's ``MatchedEventCount`` ("Total events
  matched to this event subscription", Count, aggregation Total, time grain PT1M: Microsoft Learn,
  "Supported metrics for Microsoft.EventGrid/systemTopics"; alerts on a system topic's metrics:
  "Set alerts on Azure Event Grid metrics and activity logs"), above 0 over 15 minutes, checked
  every 5 minutes, which notifies
- ``azure-native:monitor:ActionGroup`` (global, enabled) with the configured e-mail receivers
  (common alert schema).

The metric is summed over every subscription of the topic (no ``EventSubscriptionName``
dimension filter: how Azure Monitor matches that dimension's values was not found documented, and
a filter that never matches would be a silent alert). An instance has at most one system topic, and
subscriptions added to it by hand count as well.

The resource types and arguments are those of pulumi-azure-native 3.29.0; the request bodies they
make are checked against Microsoft's SDK models in ``tests/unit/test_azure_models.py``.

Sources read (Microsoft Learn pages by their source in MicrosoftDocs/azure-docs, commit):
``articles/event-grid/event-schema-api-management.md`` (02d2f99a),
``articles/event-grid/handler-azure-monitor-alerts.md`` (03e5750a),
``articles/event-grid/handler-storage-queues.md`` (01629349),
``articles/event-grid/set-alerts.md`` (4a86e782; the 2021 revision translated in
robertorcosta/azure-docs.pt-br adds: for system topics, create the alerts on the Metrics page);
the metrics table from MicrosoftDocs/azure-reference-other ``azure-monitor-ref/supported-metrics/
includes/microsoft-eventgrid-systemtopics-metrics-include.md`` (78c9637b); the event examples
from azure-rest-api-specs (tests/fixtures/azure/SOURCES.json).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from ..config import TokenExpiryAlert
from ..config.alerts import SEVERITIES, default_storage_account_name

TOKEN_EVENT_TYPES = (
    "Microsoft.ApiManagement.GatewayTokenNearExpiry",
    "Microsoft.ApiManagement.GatewayTokenExpired",
)
TOPIC_TYPE = "Microsoft.ApiManagement.Service"
SUBSCRIPTION_NAME = "gateway-token-expiry"
QUEUE_NAME = "gateway-token-events"
METRIC_NAME = "MatchedEventCount"
METRIC_NAMESPACE = "Microsoft.EventGrid/systemTopics"
EVALUATION_FREQUENCY = "PT5M"
WINDOW_SIZE = "PT15M"
ACTION_GROUP_SHORT_NAME = "apim-gw-tok"
"""Shown in the e-mails and SMS; at most 12 characters (Azure Monitor ``groupShortName``)."""
ALERT_DESCRIPTION = (
    "A self-hosted gateway token of {service} nears expiry or has expired (Event Grid events, one per "
    "gateway instance, kept in queue {queue} of storage account {account}): the scheduled renewal "
    "(renew-token) has not run. Run it by hand and look for the cause (docs/delivery.md, Alerting)."
)


def normalized_location(location: str) -> str:
    """``West Europe`` -> ``westeurope``. ARM returns an APIM instance's location as a display name
    (``"location": "West Europe"`` in ``ApiManagementServiceGetServiceHavingMsi.json``, REST API
    2024-05-01); regions are named in lowercase without spaces elsewhere. azure-native compares a
    ``location`` the same way (pulumi/pulumi-azure-native ``provider/pkg/provider/diff.go``,
    ``applyAzureSpecificDiff`` / ``normalizedLocation``, read at commit 03707ff7: lowercase,
    spaces removed), so a topic created with the display name shows no change."""
    return location.replace(" ", "").lower()


class TokenExpiryAlertResources(pulumi.ComponentResource):
    """System topic, event subscription, storage queue, metric alert and action group for one instance."""

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
        where = _Instance(apim_resource_group_name, apim_service_name, name, self)
        instance = azure_native.apimanagement.get_api_management_service_output(
            resource_group_name=apim_resource_group_name,
            service_name=apim_service_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        location = instance.location.apply(normalized_location)
        action_group = _action_group(where, alert)
        topic_name = f"{apim_service_name}-events"
        topic = azure_native.eventgrid.SystemTopic(
            f"{name}-system-topic",
            resource_group_name=apim_resource_group_name,
            system_topic_name=topic_name,
            source=instance.id,
            topic_type=TOPIC_TYPE,
            location=location,
            opts=where.child,
        )
        account_name = alert.storage_account_name or default_storage_account_name(
            apim_resource_group_name, apim_service_name
        )
        account, queue = _event_queue(where, account_name, location)
        azure_native.eventgrid.SystemTopicEventSubscription(
            f"{name}-subscription",
            resource_group_name=apim_resource_group_name,
            system_topic_name=topic_name,
            event_subscription_name=SUBSCRIPTION_NAME,
            filter=azure_native.eventgrid.EventSubscriptionFilterArgs(included_event_types=list(TOKEN_EVENT_TYPES)),
            destination=azure_native.eventgrid.StorageQueueEventSubscriptionDestinationArgs(
                endpoint_type="StorageQueue", resource_id=account.id, queue_name=QUEUE_NAME
            ),
            event_delivery_schema="CloudEventSchemaV1_0",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic, queue]),
        )
        _metric_alert(where, alert, topic, action_group, account_name)
        self.action_group_id = action_group.id
        self.system_topic_name = pulumi.Output.from_input(topic_name)
        self.register_outputs({"actionGroupId": action_group.id, "systemTopicName": topic_name})


class _Instance:
    """The APIM instance the alert watches, and the component its resources belong to."""

    def __init__(self, resource_group_name: str, service_name: str, name: str, parent: pulumi.Resource) -> None:
        self.resource_group_name = resource_group_name
        self.service_name = service_name
        self.name = name
        self.child = pulumi.ResourceOptions(parent=parent)


def _action_group(where: _Instance, alert: TokenExpiryAlert) -> azure_native.monitor.ActionGroup:
    return azure_native.monitor.ActionGroup(
        f"{where.name}-action-group",
        resource_group_name=where.resource_group_name,
        action_group_name=f"{where.service_name}-gateway-token-expiry",
        group_short_name=ACTION_GROUP_SHORT_NAME,
        enabled=True,
        location="Global",
        email_receivers=[
            azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
                name=receiver.name, email_address=receiver.email_address, use_common_alert_schema=True
            )
            for receiver in alert.email_receivers
        ],
        opts=where.child,
    )


def _event_queue(
    where: _Instance, account_name: str, location: pulumi.Input[str]
) -> tuple[azure_native.storage.StorageAccount, azure_native.storage.Queue]:
    """The storage account and queue the events are delivered to, where they can be read."""
    account = azure_native.storage.StorageAccount(
        f"{where.name}-storage",
        resource_group_name=where.resource_group_name,
        account_name=account_name,
        location=location,
        kind="StorageV2",
        sku=azure_native.storage.SkuArgs(name="Standard_LRS"),
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        enable_https_traffic_only=True,
        opts=where.child,
    )
    queue = azure_native.storage.Queue(
        f"{where.name}-queue",
        resource_group_name=where.resource_group_name,
        account_name=account_name,
        queue_name=QUEUE_NAME,
        opts=pulumi.ResourceOptions.merge(where.child, pulumi.ResourceOptions(depends_on=[account])),
    )
    return account, queue


def _metric_alert(
    where: _Instance,
    alert: TokenExpiryAlert,
    topic: azure_native.eventgrid.SystemTopic,
    action_group: azure_native.monitor.ActionGroup,
    account_name: str,
) -> azure_native.monitor.MetricAlert:
    """Fires when the topic matched any event in the window (``MatchedEventCount`` total above 0)."""
    return azure_native.monitor.MetricAlert(
        f"{where.name}-metric-alert",
        resource_group_name=where.resource_group_name,
        rule_name=f"{where.service_name}-gateway-token-expiry",
        location="global",
        description=ALERT_DESCRIPTION.format(service=where.service_name, queue=QUEUE_NAME, account=account_name),
        severity=SEVERITIES[alert.severity],
        enabled=True,
        scopes=[topic.id],
        evaluation_frequency=EVALUATION_FREQUENCY,
        window_size=WINDOW_SIZE,
        criteria=azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
            odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            all_of=[
                azure_native.monitor.MetricCriteriaArgs(
                    criterion_type="StaticThresholdCriterion",
                    name="gateway-token-events",
                    metric_name=METRIC_NAME,
                    metric_namespace=METRIC_NAMESPACE,
                    operator="GreaterThan",
                    threshold=0,
                    time_aggregation="Total",
                )
            ],
        ),
        actions=[azure_native.monitor.MetricAlertActionArgs(action_group_id=action_group.id)],
        opts=where.child,
    )
