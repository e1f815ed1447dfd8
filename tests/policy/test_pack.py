"""The policy pack as a whole: its policies and per-stack config files, the objects our
component really produces checked by the pack, and the pack served the way the Pulumi
engine runs it (``python -m pulumi.policy <engine> policy``), queried over gRPC."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from harness import ENTRA_AUTH, WORKLOAD_AUTH, gateway_objects
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from components import config as component_config
from components.config import GatewayConfig, parse_stack_config
from components.kubernetes import manifests
from components.kubernetes.settings import configuration_endpoint
from policy import objects, pack

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
STACKS = ("dev", "prod")
EXPECTED_POLICIES = {
    "no-default-namespace": ResourceValidationPolicy,
    "deployment-min-replicas": StackValidationPolicy,
    "gateway-image-pinned": ResourceValidationPolicy,
    "container-resource-requests": ResourceValidationPolicy,
    "rolling-update-explicit": ResourceValidationPolicy,
    "gateway-readiness-probe": ResourceValidationPolicy,
    "gateway-token-in-secret": ResourceValidationPolicy,
    "gateway-config-backup": ResourceValidationPolicy,
    "gateway-disruption-budget": StackValidationPolicy,
    "gateway-egress-network-policy": StackValidationPolicy,
    "load-balancer-local-traffic": ResourceValidationPolicy,
    "pod-security-context": ResourceValidationPolicy,
    "namespace-pod-security": ResourceValidationPolicy,
    "egress-blocks-metadata-endpoints": ResourceValidationPolicy,
    "helm-release-not-inspectable": ResourceValidationPolicy,
}
LEVELS = {
    "advisory": proto.ADVISORY,
    "mandatory": proto.MANDATORY,
    "remediate": proto.REMEDIATE,
    "disabled": proto.DISABLED,
}
DEV_ADVISORIES = {"deployment-min-replicas", "gateway-config-backup"}
"""What the dev stack knowingly breaks: one replica, no configuration backup (advisory in dev)."""
# --------------------------------------------------------------------------- the component's real objects

NS = "apim-gateway"
ENTRA, WORKLOAD = ENTRA_AUTH, WORKLOAD_AUTH
PROD_VARIANTS: dict[str, dict[str, Any]] = {
    "entra-app": {"auth": ENTRA},
    "workload-identity": {"auth": WORKLOAD},
    "autoscaling": {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 6}},
}
"""Prod with the component's other options turned on: still no violation."""


def stack_file_config(stack: str) -> dict[str, Any]:
    """The ``config:`` section of ``Pulumi.<stack>.yaml``."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


def gateway_of(stack: str, **overrides: Any) -> GatewayConfig:
    raw = stack_file_config(stack)
    raw[f"{NS}:gateways"][0].update(copy.deepcopy(overrides))
    secret_keys: tuple[str, ...] = ()
    if overrides.get("auth", {}).get("mode") == "entraApp":
        raw[f"{NS}:entraClientSecrets"] = {raw[f"{NS}:gateways"][0]["name"]: "entra-client-secret-value"}
        secret_keys = (f"{NS}:entraClientSecrets",)
    return parse_stack_config(raw, secret_keys, now=NOW).gateways[0]


def resource_type(obj: dict[str, Any]) -> str:
    """The pulumi-kubernetes type of an object: ``v1`` ConfigMap → ``kubernetes:core/v1:ConfigMap``."""
    api_version = obj["apiVersion"]
    module = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{module}:{obj['kind']}"


def component_objects(stack: str, **overrides: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object ``SelfHostedGateway`` registers for the stack's first gateway
    (as in tests/unit/test_manifests.py), with its pulumi-kubernetes type."""
    gateway = gateway_of(stack, **overrides)
    objects = gateway_objects(gateway, configuration_endpoint(gateway, f"contoso-apim-{stack}"))
    return [(resource_type(obj), obj) for obj in objects]


