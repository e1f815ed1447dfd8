"""The component as a Pulumi package: generated args, schema snapshot, entry point, validation.

Sources: ``pulumi/provider/experimental/analyzer.py`` (``Analyzer.analyze_type``: schema names are
``camel_case`` of the attribute names; ``analyze_property``: accepted annotations;
``get_docstring``: descriptions from attribute docstrings), ``component.py``
(``ComponentProvider.construct`` / ``map_input_properties``: how inputs reach the component),
``pulumi/provider/server.py`` lines 487-493 (``GetSchema`` serves ``provider.schema`` as is), all
in the installed pulumi 3.259.0.
"""

import ast
import inspect
import json
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from harness import ROOT, run_main, run_program
from pulumi.errors import InputPropertiesError
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pydantic import BaseModel

from components import gateway as python_component
from components.config import ApimSettings, ConfigError, GatewayConfig, parse_stack_config
from components.package.args import REGENERATE, SCHEMA_SNAPSHOT, TYPES_MODULE, _strip, render
from components.package.plugin import (
    PACKAGE_NAME,
    GatewayPackageProvider,
    SelfHostedGateway,
    python_args,
    schema_text,
    stack_config,
)
from components.package.types import ApimCloud, ApimMode, EnvironmentRules, LogLevel, SelfHostedGatewayPackageArgs

STALE = f"stale: run `{REGENERATE}`"
TYPE = f"{PACKAGE_NAME}:index:SelfHostedGateway"


def _schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_SNAPSHOT.read_text()))


def test_generated_args_module_is_current() -> None:
    assert TYPES_MODULE.read_text() == render(), STALE


def test_schema_snapshot_is_what_the_package_serves() -> None:
    assert SCHEMA_SNAPSHOT.read_text() == schema_text(), STALE


