"""Issue 24, item 5: with a proxy the pods can reach it (its port is opened in the NetworkPolicy's
egress), and its credentials are a Pulumi secret that reaches the pods through a Secret the stack
creates, never the settings ConfigMap."""

from __future__ import annotations

import json

import pytest
from harness import parse, refused, run_main, stack

from components.config.network import with_credentials
from components.kubernetes import manifests

NS = "apim-gateway"
SECRET_PASSWORD = "p@ss:w/rd"


def _proxy_rule(proxy_url: str) -> dict[str, object]:
    policy = manifests.network_policy(parse(stack("dev", proxy={"https": proxy_url})))
    assert policy is not None
    rule: dict[str, object] = policy["spec"]["egress"][-1]
    return rule


@pytest.mark.parametrize(
    ("url", "peer", "port"),
    [
        # A name outside the cluster: any cluster-external address but the metadata endpoints.
        (
            "http://proxy.contoso.com:3128",
            {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "168.63.129.16/32"]}},
            3128,
        ),
        # An in-cluster Service: its namespace.
        (
            "squid.egress.svc.cluster.local:3128",
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "egress"}}},
            3128,
        ),
        # An address, no port: that address, .NET's default port 80 (HttpEnvironmentProxy.GetUriFromString).
        ("10.1.2.3", {"ipBlock": {"cidr": "10.1.2.3/32"}}, 80),
    ],
)
def test_the_proxy_port_is_opened_to_the_proxy(url: str, peer: dict[str, object], port: int) -> None:
    assert _proxy_rule(url) == {"to": [peer], "ports": [{"port": port, "protocol": "TCP"}]}


def test_a_proxy_in_extra_settings_is_opened_too_and_without_a_proxy_nothing_is() -> None:
    gateway = parse(stack("dev", extraSettings={"HTTPS_PROXY": "http://10.9.9.9:8080"}))
    policy = manifests.network_policy(gateway)
    assert policy is not None
    assert {"to": [{"ipBlock": {"cidr": "10.9.9.9/32"}}], "ports": [{"port": 8080, "protocol": "TCP"}]} in policy[
        "spec"
    ]["egress"]
    plain = manifests.network_policy(parse(stack("dev")))
    assert plain is not None and not any(
        port["port"] in (80, 3128, 8080) for rule in plain["spec"]["egress"] for port in rule.get("ports", [])
    )


def test_bad_proxy_urls_are_refused_with_the_fix() -> None:
    message = refused(stack("dev", proxy={"https": "http://proxy:99999"}))
    assert "proxy.https = 'http://proxy:99999': not a proxy URL with a host and a port" in message
    message = refused(stack("dev", proxy={"https": f"http://user:{SECRET_PASSWORD}@proxy:3128"}))
    assert SECRET_PASSWORD not in message and "proxyCredentials.contoso-dev-gw" in message


def test_credentials_are_percent_encoded_into_the_url() -> None:
    assert with_credentials("http://proxy:3128", f"me:{SECRET_PASSWORD}") == "http://me:p%40ss%3Aw%2Frd@proxy:3128"
    assert with_credentials("proxy:3128", "me") == "me@proxy:3128"


def _with_credentials(**proxy: str) -> tuple[dict[str, object], tuple[str, ...]]:
    raw = stack("dev", proxy=proxy)
    raw[f"{NS}:proxyCredentials"] = {"contoso-dev-gw": f"me:{SECRET_PASSWORD}"}
    return raw, (f"{NS}:proxyCredentials",)


def test_proxy_credentials_reach_the_pods_through_a_secret_only() -> None:
    raw, secret_keys = _with_credentials(https="http://proxy.contoso.com:3128")
    recording = run_main(raw, secret_keys)
    secret = recording.one("kubernetes:core/v1:Secret", "contoso-dev-gw-proxy")
    assert secret.inputs["stringData"] == {"HTTPS_PROXY": "http://me:p%40ss%3Aw%2Frd@proxy.contoso.com:3128"}
    assert "stringData" in secret.secret_paths
    config_map = recording.one("kubernetes:core/v1:ConfigMap")
    assert config_map.inputs["data"]["HTTPS_PROXY"] == "http://proxy.contoso.com:3128"
    deployment = recording.one("kubernetes:apps/v1:Deployment")
    container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
    assert {
        "name": "HTTPS_PROXY",
        "valueFrom": {"secretKeyRef": {"name": "contoso-dev-gw-proxy", "key": "HTTPS_PROXY"}},
    } in container["env"]
    # A new credential rolls the pods (the credentials digest covers it).
    annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
    other, keys = _with_credentials(https="http://proxy.contoso.com:3128")
    other[f"{NS}:proxyCredentials"] = {"contoso-dev-gw": "me:another"}
    rolled = run_main(other, keys).one("kubernetes:apps/v1:Deployment")
    assert (
        rolled.inputs["spec"]["template"]["metadata"]["annotations"]["checksum/credentials"]
        != annotations["checksum/credentials"]
    )
    # Nowhere in plain text: not in any resource's plain inputs, nor in the outputs.
    for resource in recording.resources:
        assert SECRET_PASSWORD not in json.dumps(resource.plain) and "p%40ss" not in json.dumps(resource.plain)
    assert SECRET_PASSWORD not in json.dumps(recording.plain_outputs)


def test_proxy_credentials_need_a_proxy_and_a_known_gateway_and_a_secret() -> None:
    raw = stack("dev")
    raw[f"{NS}:proxyCredentials"] = {"contoso-dev-gw": "me:x", "nope": "me:x"}
    message = refused(raw, (f"{NS}:proxyCredentials",))
    assert "proxyCredentials.nope: no gateway of that name" in message
    assert "proxyCredentials.contoso-dev-gw = [secret]: the gateway has no proxy.http or proxy.https" in message
    assert "me:x" not in message
    plain, _ = _with_credentials(https="http://proxy:3128")
    assert "proxyCredentials: must be set as a secret" in refused(plain)