def violations(objects: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Policy name → messages, from calling every rule directly."""
    found = {spec.name: [m for t, props in objects for m in spec.check(t, props)] for spec in pack.RESOURCE_RULES}
    for stack_spec in pack.STACK_RULES:
        found[stack_spec.name] = [message for _, message in stack_spec.check(objects)]
    return {name: messages for name, messages in found.items() if messages}


def load_config(stack: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((POLICY_DIR / "config" / f"{stack}.json").read_text())
    return loaded


def enforcement_levels(stack: str) -> dict[str, str]:
    """What ``--policy-pack-config policy/config/<stack>.json`` sets, read as the CLI reads it."""
    levels = {}
    for name, value in load_config(stack).items():
        levels[name] = value if isinstance(value, str) else value["enforcementLevel"]
    return levels


def test_the_component_objects_cover_every_kind_the_rules_look_at() -> None:
    kinds = {obj["kind"] for stack in STACKS for _, obj in component_objects(stack)}  # prod has no Secret
    assert kinds >= {"Namespace", "Secret", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}


def test_prod_objects_break_no_rule() -> None:
    assert violations(component_objects("prod")) == {}


@pytest.mark.parametrize("variant", PROD_VARIANTS)
def test_prod_objects_with_other_component_options_break_no_rule(variant: str) -> None:
    objects = component_objects("prod", **PROD_VARIANTS[variant])
    assert violations(objects) == {}


def test_a_gateway_without_its_network_policy_breaks_the_egress_rule() -> None:
    """Issue 16.9: the pack judged only NetworkPolicies that exist; now a gateway Deployment no
    egress policy selects is a violation (mandatory in prod, whose config also refuses
    ``networkPolicy.enabled: false``; advisory in dev, where it is allowed)."""
    found = violations(component_objects("dev", networkPolicy={"enabled": False}))
    assert set(found) == DEV_ADVISORIES | {"gateway-egress-network-policy"}
    assert enforcement_levels("prod")["gateway-egress-network-policy"] == "mandatory"
    assert enforcement_levels("dev")["gateway-egress-network-policy"] == "advisory"


def test_dev_objects_break_only_rules_that_are_advisory_in_dev() -> None:
    found = violations(component_objects("dev"))
    levels = enforcement_levels("dev")
    assert {name for name in found if levels[name] == "mandatory"} == set()
    assert set(found) == DEV_ADVISORIES
    assert found["deployment-min-replicas"] == [
        'Deployment "contoso-dev-gw/contoso-dev-gw" runs 1 replica(s); run at least 2 so a node drain or a rollout '
        "never takes the gateway down."
    ]


def test_rule_constants_match_the_component() -> None:
    assert objects.STATUS_PATH == manifests.STATUS_PATH
    assert objects.BACKUP_MOUNT_PATH == manifests.BACKUP_MOUNT_PATH
    assert objects.AUTH_SETTING == manifests.AUTH_SETTING
    assert objects.GATEWAY_IMAGE_REPOSITORY == component_config.GATEWAY_IMAGE_REPOSITORY
    assert objects.MIN_REPLICAS == component_config.PRODUCTION_MIN_REPLICAS
    assert set(manifests.AUTH_MODE_SETTING.values()) == objects.TOKEN_FREE_AUTH_MODES


# --------------------------------------------------------------------------- registration and config files


def test_every_policy_is_registered_with_its_name_and_kind() -> None:
    policies = pack.build_policies()
    assert [policy.name for policy in policies] == list(pack.POLICY_NAMES)
    assert {policy.name: type(policy) for policy in policies} == EXPECTED_POLICIES
    assert all(policy.description for policy in policies)
    assert pack.PACK_NAME == "apim-gateway-guardrails"


@pytest.mark.parametrize("stack", STACKS)
def test_config_files_name_only_existing_policies_with_valid_levels(stack: str) -> None:
    config = load_config(stack)
    assert set(config) <= set(pack.POLICY_NAMES)
    for name, value in config.items():
        level = value if isinstance(value, str) else value.get("enforcementLevel")
        assert level in LEVELS, f"{stack}.json: {name}"
        if isinstance(value, dict):
            assert set(value) == {"enforcementLevel"}, f"{stack}.json: {name} has properties no policy declares"


def test_prod_is_strict_and_dev_lenient() -> None:
    prod, dev = enforcement_levels("prod"), enforcement_levels("dev")
    assert set(prod) == set(dev) == set(pack.POLICY_NAMES)
    assert {name for name, level in prod.items() if level != "mandatory"} == {
        "load-balancer-local-traffic",
        "helm-release-not-inspectable",
    }
    assert dev["deployment-min-replicas"] == dev["gateway-config-backup"] == "advisory"
    assert dev["load-balancer-local-traffic"] == "advisory"
    assert dev["gateway-token-in-secret"] == dev["no-default-namespace"] == "mandatory"
    # Security rules hold in every stack: a dev cluster is a way into the network too.
    assert dev["pod-security-context"] == dev["namespace-pod-security"] == "mandatory"
    assert dev["egress-blocks-metadata-endpoints"] == "mandatory"
    assert all(prod[name] == "mandatory" for name, level in dev.items() if level == "mandatory")


def test_default_levels_without_config() -> None:
    defaults = {policy.name: policy.enforcement_level for policy in pack.build_policies()}
    assert defaults["deployment-min-replicas"] is EnforcementLevel.ADVISORY
    assert defaults["gateway-config-backup"] is EnforcementLevel.ADVISORY
    assert defaults["load-balancer-local-traffic"] is EnforcementLevel.ADVISORY
    assert defaults["gateway-token-in-secret"] is EnforcementLevel.MANDATORY
    assert defaults["helm-release-not-inspectable"] is EnforcementLevel.ADVISORY
    assert defaults["egress-blocks-metadata-endpoints"] is EnforcementLevel.MANDATORY


# --------------------------------------------------------------------------- through pulumi_policy's analyzer


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def urn(resource_type_: str, name: str) -> str:
    return f"urn:pulumi:test::apim-gateway::apim-gateway:index:SelfHostedGateway${resource_type_}::{name}"


def configure_request(stack: str) -> Any:
    return proto.ConfigureAnalyzerRequest(
        policyConfig={
            name: proto.PolicyConfig(enforcementLevel=LEVELS[level])
            for name, level in enforcement_levels(stack).items()
        }
    )


def analyze(analyzer: Any, objects: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Diagnostics of Analyze (each resource) and AnalyzeStack (all of them)."""
    diagnostics: list[Any] = []
    for index, (type_, obj) in enumerate(objects):
        request = proto.AnalyzeRequest(
            type=type_, properties=to_struct(obj), urn=urn(type_, str(index)), name=str(index)
        )
        diagnostics.extend(analyzer.Analyze(request, None).diagnostics)
    resources = [
        proto.AnalyzerResource(type=type_, properties=to_struct(obj), urn=urn(type_, str(index)), name=str(index))
        for index, (type_, obj) in enumerate(objects)
    ]
    diagnostics.extend(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None).diagnostics)
    return diagnostics