def test_entry_point_serves_the_snapshot_over_grpc() -> None:
    """``plugin/__main__.py`` started like the language host starts it (engine address as the
    first argument; ``pulumi.provider.main`` prints the port it serves on)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "plugin" / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert json.loads(response.schema) == _schema()


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    seen[model.__name__] = model
    for info in model.model_fields.values():
        annotation, _ = _strip(info.annotation)
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and candidate.__name__ not in seen:
                _models(candidate, seen)
    return seen


def test_every_config_key_is_a_schema_property_of_the_same_name() -> None:
    """A key added, renamed or removed in a model without regenerating fails here."""
    types = _schema()["types"]
    for name, model in _models(GatewayConfig, _models(ApimSettings, {})).items():
        keys = {info.alias or field for field, info in model.model_fields.items()}
        assert set(types[f"{PACKAGE_NAME}:index:{name}"]["properties"]) == keys, f"{name}: {STALE}"
    inputs = _schema()["resources"][TYPE]["inputProperties"]
    assert set(inputs) == {
        "environment",
        "environmentRules",
        "apim",
        "gateway",
        "kubeconfig",
        "gatewayToken",
        "entraClientSecret",
        "proxyCredentials",
        "retain",
        "ownerKey",
    }
    assert inputs["gateway"]["$ref"].endswith(":index:GatewayConfig")
    assert set(_schema()["resources"][TYPE]["requiredInputs"]) == {"environment", "apim", "gateway"}


def test_descriptions_are_the_models_docstrings_with_their_defaults() -> None:
    types = _schema()["types"]
    gateway = types[f"{PACKAGE_NAME}:index:GatewayConfig"]
    assert gateway["properties"]["replicas"]["description"].startswith("Gateway pods; at least 2 in prod.")
    assert "Default: `1` (dev) / `3` (prod)." in gateway["properties"]["replicas"]["description"]
    service = types[f"{PACKAGE_NAME}:index:ServiceSettings"]["properties"]
    assert "loadBalancerIP" in service  # the alias, not camel_case('load_balancer_ip')
    rollout = types[f"{PACKAGE_NAME}:index:RolloutSettings"]["properties"]["maxSurge"]
    assert rollout["type"] == "string"
    assert "percentage" in rollout["description"]
    assert 'Default: `"25%"`.' in rollout["description"]
    liveness = types[f"{PACKAGE_NAME}:index:ProbeSettings"]["properties"]["liveness"]["description"]
    assert 'Default: `{"periodSeconds": 10}`.' in liveness
    autoscaling = types[f"{PACKAGE_NAME}:index:AutoscalingSettings"]["properties"]
    assert "null` cannot be given" in autoscaling["targetCpuUtilization"]["description"]
    assert [value["value"] for value in types[f"{PACKAGE_NAME}:index:AuthMode"]["enum"]] == [
        "token",
        "entraApp",
        "workloadIdentity",
    ]


def test_outputs_are_the_python_components() -> None:
    python_outputs = inspect.get_annotations(python_component.SelfHostedGateway, eval_str=True)
    assert inspect.get_annotations(SelfHostedGateway) == python_outputs


BAD_GATEWAY: dict[str, Any] = {
    "name": "weu-gw",
    "locationData": {"name": "weu"},
    "replicas": 1,
    "image": {"tag": "latest"},
    "rollout": {"maxUnavailable": "lots"},
}


def test_package_users_get_the_stack_users_error() -> None:
    with pytest.raises(ConfigError) as from_stack:
        parse_stack_config(
            {
                "apim-gateway:environment": "prod",
                "apim-gateway:apim": {"resourceGroupName": "rg", "serviceName": "apim"},
                "apim-gateway:gateways": [BAD_GATEWAY],
            }
        )
    args: SelfHostedGatewayPackageArgs = {
        "environment": "prod",
        "apim": {"mode": ApimMode.Managed, "resourceGroupName": "rg", "serviceName": "apim"},
        "gateway": BAD_GATEWAY,  # type: ignore[typeddict-item]
    }
    with pytest.raises(ConfigError) as from_package:
        stack_config(args)
    assert str(from_package.value) == str(from_stack.value)
    assert "apim-gateway:gateways[0](weu-gw).rollout.maxUnavailable = 'lots'" in str(from_package.value)


def test_construct_reports_bad_config_as_invalid_inputs_before_building() -> None:
    """An ``InputPropertiesError`` from ``construct`` is shown as invalid input, without a
    traceback (``pulumi/provider/server.py``, ``Construct``); one raised inside the component's
    ``__init__`` would be wrapped into ``ComponentInitError`` (``component.py``, ``construct``)."""
    inputs = {
        "environment": "prod",
        "apim": {"resourceGroupName": "rg", "serviceName": "apim"},
        "gateway": {**BAD_GATEWAY, "replicas": 1.0, "rollout": {}, "backup": {"storageClassName": "gateway-files"}},
    }
    with pytest.raises(InputPropertiesError) as raised:
        GatewayPackageProvider().construct("weu-gw", TYPE, inputs)
    assert raised.value.message.startswith("invalid stack configuration (2 problem(s)):")
    assert raised.value.errors is not None
    assert {
        "property_path": "apim-gateway:gateways[0](weu-gw).replicas",
        "reason": "value 1: prod needs at least 2 replicas",
    } in raised.value.errors


def test_strings_of_digits_are_integers_where_the_model_takes_int_or_percent() -> None:
    args: SelfHostedGatewayPackageArgs = {
        "environment": "dev",
        "apim": {"mode": ApimMode.Existing, "serviceName": "apim"},
        "gateway": {
            "name": "gw",
            "locationData": {"name": "here"},
            "rollout": {"maxUnavailable": "1", "maxSurge": "50%"},
            "disruptionBudget": {"maxUnavailable": "2"},
            "logs": {"level": LogLevel.Warn},
        },
        "gatewayToken": "GatewayKey gw&299912312359&c2lnbmF0dXJl",
    }
    gateway = stack_config(args).gateways[0]
    assert (gateway.rollout.max_unavailable, gateway.rollout.max_surge) == (1, "50%")
    assert gateway.disruption_budget.max_unavailable == 2
    assert gateway.logs.level == "warn"


def test_a_secret_known_only_at_deployment_is_checked_for_presence() -> None:
    import pulumi

    base: dict[str, Any] = {
        "environment": "dev",
        "apim": {"mode": "existing", "serviceName": "apim"},
        "gateway": {"name": "gw", "locationData": {"name": "here"}},
    }
    with pytest.raises(ConfigError, match=r"gatewayTokens\.gw: required setting is missing"):
        stack_config(base)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"gatewayTokens\.gw = \[secret\]: not a gateway token"):
        stack_config({**base, "gatewayToken": "nonsense"})  # type: ignore[typeddict-item]
    # An Output (another resource's, or a secret) passes validation; its value is used where needed.
    assert stack_config({**base, "gatewayToken": pulumi.Output.from_input("later")}).gateways[0].name == "gw"  # type: ignore[typeddict-item]


STACK_GATEWAY: dict[str, Any] = {
    "name": "pkg-gw",
    "locationData": {"name": "here", "city": "Dublin"},
    "replicas": 2,
    "rollout": {"maxUnavailable": 1, "maxSurge": "50%"},
    "service": {"type": "ClusterIP", "loadBalancerIP": "10.0.0.9"},
    "logs": {"level": "warn"},
    "networkPolicy": {"backendPorts": [443]},
}


def _as_the_engine_sends(value: Any) -> Any:
    """Inputs as they reach ``construct``: numbers as floats, IntOrPercent as strings."""
    if isinstance(value, dict):
        return {key: _as_the_engine_sends(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_the_engine_sends(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return float(value)


def test_the_package_registers_what_the_stack_registers() -> None:
    """Through ``ComponentProvider.construct`` (the host's path: name mapping, enum and integer
    conversion), under mocks, against ``__main__.py`` with the same config."""
    stack = run_main(
        {
            "apim-gateway:environment": "dev",
            "apim-gateway:apim": {"resourceGroupName": "rg-apim", "serviceName": "contoso-apim"},
            "apim-gateway:gateways": [STACK_GATEWAY],
        }
    )
    engine_gateway = _as_the_engine_sends(STACK_GATEWAY)
    engine_gateway["rollout"]["maxUnavailable"] = "1"

    def program() -> None:
        provider = GatewayPackageProvider()
        inputs = {
            "environment": "dev",
            "apim": {"mode": "managed", "resourceGroupName": "rg-apim", "serviceName": "contoso-apim"},
            "gateway": engine_gateway,
        }
        provider.construct("pkg-gw", TYPE, inputs)

    package = run_program(program)

    def kinds(resources: list[Any]) -> list[tuple[str, str]]:
        return sorted((r.type, r.name) for r in resources)

    # The removal guard is the stack program's own (a stack-level record), not the component's.
    stack_level = [("pulumi-python:dynamic/apim-gateway:RemovalGuard", "removal-guard")]
    assert kinds(package.resources) == [kind for kind in kinds(stack.resources) if kind not in stack_level]
    assert package.one(TYPE).type == stack.one(TYPE).type
    for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Service"):
        # Sibling objects register concurrently: compare them in a fixed order.
        assert sorted(package.k8s(kind), key=json.dumps) == sorted(stack.k8s(kind), key=json.dumps), kind
    deployment = package.one("kubernetes:apps/v1:Deployment").inputs
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 1


def _keywords_of_args_call(path: Path) -> set[str]:
    """Keyword names of the ``SelfHostedGatewayArgs(...)`` call in a module."""
    calls = [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SelfHostedGatewayArgs"
    ]
    assert len(calls) == 1, path
    return {keyword.arg for keyword in calls[0].keywords if keyword.arg}


def test_the_package_passes_every_setting_the_stack_program_passes() -> None:
    """``python_args`` once left out ``apim_cloud``: a package user's ``apim.cloud`` was ignored."""
    assert _keywords_of_args_call(ROOT / "components" / "package" / "plugin.py") == _keywords_of_args_call(
        ROOT / "__main__.py"
    )
    args = python_args(
        {
            "environment": "dev",
            "apim": {"mode": ApimMode.Existing, "serviceName": "contoso-apim", "cloud": ApimCloud.China},
            "gateway": {"name": "gw", "locationData": {"name": "here"}, "configurationEndpoint": "gw.example.cn"},
            "gatewayToken": "GatewayKey gw&299912312359&c2lnbmF0dXJl",
        }
    )
    assert args.apim_cloud == "china"


