"""The delivery-mode guard with the real engine and Kubernetes plugin (4.25.0) on the local API
server: switching a live stack to render mode is refused before the provider is diffed, and so is
a change of the render directory alone.

Without the guard, with the constant ``clusterIdentifier``, either change is a provider update
(4.25.0 ``provider/pkg/provider/provider.go`` DiffConfig): no object shows a change, the live
objects stay in state under a provider that only writes files, and nothing is written to a new
directory. See docs/provider-behaviour.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster
from engine import LocalStack

pytestmark = pytest.mark.integration
GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard"


def guards(stack: LocalStack) -> list[dict[str, Any]]:
    return [r for r in stack.resources() if r["type"] == GUARD_TYPE]


def test_switching_a_live_stack_to_render_mode_is_refused(local_cluster: Any, tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "mode-gw", replicas=1, backup={"enabled": False})
    stack.up()
    assert [guard["outputs"]["mode"] for guard in guards(stack)] == ["apply"]

    stack.update(kubernetes={"kubeconfigPath": None, "renderYamlToDirectory": "rendered"})
    for run in (stack.preview(check=False), stack.up(check=False)):
        output = run.stdout + run.stderr
        assert run.returncode != 0
        assert (
            "gateways(mode-gw).kubernetes.renderYamlToDirectory: this change would switch the stack from 'apply' "
            "to 'render'" in output
        )
        assert "'pulumi destroy'" in output and "a new stack" in output
        assert "Traceback" not in output
    assert [guard["outputs"]["mode"] for guard in guards(stack)] == ["apply"]  # unchanged
    assert not (stack.directory / "rendered").exists()
    assert Cluster(local_cluster.kubeconfig).find("apps/v1", "Deployment", "mode-gw", "mode-gw") is not None


def test_a_new_render_directory_is_refused(tmp_path: Path) -> None:
    """Render mode needs no cluster: the provider writes the manifests under the directory."""
    stack = LocalStack(tmp_path, None, "render-gw", backup={"enabled": False})
    stack.update(kubernetes={"renderYamlToDirectory": "rendered/a"})
    stack.up()
    assert sorted(p.name for p in (stack.directory / "rendered" / "a").rglob("*.yaml"))  # the manifests
    stack.update(kubernetes={"renderYamlToDirectory": "rendered/b"})
    run = stack.preview(check=False)
    assert run.returncode != 0
    assert (
        "changing the directory from 'rendered/a' to 'rendered/b' would render nothing there" in run.stdout + run.stderr
    )
    assert not (stack.directory / "rendered" / "b").exists()


def test_a_cluster_identifier_change_in_render_mode_is_refused_and_the_files_stay(tmp_path: Path) -> None:
    """Without the refusal the provider's replacement writes each file again and then deletes it as
    the old object's (same path). Rendered objects carry no ownership annotation."""
    stack = LocalStack(tmp_path, None, "render-id-gw", backup={"enabled": False})
    stack.update(kubernetes={"renderYamlToDirectory": "rendered"})
    stack.up()
    files = sorted((stack.directory / "rendered").rglob("*.yaml"))
    assert files
    assert not [f for f in files if "apim-gateway/stack" in f.read_text()]
    stack.update(kubernetes={"renderYamlToDirectory": "rendered", "clusterIdentifier": "another-name"})
    for run in (stack.preview(check=False), stack.up(check=False)):
        output = run.stdout + run.stderr
        assert run.returncode != 0
        assert "clusterIdentifier: changing it from 'apim-gateway' to 'another-name'" in output
        assert "left empty" in output
    assert sorted((stack.directory / "rendered").rglob("*.yaml")) == files
