"""The gateway's network: its NetworkPolicy's egress, the metadata addresses it never
opens, prod's narrowed backends, DNS, and proxy URLs without credentials.

Sources (read for these tests; see docs/network.md):
- kubernetes.io, "Network Policies" ("Behavior of to and from selectors"): ``ipBlock``
  "should be cluster-external IPs, since Pod IPs are ephemeral and unpredictable"; a rule
  without ``to`` allows every destination; ``kubernetes.io/metadata.name`` names a namespace.
- cilium/cilium issue 19601 (and 9209, 35212): Cilium does not match pod IPs with ``ipBlock``.
- Microsoft Learn, "Self-hosted gateway overview", "Connectivity to Azure" / "FQDN
  dependencies": outbound 443; Event Hubs and external caches depend on the service used.
- Microsoft Learn, Event Hubs FAQ "What ports do I need to open": AMQP 5671/5672, HTTPS 443.
- Microsoft Learn, "Configure local metrics and logs": StatsD exporter on UDP 8125.
- Microsoft Learn, "What is IP address 168.63.129.16?" (WireServer, Azure DNS); Azure IMDS at
  169.254.169.254.
- kubernetes/kubernetes ``cluster/addons/dns/coredns/coredns.yaml.base``: CoreDNS pods are
  ``k8s-app: kube-dns`` in ``kube-system`` and ``forward . /etc/resolv.conf`` (the node's resolvers).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import kubernetes_validate
import pytest
from harness import parse, refused, stack

from components.config import GatewayConfig
from components.kubernetes import manifests

KEY = "apim-gateway:gateways[0](contoso-weu-gw)"
METADATA = ("169.254.169.254", "168.63.129.16")
KUBE_DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def egress(gateway: GatewayConfig) -> list[dict[str, Any]]:
    policy = manifests.network_policy(gateway)
    assert policy is not None
    kubernetes_validate.validate(policy, "1.34.0", strict=True)
    rules: list[dict[str, Any]] = policy["spec"]["egress"]
    return rules


VARIANTS: dict[str, dict[str, Any]] = {
    "prod": {},
    "dev-default": {"environment": "dev"},
    "link-local-and-azure-ranges": {
        "networkPolicy": {
            "backendCidrs": ["10.0.0.0/8", "169.254.0.0/16", "168.63.0.0/16", "0.0.0.0/0"],
            "allowAnyBackend": True,
        }
    },
    "nameservers-and-ip-sinks": {
        "dns": {"policy": "ClusterFirst", "nameservers": ["10.0.0.10", "1.1.1.1"]},
        "metrics": {"statsd": {"endpoint": "10.0.41.179:8125"}},
        "networkPolicy": {"externalPorts": [{"port": 5671}, {"port": 5672}]},
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_egress_rule_has_a_destination_and_every_ip_block_excepts_the_metadata_addresses(variant: str) -> None:
    """A rule without ``to`` allows every destination (kubernetes.io, "Network Policies"), the
    instance metadata service (169.254.169.254) and the platform host endpoint (168.63.129.16)
    included; so every rule names its destinations, and every ``ipBlock`` whose range covers
    one of those addresses lists it in ``except`` (which must lie inside the range: only the
    covered ones). Today's 443 and DNS rules have no ``to`` and ``0.0.0.0/0`` has no ``except``."""
    overrides = dict(VARIANTS[variant])
    environment = str(overrides.pop("environment", "prod"))
    rules = egress(parse(stack(environment, **overrides)))
    blocks = 0
    for rule in rules:
        assert rule.get("to"), rule
        for peer in rule["to"]:
            if "ipBlock" not in peer:
                continue
            blocks += 1
            cidr = ipaddress.ip_network(peer["ipBlock"]["cidr"])
            excepts = [ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])]
            assert all(e.subnet_of(cidr) and e != cidr for e in excepts)  # type: ignore[arg-type]
            for address in METADATA:
                if cidr.version == 4 and ipaddress.ip_address(address) in cidr:
                    assert ipaddress.ip_network(f"{address}/32") in excepts, (peer, address)
    assert blocks >= 1