def test_enum_members_are_their_values() -> None:
    assert all(isinstance(member, str) for member in LogLevel)
    assert isinstance(EnvironmentRules.Prod, Enum)
    assert EnvironmentRules("prod") is EnvironmentRules.Prod


def _keys_in_schema(value: Any, ref: str, types: dict[str, Any], path: str) -> list[str]:
    """Keys of ``value`` that the schema type ``ref`` does not have, recursively."""
    properties = types[ref.removeprefix("#/types/")]["properties"]
    unknown = []
    for key, item in value.items():
        if key not in properties:
            unknown.append(f"{path}.{key}")
            continue
        prop = properties[key]
        if isinstance(item, dict) and "$ref" in prop:
            unknown += _keys_in_schema(item, prop["$ref"], types, f"{path}.{key}")
        elif isinstance(item, list) and "$ref" in prop.get("items", {}):
            for index, entry in enumerate(item):
                unknown += _keys_in_schema(entry, prop["items"]["$ref"], types, f"{path}.{key}[{index}]")
    return unknown


def test_yaml_example_is_valid_for_the_package() -> None:
    import yaml

    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    # No `packages:` entry: the provider is the installed console script on $PATH, and the CLI
    # would otherwise install the package's Python dependencies' plugins, azure-native included.
    assert "packages" not in program
    resource = program["resources"]["gateway"]
    assert resource["type"] == TYPE
    properties = resource["properties"]
    schema = _schema()
    inputs = schema["resources"][TYPE]["inputProperties"]
    assert set(properties) <= set(inputs)
    for key in ("apim", "gateway"):
        assert _keys_in_schema(properties[key], inputs[key]["$ref"], schema["types"], key) == []
    assert properties["gatewayToken"] == "${gatewayToken}"
    assert program["config"]["gatewayToken"]["secret"] is True
    token = "GatewayKey team-b-gw&299912312359&c2lnbmF0dXJl"
    config = stack_config({**properties, "gatewayToken": token})  # type: ignore[typeddict-item]
    assert config.gateways[0].rollout.max_unavailable == 0
    assert {output: f"${{gateway.{output}}}" for output in program["outputs"]} == program["outputs"]
    assert set(program["outputs"]) <= set(schema["resources"][TYPE]["properties"])
