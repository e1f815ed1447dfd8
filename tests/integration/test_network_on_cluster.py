"""The gateway's NetworkPolicy on a real API server: every kind of destination the stack
renders is accepted, and the API server's own rule that makes metadata-only ranges unusable."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import cluster_client
import pytest
from kubernetes.client.exceptions import ApiException

from components.config import parse_stack_config
from components.kubernetes import manifests

pytestmark = pytest.mark.integration
NS = "apim-gateway"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
EVERY_DESTINATION = {
    "dns": {"policy": "ClusterFirst", "nameservers": ["10.1.0.4", "fd00::53"]},
    "metrics": {
        "statsd": {"endpoint": "statsd-exporter.monitoring.svc.cluster.local:8125"},
        "openTelemetry": {"enabled": True, "collectorUri": "http://opentelemetry-collector:4317"},
    },
    "networkPolicy": {
        "backendCidrs": ["10.0.0.0/8", "169.254.0.0/16", "168.63.0.0/16", "0.0.0.0/0"],
        "allowAnyBackend": True,
        "backendPorts": [443, 8443],
        "externalPorts": [{"port": 5671}, {"port": 5672}],
        "backendPeers": [
            {
                "peers": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "orders"}},
                        "podSelector": {"matchLabels": {"app": "orders"}},
                    }
                ],
                "ports": [{"port": 8080}, {"port": 6379, "protocol": "TCP"}],
            }
        ],
    },
}


def prod_policy(**gateway: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    config = cluster_client.stack_config("prod")[0]
    config[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    parsed = parse_stack_config(config, now=NOW).gateways[0]
    policy = manifests.network_policy(parsed)
    assert policy is not None
    return manifests.namespace(parsed), policy


def test_a_policy_with_every_kind_of_destination_is_accepted_by_the_api_server(local_cluster: Any) -> None:
    """Server-side dry run of a policy with selectors, host blocks (IPv4 and IPv6), and ranges
    around both metadata addresses with their ``except`` entries."""
    cluster = cluster_client.Cluster(local_cluster.kubeconfig)
    namespace, policy = prod_policy(**EVERY_DESTINATION)
    excepts = [
        peer["ipBlock"]["except"]
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        if "except" in peer.get("ipBlock", {})
    ]
    assert ["169.254.169.254/32"] in excepts and ["168.63.129.16/32"] in excepts
    cluster.apply(namespace)
    applied = cluster.apply(policy, dry_run=True)
    assert applied.spec.egress[1].to[0].ipBlock["except"] == ["169.254.169.254/32", "168.63.129.16/32"]


def test_the_api_server_refuses_an_except_that_is_the_whole_range(local_cluster: Any) -> None:
    """Why a ``backendCidrs`` entry that is a metadata address is refused in config: its
    ``except`` would have to be the whole range, which the API server rejects (``except``
    must be a strict subset of ``cidr``)."""
    cluster = cluster_client.Cluster(local_cluster.kubeconfig)
    namespace, policy = prod_policy()
    policy["spec"]["egress"] = [{"to": [{"ipBlock": {"cidr": "169.254.169.254/32", "except": ["169.254.169.254/32"]}}]}]
    cluster.apply(namespace)
    with pytest.raises(ApiException) as caught:
        cluster.apply(policy, dry_run=True)
    assert caught.value.status == 422
    assert "except" in str(caught.value.body)
