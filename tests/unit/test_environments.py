"""Issue 24, item 6: any number of named environments, each following dev-like or prod-like rules
(``environmentRules``; unset: ``dev`` for the environment named dev, ``prod`` for any other name);
prod's backup default is refused before anything registers when it would not bind on stock AKS."""

from __future__ import annotations

from typing import Any

import pytest
from harness import parse, refused, run_main, stack

from components.config import parse_stack_config

NS = "apim-gateway"
FILES = {"storageClassName": "gateway-files"}


def _minimal(environment: Any, rules: Any = None, **gateway: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        f"{NS}:environment": environment,
        f"{NS}:apim": {"resourceGroupName": "rg", "serviceName": "contoso"},
        f"{NS}:gateways": [{"name": "gw-one", "locationData": {"name": "dc1"}, **gateway}],
    }
    if rules is not None:
        raw[f"{NS}:environmentRules"] = rules
    return raw


def test_a_named_environment_follows_prod_rules_unless_told_otherwise() -> None:
    staging = parse_stack_config(_minimal("staging", backup=FILES))
    assert (staging.environment, staging.rules, staging.is_production) == ("staging", "prod", True)
    assert (staging.gateways[0].replicas, staging.gateways[0].backup.enabled) == (3, True)
    assert "prod needs at least 2 replicas" in refused(_minimal("staging", replicas=1, backup=FILES))
    sandbox = parse_stack_config(_minimal("sandbox", "dev", replicas=1))
    assert (sandbox.rules, sandbox.gateways[0].replicas, sandbox.gateways[0].backup.enabled) == ("dev", 1, False)
    # The two names of old keep their rules.
    assert parse_stack_config(_minimal("dev")).rules == "dev"
    assert parse_stack_config(_minimal("prod", backup=FILES)).rules == "prod"
    # Even "dev" may ask for prod's rules.
    assert parse_stack_config(_minimal("dev", "prod", backup=FILES)).is_production


def test_the_environment_name_is_exported() -> None:
    raw = stack("dev")
    raw[f"{NS}:environment"] = "qa-eu"
    raw[f"{NS}:environmentRules"] = "dev"
    assert run_main(raw).plain_outputs["environment"] == "qa-eu"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_minimal("Staging"), "environment = 'Staging': must be a DNS label"),
        (_minimal("-x"), "must be a DNS label"),
        (_minimal(7), "environment = 7: must be a DNS label"),
        (_minimal("qa", "production"), "environmentRules = 'production': allowed values are 'dev', 'prod'"),
    ],
)
def test_bad_environment_names_and_rules_are_refused(raw: dict[str, Any], expected: str) -> None:
    assert expected in refused(raw)


def test_prods_backup_default_on_the_default_class_is_refused_with_the_fix() -> None:
    message = refused(_minimal("prod"))
    assert "backup.storageClassName = None" in message
    assert "stock AKS's default class (an Azure Disk, ReadWriteOnce only) never binds" in message
    assert "backup.createStorageClass: true" in message and "backup.existingClaim" in message
    # Each fix is accepted: a class of one's own, the stack's Azure Files class, a claim, or an explicit choice.
    assert parse(_minimal("prod", backup=FILES)).backup.storage_class_name == "gateway-files"
    created = {"storageClassName": "apim-gateway-backup", "createStorageClass": True}
    assert parse(_minimal("prod", backup=created)).backup.create_storage_class
    assert parse(_minimal("prod", backup={"enabled": False})).backup.enabled is False
    assert parse(_minimal("prod", backup={"enabled": True})).backup.enabled  # the stack's own choice
    assert parse(_minimal("prod", backup={"accessMode": "ReadWriteOnce"})).backup.access_mode == "ReadWriteOnce"
    # Dev-like environments do not turn backup on, so nothing to refuse.
    assert not parse(_minimal("dev")).backup.enabled
