"""Stack config: the shipped stack files parse, and every kind of bad input is refused
with one message that names the key, the value and what is allowed."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from harness import stack_file_config

from components.config import (
    DEFAULT_GATEWAY_TAG,
    ConfigError,
    StackConfig,
    parse_stack_config,
    token_expiry,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NS = "apim-gateway"


PROD_BACKUP = {"storageClassName": "gateway-files"}
"""Prod turns backup on; on the default class it is refused (issue 24): a class that offers ReadWriteMany."""


def minimal(environment: str = "dev", **gateway: Any) -> dict[str, Any]:
    if environment != "dev":
        gateway = {"backup": PROD_BACKUP, **gateway}
    return {
        f"{NS}:environment": environment,
        f"{NS}:apim": {"resourceGroupName": "rg", "serviceName": "contoso"},
        f"{NS}:gateways": [{"name": "gw-one", "locationData": {"name": "dc1"}, **gateway}],
    }


def problems_of(raw: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, secret_keys, now=NOW)
    return str(caught.value)


def test_dev_stack_file_parses_with_dev_defaults() -> None:
    config = parse_stack_config(stack_file_config("dev"), now=NOW)
    assert isinstance(config, StackConfig)
    assert config.environment == "dev"
    (gateway,) = config.gateways
    assert gateway.name == "contoso-dev-gw"
    assert gateway.replicas == 1
    assert gateway.backup.enabled is False
    assert gateway.kubernetes.context == "aks-contoso-dev"  # from defaults
    assert gateway.resources.requests_cpu == "500m"


def test_prod_stack_file_parses_with_prod_defaults() -> None:
    config = parse_stack_config(stack_file_config("prod"), now=NOW)
    (gateway,) = config.gateways
    assert config.is_production
    assert gateway.replicas == 3
    assert gateway.backup.enabled is True
    assert gateway.image.tag == "2.12.1"
    assert gateway.service.load_balancer_ip == "10.20.0.50"
    assert gateway.configuration_endpoint == "config.apis.contoso.com"
    assert gateway.auth.mode == "workloadIdentity"  # no bearer token anywhere (docs/network.md)


def test_environment_defaults_differ() -> None:
    dev = parse_stack_config(minimal("dev"), now=NOW).gateways[0]
    prod = parse_stack_config(minimal("prod"), now=NOW).gateways[0]
    assert (dev.replicas, dev.backup.enabled) == (1, False)
    assert (prod.replicas, prod.backup.enabled) == (3, True)
    # Everything else defaults the same way, and to the production guidance.
    assert dev.resources == prod.resources
    assert (prod.resources.requests_cpu, prod.resources.requests_memory) == ("2", "2Gi")
    assert prod.rollout.max_unavailable == 0 and prod.rollout.max_surge == "25%"
    assert prod.image.tag == DEFAULT_GATEWAY_TAG


def test_models_are_frozen() -> None:
    gateway = parse_stack_config(minimal(), now=NOW).gateways[0]
    with pytest.raises(Exception, match="frozen"):
        gateway.replicas = 5  # type: ignore[misc]


def test_defaults_are_merged_deeply_and_overridden_per_gateway() -> None:
    raw = minimal()
    raw[f"{NS}:defaults"] = {"logs": {"level": "warn", "std": "json"}, "replicas": 2}
    raw[f"{NS}:gateways"][0]["logs"] = {"level": "error"}
    gateway = parse_stack_config(raw, now=NOW).gateways[0]
    assert (gateway.logs.level, gateway.logs.std, gateway.replicas) == ("error", "json", 2)


def test_values_given_as_json_strings_like_the_pulumi_runtime_does() -> None:
    import json

    raw = {key: value if isinstance(value, str) else json.dumps(value) for key, value in minimal().items()}
    assert parse_stack_config(raw, now=NOW).gateways[0].name == "gw-one"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {
                f"{NS}:apim": {"resourceGroupName": "rg", "serviceName": "s"},
                f"{NS}:gateways": [{"name": "a", "locationData": {"name": "x"}}],
            },
            "apim-gateway:environment: required setting is missing (a name such as 'dev', 'staging' or 'prod')",
            id="missing-environment",
        ),
        pytest.param(
            {**minimal(), f"{NS}:environment": "Production"},
            "apim-gateway:environment = 'Production': must be a DNS label",
            id="unknown-environment",
        ),
        pytest.param(
            {k: v for k, v in minimal().items() if k != f"{NS}:gateways"},
            "apim-gateway:gateways: required setting is missing",
            id="missing-gateways",
        ),
        pytest.param(
            minimal("prod", replicas=1),
            "apim-gateway:gateways[0](gw-one).replicas = 1: prod needs at least 2 replicas",
            id="prod-replica-floor",
        ),
        pytest.param(
            minimal("prod", image={"tag": "latest"}),
            "apim-gateway:gateways[0](gw-one).image.tag = 'latest': prod needs a pinned major.minor.patch tag",
            id="prod-moving-tag",
        ),
        pytest.param(
            minimal(replicas="three"),
            "apim-gateway:gateways[0](gw-one).replicas = 'three': Input should be a valid integer",
            id="wrong-type",
        ),
        pytest.param(
            minimal(token={"validityDays": 31}),
            "apim-gateway:gateways[0](gw-one).token.validityDays = 31: Input should be less than or equal to 30",
            id="expiry-over-30-days",
        ),
        pytest.param(
            minimal(token={"validityDays": 7, "renewalIntervalDays": 7}),
            "renewalIntervalDays (7) must be smaller than validityDays (7)",
            id="renewal-not-before-expiry",
        ),
        pytest.param(
            minimal(configurationEndpoint="https://contoso.configuration.azure-api.net/"),
            "configurationEndpoint = 'https://contoso.configuration.azure-api.net/': must be a host name without scheme or path",
            id="malformed-endpoint",
        ),
        pytest.param(
            minimal(replica=2),
            "apim-gateway:gateways[0](gw-one).replica: unknown setting",
            id="unknown-gateway-key",
        ),
        pytest.param(
            {**minimal(), f"{NS}:gatways": []},
            "apim-gateway:gatways: unknown setting (allowed: allowDeleting, apim, defaults, entraClientSecrets, environment, environmentRules, gatewayTokens, gateways, kubeconfig, ownerKey, proxyCredentials, retain, tokenExpiryAlert)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            minimal(locationData=None),
            "apim-gateway:gateways[0](gw-one).locationData = null: Input should be a valid dictionary",
            id="null-location",
        ),
        pytest.param(
            {**minimal(), f"{NS}:gateways": [{"name": "gw-one"}]},
            "apim-gateway:gateways[0](gw-one).locationData: required setting is missing",
            id="missing-location",
        ),
        pytest.param(
            minimal(name="GW_One"),
            "name = 'GW_One': must be a DNS-1123 label",
            id="bad-name",
        ),
        pytest.param(
            minimal(resources={"requestsMemory": "2GB"}),
            "resources.requestsMemory = '2GB': must be a Kubernetes quantity",
            id="bad-quantity",
        ),
        pytest.param(
            minimal(rollout={"maxUnavailable": 0, "maxSurge": 0}),
            "maxUnavailable and maxSurge cannot both be 0",
            id="stuck-rollout",
        ),
        pytest.param(
            minimal(dns={"policy": "None"}),
            "policy 'None' requires at least one entry in nameservers",
            id="dns-none-without-nameservers",
        ),
        pytest.param(
            minimal(extraSettings={"config.service.auth": "x"}),
            "setting 'config.service.auth' is set by the stack itself",
            id="reserved-extra-setting",
        ),
        pytest.param(
            minimal(service={"type": "ExternalName"}),
            "service.type = 'ExternalName': Input should be 'LoadBalancer', 'NodePort' or 'ClusterIP'",
            id="bad-service-type",
        ),
        pytest.param(
            {**minimal(), f"{NS}:apim": {"mode": "managed", "serviceName": "contoso"}},
            'apim-gateway:apim = {"mode": "managed", "serviceName": "contoso"}: mode \'managed\' requires resourceGroupName',
            id="managed-needs-resource-group",
        ),
        pytest.param(
            minimal(kubernetes={"renderSecrets": True}),
            "renderSecrets only applies together with renderYamlToDirectory",
            id="render-secrets-without-render",
        ),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(raw: dict[str, Any], expected: str) -> None:
    assert expected in problems_of(raw)


def test_every_problem_is_reported_at_once() -> None:
    raw = minimal("prod", replicas=1, image={"tag": "v2"})
    raw[f"{NS}:gateways"].append({"name": "gw-one", "locationData": {"name": "dc2"}})
    message = problems_of(raw)
    assert "replicas = 1" in message
    assert "image.tag = 'v2'" in message
    assert "gateways[1](gw-one).name = 'gw-one': already used by gateways[0]" in message
    assert message.startswith("invalid stack configuration (")


def test_moving_tag_allowed_in_prod_only_when_explicit() -> None:
    config = parse_stack_config(minimal("prod", image={"tag": "v2", "allowMovingTag": True}), now=NOW)
    assert config.gateways[0].image.tag == "v2"
    # Dev accepts a moving tag without ceremony.
    assert parse_stack_config(minimal("dev", image={"tag": "latest"}), now=NOW).gateways[0].image.tag == "latest"


def test_default_namespace_only_when_asked_for() -> None:
    assert parse_stack_config(minimal(), now=NOW).gateways[0].namespace_name == "gw-one"
    explicit = parse_stack_config(minimal(namespace={"name": "default", "create": False}), now=NOW)
    assert explicit.gateways[0].namespace_name == "default"


@pytest.mark.parametrize("name", ["kube-system", "kube-public", "kube-node-lease"])
@pytest.mark.parametrize("create", [True, False])
def test_system_namespaces_are_refused(name: str, create: bool) -> None:
    """The cluster's own namespaces (Kubernetes docs, "Namespaces", Initial namespaces) never hold
    the gateway: with ``keepOnDestroy`` the namespace is force-applied, and the restricted Pod
    Security label would stop privileged system pods from being recreated."""
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(minimal(namespace={"name": name, "create": create}), now=NOW)
    assert f"gateways[0](gw-one).namespace.name = {name!r}: a system namespace" in str(caught.value)


def test_the_stack_never_owns_the_default_namespace() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(minimal(namespace={"name": "default"}), now=NOW)
    assert "namespace.name = 'default'" in str(caught.value) and "namespace.create to false" in str(caught.value)


# -- secrets ------------------------------------------------------------------------

TOKEN = "gw-one&202612231200&c2lnbmF0dXJlLXNlY3JldA=="


def existing(tokens: dict[str, str] | None) -> dict[str, Any]:
    raw = minimal()
    raw[f"{NS}:apim"] = {"mode": "existing", "serviceName": "contoso"}
    if tokens is not None:
        raw[f"{NS}:gatewayTokens"] = tokens
    return raw


def test_existing_mode_takes_the_token_from_secret_config() -> None:
    config = parse_stack_config(existing({"gw-one": TOKEN}), (f"{NS}:gatewayTokens",), now=NOW)
    assert config.gateway_tokens["gw-one"].get_secret_value() == TOKEN
    assert TOKEN not in repr(config)  # SecretStr never prints its value
    assert token_expiry(TOKEN) == datetime(2026, 12, 23, 12, 0, tzinfo=UTC)


def test_secret_keys_must_be_set_as_secrets() -> None:
    message = problems_of(existing({"gw-one": TOKEN}))
    assert "apim-gateway:gatewayTokens: must be set as a secret (pulumi config set --secret" in message
    assert "c2lnbmF0dXJl" not in message


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (None, "apim-gateway:gatewayTokens.gw-one: required setting is missing"),
        ({"gw-one": "not-a-token"}, "apim-gateway:gatewayTokens.gw-one = [secret]: not a gateway token"),
        ({"gw-one": "other&202612231200&c2ln"}, "the token was issued for gateway 'other', not 'gw-one'"),
        ({"gw-one": "gw-one&202601011200&c2ln"}, "the token expired at 2026-01-01T12:00Z"),
        ({"gw-one": TOKEN, "gw-two": TOKEN}, "apim-gateway:gatewayTokens.gw-two: no gateway of that name"),
    ],
)
def test_bad_tokens_are_refused_without_showing_them(tokens: dict[str, str] | None, expected: str) -> None:
    message = problems_of(existing(tokens), (f"{NS}:gatewayTokens",))
    assert expected in message
    assert "c2ln" not in message


def test_stack_config_is_not_mutated_by_parsing() -> None:
    raw = minimal()
    raw[f"{NS}:defaults"] = {"logs": {"level": "warn"}}
    before = copy.deepcopy(raw)
    parse_stack_config(raw, now=NOW)
    assert raw == before


def test_a_kubeconfig_written_as_json_is_given_back_as_text() -> None:
    """Kubeconfig files are YAML, so JSON is one too (the local cluster's is); the config reader
    parses JSON values, and the provider needs the text (found with the real engine,
    tests/integration/test_engine.py)."""
    content = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    raw = {**minimal(), f"{NS}:kubeconfig": json.dumps(content)}
    config = parse_stack_config(raw, (f"{NS}:kubeconfig",), now=NOW)
    assert config.kubeconfig is not None and json.loads(config.kubeconfig.get_secret_value()) == content
