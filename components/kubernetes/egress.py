"""Egress of the gateway pods: the NetworkPolicy's egress rules, and why each exists.

Pure functions of the validated config; ``manifests.network_policy`` assembles them.
Two facts shape every rule (sources in docs/network.md):

- ``ipBlock`` is for cluster-external addresses (kubernetes.io, "Network Policies":
  "These should be cluster-external IPs, since Pod IPs are ephemeral and unpredictable"),
  and Cilium, AKS's Azure CNI powered by Cilium included, never matches a pod's address
  with it (cilium/cilium issue 19601). In-cluster destinations are selected by labels.
- No rule leaves its destination open (``to`` omitted means every address, the metadata
  services included): every ``ipBlock`` that covers 169.254.169.254 or 168.63.129.16
  excepts them.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from ..config import GatewayConfig
from ..config.network import METADATA_ADDRESSES, NAMESPACE_NAME_LABEL, PROXY_VARIABLES, metadata_excepts, proxy_target

Obj = dict[str, Any]

DNS_PORT = 53
CONFIGURATION_PORT = 443
"""The gateway's outbound port to Azure: configuration endpoint, heartbeat, Azure Monitor,
Application Insights, Entra ID, Azure Storage (Microsoft Learn, "Self-hosted gateway overview",
"Connectivity to Azure" and "FQDN dependencies": "outbound connectivity on port 443")."""
EXTERNAL_CIDR = "0.0.0.0/0"
"""Azure's public endpoints change address; only the metadata addresses are cut out of it."""
STATSD_PROTOCOL = "UDP"
"""Microsoft's local-metrics sample runs the StatsD exporter with ``--statsd.listen-udp=:8125``
and a UDP Service (Microsoft Learn, "Configure local metrics and logs for the self-hosted gateway")."""
JSON_LOG_PROTOCOL = "UDP"
"""``telemetry.logs.local.json.endpoint``: "UDP endpoint that accepts JSON data" (same article)."""


def ip_block(cidr: str) -> Obj:
    """An ``ipBlock`` peer that never includes a metadata address."""
    block: Obj = {"cidr": cidr}
    excepts = metadata_excepts(cidr)
    if excepts:
        block["except"] = excepts
    return {"ipBlock": block}


