"""The delivery-mode guard on the real Pulumi engine (CLI, Python language host and the dynamic
provider host built by scripts/toolchain.sh; file backend, passphrase secrets).

The Kubernetes provider plugin is not available here, so a first ``up`` goes as far as
registering it: the guard, registered before it, is created and records ``apply``. Switching
``renderYamlToDirectory`` then fails ``pulumi preview`` in the guard's ``check``, with the
message naming the safe path, before the provider is diffed (pulumi-kubernetes
``provider.go`` ``DiffConfig`` would otherwise replace it, or, with an unchanged
``clusterIdentifier``, update it in place under live objects; see docs/provider-behaviour.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine import engine_env, project_copy, pulumi, require_engine

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "local-gw&203001010000&ZW5naW5lLXRlc3Qtc2lnbmF0dXJl"
GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard"

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    require_engine()
    directory = project_copy(tmp_path)
    env = engine_env(tmp_path)
    pulumi(["stack", "init", "local"], directory, env)
    pulumi(["config", "set", "--secret", "--path", "gatewayTokens.local-gw", TOKEN], directory, env)
    return directory, env


def guards(directory: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    state = json.loads(pulumi(["stack", "export"], directory, env).stdout)
    return [r for r in state["deployment"].get("resources") or [] if r["type"] == GUARD_TYPE]


def test_switching_a_live_stack_to_render_mode_is_refused_by_the_engine(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    first = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    # Stops only where this machine lacks the Kubernetes provider plugin, after the guard.
    assert "no resource plugin 'pulumi-resource-kubernetes' found" in first.stdout + first.stderr
    recorded = guards(directory, env)
    assert [guard["outputs"]["mode"] for guard in recorded] == ["apply"]

    pulumi(["config", "rm", "--path", "gateways[0].kubernetes.kubeconfigPath"], directory, env)
    pulumi(["config", "set", "--path", "gateways[0].kubernetes.renderYamlToDirectory", "rendered"], directory, env)
    preview = pulumi(["preview", "--non-interactive"], directory, env, check=False)
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert (
        "gateways(local-gw).kubernetes.renderYamlToDirectory: this change would switch the stack from 'apply' to 'render'"
        in output
    )
    assert "'pulumi destroy'" in output and "a new stack" in output
    assert "pulumi-resource-kubernetes" not in output  # refused before the provider was reached
    assert "Traceback" not in output

    up = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    assert up.returncode != 0
    assert (
        "gateways(local-gw).kubernetes.renderYamlToDirectory: this change would switch the stack from 'apply' to 'render'"
        in up.stdout + up.stderr
    )
    assert [guard["outputs"]["mode"] for guard in guards(directory, env)] == ["apply"]  # unchanged
