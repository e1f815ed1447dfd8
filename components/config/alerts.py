"""``apim-gateway:tokenExpiryAlert``: the alert on APIM's gateway-token events that works
without GitHub (issue 16, item 4; docs/delivery.md, "Alerting").

API Management publishes ``Microsoft.ApiManagement.GatewayTokenNearExpiry`` and
``Microsoft.ApiManagement.GatewayTokenExpired`` to Event Grid (Microsoft Learn, "Azure API
Management as an Event Grid source"; event data ``ApiManagementGatewayTokenNearExpiryEventData``
/ ``ApiManagementGatewayTokenExpiredEventData``; both marked preview there, one event per gateway
instance). With this key the stack subscribes to them, keeps them in a storage queue, and an Azure
Monitor metric alert on the system topic's ``MatchedEventCount`` tells an action group that e-mails
the receivers listed here (``components/azure/alerts.py``).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, field_validator

from .fields import Model

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_EMAIL_RECEIVERS = 1000
"""Azure Monitor service limits: at most 1,000 e-mail actions in one action group."""
STORAGE_ACCOUNT_NAME_PATTERN = r"^[a-z0-9]{3,24}$"
"""Storage account names: 3-24 lowercase letters and digits, unique across Azure (Microsoft Learn,
"Naming rules and restrictions for Azure resources", Microsoft.Storage storageAccounts)."""
STORAGE_ACCOUNT_PREFIX = "apimgwtok"
SEVERITIES = {"Sev0": 0, "Sev1": 1, "Sev2": 2, "Sev3": 3, "Sev4": 4}
"""Config severity -> the metric alert rule's ``severity`` (0 critical ... 4 verbose; Azure Monitor
REST API 2018-03-01, ``MetricAlertProperties.severity``)."""


def default_storage_account_name(resource_group_name: str, service_name: str) -> str:
    """``apimgwtok`` and 15 hex digits of the SHA-256 of the instance's resource group and name:
    24 characters, stable for an instance, and different between instances."""
    digest = hashlib.sha256(f"{resource_group_name.lower()}/{service_name.lower()}".encode()).hexdigest()
    return STORAGE_ACCOUNT_PREFIX + digest[:15]


class AlertEmailReceiver(Model):
    """One e-mail receiver of the action group (``EmailReceiver``: name and address)."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    """Receiver name, unique within the alert (letters, digits, space, '.', '_', '-')."""
    email_address: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    """E-mail address the alert goes to."""


class TokenExpiryAlert(Model):
    """Event Grid system topic on the APIM instance, a subscription to the gateway-token events
    delivered to a storage queue, a metric alert on those events and an Azure Monitor action group
    with these receivers."""

    email_receivers: tuple[AlertEmailReceiver, ...] = Field(min_length=1, max_length=MAX_EMAIL_RECEIVERS)
    """Who is told when a gateway token nears expiry or has expired (at least one)."""
    severity: Literal["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"] = "Sev1"
    """Severity of the Azure Monitor metric alert (`Sev0` critical ... `Sev4` verbose)."""
    storage_account_name: str | None = Field(default=None, pattern=STORAGE_ACCOUNT_NAME_PATTERN)
    """Storage account the stack creates for the events (queue `gateway-token-events`; 3-24
    lowercase letters and digits, unique across Azure). Default: `apimgwtok` and 15 hex digits
    derived from the instance's resource group and name."""

    @field_validator("email_receivers")
    @classmethod
    def _distinct_names(cls, value: tuple[AlertEmailReceiver, ...]) -> tuple[AlertEmailReceiver, ...]:
        names = [receiver.name for receiver in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"receiver names must be distinct ({', '.join(repr(n) for n in repeated)} repeated)")
        return value
