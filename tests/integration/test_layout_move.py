"""A stack deployed before the layout move (issue 25), run with the moved code: real engine, real
Kubernetes plugin, local API server.

The pre-move commit's own program deploys the ``local`` stack; then this checkout's program
replaces it in the same project directory, as a team's next checkout would. The dynamic
resources' providers are stored in state pickled at their old module paths
(``components/moved_providers.py``; the host unpickles the stored copy for ``Read`` and
``Delete``, ``pulumi/dynamic/__main__.py``), so ``refresh`` and ``destroy`` import those paths:

- without an ``up``: ``refresh`` and ``destroy`` work through the shims, and fail without them;
- with an ``up``: the first one updates only the dynamic resources (re-recording their providers
  at the new paths, nothing else changes, no Kubernetes object is touched), after which state
  names no old path; a token renewal then rolls the pods, and a preview has no changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster
from engine import LocalStack, install_program, placeholder_token

from components.kubernetes.cluster_guard import OWNER_ANNOTATION
from components.moved_providers import stored_at_old_paths

pytestmark = pytest.mark.integration

PRE_MOVE_COMMIT = "e952e8c8c38f1d692ab5013366cac7c9af262113"
"""The last commit of main before the layout move."""
DYNAMIC = ("-delivery-mode", "-cluster", "-rollout-key")
"""The local stack's dynamic resources (the token is a config value there: ``apim.mode: existing``)."""


def _stored_at_old_paths(stack: LocalStack) -> list[str]:
    """The engine stores each dynamic resource's ``__provider`` as a secret: read the export with
    ``--show-secrets`` (only URNs leave this function)."""
    exported: dict[str, Any] = json.loads(stack.run("stack", "export", "--show-secrets").stdout)
    return stored_at_old_paths(exported)


def _old_stack(tmp_path: Path, kubeconfig: Path, gateway: str) -> LocalStack:
    stack = LocalStack(tmp_path, kubeconfig, gateway, commit=PRE_MOVE_COMMIT, replicas=1, backup={"enabled": False})
    assert not (stack.directory / "components" / "kubernetes").exists(), "not the pre-move layout"
    stack.up()
    old = _stored_at_old_paths(stack)
    assert sorted(urn.rsplit("::", 1)[1] for urn in old) == sorted(f"{gateway}{suffix}" for suffix in DYNAMIC)
    return stack


def _changes(stack: LocalStack) -> dict[str, str]:
    """URN → step of every step of ``pulumi preview --json`` that is not ``same``."""
    preview: dict[str, Any] = json.loads(stack.preview("--json").stdout)
    return {step["urn"]: step["op"] for step in preview.get("steps", []) if step["op"] != "same"}


def test_refresh_and_destroy_of_a_pre_move_stack_work_through_the_shims_and_only_through_them(
    local_cluster: Any, tmp_path: Path
) -> None:
    gateway = "pre-move-gw"
    stack = _old_stack(tmp_path, local_cluster.kubeconfig, gateway)
    install_program(stack.directory)

    shim = stack.directory / "components" / "cluster_guard.py"
    saved = shim.read_text()
    shim.unlink()
    refused = stack.run("refresh", "--yes", "--skip-preview", "--non-interactive", check=False)
    assert refused.returncode != 0
    assert "components.cluster_guard" in refused.stdout + refused.stderr
    shim.write_text(saved)

    stack.run("refresh", "--yes", "--skip-preview", "--non-interactive")
    cluster = Cluster(local_cluster.kubeconfig)
    assert cluster.find("apps/v1", "Deployment", gateway, gateway) is not None
    stack.destroy()
    assert cluster.find("apps/v1", "Deployment", gateway, gateway) is None
    assert cluster.find("v1", "Namespace", gateway) is None
    assert stack.resources() == []


def test_the_first_up_after_the_move_re_records_the_providers_and_changes_nothing_else(
    local_cluster: Any, tmp_path: Path
) -> None:
    gateway = "moved-gw"
    stack = _old_stack(tmp_path, local_cluster.kubeconfig, gateway)
    cluster = Cluster(local_cluster.kubeconfig)
    before = cluster.get("apps/v1", "Deployment", gateway, gateway)
    install_program(stack.directory)

    changes = _changes(stack)
    assert {urn.rsplit("::", 1)[1]: op for urn, op in changes.items()} == {
        **{f"{gateway}{suffix}": "update" for suffix in DYNAMIC},
        "removal-guard": "create",  # the stack-level record (issue 21): new, and touches no cluster object
        # The pinned kubeconfig replaces the stored path (components/kubernetes/kubeconfig.py): a provider
        # update under a constant clusterIdentifier (provider.go DiffConfig :408-424), no object changes.
        f"{gateway}-kubernetes": "update",
    }
    stack.up()
    assert _stored_at_old_paths(stack) == []
    after = cluster.get("apps/v1", "Deployment", gateway, gateway)
    assert after.metadata.generation == before.metadata.generation  # the pods were not touched
    assert after.metadata.annotations[OWNER_ANNOTATION] == before.metadata.annotations[OWNER_ANNOTATION]
    stack.preview("--expect-no-changes")

    # A token renewal with the moved code: the Secret and, through the credentials digest, the pods.
    stack.set_token(placeholder_token(gateway, serial=1))
    renewal = {urn.rsplit("::", 1)[1]: op for urn, op in _changes(stack).items()}
    assert renewal == {f"{gateway}-token": "update", f"{gateway}-deployment": "update"}
    stack.up()
    renewed = cluster.get("apps/v1", "Deployment", gateway, gateway)
    annotation = "checksum/credentials"
    template = renewed.spec.template.metadata.annotations
    assert template[annotation] != before.spec.template.metadata.annotations[annotation]
    stack.preview("--expect-no-changes")

    stack.destroy()
    assert cluster.find("v1", "Namespace", gateway) is None
