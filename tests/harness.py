"""Test helpers: run the project's program under Pulumi's mocks (``tests/offline.py``)."""

from __future__ import annotations

import copy
import runpy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from offline import (
    FAKE_KUBECONFIG,
    FAKE_ROLLOUT_KEY,
    SUBSCRIPTION_ID,
    Recording,
    Registered,
    fake_token,
    run_program,
)

from components.config import ConfigError, GatewayConfig, parse_stack_config
from components.kubernetes import manifests

ROOT = Path(__file__).resolve().parent.parent
NS = "apim-gateway"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
"""The clock the config tests parse with (token expiries are checked against it)."""

# Auth settings for the token-free modes, as a stack file would hold them.
ENTRA_TENANT = "11111111-1111-1111-1111-111111111111"
ENTRA_CLIENT = "22222222-2222-2222-2222-222222222222"
ENTRA_SP_OBJECT = "33333333-3333-3333-3333-333333333333"
ENTRA_AUTH: dict[str, Any] = {
    "mode": "entraApp",
    "tenantId": ENTRA_TENANT,
    "clientId": ENTRA_CLIENT,
    "servicePrincipalObjectId": ENTRA_SP_OBJECT,
}
WORKLOAD_AUTH: dict[str, Any] = {
    "mode": "workloadIdentity",
    "workloadIdentity": {
        "oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/",
        "resourceGroupName": "rg-identities",
        "location": "westeurope",
    },
}

__all__ = [
    "ENTRA_AUTH",
    "ENTRA_CLIENT",
    "ENTRA_SP_OBJECT",
    "ENTRA_TENANT",
    "FAKE_KUBECONFIG",
    "ROOT",
    "SUBSCRIPTION_ID",
    "WORKLOAD_AUTH",
    "Recording",
    "Registered",
    "engine_goal_inputs",
    "fake_token",
    "gateway_objects",
    "run_main",
    "run_program",
    "stack_file_config",
]


def stack_file_config(stack: str) -> dict[str, Any]:
    """The ``config:`` section of ``Pulumi.<stack>.yaml``."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


def stack(environment: str = "prod", **gateway: Any) -> dict[str, Any]:
    """A stack file's config with its first gateway's settings overridden."""
    raw = stack_file_config(environment)
    raw[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    return raw


def parse(raw: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> GatewayConfig:
    """The first gateway of a stack config that must be valid."""
    return parse_stack_config(raw, secret_keys, now=NOW).gateways[0]


def refused(raw: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> str:
    """The one error message of a stack config that must be refused."""
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, secret_keys, now=NOW)
    return str(caught.value)


def run_main(config: dict[str, Any], secret_keys: tuple[str, ...] = (), stack: str = "dev") -> Recording:
    """Run the project's ``__main__.py`` under mocks."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return run_program(program, config, secret_keys, stack)


def engine_goal_inputs(
    new_inputs: dict[str, Any], old_inputs: dict[str, Any], ignore_changes: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    """The inputs the Pulumi engine diffs, and creates a replacement with, for a resource the
    program registers with ``new_inputs`` whose state holds ``old_inputs``: each top-level key in
    ``ignore_changes`` is set back to its old value, or dropped if it had none (pulumi/pulumi
    ``pkg/resource/deploy/step_generator.go``, ``processIgnoreChanges``: ``path.Reset(oldInputs,
    ignoredInputs)``, called before ``Check``; ``new.Inputs = inputs`` after it)."""
    goal = copy.deepcopy(new_inputs)
    for key in ignore_changes:
        assert "." not in key and "[" not in key, f"only top-level keys are simulated: {key!r}"
        if key in old_inputs:
            goal[key] = copy.deepcopy(old_inputs[key])
        else:
            goal.pop(key, None)
    return goal


def gateway_objects(gateway: GatewayConfig, endpoint: str) -> list[dict[str, Any]]:
    """Every Kubernetes object the pure functions produce for ``gateway``, with placeholder
    credentials: what the component registers, without Pulumi."""
    from components.kubernetes.settings import gateway_settings

    settings = gateway_settings(gateway, endpoint)
    token = "GatewayKey gw&202612231200&sig=="
    mode = gateway.auth.mode
    credential = None if mode == "workloadIdentity" or gateway.auth.client_certificate_secret_name else token
    objects = [
        manifests.namespace(gateway),
        manifests.token_secret(gateway, token) if mode == "token" else None,
        manifests.entra_secret(gateway, "client-secret") if credential and mode == "entraApp" else None,
        manifests.service_account(
            gateway, "00000000-0000-0000-0000-0000000000aa" if mode == "workloadIdentity" else None
        ),
        manifests.settings_config_map(gateway, settings),
        manifests.deployment(
            gateway,
            manifests.settings_checksum(settings),
            manifests.credentials_checksum(FAKE_ROLLOUT_KEY, credential) if credential else None,
        ),
        manifests.traffic_service(gateway),
        manifests.discovery_service(gateway),
        manifests.backup_claim(gateway),
        manifests.disruption_budget(gateway),
        manifests.autoscaler(gateway),
        manifests.network_policy(gateway),
    ]
    return [obj for obj in objects if obj is not None]
