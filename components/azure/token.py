"""The gateway access token: generated through the official management operation.

azure-native has no invoke for ``Gateway - Generate Token`` (a POST it skips), so the
token is a Pulumi dynamic resource whose provider calls
``ApiManagementClient.gateway.generate_token`` from the official Azure SDK.

Renewal is deterministic. Time is cut into fixed windows of ``renewalIntervalDays``
counted from the Unix epoch; a token issued in a window expires ``validityDays`` after
the window's start (less an hour against clock skew). The expiry is an input of the
resource, so every ``pulumi up`` inside one window sees identical inputs and no change,
and the first run in the next window shows the token as an update in preview and
renews it. Because a window starts no later than now, the expiry is never more than
``validityDays`` (≤ 30) days ahead, and a token always has at least
``validityDays − renewalIntervalDays`` days less the one-hour margin left when its window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..config import MAX_TOKEN_VALIDITY_DAYS
from ..moved_providers import PROVIDER_KEY, stored_at_old_path
from .credentials import (
    AZURE_CLOUDS,
    AzureCloud,
    ClientFactory,
    TokenGenerationError,
    azure_cloud,
    azure_credential,
    default_client_factory,
    management_client,
)

__all__ = [
    "AZURE_CLOUDS",
    "AzureCloud",
    "ClientFactory",
    "GatewayKeyRegeneration",
    "GatewayKeyRegenerationProvider",
    "GatewayToken",
    "GatewayTokenArgs",
    "GatewayTokenProvider",
    "TokenGenerationError",
    "azure_cloud",
    "azure_credential",
    "default_client_factory",
    "format_expiry",
    "management_client",
    "renewal_window",
]

TOKEN_PREFIX = "GatewayKey "  # noqa: S105 - the scheme word the gateway expects, not a secret
CLOCK_SKEW_MARGIN = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Inputs whose change means a new token is needed.
TOKEN_INPUTS = ("subscription_id", "resource_group_name", "service_name", "gateway_id", "key_type", "expires_on")


@dataclass(frozen=True)
class RenewalWindow:
    starts_at: datetime
    renews_at: datetime
    expires_on: datetime


def renewal_window(now: datetime, validity_days: int, renewal_interval_days: int) -> RenewalWindow:
    """The renewal window containing ``now`` and the expiry of a token issued in it."""
    if not 1 <= validity_days <= MAX_TOKEN_VALIDITY_DAYS:
        raise ValueError(f"validity_days must be between 1 and {MAX_TOKEN_VALIDITY_DAYS}, got {validity_days}")
    if not 1 <= renewal_interval_days < validity_days:
        raise ValueError(
            f"renewal_interval_days must be at least 1 and below validity_days ({validity_days}), "
            f"got {renewal_interval_days}"
        )
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    interval = timedelta(days=renewal_interval_days)
    starts_at = _EPOCH + ((now - _EPOCH) // interval) * interval
    return RenewalWindow(
        starts_at=starts_at,
        renews_at=starts_at + interval,
        expires_on=starts_at + timedelta(days=validity_days) - CLOCK_SKEW_MARGIN,
    )


def format_expiry(moment: datetime) -> str:
    """ISO 8601 in UTC, minute precision, as the management API and the token carry it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------


def _explain(error: Exception, props: dict[str, Any], action: str, permission: str) -> TokenGenerationError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    where = (
        f"gateway {props['gateway_id']!r} of API Management instance {props['service_name']!r} "
        f"(resource group {props['resource_group_name']!r})"
    )
    if isinstance(error, ClientAuthenticationError):
        return TokenGenerationError(
            f"could not authenticate to Azure to {action} for {where}: {error.message}. "
            "Log in with 'az login', or set ARM_CLIENT_ID/ARM_TENANT_ID with ARM_CLIENT_SECRET, "
            "ARM_USE_OIDC=true or ARM_USE_MSI=true, as for the azure-native provider (docs/azure-identity.md)."
        )
    if isinstance(error, HttpResponseError):
        status = error.status_code
        code = getattr(error.error, "code", None) if error.error else None
        hint = {
            401: "the credential was not accepted",
            403: f"the identity running Pulumi needs the '{permission}' permission on the instance",
            404: "the instance or the gateway does not exist",
            400: "the request was refused; an expiry more than 30 days ahead is refused",
        }.get(status or 0, "see the message above")
        return TokenGenerationError(
            f"Azure refused to {action} for {where}: HTTP {status}"
            f"{f' {code}' if code else ''}: {error.message} ({hint})"
        )
    return TokenGenerationError(f"could not {action} for {where}: {error}")


