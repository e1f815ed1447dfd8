"""The token resource, exercised through the official Azure SDK with the network
replaced at the HTTP layer (a requests adapter under azure-core's RequestsTransport)
and a fake credential: what it sends, what it returns, when it renews, how it fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from azure_fakes import (
    SIGNED,
    SUBSCRIPTION,
    FakeArm,
    FakeCredential,
    LoopbackServer,
    Received,
    client_factory,
    loopback_tls,
)

from components.azure.credentials import AzureCloud, azure_credential, oidc_assertion
from components.azure.token import (
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


# -- the credential in CI: ARM_USE_OIDC, as azure-native ---------------------------------

OIDC_TENANT = "72f988bf-0000-4000-8000-000000000001"
OIDC_CLIENT = "0b6f1d2e-0000-4000-8000-000000000002"
ARM_CREDENTIAL_VARIABLES = (
    "ARM_CLIENT_ID",
    "ARM_TENANT_ID",
    "ARM_CLIENT_SECRET",
    "ARM_USE_OIDC",
    "ARM_USE_MSI",
    "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH",
    "ARM_OIDC_REQUEST_URL",
    "ARM_OIDC_REQUEST_TOKEN",
    "ARM_OIDC_AUDIENCE",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ARM_ENVIRONMENT",
)


@pytest.fixture
def oidc_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A CI-like environment: ARM_USE_OIDC with the client and tenant, nothing else."""
    for name in ARM_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARM_USE_OIDC", "true")
    monkeypatch.setenv("ARM_CLIENT_ID", OIDC_CLIENT)
    monkeypatch.setenv("ARM_TENANT_ID", OIDC_TENANT)
    return monkeypatch


