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
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "local-gw&203001010000&ZW5naW5lLXRlc3Qtc2lnbmF0dXJl"
GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard"

pytestmark = pytest.mark.integration


def pulumi(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if not (shutil.which("pulumi") and shutil.which("pulumi-language-python")):
        if os.environ.get("APIMGW_REQUIRE_CLUSTER"):
            pytest.fail("pulumi and pulumi-language-python must be on PATH (scripts/toolchain.sh env)")
        pytest.skip('pulumi CLI / Python language host not on PATH (eval "$(scripts/toolchain.sh env)")')
    directory = tmp_path / "project"
    directory.mkdir()
    shutil.copytree(ROOT / "components", directory / "components")
    for name in ("__main__.py", "Pulumi.local.yaml"):
        shutil.copy(ROOT / name, directory / name)
    (directory / "Pulumi.yaml").write_text("name: apim-gateway\nruntime: python\n")
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "integration-test",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_PYTHON_CMD": sys.executable,
    }
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
