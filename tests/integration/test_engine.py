"""The program on the real Pulumi engine (CLI and Python language host built by
scripts/toolchain.sh), with a file backend and passphrase secrets.

The Kubernetes provider plugin cannot be built on this machine, so a run goes as far as
registering the Kubernetes provider: far enough to prove that config (including a
`--secret` value) is read and validated through the runtime, that bad config stops the
program with one clean message, and that no secret reaches state in plain text.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from certificates import self_signed
from engine import engine_env, project_copy, pulumi, require_engine

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = "ZW5naW5lLXRlc3Qtc2lnbmF0dXJl"
TOKEN = f"local-gw&203001010000&{SIGNATURE}"

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    require_engine()
    directory = project_copy(tmp_path)
    env = engine_env(tmp_path)
    pulumi(["stack", "init", "local"], directory, env)
    return directory, env


def export(directory: Path, env: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(pulumi(["stack", "export"], directory, env).stdout)
    return result


def test_secret_config_is_read_and_never_stored_in_plain_text(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    pulumi(["config", "set", "--secret", "--path", "gatewayTokens.local-gw", TOKEN], directory, env)
    assert SIGNATURE not in (directory / "Pulumi.local.yaml").read_text()  # encrypted in the stack file

    run = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    output = run.stdout + run.stderr
    # The program ran to completion: config parsed, component and outputs registered ...
    assert "invalid stack configuration" not in output
    assert "2030-01-01T00:00:00Z" in output  # tokenExpiresOn, read from the secret token
    # ... and stopped only where this machine lacks the Kubernetes provider plugin.
    assert run.returncode != 0
    assert "no resource plugin 'pulumi-resource-kubernetes' found" in output
    assert SIGNATURE not in output

    state = export(directory, env)
    assert SIGNATURE not in json.dumps(state)
    types = {resource["type"] for resource in state["deployment"].get("resources", [])}
    assert "apim-gateway:index:SelfHostedGateway" in types


def test_bad_config_stops_with_one_clean_message_and_creates_nothing(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    pulumi(["config", "set", "--secret", "--path", "gatewayTokens.local-gw", TOKEN], directory, env)
    pulumi(["config", "set", "--path", "gateways[0].replicas", "three"], directory, env)
    run = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "apim-gateway:gateways[0](local-gw).replicas = 'three': Input should be a valid integer" in output
    assert "Traceback" not in output
    resources = export(directory, env)["deployment"].get("resources") or []
    assert [r["type"] for r in resources if r["type"] != "pulumi:pulumi:Stack"] == []


def self_signed_ca() -> str:
    return self_signed("Engine Test CA", ca=True, valid_for=timedelta(days=1))[0]


def test_a_relative_ca_file_is_read_from_the_project_directory(project: tuple[Path, dict[str, str]]) -> None:
    """``customCa.certificatesFile`` is read when the program runs; the engine runs the program in
    the project directory, so a relative path names a file beside ``Pulumi.yaml``."""
    directory, env = project
    (directory / "certs").mkdir()
    (directory / "certs" / "company-ca.pem").write_text(self_signed_ca())
    pulumi(["config", "set", "--secret", "--path", "gatewayTokens.local-gw", TOKEN], directory, env)
    pulumi(["config", "set", "--path", "gateways[0].customCa.certificatesFile", "certs/company-ca.pem"], directory, env)
    run = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    output = run.stdout + run.stderr
    assert "invalid stack configuration" not in output
    assert "no resource plugin 'pulumi-resource-kubernetes' found" in output

    (directory / "certs" / "company-ca.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    run = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    output = run.stdout + run.stderr
    assert "apim-gateway:gateways[0](local-gw).customCa.certificatesFile = 'certs/company-ca.pem'" in output
    assert "only CERTIFICATE blocks belong here" in output
