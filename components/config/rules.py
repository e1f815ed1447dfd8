"""Environment rules: checks that need more than one field, the environment, or the secrets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .fields import _GATEWAY_TOKEN, _PINNED_TAG, CONFIG_NAMESPACE, DEFAULT_GATEWAY_TAG
from .network_rules import network_problems
from .stack import GatewayConfig, StackConfig

PRODUCTION_MIN_REPLICAS = 2
"""Microsoft's production guidance: never fewer than two gateway replicas."""

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    # Defaults that differ per environment. Everything else defaults the same way.
    "dev": {"replicas": 1, "backup": {"enabled": False}},
    # Prod calls no backend unless the stack names its ranges or peers (docs/network.md).
    "prod": {"replicas": 3, "backup": {"enabled": True}, "networkPolicy": {"backendCidrs": []}},
}

# Oldest gateway version that supports each authentication mode.
AUTH_MIN_VERSION = {"entraApp": (2, 3, 0), "workloadIdentity": (2, 11, 0)}


def _gateway_rules(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Rules that need more than one field, or the environment."""
    problems = []
    if production and gateway.replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(f"{key}.replicas = {gateway.replicas}: prod needs at least {PRODUCTION_MIN_REPLICAS} replicas")
    if production and gateway.autoscaling.enabled and gateway.min_replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(
            f"{key}.autoscaling.minReplicas = {gateway.min_replicas}: prod needs at least "
            f"{PRODUCTION_MIN_REPLICAS} replicas"
        )
    minimum = AUTH_MIN_VERSION.get(gateway.auth.mode)
    pinned = _PINNED_TAG.match(gateway.image.tag)
    if minimum and pinned and tuple(int(part) for part in gateway.image.tag.split(".")) < minimum:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: auth.mode {gateway.auth.mode!r} needs gateway "
            f"{'.'.join(map(str, minimum))} or newer"
        )
    problems.extend(network_problems(gateway, key, production))
    if not production:
        return problems
    if not _PINNED_TAG.match(gateway.image.tag) and not gateway.image.allow_moving_tag:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: prod needs a pinned major.minor.patch tag such as "
            f"'{DEFAULT_GATEWAY_TAG}' (moving tags like 'v2' or 'latest' upgrade silently); "
            "set image.allowMovingTag to true to accept it anyway"
        )
    return problems


def _secret_problems(
    config: StackConfig, raw_tokens: Mapping[str, Any], raw_client_secrets: Mapping[str, Any], now: datetime
) -> list[str]:
    """Each gateway gets exactly the secrets its modes need, and tokens are usable."""
    problems: list[str] = []
    by_name = {gateway.name: gateway for gateway in config.gateways}
    token_key = f"{CONFIG_NAMESPACE}:gatewayTokens"
    secret_key = f"{CONFIG_NAMESPACE}:entraClientSecrets"
    for key, given in ((token_key, raw_tokens), (secret_key, raw_client_secrets)):
        for name in given:
            if name not in by_name:
                problems.append(f"{key}.{name}: no gateway of that name (gateways: {', '.join(sorted(by_name))})")

    for gateway in config.gateways:
        label = f"{CONFIG_NAMESPACE}:gateways({gateway.name})"
        auth = gateway.auth
        needs_token = config.apim.mode == "existing" and auth.mode == "token"
        needs_client_secret = auth.mode == "entraApp" and not auth.client_certificate_secret_name
        if auth.mode != "token" and not (config.apim.resource_group_name and config.apim.service_name):
            problems.append(
                f"{label}.auth.mode = {auth.mode!r}: needs apim.resourceGroupName and apim.serviceName "
                "(the role assignment is scoped to the APIM instance)"
            )
        if gateway.name in raw_client_secrets and not needs_client_secret:
            problems.append(
                f"{secret_key}.{gateway.name}: only used with auth.mode 'entraApp' without a client certificate"
            )
        if needs_client_secret and gateway.name not in config.entra_client_secrets:
            problems.append(
                f"{secret_key}.{gateway.name}: required setting is missing (auth.mode 'entraApp' needs the "
                f"application's client secret: pulumi config set --secret --path '{secret_key}.{gateway.name}' ...)"
            )
        if gateway.name in raw_tokens and not needs_token:
            problems.append(
                f"{token_key}.{gateway.name}: only used with apim.mode 'existing' and auth.mode 'token'; "
                "remove it or change the mode"
            )
        if not needs_token:
            continue
        token = config.gateway_tokens.get(gateway.name)
        if token is None:
            problems.append(
                f"{token_key}.{gateway.name}: required setting is missing (apim.mode 'existing' takes each "
                f"gateway's token from config: pulumi config set --secret --path '{token_key}.{gateway.name}' ...)"
            )
            continue
        match = _GATEWAY_TOKEN.match(token.get_secret_value().strip())
        if not match:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: not a gateway token (expected "
                "'<gatewayId>&<yyyyMMddHHmm>&<signature>', optionally prefixed with 'GatewayKey ')"
            )
            continue
        if match["gateway"] != gateway.name:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: the token was issued for gateway "
                f"{match['gateway']!r}, not {gateway.name!r}"
            )
        expiry = token_expiry(token.get_secret_value())
        if expiry is not None and expiry <= now:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: the token expired at {expiry:%Y-%m-%dT%H:%MZ}; "
                "generate a new one in the Azure portal or switch to apim.mode 'managed'"
            )
    return problems


def token_expiry(token: str) -> datetime | None:
    """The expiry a gateway token carries (``<id>&<yyyyMMddHHmm>&<signature>``), in UTC."""
    match = _GATEWAY_TOKEN.match(token.strip())
    if not match:
        return None
    try:
        return datetime.strptime(match["expiry"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
