"""``apim-gateway:tokenExpiryAlert``: the alert on APIM's gateway-token events that works
without GitHub (issue 16, item 4; docs/delivery.md, "Alerting").

API Management publishes ``Microsoft.ApiManagement.GatewayTokenNearExpiry`` and
``Microsoft.ApiManagement.GatewayTokenExpired`` to Event Grid (Microsoft Learn, "Azure API
Management as an Event Grid source"; event data ``ApiManagementGatewayTokenNearExpiryEventData``
/ ``ApiManagementGatewayTokenExpiredEventData``). With this key the stack subscribes to them
(``components/azure/alerts.py``) and sends each one to an Azure Monitor action group that e-mails the
receivers listed here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .fields import Model

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_EMAIL_RECEIVERS = 1000
"""Azure Monitor service limits: at most 1,000 e-mail actions in one action group."""


class AlertEmailReceiver(Model):
    """One e-mail receiver of the action group (``EmailReceiver``: name and address)."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    """Receiver name, unique within the alert (letters, digits, space, '.', '_', '-')."""
    email_address: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    """E-mail address the alert goes to."""


class TokenExpiryAlert(Model):
    """Event Grid system topic on the APIM instance, a subscription to the gateway-token events
    and an Azure Monitor action group with these receivers."""

    email_receivers: tuple[AlertEmailReceiver, ...] = Field(min_length=1, max_length=MAX_EMAIL_RECEIVERS)
    """Who is told when a gateway token nears expiry or has expired (at least one)."""
    severity: Literal["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"] = "Sev1"
    """Severity of the Azure Monitor alert each event fires (Event Grid ``MonitorAlertSeverity``)."""

    @field_validator("email_receivers")
    @classmethod
    def _distinct_names(cls, value: tuple[AlertEmailReceiver, ...]) -> tuple[AlertEmailReceiver, ...]:
        names = [receiver.name for receiver in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"receiver names must be distinct ({', '.join(repr(n) for n in repeated)} repeated)")
        return value
