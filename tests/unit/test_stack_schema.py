"""The editor schema of stack files (schema/pulumi-stack.schema.json): generated from the config
models, accepts the repository's stack files, and underlines what the config check would refuse."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml
from harness import ROOT

from components.config.stack_schema import SCHEMA_PATH, render

REGENERATE = "run: .venv/bin/python -m components.config.stack_schema"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def stack_file(stack: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return document


def errors(validator: jsonschema.Draft202012Validator, document: dict[str, Any]) -> list[str]:
    return sorted(
        "/".join(map(str, error.absolute_path)) + ": " + error.message for error in validator.iter_errors(document)
    )


def test_the_schema_file_is_the_generated_one() -> None:
    assert SCHEMA_PATH.read_text() == render(), f"schema/pulumi-stack.schema.json is out of date; {REGENERATE}"


def test_generation_is_deterministic() -> None:
    assert render() == render()


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_repositorys_stack_files_are_valid(validator: jsonschema.Draft202012Validator, stack: str) -> None:
    assert errors(validator, stack_file(stack)) == []


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_stack_files_name_the_schema_for_the_yaml_language_server(stack: str) -> None:
    first_line = (ROOT / f"Pulumi.{stack}.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./schema/pulumi-stack.schema.json"


def test_typos_and_wrong_values_are_underlined(validator: jsonschema.Draft202012Validator) -> None:
    document = copy.deepcopy(stack_file("prod"))
    config = document["config"]
    gateway = config["apim-gateway:gateways"][0]
    gateway["replica"] = 3
    gateway["service"]["loadBalancerIP"] = "10.20.0.300"
    gateway["image"]["pullPolicy"] = "Sometimes"
    config["apim-gateway:enviroment"] = "prod"
    config["apim-gateway:kubeconfig"] = "apiVersion: v1"  # a secret in plain text
    config["azure-native:location"] = "westeurope"  # another namespace: not ours to judge
    found = errors(validator, document)
    assert len(found) == 5, found
    assert any("'replica' was unexpected" in error for error in found)
    assert any(error.startswith("config/apim-gateway:gateways/0/service/loadBalancerIP:") for error in found)
    assert any(error.startswith("config/apim-gateway:gateways/0/image/pullPolicy:") for error in found)
    assert any("'apim-gateway:enviroment' does not match" in error for error in found)
    assert any(error.startswith("config/apim-gateway:kubeconfig:") for error in found)


def test_secrets_in_their_encrypted_form_are_accepted(validator: jsonschema.Draft202012Validator) -> None:
    document = copy.deepcopy(stack_file("local"))
    document["config"]["apim-gateway:gatewayTokens"] = {"local-gw": {"secure": "v1:abc"}}
    document["config"]["apim-gateway:kubeconfig"] = {"secure": "v1:def"}
    assert errors(validator, document) == []
    document["config"]["apim-gateway:gatewayTokens"] = {"local-gw": "GatewayKey local-gw&203001010000&sig"}
    assert errors(validator, document) != []


def test_an_entry_may_take_its_settings_from_defaults(validator: jsonschema.Draft202012Validator) -> None:
    document = copy.deepcopy(stack_file("dev"))
    config = document["config"]
    config["apim-gateway:defaults"]["locationData"] = config["apim-gateway:gateways"][0].pop("locationData")
    assert errors(validator, document) == []
    del config["apim-gateway:gateways"][0]["name"]
    assert errors(validator, document) == ["config/apim-gateway:gateways/0: 'name' is a required property"]