def test_metadata_addresses_are_never_a_backend_or_a_name_server() -> None:
    """An ``except`` cannot remove a whole range (it must be a strict subset), so ranges that
    consist of a metadata address, and name servers at one, are refused in every environment."""
    message = refused(stack("dev", networkPolicy={"backendCidrs": ["169.254.169.254/32"]}))
    assert (
        "apim-gateway:gateways[0](contoso-dev-gw).networkPolicy.backendCidrs[0] = '169.254.169.254/32': "
        "169.254.169.254 is a metadata address"
    ) in message
    message = refused(stack(dns={"policy": "None", "nameservers": ["168.63.129.16"]}))
    assert f"{KEY}.dns.nameservers[0] = '168.63.129.16': the NetworkPolicy blocks this metadata address" in message
    # Without the NetworkPolicy (dev only) nothing is blocked, so nothing is refused.
    parse(stack("dev", dns={"policy": "None", "nameservers": ["168.63.129.16"]}, networkPolicy={"enabled": False}))


def test_prod_refuses_to_run_without_the_network_policy() -> None:
    """Issue 16.9: without the NetworkPolicy a prod gateway may reach the instance metadata and
    platform endpoints (the managed identity's tokens) and every address, and the pack's
    ``egress-blocks-metadata-endpoints`` judges only policies that exist."""
    assert refused(stack(networkPolicy={"enabled": False})) == (
        "invalid stack configuration (1 problem(s)):\n"
        f"  - {KEY}.networkPolicy.enabled = False: prod needs the gateway's egress NetworkPolicy (it blocks "
        "169.254.169.254 and 168.63.129.16 and every destination the gateway does not need); keep it enabled and "
        "list the backends in networkPolicy.backendCidrs or backendPeers"
    )
    assert manifests.network_policy(parse(stack("dev", networkPolicy={"enabled": False}))) is None


def test_dns_goes_to_the_cluster_dns_pods_not_to_any_address() -> None:
    """With ``ClusterFirst`` the pods ask CoreDNS (``k8s-app: kube-dns`` in ``kube-system``),
    which forwards to the node's resolvers, 168.63.129.16 with Azure-provided DNS: the pods
    never need that address themselves, so excepting it cuts no DNS. Extra name servers get a
    host block each; ``dns.policy: Default`` would send the pods to the node's resolvers, so it
    is refused while the NetworkPolicy is on."""
    dns = egress(parse(stack()))[0]
    assert dns == {"to": [KUBE_DNS], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    with_servers = egress(parse(stack(dns={"policy": "None", "nameservers": ["10.1.0.4", "fd00::53"]})))[0]
    assert with_servers["to"] == [KUBE_DNS, {"ipBlock": {"cidr": "10.1.0.4/32"}}, {"ipBlock": {"cidr": "fd00::53/128"}}]
    # Refused by the DNS model itself (neighborhood.host needs the cluster DNS), before this rule.
    assert f"""{KEY}.dns = {{"policy": "Default"}}""" in refused(stack(dns={"policy": "Default"}))
    assert f"{KEY}.dns.nameservers[0] = 'dns.local': must be an IPv4 or IPv6 address" in refused(
        stack(dns={"policy": "None", "nameservers": ["dns.local"]})
    )
    # An empty ``to`` would mean every destination: at least one DNS peer.
    assert f"{KEY}.networkPolicy.dnsPeers = []: Tuple should have at least 1 item" in refused(
        stack(networkPolicy={"dnsPeers": []})
    )
    custom = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}}}]
    assert egress(parse(stack(networkPolicy={"dnsPeers": custom})))[0]["to"] == custom


def test_in_cluster_backends_are_selected_by_labels() -> None:
    """Cilium never matches pods with ``ipBlock`` (cilium/cilium issue 19601), and Kubernetes
    documents ``ipBlock`` for cluster-external addresses: in-cluster backends (or an in-cluster
    Redis cache, which Microsoft recommends for the self-hosted gateway's external cache) are
    ``backendPeers`` with selectors. Today ``backendPeers`` does not exist."""
    orders = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "orders"}}}
    redis = {"podSelector": {"matchLabels": {"app": "redis"}}}
    gateway = parse(
        stack(
            networkPolicy={
                "backendPeers": [
                    {"peers": [orders], "ports": [{"port": 8080}]},
                    {"peers": [redis], "ports": [{"port": 6379, "protocol": "TCP"}]},
                ]
            }
        )
    )
    rules = egress(gateway)
    assert {"to": [orders], "ports": [{"port": 8080, "protocol": "TCP"}]} in rules
    assert {"to": [redis], "ports": [{"port": 6379, "protocol": "TCP"}]} in rules
    message = refused(stack(networkPolicy={"backendPeers": [{"peers": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}]}))
    assert f"{KEY}.networkPolicy.backendPeers[0].peers[0]" in message
    assert "ipBlock is not allowed in an in-cluster peer" in message
    assert "needs namespaceSelector, podSelector or both" in refused(
        stack(networkPolicy={"backendPeers": [{"peers": [{}]}]})
    )


