"""The Azure identity of the token and key-regeneration operations: the azure-native provider's own.

The dynamic providers in ``token.py`` call the management API through the official SDK, so they
must sign in as the azure-native provider does, from the same ``ARM_*`` variables, or a CI run
would deploy with one identity and generate tokens with another (or with none).

The order follows azure-native's ``newSingleMethodAuthCredential``
(pulumi/pulumi-azure-native ``provider/pkg/provider/auth_azidentity.go``):
``ARM_USE_DEFAULT_AZURE_CREDENTIAL=true``, client secret, OIDC when ``ARM_USE_OIDC=true``, then
managed identity when ``ARM_USE_MSI=true``. Without any of them ``DefaultAzureCredential`` (the
``AZURE_*`` variables, workload identity, managed identity, ``az login``) stands in for
azure-native's last resort, the Azure CLI.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class TokenGenerationError(RuntimeError):
    """Azure refused (or could not be asked) to generate a gateway token or regenerate a key."""


# ---------------------------------------------------------------------------
# Clouds


@dataclass(frozen=True)
class AzureCloud:
    """Endpoints of one Azure cloud, as the azure-native provider's ``ARM_ENVIRONMENT`` names them."""

    resource_manager: str
    authority: str
    """Entra ID authority host (``https://`` is implied), as azure-identity's ``authority`` takes it."""