class _GatewayOperationProvider(ResourceProvider):
    """A dynamic provider around one gateway management operation.

    ``client_factory`` exists for tests, which pass a real ``ApiManagementClient``
    built on a fake transport and credential; production uses ``default_client_factory``.
    """

    inputs: tuple[str, ...] = ()
    """Inputs whose change re-runs the operation (an update in preview)."""
    action = ""
    """What the operation does, for error messages."""
    permission = ""
    """The Azure RBAC action the operation needs, for error messages."""

    def __init__(self, client_factory: ClientFactory | None = None) -> None:
        super().__init__()
        self._client_factory = client_factory

    def _call(self, client: Any, props: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _resource_id(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        from azure.core.exceptions import AzureError

        factory = self._client_factory or default_client_factory
        try:
            return self._call(factory(props["subscription_id"]), props)
        except AzureError as error:
            raise _explain(error, props, self.action, self.permission) from None

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=self._resource_id(props), outs=self._run(props))

    def _changed(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        return any(olds.get(key) != news.get(key) for key in self.inputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = self._changed(olds, news) or stored_at_old_path(olds)
        return DiffResult(changes=changes, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if not self._changed(olds, news):
            # Only re-recording a provider pickled before the layout move (components/moved_providers.py):
            # the stored outputs stay, and Azure is not called (no new token, no regenerated key).
            return UpdateResult(outs={key: value for key, value in olds.items() if key != PROVIDER_KEY})
        return UpdateResult(outs=self._run(news))


def _gateway_path(props: dict[str, Any]) -> str:
    return (
        f"/subscriptions/{props['subscription_id']}/resourceGroups/{props['resource_group_name']}"
        f"/providers/Microsoft.ApiManagement/service/{props['service_name']}/gateways/{props['gateway_id']}"
    )


class GatewayTokenProvider(_GatewayOperationProvider):
    """Dynamic provider calling ``Gateway - Generate Token``."""

    inputs = TOKEN_INPUTS
    action = "generate a token"
    permission = "Microsoft.ApiManagement/service/gateways/generateToken/action"

    def _call(self, client: Any, props: dict[str, Any]) -> dict[str, Any]:
        from azure.mgmt.apimanagement.models import GatewayTokenRequestContract

        expires_on = datetime.strptime(props["expires_on"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        reply = client.gateway.generate_token(
            props["resource_group_name"],
            props["service_name"],
            props["gateway_id"],
            GatewayTokenRequestContract(key_type=props["key_type"], expiry=expires_on),
        )
        if not reply or not reply.value:
            raise TokenGenerationError(
                f"Azure returned no token for gateway {props['gateway_id']!r} of {props['service_name']!r}"
            )
        return {**props, "value": TOKEN_PREFIX + reply.value}

    def _resource_id(self, props: dict[str, Any]) -> str:
        return f"{_gateway_path(props)}/tokens/{props['key_type']}"


class GatewayTokenArgs:
    """Inputs of ``GatewayToken``."""

    def __init__(
        self,
        *,
        subscription_id: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        service_name: pulumi.Input[str],
        gateway_id: pulumi.Input[str],
        key_type: pulumi.Input[str],
        expires_on: pulumi.Input[str],
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.service_name = service_name
        self.gateway_id = gateway_id
        self.key_type = key_type
        self.expires_on = expires_on


class GatewayToken(pulumi.dynamic.Resource):
    """A gateway access token (``GatewayKey …``); ``value`` is always a secret."""

    value: pulumi.Output[str]
    expires_on: pulumi.Output[str]
    key_type: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: GatewayTokenArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: GatewayTokenProvider | None = None,
    ) -> None:
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["value"])
        super().__init__(
            provider or GatewayTokenProvider(),
            name,
            {**vars(args), "value": None},
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )


# ---------------------------------------------------------------------------
# Key rotation

RETIRED_KEY = {"primary": "secondary", "secondary": "primary"}
REGENERATION_INPUTS = ("subscription_id", "resource_group_name", "service_name", "gateway_id", "key_type")


class GatewayKeyRegenerationProvider(_GatewayOperationProvider):
    """Dynamic provider calling ``Gateway - Regenerate Key`` for the key *not* in use.

    Registered after the Deployment, so the pods already run with a token from the
    active key when the retired key, and every token it signed, stops working.
    """

    inputs = REGENERATION_INPUTS
    action = "regenerate the retired key"
    permission = "Microsoft.ApiManagement/service/gateways/regenerateKey/action"

    def _call(self, client: Any, props: dict[str, Any]) -> dict[str, Any]:
        from azure.mgmt.apimanagement.models import GatewayKeyRegenerationRequestContract

        client.gateway.regenerate_key(
            props["resource_group_name"],
            props["service_name"],
            props["gateway_id"],
            GatewayKeyRegenerationRequestContract(key_type=props["key_type"]),
        )
        return dict(props)

    def _resource_id(self, props: dict[str, Any]) -> str:
        return f"{_gateway_path(props)}/keys/{props['key_type']}"


class GatewayKeyRegeneration(pulumi.dynamic.Resource):
    """Regenerates the retired gateway key whenever the active key changes."""

    key_type: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: GatewayTokenArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: GatewayKeyRegenerationProvider | None = None,
    ) -> None:
        inputs = {key: value for key, value in vars(args).items() if key in REGENERATION_INPUTS}
        super().__init__(provider or GatewayKeyRegenerationProvider(), name, inputs, opts)