def test_prod_example_reaches_its_own_statsd_exporter() -> None:
    """The prod example sends StatsD to ``statsd-exporter.monitoring.svc.cluster.local:8125``;
    StatsD is UDP there (Microsoft's local-metrics sample listens with
    ``--statsd.listen-udp=:8125``). A Service name ``<svc>.<ns>.svc…`` tells the namespace, so
    the policy allows that namespace on that port; an OpenTelemetry collector named by a
    single label (Microsoft's sample: ``http://opentelemetry-collector:4317``) lives in the
    gateway's own namespace. Today only ``0.0.0.0/0`` could carry them, which Cilium never
    applies to pods."""
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert {"to": [monitoring], "ports": [{"port": 8125, "protocol": "UDP"}]} in egress(parse(stack()))
    otel = {"enabled": True, "collectorUri": "http://opentelemetry-collector:4317"}
    rules = egress(parse(stack(metrics={"openTelemetry": otel})))
    assert {"to": [{"podSelector": {}}], "ports": [{"port": 4317, "protocol": "TCP"}]} in rules
    # A sink on the pod's own loopback is refused: the pod runs the gateway container only.
    assert "the pod's own loopback" in refused(stack(metrics={"statsd": {"endpoint": "127.0.0.1:8125"}}))


def test_prod_refuses_backends_everywhere_unless_explicitly_allowed() -> None:
    """Prod calls no backend range by default (dev keeps every address); a range covering every
    address is refused in prod with one message naming the key, unless ``allowAnyBackend``."""
    assert parse(stack(networkPolicy={})).network_policy.backend_cidrs == ()
    assert parse(stack("dev")).network_policy.backend_cidrs == ("0.0.0.0/0",)
    message = refused(stack(networkPolicy={"backendCidrs": ["10.30.0.0/16", "0.0.0.0/0"]}))
    assert (
        f"{KEY}.networkPolicy.backendCidrs = ['10.30.0.0/16', '0.0.0.0/0']: prod allows no range covering every "
        "address ('0.0.0.0/0')"
    ) in message
    assert "networkPolicy.allowAnyBackend" in message
    allowed = parse(stack(networkPolicy={"backendCidrs": ["0.0.0.0/0"], "allowAnyBackend": True}))
    assert allowed.network_policy.backend_cidrs == ("0.0.0.0/0",)
    assert "::/0" in refused(stack(networkPolicy={"backendCidrs": ["::/0"]}))


def test_external_ports_for_event_hubs_open_no_metadata_address() -> None:
    """Event Hubs logging over AMQP needs 5671/5672 besides 443 (Event Hubs FAQ); such ports
    join the 443 rule, whose ``0.0.0.0/0`` excepts the metadata addresses."""
    rules = egress(parse(stack(networkPolicy={"externalPorts": [{"port": 5671}, {"port": 5672}]})))
    assert rules[1] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "168.63.129.16/32"]}}],
        "ports": [
            {"port": 443, "protocol": "TCP"},
            {"port": 5671, "protocol": "TCP"},
            {"port": 5672, "protocol": "TCP"},
        ],
    }


@pytest.mark.parametrize(
    ("proxy", "setting"),
    [
        ({"proxy": {"https": "http://alice:s3cr3t-pw@proxy.corp:3128"}}, "proxy.https"),
        ({"proxy": {"http": "alice:s3cr3t-pw@proxy.corp:3128"}}, "proxy.http"),
        ({"proxy": {"https": "http://alice:s3cr3t/pw@proxy.corp:3128"}}, "proxy.https"),
        ({"extraSettings": {"https_proxy": "http://alice:s3cr3t-pw@proxy.corp:3128/"}}, "extraSettings.https_proxy"),
    ],
)
def test_proxy_urls_with_credentials_are_refused_without_showing_them(proxy: dict[str, Any], setting: str) -> None:
    """Proxy URLs reach the pod as settings ConfigMap data (``settings.gateway_settings`` →
    ``HTTP_PROXY``/``HTTPS_PROXY``), in plain text like the stack file itself: a URL with
    ``user:password@`` is refused, the message naming the key and never the user or password."""
    message = refused(stack(**proxy))
    assert f"{KEY}.{setting} = " in message
    assert "[credentials]@proxy.corp:3128" in message
    assert "must not carry credentials" in message
    assert "s3cr3t" not in message and "alice" not in message
    parse(stack(proxy={"https": "http://proxy.corp:3128", "noProxy": "10.0.0.0/8"}))
