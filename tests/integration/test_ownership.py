"""The stack never adopts, changes or deletes what it did not create, proven with the real engine
and Kubernetes plugin (4.25.0) on the local API server.

Under 4.25 every create is a server-side apply that upserts (``provider/pkg/await/await.go``
Creation, lines 187-229: "we currently always upsert the object"): without the cluster guard
(components/kubernetes/cluster_guard.py) an existing namespace was adopted, given the restricted Pod Security
label, and deleted with everything in it by ``pulumi destroy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster
from engine import LocalStack

pytestmark = pytest.mark.integration


def existing_namespace(cluster: Cluster, name: str) -> None:
    """A namespace someone else made, holding something precious."""
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "precious", "namespace": name},
            "data": {"keep": "me"},
        }
    )


def test_an_existing_namespace_is_refused_untouched_then_used_without_owning_it(
    local_cluster: Any, tmp_path: Path
) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    existing_namespace(cluster, "team-a")
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        "owned-gw",
        replicas=1,
        backup={"enabled": False},
        namespace={"name": "team-a"},
    )
    for run in (stack.preview(check=False), stack.up(check=False)):
        output = run.stdout + run.stderr
        assert run.returncode != 0
        assert "Namespace team-a already exists and was not created by this stack (apim-gateway/local)" in output
        assert "namespace.create: false" in output
    namespace = cluster.get("v1", "Namespace", "team-a")
    assert "pod-security.kubernetes.io/enforce" not in (namespace.metadata.labels or {})
    assert cluster.find("apps/v1", "Deployment", "owned-gw", "team-a") is None  # nothing else was created

    stack.update(namespace={"name": "team-a", "create": False})
    stack.up()
    assert cluster.find("apps/v1", "Deployment", "owned-gw", "team-a") is not None
    stack.destroy()
    assert cluster.get("v1", "ConfigMap", "precious", "team-a").to_dict()["data"] == {"keep": "me"}
    assert cluster.get("v1", "Namespace", "team-a").status.phase == "Active"
    assert cluster.find("apps/v1", "Deployment", "owned-gw", "team-a") is None  # its own objects went


def test_an_object_of_the_same_name_in_a_shared_namespace_is_refused(local_cluster: Any, tmp_path: Path) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    existing_namespace(cluster, "team-b")
    foreign = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "shared-gw-token", "namespace": "team-b"},
        "stringData": {"value": "someone else's"},
    }
    cluster.apply(foreign)
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        "shared-gw",
        replicas=1,
        backup={"enabled": False},
        namespace={"name": "team-b", "create": False},
    )
    run = stack.up(check=False)
    assert run.returncode != 0
    assert "Secret team-b/shared-gw-token already exists and was not created by this stack" in run.stdout + run.stderr
    assert cluster.get("v1", "Secret", "shared-gw-token", "team-b").data["value"] == "c29tZW9uZSBlbHNlJ3M="
    assert cluster.find("apps/v1", "Deployment", "shared-gw", "team-b") is None


def test_a_system_namespace_is_refused_before_anything_is_registered(local_cluster: Any, tmp_path: Path) -> None:
    stack = LocalStack(
        tmp_path, local_cluster.kubeconfig, "system-gw", backup={"enabled": False}, namespace={"name": "kube-system"}
    )
    run = stack.up(check=False)
    assert "namespace.name = 'kube-system': a system namespace of the cluster never holds the gateway" in run.stdout
    assert [r["type"] for r in stack.resources() if r["type"] != "pulumi:pulumi:Stack"] == []
    labels = Cluster(local_cluster.kubeconfig).get("v1", "Namespace", "kube-system").metadata.labels or {}
    assert "pod-security.kubernetes.io/enforce" not in labels
