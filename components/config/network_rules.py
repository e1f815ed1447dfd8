"""Rules on a gateway's network settings: the NetworkPolicy, DNS and the outbound proxy.

Each rule explains itself in its message; the reasons and sources are in docs/network.md.
"""

from __future__ import annotations

import ipaddress

from .network import (
    METADATA_ADDRESSES,
    PROXY_VARIABLES,
    covers_every_address,
    metadata_address_in,
    proxy_target,
    redacted_url,
    url_with_credentials,
)
from .stack import GatewayConfig, StackConfig


def network_problems(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Problems of one gateway's network settings; ``key`` is its full config key."""
    problems = _proxy_problems(gateway, key)
    policy = gateway.network_policy
    if not policy.enabled:
        if production:
            problems.append(
                f"{key}.networkPolicy.enabled = False: prod needs the gateway's egress NetworkPolicy (it blocks "
                f"{' and '.join(METADATA_ADDRESSES)} and every destination the gateway does not need); keep it "
                "enabled and list the backends in networkPolicy.backendCidrs or backendPeers"
            )
        return problems
    for index, cidr in enumerate(policy.backend_cidrs):
        address = metadata_address_in(cidr)
        if address:
            problems.append(
                f"{key}.networkPolicy.backendCidrs[{index}] = {cidr!r}: {address} is a metadata address "
                f"({', '.join(METADATA_ADDRESSES)}) the NetworkPolicy always blocks"
            )
    any_backend = [cidr for cidr in policy.backend_cidrs if covers_every_address(cidr)]
    if production and any_backend and not policy.allow_any_backend:
        problems.append(
            f"{key}.networkPolicy.backendCidrs = {list(policy.backend_cidrs)!r}: prod allows no range covering "
            f"every address ({', '.join(repr(c) for c in any_backend)}); list your backends' ranges (in-cluster "
            "backends go in networkPolicy.backendPeers), or set networkPolicy.allowAnyBackend to true"
        )
    # dns.policy 'Default' (the node's resolvers, on Azure 168.63.129.16) is refused by the DNS
    # model itself, and name servers are validated as IP addresses there.
    for index, nameserver in enumerate(gateway.dns.nameservers):
        if str(ipaddress.ip_address(nameserver)) in METADATA_ADDRESSES:
            problems.append(
                f"{key}.dns.nameservers[{index}] = {nameserver!r}: the NetworkPolicy blocks this metadata address; "
                "leave the name servers to the cluster DNS (dns.policy 'ClusterFirst')"
            )
    return problems


def _proxy_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """Proxy URLs reach the pod as plain ConfigMap data: credentials in them are refused."""
    candidates = [("proxy.http", gateway.proxy.http), ("proxy.https", gateway.proxy.https)]
    candidates += [
        (f"extraSettings.{name}", value)
        for name, value in gateway.extra_settings.items()
        if name.upper() in PROXY_VARIABLES
    ]
    problems = [
        f"{key}.{setting} = {redacted_url(value)!r}: a proxy URL must not carry credentials (they would be "
        "stored in plain text in the stack file, the settings ConfigMap and the pod's environment); give them "
        f"as the secret proxyCredentials.{gateway.name} (pulumi config set --secret --path "
        f"'proxyCredentials.{gateway.name}' 'user:password'): the stack then puts the URLs with them in a Secret"
        for setting, value in candidates
        if value and url_with_credentials(value)
    ]
    problems += [
        f"{key}.{setting} = {value!r}: not a proxy URL with a host and a port from 1 to 65535, such as "
        "'http://proxy.contoso.com:3128' (the NetworkPolicy opens the proxy's port from it)"
        for setting, value in candidates
        if value and not url_with_credentials(value) and proxy_target(value) is None
    ]
    return problems


PROXY_CREDENTIALS_KEY = "apim-gateway:proxyCredentials"


def proxy_credential_problems(config: StackConfig) -> list[str]:
    """``proxyCredentials`` names gateways that have a proxy; the values are never shown."""
    problems = []
    by_name = {gateway.name: gateway for gateway in config.gateways}
    for name, credentials in config.proxy_credentials.items():
        gateway = by_name.get(name)
        if gateway is None:
            problems.append(
                f"{PROXY_CREDENTIALS_KEY}.{name}: no gateway of that name (gateways: {', '.join(sorted(by_name))})"
            )
        elif not (gateway.proxy.http or gateway.proxy.https):
            problems.append(
                f"{PROXY_CREDENTIALS_KEY}.{name} = [secret]: the gateway has no proxy.http or proxy.https to use "
                "them with; set the proxy URLs (without credentials) under the gateway's proxy"
            )
        elif not credentials.get_secret_value().strip():
            problems.append(f"{PROXY_CREDENTIALS_KEY}.{name} = [secret]: empty; give 'user:password' (or 'user')")
    return problems
