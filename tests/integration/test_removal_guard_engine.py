"""Config changes that would delete live data or what others use, with the real engine and
Kubernetes plugin (4.25.0) on the local API server: each is refused in ``pulumi preview`` and
``pulumi up`` (components/kubernetes/removal_guard.py) with nothing deleted, and the safe paths its
message names work.

Without the guard (seen on this machine before it existed): a live ``local`` stack with
``namespace.create: false`` set afterwards made ``up`` exit 0 and delete the namespace with the
gateway in it; the engine deletes every resource a run no longer registers (pulumi v3.259.0
``pkg/resource/deploy/step_generator.go`` GenerateDeletes), the plugin deletes the object
(``provider/pkg/await/await.go`` Deletion), and a retained resource's delete is a no-op
(``pkg/resource/deploy/step.go`` :661)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster, deployment_available, wait_for
from engine import LocalStack, placeholder_token

pytestmark = pytest.mark.integration


def refused(stack: LocalStack, *expected: str) -> None:
    """A preview and an up both fail with every ``expected`` text and no traceback."""
    for run in (stack.preview(check=False), stack.up(check=False)):
        output = run.stdout + run.stderr
        assert run.returncode != 0, output
        for text in expected:
            assert text in output, output
        assert "Traceback" not in output


def uid(cluster: Cluster, api_version: str, kind: str, name: str, namespace: str | None = None) -> str:
    return str(cluster.get(api_version, kind, name, namespace).metadata.uid)


def test_namespace_create_switched_off_is_refused_and_the_retain_path_keeps_the_namespace(
    local_cluster: Any, tmp_path: Path
) -> None:
    gateway = "ns-off-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup={"enabled": False})
    stack.up()
    namespace = uid(cluster, "v1", "Namespace", gateway)

    stack.update(namespace={"create": False})
    refused(
        stack,
        f"gateways({gateway}).namespace.create: true → false would delete Namespace/{gateway} and everything in it",
        f"'Namespace/{gateway}' in apim-gateway:retain",
        f"add 'Namespace/{gateway}' to apim-gateway:allowDeleting",
    )
    assert uid(cluster, "v1", "Namespace", gateway) == namespace
    assert deployment_available(cluster, gateway, gateway)

    # The safe path the message names: retain first with the setting unchanged, then switch.
    stack.update(namespace={"create": True})
    stack.set_config("retain", [f"Namespace/{gateway}"])
    stack.up()
    stack.update(namespace={"create": False})
    stack.up()
    assert uid(cluster, "v1", "Namespace", gateway) == namespace
    assert cluster.get("v1", "Namespace", gateway).status.phase == "Active"
    assert deployment_available(cluster, gateway, gateway)
    assert not [r for r in stack.resources() if r["urn"].endswith(f"::{gateway}-namespace")]  # forgotten
    stack.preview("--expect-no-changes")
    stack.destroy()
    assert cluster.find("v1", "Namespace", gateway) is not None  # never the stack's again
    cluster.resource("v1", "Namespace").delete(name=gateway)


def test_a_namespace_rename_is_refused_until_the_deletion_is_allowed(local_cluster: Any, tmp_path: Path) -> None:
    gateway = "rename-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup={"enabled": False})
    stack.up()
    stack.update(namespace={"name": "rename-gw-new"})
    refused(
        stack, f"gateways({gateway}).namespace.name: '{gateway}' → 'rename-gw-new' would delete Namespace/{gateway}"
    )
    assert cluster.find("v1", "Namespace", "rename-gw-new") is None  # nothing created either
    assert deployment_available(cluster, gateway, gateway)

    stack.set_config("allowDeleting", [f"Namespace/{gateway}"])
    stack.up()
    assert cluster.find("v1", "Namespace", gateway) is None
    assert deployment_available(cluster, gateway, "rename-gw-new")
    stack.set_config("allowDeleting", None)
    stack.preview("--expect-no-changes")
    stack.destroy()


def _gateways(stack: LocalStack, change: Any) -> None:
    document = yaml.safe_load(stack.stack_file.read_text())
    document["config"]["apim-gateway:gateways"] = change(document["config"]["apim-gateway:gateways"])
    stack.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_gateway_removed_from_the_list_is_refused_until_allowed(local_cluster: Any, tmp_path: Path) -> None:
    """A removed gateway registers nothing: only the stack-level record can see it go."""
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "kept-gw", replicas=1, backup={"enabled": False})
    _gateways(stack, lambda gateways: [*gateways, {**gateways[0], "name": "removed-gw"}])
    stack.run("config", "set", "--secret", "--path", "gatewayTokens.removed-gw", placeholder_token("removed-gw"))
    stack.up()
    assert deployment_available(cluster, "removed-gw", "removed-gw")

    _gateways(stack, lambda gateways: gateways[:1])
    stack.run("config", "rm", "--path", "gatewayTokens.removed-gw")  # its token goes with it
    refused(
        stack,
        "apim-gateway:gateways: gateway 'removed-gw' is no longer in the list",
        "Namespace/removed-gw",
        "add 'gateway/removed-gw' to apim-gateway:allowDeleting",
    )
    assert deployment_available(cluster, "removed-gw", "removed-gw")

    stack.set_config("allowDeleting", ["gateway/removed-gw"])
    stack.up()
    assert cluster.find("v1", "Namespace", "removed-gw") is None
    assert deployment_available(cluster, "kept-gw", "kept-gw")
    stack.set_config("allowDeleting", None)
    stack.preview("--expect-no-changes")
    stack.destroy()


def test_classes_and_claims_are_refused_and_keep_on_destroy_switches_in_place(
    local_cluster: Any, tmp_path: Path
) -> None:
    """A PriorityClass and a StorageClass the stack creates, and a claim it does not keep: each
    refused when a change would delete it. ``backup.keepOnDestroy`` switched either way is an update
    of the same claim and namespace (aliases to the other type), never a delete."""
    gateway = "classes-gw"
    priority, storage = "classes-gw-priority", "classes-gw-backup"
    cluster = Cluster(local_cluster.kubeconfig)
    cluster.static_volume(f"{gateway}-volume", storage_class=storage)  # binds the claim (no provisioner here)
    backup = {
        "enabled": True,
        "storageClassName": storage,
        "createStorageClass": True,
        "accessMode": "ReadWriteOnce",
        "keepOnDestroy": False,
    }
    scheduling = {"priorityClass": {"name": priority, "create": True, "value": 1000}}
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup=backup, scheduling=scheduling)
    stack.up()
    (claim,) = cluster.resource("v1", "PersistentVolumeClaim").get(namespace=gateway).items
    claim_token = f"PersistentVolumeClaim/{gateway}/{claim.metadata.name}"
    before = {
        "class": uid(cluster, "storage.k8s.io/v1", "StorageClass", storage),
        "priority": uid(cluster, "scheduling.k8s.io/v1", "PriorityClass", priority),
        "claim": claim.metadata.uid,
        "namespace": uid(cluster, "v1", "Namespace", gateway),
    }

    stack.update(scheduling={"priorityClass": {"create": False}})
    refused(stack, f"scheduling.priorityClass.create: true → false would delete PriorityClass/{priority}")
    stack.update(scheduling=scheduling, backup={"createStorageClass": False})
    refused(stack, f"backup.createStorageClass: true → false would delete StorageClass/{storage}")
    # (createStorageClass needs a claim of the stack's own: the config refuses it without one)
    stack.update(backup={**backup, "enabled": False, "createStorageClass": False})
    refused(
        stack,
        f"backup.enabled: true → false would delete {claim_token}",
        f"backup.createStorageClass: true → false would delete StorageClass/{storage}",
    )

    # keepOnDestroy on and off again: the same objects, updated in place.
    for keep in (True, False):
        stack.update(backup={**backup, "keepOnDestroy": keep})
        stack.up()
        stack.preview("--expect-no-changes")
        (now,) = cluster.resource("v1", "PersistentVolumeClaim").get(namespace=gateway).items
        assert (now.metadata.uid, uid(cluster, "v1", "Namespace", gateway)) == (before["claim"], before["namespace"])

    # The retain path for a class: retained first, then no longer created; the class stays.
    stack.set_config("retain", [f"PriorityClass/{priority}"])
    stack.up()
    stack.update(scheduling={"priorityClass": {"create": False}})
    stack.up()
    assert uid(cluster, "scheduling.k8s.io/v1", "PriorityClass", priority) == before["priority"]
    assert uid(cluster, "storage.k8s.io/v1", "StorageClass", storage) == before["class"]
    assert deployment_available(cluster, gateway, gateway)
    stack.preview("--expect-no-changes")
    stack.destroy()
    wait_for("the namespace to go", lambda: cluster.find("v1", "Namespace", gateway) is None, timeout=120)
    cluster.resource("scheduling.k8s.io/v1", "PriorityClass").delete(name=priority)