def test_oidc_credential_exchanges_a_fresh_github_token_at_the_clouds_authority(
    oidc_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With ``ARM_USE_OIDC=true`` and GitHub's request variables, the provider's credential asks
    GitHub for an ID token (GET ``$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange``,
    ``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``, reply ``{"value": <jwt>}``: GitHub Docs,
    "About security hardening with OpenID Connect", "Updating your actions for OIDC"), sends it as
    ``client_assertion`` to ``<authority>/<tenant>/oauth2/v2.0/token`` (azure-identity 1.27.0
    ``ClientAssertionCredential`` → ``_internal/aad_client_base.py`` ``_get_token_url``), and ARM gets
    the resulting bearer token; azure-native does the same (pulumi-azure-native
    ``provider/pkg/provider/auth_azidentity.go``, ``newOidcCredential`` and
    ``getOidcTokenExchangeAssertion``). A new ID token is requested for every Entra token request.

    Both endpoints are real servers on 127.0.0.1. azure-identity refuses a non-https authority
    (``_internal/utils.py`` ``normalize_authority``), so the fake Entra ID serves TLS with a
    certificate made here, trusted through ``REQUESTS_CA_BUNDLE`` (read by requests, under
    azure-core's RequestsTransport); ARM is the transport-level fake of the other tests."""
    issued: list[str] = []

    def github(request: Received) -> tuple[int, dict[str, Any]]:
        issued.append(f"github-id-token-{len(issued) + 1}")
        return 200, {"value": issued[-1]}

    def entra(request: Received) -> tuple[int, dict[str, Any]]:
        return 200, {"token_type": "Bearer", "expires_in": 3600, "access_token": "entra-access-token"}

    tls, ca_bundle = loopback_tls(tmp_path)
    oidc_env.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    with LoopbackServer(github) as github_server, LoopbackServer(entra, tls=tls) as entra_server:
        # GitHub's request URL already carries a query string, hence '&audience=' in its docs.
        oidc_env.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{github_server.url}/_apis/idtoken?api-version=2.0")
        oidc_env.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "github-request-bearer")
        cloud = AzureCloud("https://management.azure.com", authority=f"127.0.0.1:{entra_server.port}")
        adapter = FakeArm()
        provider = GatewayTokenProvider(
            client_factory=client_factory(adapter, cloud=cloud, credential_factory=lambda: azure_credential(cloud))
        )
        provider.create(props())
        provider.update("id", props(), props(expires_on="2026-12-29T23:00:00Z"))

        credential = azure_credential(cloud)  # one credential, two token requests: two ID tokens
        credential.get_token("https://management.azure.com/.default")
        credential.get_token("https://graph.microsoft.com/.default")

    assert len(github_server.received) == 4
    for request in github_server.received:
        assert (request.method, request.path) == ("GET", "/_apis/idtoken")
        assert request.query == {"api-version": ["2.0"], "audience": ["api://AzureADTokenExchange"]}
        scheme, _, bearer = request.headers["authorization"].partition(" ")
        assert (scheme.lower(), bearer) == ("bearer", "github-request-bearer")

    assert [request.path for request in entra_server.received] == [f"/{OIDC_TENANT}/oauth2/v2.0/token"] * 4
    forms = [request.form for request in entra_server.received]
    assert [form["client_assertion"] for form in forms] == [[token] for token in issued]
    assert len(set(issued)) == 4  # a fresh assertion for each token request
    for form in forms:
        assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
        assert form["client_id"] == [OIDC_CLIENT]
        assert form["grant_type"] == ["client_credentials"]
    assert forms[0]["scope"] == ["https://management.azure.com/.default"]
    assert forms[3]["scope"] == ["https://graph.microsoft.com/.default"]

    assert [request.headers["Authorization"] for request in adapter.requests] == ["Bearer entra-access-token"] * 2


def test_oidc_token_file_is_read_for_every_assertion_and_a_given_token_comes_first(tmp_path: Path) -> None:
    """azure-native's order: ``ARM_OIDC_TOKEN``, then ``ARM_OIDC_TOKEN_FILE_PATH``, then the request
    endpoint (pulumi-azure-native ``auth_azidentity.go`` ``newOidcCredential``). The file is read for
    each assertion (azure-native reads it once), so a rotated projected token is picked up."""
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    assertion = oidc_assertion({"ARM_OIDC_TOKEN_FILE_PATH": str(token_file), "ARM_OIDC_REQUEST_URL": "http://x"})
    assert assertion() == "first-token"
    token_file.write_text("rotated-token")
    assert assertion() == "rotated-token"
    given = oidc_assertion({"ARM_OIDC_TOKEN": "given", "ARM_OIDC_TOKEN_FILE_PATH": str(token_file)})
    assert given() == "given"


def test_oidc_without_any_token_source_is_one_clear_error(oidc_env: pytest.MonkeyPatch) -> None:
    """``ARM_USE_OIDC=true`` with neither a token nor a request URL stops, naming every variable that
    would do, as azure-native stops ("OIDC token or request URL and token" must be configured:
    ``auth_azidentity.go`` ``newOidcCredential``), instead of falling back to another login."""
    with pytest.raises(TokenGenerationError) as caught:
        GatewayTokenProvider().create(props())  # the production client factory
    message = str(caught.value)
    assert message.startswith("ARM_USE_OIDC is 'true' but no OIDC token is available: set ")
    for name in (
        "ARM_OIDC_TOKEN,",
        "ARM_OIDC_TOKEN_FILE_PATH",
        "ARM_OIDC_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ARM_OIDC_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ):
        assert name in message
    oidc_env.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://pipelines.example/idtoken?api-version=2.0")
    with pytest.raises(TokenGenerationError, match=r"found the request URL but not the request token"):
        GatewayTokenProvider().create(props())
    oidc_env.delenv("ARM_TENANT_ID")
    with pytest.raises(TokenGenerationError, match=r"ARM_USE_OIDC is 'true': ARM_TENANT_ID must be set as well"):
        GatewayTokenProvider().create(props())


def test_credential_kinds_follow_azure_natives_order() -> None:
    """azure-native tries, in order, the default credential (``ARM_USE_DEFAULT_AZURE_CREDENTIAL``),
    a client secret, OIDC (``ARM_USE_OIDC``), managed identity (``ARM_USE_MSI``), then the CLI
    (pulumi-azure-native ``auth_azidentity.go`` ``newSingleMethodAuthCredential``); an
    ``ARM_OIDC_TOKEN`` alone, without ``ARM_USE_OIDC``, does not select OIDC there either."""
    from azure.identity import (
        ClientAssertionCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    cloud = azure_cloud({})
    ids = {"ARM_CLIENT_ID": OIDC_CLIENT, "ARM_TENANT_ID": OIDC_TENANT}
    oidc = {"ARM_USE_OIDC": "true", "ARM_OIDC_TOKEN": "federated"}
    cases: list[tuple[dict[str, str], type]] = [
        ({**ids, **oidc, "ARM_CLIENT_SECRET": "s", "ARM_USE_DEFAULT_AZURE_CREDENTIAL": "true"}, DefaultAzureCredential),
        ({**ids, **oidc, "ARM_CLIENT_SECRET": "s", "ARM_USE_MSI": "true"}, ClientSecretCredential),
        ({**ids, **oidc, "ARM_USE_MSI": "true"}, ClientAssertionCredential),
        ({**ids, "ARM_OIDC_TOKEN": "federated", "ARM_USE_MSI": "true"}, ManagedIdentityCredential),
        ({**ids, "ARM_OIDC_TOKEN": "federated"}, DefaultAzureCredential),
    ]
    for environment, kind in cases:
        assert type(azure_credential(cloud, environment)) is kind, environment