AZURE_CLOUDS = {
    "public": AzureCloud("https://management.azure.com", "login.microsoftonline.com"),
    "usgovernment": AzureCloud("https://management.usgovcloudapi.net", "login.microsoftonline.us"),
    "china": AzureCloud("https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
}


def azure_cloud(environment: Mapping[str, str] | None = None) -> AzureCloud:
    """The cloud named by ``ARM_ENVIRONMENT`` (default ``public``), like the azure-native provider."""
    name = ((environment if environment is not None else os.environ).get("ARM_ENVIRONMENT") or "public").lower()
    if name not in AZURE_CLOUDS:
        raise TokenGenerationError(f"ARM_ENVIRONMENT = {name!r}: allowed values are {', '.join(AZURE_CLOUDS)}")
    return AZURE_CLOUDS[name]


# ---------------------------------------------------------------------------
# OIDC (workload identity federation), as azure-native's newOidcCredential

OIDC_AUDIENCE = "api://AzureADTokenExchange"
"""Audience of the federated token Entra ID accepts: azure-native's default
(``getOidcTokenExchangeAssertion`` in ``auth_azidentity.go``), overridable with ``ARM_OIDC_AUDIENCE``
as there, and the audience of the federated credentials GitHub's Azure guide configures."""

OIDC_REQUEST_TIMEOUT_SECONDS = 30
"""Bound on one request to the OIDC token endpoint (no source sets one; azure-native uses Go's
default client, which has none)."""

OIDC_SOURCE_VARIABLES = (
    "ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH, or ARM_OIDC_REQUEST_URL (or ACTIONS_ID_TOKEN_REQUEST_URL) "
    "with ARM_OIDC_REQUEST_TOKEN (or ACTIONS_ID_TOKEN_REQUEST_TOKEN)"
)


def _first(env: Mapping[str, str], *names: str) -> str:
    return next((value for name in names if (value := env.get(name, ""))), "")


def request_oidc_token(request_url: str, request_token: str, audience: str = OIDC_AUDIENCE) -> str:
    """A fresh ID token from GitHub Actions' token endpoint.

    GET ``<request URL>&audience=<audience>`` with ``Authorization: Bearer <request token>``;
    the reply is ``{"value": "<jwt>"}`` (GitHub Docs, "About security hardening with OpenID
    Connect", "Updating your actions for OIDC"; azure-native's ``getOidcTokenExchangeAssertion``).
    """
    parts = urlsplit(request_url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "audience"]
    url = urlunsplit(parts._replace(query=urlencode([*query, ("audience", audience)])))
    where = f"{parts.scheme}://{parts.netloc}{parts.path}"  # no query: it may identify the run
    request = urllib.request.Request(  # noqa: S310 - the URL is the CI system's own token endpoint
        url, headers={"Authorization": f"Bearer {request_token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=OIDC_REQUEST_TIMEOUT_SECONDS) as reply:  # noqa: S310
            body = reply.read()
    except urllib.error.HTTPError as error:
        raise TokenGenerationError(
            f"the OIDC token request to {where} failed: HTTP {error.code} {error.reason} "
            "(in GitHub Actions the job needs 'permissions: id-token: write')"
        ) from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise TokenGenerationError(f"the OIDC token request to {where} failed: {error}") from None
    try:
        value = json.loads(body).get("value")
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str) or not value:
        raise TokenGenerationError(f"the OIDC token endpoint {where} answered without a 'value' token")
    return value


def oidc_assertion(environment: Mapping[str, str] | None = None) -> Callable[[], str]:
    """Where the federated token comes from when ``ARM_USE_OIDC=true``, in azure-native's order:
    ``ARM_OIDC_TOKEN``, ``ARM_OIDC_TOKEN_FILE_PATH``, else a request to the CI system's endpoint.

    The callable is called for every Entra token request (azure-identity's
    ``ClientAssertionCredential`` calls its ``func`` each time it acquires a token), so a file is
    read again and GitHub asked again each time: GitHub's ID tokens are short-lived.
    """
    env = environment if environment is not None else os.environ
    token = env.get("ARM_OIDC_TOKEN", "")
    if token:
        return lambda: token
    path = env.get("ARM_OIDC_TOKEN_FILE_PATH", "")
    if path:
        return lambda: Path(path).read_text().strip()
    # The ARM_ names first, then the ones GitHub Actions sets itself (terraform azurerm's order;
    # azure-native 3.x reads only the latter, 2.x both).
    request_url = _first(env, "ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = _first(env, "ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if request_url and request_token:
        audience = env.get("ARM_OIDC_AUDIENCE") or OIDC_AUDIENCE
        return lambda: request_oidc_token(request_url, request_token, audience)
    missing = ""
    if request_url or request_token:
        found, absent = ("URL", "token") if request_url else ("token", "URL")
        missing = f" (found the request {found} but not the request {absent})"
    raise TokenGenerationError(
        f"ARM_USE_OIDC is 'true' but no OIDC token is available{missing}: set {OIDC_SOURCE_VARIABLES}. "
        "In GitHub Actions the job needs 'permissions: id-token: write' for the ACTIONS_ variables to exist."
    )


def azure_credential(cloud: AzureCloud, environment: Mapping[str, str] | None = None) -> Any:
    """An azure-identity credential chosen like the azure-native provider chooses its own."""
    from azure.identity import (
        ClientAssertionCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    env = environment if environment is not None else os.environ
    client_id, tenant_id = env.get("ARM_CLIENT_ID", ""), env.get("ARM_TENANT_ID", "")
    if env.get("ARM_USE_DEFAULT_AZURE_CREDENTIAL", "").lower() == "true":
        return DefaultAzureCredential(exclude_interactive_browser_credential=True, authority=cloud.authority)
    if env.get("ARM_CLIENT_SECRET"):
        if not (client_id and tenant_id):
            raise TokenGenerationError("ARM_CLIENT_SECRET is set: ARM_CLIENT_ID and ARM_TENANT_ID are needed with it")
        return ClientSecretCredential(tenant_id, client_id, env["ARM_CLIENT_SECRET"], authority=cloud.authority)
    if env.get("ARM_USE_OIDC", "").lower() == "true":
        missing = [name for name, value in (("ARM_CLIENT_ID", client_id), ("ARM_TENANT_ID", tenant_id)) if not value]
        if missing:
            raise TokenGenerationError(f"ARM_USE_OIDC is 'true': {' and '.join(missing)} must be set as well")
        assertion = oidc_assertion(env)
        return ClientAssertionCredential(
            tenant_id=tenant_id, client_id=client_id, func=assertion, authority=cloud.authority
        )
    if env.get("ARM_USE_MSI", "").lower() == "true":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    return DefaultAzureCredential(exclude_interactive_browser_credential=True, authority=cloud.authority)


# ---------------------------------------------------------------------------
# The management client

ClientFactory = Callable[[str], Any]
"""subscription id → ``azure.mgmt.apimanagement.ApiManagementClient``."""


def management_client(subscription_id: str, credential: Any, cloud: AzureCloud, **options: Any) -> Any:
    """The official APIM management client for ``cloud`` (``options``: azure-core settings such as a transport)."""
    from azure.mgmt.apimanagement import ApiManagementClient

    return ApiManagementClient(
        credential=credential,
        subscription_id=subscription_id,
        base_url=cloud.resource_manager,
        credential_scopes=[f"{cloud.resource_manager}/.default"],
        **options,
    )


def default_client_factory(subscription_id: str) -> Any:
    """A client signed in as the azure-native provider would be, built at call time (fresh credential)."""
    cloud = azure_cloud()
    return management_client(subscription_id, azure_credential(cloud), cloud)