def _host_block(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def dns_rule(gateway: GatewayConfig) -> Obj:
    """Port 53 to the cluster DNS pods, and to any extra ``dns.nameservers``.

    With ``ClusterFirst`` the pods ask CoreDNS, which forwards to the node's resolvers
    (168.63.129.16 with Azure-provided DNS); the pods themselves never need that address.
    """
    peers: list[Obj] = [peer.as_peer() for peer in gateway.network_policy.dns_peers]
    for nameserver in gateway.dns.nameservers:  # IP addresses: the DNS model validates them
        if str(ipaddress.ip_address(nameserver)) not in METADATA_ADDRESSES:
            peers.append(ip_block(_host_block(nameserver)))
    return {
        "to": peers,
        "ports": [{"port": DNS_PORT, "protocol": "UDP"}, {"port": DNS_PORT, "protocol": "TCP"}],
    }


def _split_endpoint(endpoint: str) -> tuple[str, int] | None:
    """``host:port`` (or ``[v6]:port``) → (host, port); None for anything else (a file path)."""
    parts = urlsplit(f"//{endpoint.strip()}")
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname, port


def _sink_peer(host: str) -> Obj | None:
    """The peer a telemetry sink's host names, or None when it cannot be known from the name.

    ``<service>.<namespace>.svc[.<cluster domain>]``: that namespace (the Service's pod labels
    are not in the name). A single label: the gateway's own namespace. An IP address: that
    address (loopback needs no rule: it never leaves the pod). Anything else is a cluster-external
    name whose addresses are unknown here: ``backendCidrs`` must cover it.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.lower().rstrip(".").split(".")
        if len(labels) == 1:
            return {"podSelector": {}}
        if len(labels) >= 3 and labels[2] == "svc":
            return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: labels[1]}}}
        return None
    if address.is_loopback or str(address) in METADATA_ADDRESSES:
        return None
    return ip_block(_host_block(str(address)))


def telemetry_sinks(gateway: GatewayConfig) -> list[tuple[str, int, str]]:
    """(host, port, protocol) of every network sink the gateway's settings send telemetry to."""
    sinks: list[tuple[str, int, str]] = []
    statsd = gateway.metrics.statsd
    if statsd and (target := _split_endpoint(statsd.endpoint)):
        sinks.append((*target, STATSD_PROTOCOL))
    otel = gateway.metrics.open_telemetry
    if otel.enabled and otel.collector_uri:
        uri = urlsplit(otel.collector_uri)
        try:
            port = uri.port or {"http": 80, "https": 443}.get(uri.scheme)
        except ValueError:
            port = None
        if uri.hostname and port:
            sinks.append((uri.hostname, port, "TCP"))
    logs = gateway.logs
    if logs.local == "json" and logs.local_endpoint and (target := _split_endpoint(logs.local_endpoint)):
        sinks.append((*target, JSON_LOG_PROTOCOL))
    return sinks


def telemetry_rules(gateway: GatewayConfig) -> list[Obj]:
    """One rule per telemetry sink whose destination its name tells."""
    rules = []
    for host, port, protocol in telemetry_sinks(gateway):
        peer = _sink_peer(host)
        if peer is not None:
            rules.append({"to": [peer], "ports": [{"port": port, "protocol": protocol}]})
    return rules


def proxy_targets(gateway: GatewayConfig) -> list[tuple[str, int]]:
    """(host, port) of every proxy the pods are given (``proxy.http``/``https``, or the proxy
    variables in ``extraSettings``), without duplicates; the config check refuses unparsable URLs."""
    urls = [gateway.proxy.http, gateway.proxy.https]
    urls += [value for name, value in gateway.extra_settings.items() if name.upper() in PROXY_VARIABLES]
    targets: list[tuple[str, int]] = []
    for url in urls:
        target = proxy_target(url) if url else None
        if target is not None and target not in targets:
            targets.append(target)
    return targets


def proxy_rules(gateway: GatewayConfig) -> list[Obj]:
    """The proxy's port, to the proxy: an in-cluster Service's namespace, an address, or (a name
    outside the cluster, whose addresses are unknown here) every cluster-external address but the
    metadata ones. Without it the pods never reach Azure through the proxy and never become Ready."""
    rules = []
    for host, port in proxy_targets(gateway):
        peer = _sink_peer(host)
        if peer is None:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host.lower() == "localhost"
            if loopback:
                continue
            peer = ip_block(EXTERNAL_CIDR)
        rules.append({"to": [peer], "ports": [{"port": port, "protocol": "TCP"}]})
    return rules


def egress_rules(gateway: GatewayConfig, gateway_pods: Obj, sync_ports: list[Obj]) -> list[Obj]:
    """Every egress rule of the gateway's NetworkPolicy, each with an explicit destination."""
    policy = gateway.network_policy
    external_ports = [{"port": CONFIGURATION_PORT, "protocol": "TCP"}]
    external_ports += [{"port": port.port, "protocol": port.protocol} for port in policy.external_ports]
    rules: list[Obj] = [
        dns_rule(gateway),
        {"to": [ip_block(EXTERNAL_CIDR)], "ports": external_ports},
        {"to": [gateway_pods], "ports": sync_ports},
    ]
    if policy.backend_cidrs:
        backend_rule: Obj = {"to": [ip_block(cidr) for cidr in policy.backend_cidrs]}
        if policy.backend_ports:
            backend_rule["ports"] = [{"port": port, "protocol": "TCP"} for port in policy.backend_ports]
        rules.append(backend_rule)
    for peer_rule in policy.backend_peers:
        rule: Obj = {"to": [peer.as_peer() for peer in peer_rule.peers]}
        if peer_rule.ports:
            rule["ports"] = [{"port": port.port, "protocol": port.protocol} for port in peer_rule.ports]
        rules.append(rule)
    rules += telemetry_rules(gateway)
    rules += proxy_rules(gateway)
    return rules
