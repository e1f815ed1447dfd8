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
from cluster_client import Cluster, delete_namespaces
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


# Ownership per stack instance (issue 21, items 4 and 5; components/kubernetes/ownership.py). Every
# LocalStack is a separate `stack init` of the same project and stack name (`apim-gateway/local`),
# as two people's stacks on their own backends are; each gets its own apim-gateway:ownerKey unless
# `keyless`.


def namespace_owner(cluster: Cluster, name: str) -> str | None:
    found = cluster.find("v1", "Namespace", name)
    return None if found is None else (found.metadata.annotations or {}).get("apim-gateway/stack")


def test_two_alike_named_stacks_never_take_each_others_objects(local_cluster: Any, tmp_path: Path) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    settings: dict[str, Any] = {"replicas": 1, "backup": {"enabled": False}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = LocalStack(tmp_path / "a", local_cluster.kubeconfig, "twin-gw", **settings)
    first.up()
    deployment = cluster.get("apps/v1", "Deployment", "twin-gw", "twin-gw")
    second = LocalStack(tmp_path / "b", local_cluster.kubeconfig, "twin-gw", **settings)
    for run in (second.preview(check=False), second.up(check=False)):
        output = run.stdout + run.stderr
        assert run.returncode != 0
        assert "Namespace twin-gw already exists and was not created by this stack (apim-gateway/local)" in output
        assert "Deployment twin-gw/twin-gw already exists" in output
        assert "kubectl annotate" not in output  # another instance's value: nothing offered to take it
    after = cluster.get("apps/v1", "Deployment", "twin-gw", "twin-gw")
    assert after.metadata.resourceVersion == deployment.metadata.resourceVersion
    assert not [r for r in second.resources() if r["type"] == "kubernetes:apps/v1:Deployment"]
    # The same two stacks without keys: still refused, since the second one's state lists nothing.
    second.set_owner_key(None)
    refused = second.preview(check=False)
    assert refused.returncode != 0 and "Deployment twin-gw/twin-gw already exists" in refused.stdout + refused.stderr
    first.destroy()
    assert cluster.find("apps/v1", "Deployment", "twin-gw", "twin-gw") is None


def test_a_kept_namespace_is_taken_back_with_a_key_and_refused_without_one(local_cluster: Any, tmp_path: Path) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    settings: dict[str, Any] = {"replicas": 1, "backup": {"enabled": False}}
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "kept-own-gw", **settings)
    stack.set_config("retain", ["Namespace/kept-own-gw"])
    stack.up()
    owner = namespace_owner(cluster, "kept-own-gw")
    assert owner is not None and owner.startswith("apim-gateway/local#")
    stack.destroy()
    assert namespace_owner(cluster, "kept-own-gw") == owner  # kept, still this instance's
    stack.up()  # the key survives destroy (config): the kept namespace is this stack's again
    assert cluster.find("apps/v1", "Deployment", "kept-own-gw", "kept-own-gw") is not None
    stack.destroy()

    # Kept by a keyless stack: after its destroy nothing in its state lists the namespace, so its
    # next up cannot tell it from an alike-named stack's and refuses it, saying how to take it over.
    stack.set_owner_key(None)
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kept-own-gw", "annotations": {"apim-gateway/stack": "apim-gateway/local"}},
        }
    )
    refused = stack.up(check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "It carries this stack's name without a key (apim-gateway/local)" in output
    assert "set apim-gateway:ownerKey first" in output
    assert cluster.find("apps/v1", "Deployment", "kept-own-gw", "kept-own-gw") is None
    # With a key, the refusal names the exact command; run as printed, the next up takes it over.
    stack.set_owner_key("a" * 64)
    refused = stack.preview(check=False)
    command = next(line for line in (refused.stdout + refused.stderr).splitlines() if "kubectl annotate" in line)
    annotate = command[command.index("kubectl annotate") :].split("kubectl annotate --overwrite ")[1]
    kind, name, value = annotate.split(" ")[0], annotate.split(" ")[1], annotate.split("'")[1].split("=", 1)[1]
    assert (kind, name) == ("namespace", "kept-own-gw") and value.startswith("apim-gateway/local#")
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kept-own-gw", "annotations": {"apim-gateway/stack": value}},
        }
    )
    stack.up()
    assert cluster.find("apps/v1", "Deployment", "kept-own-gw", "kept-own-gw") is not None
    stack.destroy()
    delete_namespaces(cluster, ["kept-own-gw"])  # retained by the stack: removed by the test


def test_a_stack_with_the_old_annotation_takes_on_a_key(local_cluster: Any, tmp_path: Path) -> None:
    """Deployed keyless (the value every stack wrote before ownerKey existed), the stack keeps
    working; setting a key rewrites the annotation on its own objects and nothing else."""
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(
        tmp_path, local_cluster.kubeconfig, "legacy-gw", keyless=True, replicas=1, backup={"enabled": False}
    )
    stack.up()
    assert namespace_owner(cluster, "legacy-gw") == "apim-gateway/local"
    stack.preview("--expect-no-changes")  # its own keyless objects are accepted run after run
    template = cluster.get("apps/v1", "Deployment", "legacy-gw", "legacy-gw").to_dict()["spec"]["template"]
    stack.set_owner_key("b" * 64)
    stack.up()
    owner = namespace_owner(cluster, "legacy-gw")
    assert owner is not None and owner.startswith("apim-gateway/local#")
    deployment = cluster.get("apps/v1", "Deployment", "legacy-gw", "legacy-gw")
    assert deployment.metadata.annotations["apim-gateway/stack"] == owner
    # Metadata only: the pod template is unchanged, so no rollout. (The generation still moves: an
    # annotation change bumps a Deployment's, k8s.io/kubernetes v1.34.3
    # pkg/registry/apps/deployment/strategy.go PrepareForUpdate, lines 117-122.)
    assert deployment.to_dict()["spec"]["template"] == template
    stack.preview("--expect-no-changes")
    stack.destroy()