@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_with_the_stack_config_passes_the_stacks_objects(stack: str) -> None:
    """The objects travel as the engine sends them (protobuf Struct: numbers become floats)
    and reach the rules through pulumi_policy's read-only proxies."""
    analyzer: Any = _PolicyAnalyzerServicer(pack.PACK_NAME, "0.1.0", pack.build_policies(), EnforcementLevel.ADVISORY)
    analyzer.Configure(configure_request(stack), None)
    diagnostics = analyze(analyzer, component_objects(stack))
    mandatory = {d.policyName for d in diagnostics if d.enforcementLevel == proto.MANDATORY}
    assert mandatory == set()
    expected = set() if stack == "prod" else DEV_ADVISORIES
    assert {d.policyName for d in diagnostics} == expected


def test_the_pack_reports_broken_objects_at_the_configured_level() -> None:
    objects = component_objects("prod")
    for _, obj in objects:
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = 1
            container = obj["spec"]["template"]["spec"]["containers"][0]
            container["env"] = [{"name": "config.service.auth", "value": "GatewayKey gw&1&sig=="}]
        if obj["kind"] == "NetworkPolicy":
            obj["spec"]["egress"] = [{"ports": [{"port": 80, "protocol": "TCP"}]}]  # any destination
    objects = [(t, obj) for t, obj in objects if obj["kind"] != "PodDisruptionBudget"]
    levels: dict[str, dict[str, int]] = {}
    for stack in STACKS:
        analyzer: Any = _PolicyAnalyzerServicer(
            pack.PACK_NAME, "0.1.0", pack.build_policies(), EnforcementLevel.ADVISORY
        )
        analyzer.Configure(configure_request(stack), None)
        levels[stack] = {d.policyName: d.enforcementLevel for d in analyze(analyzer, objects)}
    assert levels["prod"] == {
        "deployment-min-replicas": proto.MANDATORY,
        "gateway-token-in-secret": proto.MANDATORY,
        "gateway-disruption-budget": proto.MANDATORY,
        "egress-blocks-metadata-endpoints": proto.MANDATORY,
    }
    assert levels["dev"] == {
        "deployment-min-replicas": proto.ADVISORY,
        "gateway-token-in-secret": proto.MANDATORY,
        "gateway-disruption-budget": proto.ADVISORY,
        "egress-blocks-metadata-endpoints": proto.MANDATORY,
    }


# --------------------------------------------------------------------------- served like the engine does


@pytest.fixture
def served_pack(tmp_path: Path) -> Iterator[Any]:
    """The pack copied to a directory named like a published pack's (``0.1.0``) and started
    with the command the Python policy analyzer plugin runs; yields a gRPC Analyzer stub."""
    directory = tmp_path / "0.1.0"
    shutil.copytree(POLICY_DIR, directory, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"the policy pack did not start: {port!r}\n{stderr.decode()}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()


def test_the_served_pack_lists_its_policies_and_enforces_them(served_pack: Any) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "apim-gateway-guardrails"
    assert {policy.name for policy in info.policies} == set(EXPECTED_POLICIES)

    bad = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gw-env", "namespace": "default"},
        "data": {"config.service.auth": "GatewayKey gw&1&sig=="},
    }
    request = proto.AnalyzeRequest(
        type="kubernetes:core/v1:ConfigMap", properties=to_struct(bad), urn=urn("kubernetes:core/v1:ConfigMap", "m")
    )
    diagnostics = served_pack.Analyze(request, timeout=30).diagnostics
    assert sorted((d.policyName, d.enforcementLevel) for d in diagnostics) == [
        ("gateway-token-in-secret", proto.MANDATORY),
        ("gateway-token-in-secret", proto.MANDATORY),
        ("no-default-namespace", proto.MANDATORY),
    ]
    assert any(
        d.message.endswith('is in the "default" namespace; deploy it to a namespace of its own.') for d in diagnostics
    )
