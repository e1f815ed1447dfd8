"""Network models and facts shared by the config rules and the NetworkPolicy.

See docs/network.md for what was checked and what no source settles.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, model_validator

from .fields import Model
from .kubernetes_schema import LabelSelector

INSTANCE_METADATA_ADDRESS = "169.254.169.254"
"""Azure Instance Metadata Service (IMDS): hands out managed-identity tokens to whoever asks
from the node (Microsoft Learn, "Azure Instance Metadata Service"; AKS's
``podLinkLocalAccess: None`` exists to cut pods off from it)."""
PLATFORM_HOST_ADDRESS = "168.63.129.16"
"""Azure's platform host endpoint (WireServer, ports 80/443/32526, and Azure DNS on 53):
Microsoft Learn, "What is IP address 168.63.129.16?"."""
METADATA_ADDRESSES = (INSTANCE_METADATA_ADDRESS, PLATFORM_HOST_ADDRESS)
"""Addresses no rule of the NetworkPolicy may open, in every mode and environment."""

CLUSTER_DNS_NAMESPACE = "kube-system"
CLUSTER_DNS_LABELS = {"k8s-app": "kube-dns"}
"""Labels of the cluster DNS pods: upstream Kubernetes' CoreDNS add-on
(kubernetes/kubernetes ``cluster/addons/dns/coredns/coredns.yaml.base``: namespace
``kube-system``, pod label ``k8s-app: kube-dns``); AKS selects its CoreDNS pods the same way
(Microsoft Learn, "Customize CoreDNS with AKS": ``kubectl logs -n kube-system -l k8s-app=kube-dns``)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set on every namespace by the API server (kubernetes.io, "Network Policies", "Targeting a
Namespace by its name")."""

PROXY_VARIABLES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"})
"""Environment variables .NET reads a proxy URL from, in upper or lower case; it takes the proxy's
credentials from the URL's ``user:password@`` (dotnet/runtime ``System.Net.Http``
``HttpEnvironmentProxy``: ``EnvAllProxyUC`` … ``GetCredentialsFromString``)."""


class PeerPort(Model):
    """A destination port of an egress rule."""

    port: int = Field(ge=1, le=65535)
    """Port number."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """Protocol of the port."""


class InClusterPeer(Model):
    """A Kubernetes ``NetworkPolicyPeer`` that selects pods. ``ipBlock`` is refused here: it is
    meant for cluster-external addresses (kubernetes.io, "Network Policies") and Cilium never
    matches pod addresses with it (cilium/cilium issue 19601)."""

    namespace_selector: LabelSelector | None = None
    """Namespaces of the peer pods (a ``LabelSelector``; ``kubernetes.io/metadata.name`` names one)."""
    pod_selector: LabelSelector | None = None
    """Pods of the peer (a ``LabelSelector``); alone, it selects pods in the gateway's namespace."""
    ip_block: dict[str, Any] | None = None
    """Not allowed: cluster-external addresses go in ``backendCidrs``."""

    @model_validator(mode="after")
    def _selectors_only(self) -> InClusterPeer:
        if self.ip_block is not None:
            raise ValueError(
                "ipBlock is not allowed in an in-cluster peer (Cilium never matches pod addresses with "
                "ipBlock); select the pods with namespaceSelector/podSelector, and put cluster-external "
                "addresses in networkPolicy.backendCidrs"
            )
        if self.namespace_selector is None and self.pod_selector is None:
            raise ValueError("an in-cluster peer needs namespaceSelector, podSelector or both")
        return self

    def as_peer(self) -> dict[str, Any]:
        """The peer as the Kubernetes API spells it."""
        peer: dict[str, Any] = {}
        if self.namespace_selector is not None:
            peer["namespaceSelector"] = dict(self.namespace_selector)
        if self.pod_selector is not None:
            peer["podSelector"] = dict(self.pod_selector)
        return peer


class EgressPeerRule(Model):
    """Pods in the cluster the gateway may call, on some ports."""

    peers: tuple[InClusterPeer, ...] = Field(min_length=1)
    """The destination pods (``NetworkPolicyPeer`` objects with selectors only)."""
    ports: tuple[PeerPort, ...] = ()
    """Destination ports; empty allows every port on those pods."""


DEFAULT_DNS_PEERS = (
    InClusterPeer(
        namespace_selector={"matchLabels": {NAMESPACE_NAME_LABEL: CLUSTER_DNS_NAMESPACE}},
        pod_selector={"matchLabels": dict(CLUSTER_DNS_LABELS)},
    ),
)


def metadata_excepts(cidr: str) -> list[str]:
    """The metadata addresses that lie inside ``cidr``, as ``/32`` blocks for an ``except``.

    An ``except`` must lie strictly inside its ``cidr`` (the API server refuses it otherwise),
    so addresses outside the range are left out. An unparsable ``cidr`` gives none: the
    config validation refuses it before anything is rendered.
    """
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return []
    if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen == 32:
        return []
    blocks = (ipaddress.IPv4Network(f"{address}/32") for address in METADATA_ADDRESSES)
    return [str(block) for block in blocks if block.subnet_of(network)]


def metadata_address_in(cidr: str) -> str | None:
    """The metadata address a range consists of only (``/32`` or a host address), if any."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    if isinstance(network, ipaddress.IPv4Network) and network.prefixlen == 32:
        address = str(network.network_address)
        return address if address in METADATA_ADDRESSES else None
    return None


def covers_every_address(cidr: str) -> bool:
    """``0.0.0.0/0`` or ``::/0`` (in any spelling)."""
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def url_with_credentials(value: str) -> bool:
    """True when a proxy URL (with or without a scheme) carries ``user[:password]@``. Any ``@``
    after the scheme counts: a password may hold an unescaped ``/``, and a proxy URL has no path
    that needs one."""
    scheme, separator, rest = value.strip().partition("://")
    return "@" in (rest if separator else scheme)


def redacted_url(value: str) -> str:
    """The URL with everything before its last ``@`` replaced, for error messages: never the user
    or password."""
    scheme, separator, rest = value.strip().partition("://")
    if not separator:
        scheme, rest = "", scheme
    return f"{scheme}{separator}[credentials]@{rest.rpartition('@')[2]}"


PROXY_DEFAULT_PORT = 80
"""The port .NET uses for a proxy URL without one: dotnet/runtime ``HttpEnvironmentProxy.cs``,
``GetUriFromString`` (``ushort port = 80``, then the URL's own port when it names one)."""


def proxy_target(url: str) -> tuple[str, int] | None:
    """A proxy URL's host and port (.NET's reading: no scheme means http, no port means 80)."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        port = parts.port or PROXY_DEFAULT_PORT
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def with_credentials(url: str, credentials: str) -> str:
    """``url`` with ``user[:password]@`` inserted before its host, each part percent-encoded: .NET
    decodes the part before the last ``@`` (``HttpEnvironmentProxy.GetUriFromString``,
    ``Uri.UnescapeDataString``), so a password may hold ``@``, ``:`` or ``/``."""
    user, separator, password = credentials.partition(":")
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if separator else "")
    scheme, found, rest = url.strip().partition("://")
    return f"{scheme}://{auth}@{rest}" if found else f"{auth}@{scheme}"
