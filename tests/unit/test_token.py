"""The token resource, exercised through the official Azure SDK with the network
replaced at the HTTP layer (a requests adapter under azure-core's RequestsTransport)
and a fake credential: what it sends, what it returns, when it renews, how it fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from azure_fakes import SIGNED, SUBSCRIPTION, FakeArm, FakeCredential, client_factory

from components.token import (
    TOKEN_INPUTS,
    GatewayTokenProvider,
    TokenGenerationError,
    azure_cloud,
    format_expiry,
    renewal_window,
)


def provider_with(adapter: FakeArm, credential: FakeCredential | None = None) -> GatewayTokenProvider:
    return GatewayTokenProvider(client_factory=client_factory(adapter, credential))


def props(expires_on: str = "2026-12-22T23:00:00Z", key_type: str = "primary") -> dict[str, Any]:
    return {
        "subscription_id": SUBSCRIPTION,
        "resource_group_name": "rg-apim-prod",
        "service_name": "contoso-apim-prod",
        "gateway_id": "contoso-gw",
        "key_type": key_type,
        "expires_on": expires_on,
    }


def test_create_calls_generate_token_and_prefixes_the_value() -> None:
    adapter, credential = FakeArm(), FakeCredential()
    result = provider_with(adapter, credential).create(props(key_type="secondary"))

    (request,) = adapter.requests
    assert request.method == "POST"
    assert request.url is not None
    url = urlparse(request.url)
    assert url.hostname == "management.azure.com"
    assert url.path == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-apim-prod/providers/Microsoft.ApiManagement"
        "/service/contoso-apim-prod/gateways/contoso-gw/generateToken"
    )
    assert "api-version=2024-05-01" in (url.query or "")
    assert request.headers["Authorization"] == "Bearer fake-arm-token"
    assert credential.scopes == [("https://management.azure.com/.default",)]
    body = json.loads(request.body or b"{}")
    assert body["keyType"] == "secondary"
    sent_expiry = datetime.fromisoformat(body["expiry"].replace("Z", "+00:00"))
    assert sent_expiry == datetime(2026, 12, 22, 23, 0, tzinfo=UTC)

    assert result.outs is not None
    assert result.outs["value"] == "GatewayKey " + SIGNED
    assert result.outs["expires_on"] == "2026-12-22T23:00:00Z"
    assert result.id.endswith("/gateways/contoso-gw/tokens/secondary")


def test_update_issues_a_new_token() -> None:
    adapter = FakeArm()
    provider = provider_with(adapter)
    result = provider.update("id", props(), props(expires_on="2026-12-29T23:00:00Z"))
    assert result.outs is not None and result.outs["value"].startswith("GatewayKey ")
    body = json.loads(adapter.requests[0].body or b"{}")
    assert datetime.fromisoformat(body["expiry"].replace("Z", "+00:00")) == datetime(2026, 12, 29, 23, 0, tzinfo=UTC)


def test_diff_is_stable_for_identical_inputs_and_changes_on_any_token_input() -> None:
    provider = GatewayTokenProvider()
    old = {**props(), "value": "GatewayKey old"}
    assert provider.diff("id", old, props()).changes is False
    for key in TOKEN_INPUTS:
        changed = {**props(), key: "something-else"}
        result = provider.diff("id", old, changed)
        assert result.changes is True, key
        assert result.replaces == []


@pytest.mark.parametrize(
    ("status", "code", "hint"),
    [
        (403, "AuthorizationFailed", "needs the 'Microsoft.ApiManagement/service/gateways/generateToken/action'"),
        (404, "ResourceNotFound", "the instance or the gateway does not exist"),
        (400, "ValidationError", "an expiry more than 30 days ahead is refused"),
    ],
)
def test_azure_refusal_is_a_clear_error(status: int, code: str, hint: str) -> None:
    adapter = FakeArm(status, {"error": {"code": code, "message": f"{code} from the fake"}})
    with pytest.raises(TokenGenerationError) as caught:
        provider_with(adapter).create(props())
    message = str(caught.value)
    assert f"HTTP {status} {code}" in message
    assert "gateway 'contoso-gw' of API Management instance 'contoso-apim-prod'" in message
    assert hint in message


def test_missing_login_is_a_clear_error() -> None:
    with pytest.raises(TokenGenerationError, match=r"could not authenticate to Azure.*az login"):
        provider_with(FakeArm(), FakeCredential(fail=True)).create(props())


def test_empty_reply_is_an_error() -> None:
    with pytest.raises(TokenGenerationError, match="Azure returned no token"):
        provider_with(FakeArm(body={})).create(props())


# -- renewal windows ----------------------------------------------------------------


def test_window_is_stable_inside_and_renews_past_the_renewal_point() -> None:
    first = renewal_window(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), 30, 7)
    later_same_window = renewal_window(first.renews_at - timedelta(seconds=1), 30, 7)
    next_window = renewal_window(first.renews_at, 30, 7)
    assert format_expiry(later_same_window.expires_on) == format_expiry(first.expires_on)
    assert next_window.expires_on - first.expires_on == timedelta(days=7)
    assert first.starts_at <= datetime(2026, 11, 23, 9, 0, tzinfo=UTC) < first.renews_at


@pytest.mark.parametrize(("validity", "interval"), [(30, 7), (30, 1), (14, 13), (2, 1)])
def test_expiry_is_never_more_than_30_days_ahead_and_never_runs_out_inside_a_window(
    validity: int, interval: int
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 120, 7):  # four months, every seven hours
        now = start + timedelta(hours=hour)
        window = renewal_window(now, validity, interval)
        assert window.expires_on <= now + timedelta(days=30)
        assert window.expires_on - now <= timedelta(days=validity)
        # At the last moment of the window the token still has validity − interval left.
        assert window.expires_on - window.renews_at >= timedelta(days=validity - interval) - timedelta(hours=1)


def test_window_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="validity_days must be between 1 and 30"):
        renewal_window(datetime.now(UTC), 31, 7)
    with pytest.raises(ValueError, match="renewal_interval_days"):
        renewal_window(datetime.now(UTC), 7, 7)
    with pytest.raises(ValueError, match="timezone-aware"):
        renewal_window(datetime(2026, 1, 1), 30, 7)  # noqa: DTZ001 - the point of the test


def test_sovereign_clouds_use_their_own_endpoints() -> None:
    adapter, credential = FakeArm(), FakeCredential()
    cloud = azure_cloud({"ARM_ENVIRONMENT": "USGovernment"})
    GatewayTokenProvider(client_factory=client_factory(adapter, credential, cloud)).create(props())
    assert urlparse(adapter.requests[0].url or "").hostname == "management.usgovcloudapi.net"
    assert credential.scopes == [("https://management.usgovcloudapi.net/.default",)]
    assert azure_cloud({}).resource_manager == "https://management.azure.com"
    assert azure_cloud({"ARM_ENVIRONMENT": "china"}).authority == "login.chinacloudapi.cn"
    with pytest.raises(
        TokenGenerationError, match="ARM_ENVIRONMENT = 'germany': allowed values are public, usgovernment, china"
    ):
        azure_cloud({"ARM_ENVIRONMENT": "germany"})
