"""The stack's lifecycle on a real API server, with the requests pulumi-kubernetes sends
(``provider_model``): destroy with ``keepOnDestroy`` and the next ``up``, a storage-class
change of the backup claim, and switching the autoscaler on and off. docs/cluster-lifecycle.md
describes the design these tests hold."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest
from integration.provider_model import ProviderModel, as_object

from components.offline import Registered
from scripts import local_demo

pytestmark = pytest.mark.integration
NS = "apim-gateway"


def plan(name: str, **gateway: Any) -> list[Registered]:
    """The Kubernetes resources the local stack's program registers for one gateway ``name``,
    in registration order (dependencies first, as the engine creates them)."""
    config, secret_keys = local_demo.stack_config("local")
    settings = config[f"{NS}:gateways"][0]
    settings.update(copy.deepcopy(gateway), name=name)
    config[f"{NS}:gatewayTokens"] = {name: local_demo.placeholder_token(name)}
    recording = local_demo.plan(config, secret_keys)
    return [r for r in recording.resources if r.type.startswith("kubernetes:") and "kind" in r.inputs]


def of_kind(resources: list[Registered], kind: str) -> Registered:
    (found,) = [r for r in resources if r.inputs["kind"] == kind]
    return found


def up(model: ProviderModel, resources: list[Registered]) -> None:
    """A first ``up``: every resource created."""
    for resource in resources:
        model.create(resource.type, as_object(resource))


def destroy(model: ProviderModel, resources: list[Registered]) -> None:
    """``pulumi destroy``: dependents first, each deleted (or kept) as the provider would."""
    for resource in reversed(resources):
        model.delete(resource)


def available(cluster: local_demo.Cluster, name: str) -> None:
    local_demo.wait_for(
        f"Deployment {name} did not become Available",
        lambda: local_demo.deployment_available(cluster, name, name),
        timeout=180,
    )


def test_deleting_a_namespace_deletes_the_claim_in_it(local_cluster: Any) -> None:
    """Why a kept claim needs a kept namespace: the namespace controller (kube-controller-manager)
    deletes everything in a namespace being deleted (Kubernetes docs, "Namespaces": "Deleting a
    namespace … deletes everything in the namespace"); ``retain_on_delete`` on the claim only
    keeps Pulumi from deleting it itself."""
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    model = ProviderModel(cluster)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cascade-gw"}}
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "cascade-gw-config-backup", "namespace": "cascade-gw"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Mi"}}},
    }
    model.create("kubernetes:core/v1:Namespace", namespace)
    model.create("kubernetes:core/v1:PersistentVolumeClaim", claim)
    cluster.resource("v1", "Namespace").delete(name="cascade-gw")
    local_demo.wait_for("the claim outlived its namespace", lambda: not model.exists(claim), timeout=120)
    local_demo.wait_for("the namespace was not deleted", lambda: not model.exists(namespace), timeout=120)


def test_keep_on_destroy_keeps_the_claim_and_the_next_up_adopts_it(local_cluster: Any) -> None:
    """With ``keepOnDestroy`` (the default) the claim, bound to the same volume, outlives a destroy,
    and the next ``up`` succeeds and mounts it again.

    Destroy sends what the provider sends, dependents first (``provider_model``): plain resources
    are deleted with foreground propagation, Patch resources would release their fields,
    ``retain_on_delete`` resources are skipped by the engine. The next ``up`` creates: a plain
    resource with a plain create, which fails with AlreadyExists on a kept object (pulumi-kubernetes
    ``provider/pkg/await/await.go`` Creation, since v4.29: CHANGELOG #2926); a Patch resource with
    server-side apply, which adopts it (same function). Fails on the previous design: the claim
    had ``retain_on_delete`` but its namespace was deleted, and the claim with it. (kwok runs no
    containers, so no file is written; the claim's uid and its bound volume stand for its data.)
    """
    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    cluster.static_volume("keep-gw-backup")
    model = ProviderModel(cluster)
    resources = plan("keep-gw", replicas=1)
    claim = as_object(of_kind(resources, "PersistentVolumeClaim"))
    name, namespace = claim["metadata"]["name"], claim["metadata"]["namespace"]

    up(model, resources)
    available(cluster, "keep-gw")
    local_demo.wait_for(
        "the claim was not bound",
        lambda: cluster.get("v1", "PersistentVolumeClaim", name, namespace).status.phase == "Bound",
        timeout=60,
    )
    before = cluster.get("v1", "PersistentVolumeClaim", name, namespace)

    destroy(model, resources)
    assert not model.exists(as_object(of_kind(resources, "Deployment")))
    time.sleep(5)  # give the namespace controller time to act on anything it was asked to delete
    after = cluster.get("v1", "PersistentVolumeClaim", name, namespace)
    assert (after.metadata.uid, after.spec.volumeName) == (before.metadata.uid, before.spec.volumeName)
    assert after.metadata.deletionTimestamp is None and after.status.phase == "Bound"
    assert cluster.get("v1", "Namespace", namespace).status.phase == "Active"

    # The next `up`, from another stack (another field manager) and a newer image: the kept
    # objects' version label changes, no AlreadyExists and no apply conflict.
    up(ProviderModel(cluster, "pulumi-kubernetes-0b7d44e2"), plan("keep-gw", replicas=1, image={"tag": "2.11.2"}))
    available(cluster, "keep-gw")
    again = cluster.get("v1", "PersistentVolumeClaim", name, namespace)
    assert again.metadata.uid == before.metadata.uid
    deployment = cluster.get("apps/v1", "Deployment", "keep-gw", namespace)
    claims = [v.persistentVolumeClaim.claimName for v in deployment.spec.template.spec.volumes]
    assert claims == [name]


def test_a_storage_class_change_gives_a_new_claim_beside_the_kept_one(local_cluster: Any) -> None:
    """A claim's storage class and access modes are immutable: the API server refuses them in
    place (k8s.io/kubernetes v1.34.3 ``pkg/apis/core/validation/validation.go`` :2509, "spec is
    immutable after creation except resources.requests …"). On the previous design the
    claim kept its name, so a class change was an in-place apply the API server refuses (or, for
    a plain claim, a delete-first replacement, ``provider/pkg/provider/diff.go`` and
    ``provider.go`` Diff deleteBeforeReplace). Now the name follows those fields: the engine
    replaces create-first, the new claim is made beside the old one, which is kept."""
    from kubernetes.client.exceptions import ApiException

    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    model = ProviderModel(cluster)
    # Classes no volume offers: the claims stay Pending and leave the static volumes to the other tests.
    first = plan("class-gw", replicas=1, backup={"enabled": True, "storageClassName": "class-standard"})
    up(model, first)
    old = as_object(of_kind(first, "PersistentVolumeClaim"))
    old_uid = cluster.get("v1", "PersistentVolumeClaim", old["metadata"]["name"], "class-gw").metadata.uid

    changed = plan("class-gw", replicas=1, backup={"enabled": True, "storageClassName": "class-premium"})
    claim = of_kind(changed, "PersistentVolumeClaim")
    new = as_object(claim)
    in_place = copy.deepcopy(new)
    in_place["metadata"]["name"] = old["metadata"]["name"]
    with pytest.raises(ApiException) as refused:
        model.update(in_place)
    assert refused.value.status == 422 and "immutable" in str(refused.value.body)

    if new["metadata"]["name"] == old["metadata"]["name"]:
        model.update(new)  # what the engine does when the name stays: refused, as above
    else:
        model.create(claim.type, new)  # replacement, create first; the old claim is retained
        model.update(as_object(of_kind(changed, "Deployment")), as_object(of_kind(first, "Deployment")))
    fresh = cluster.get("v1", "PersistentVolumeClaim", new["metadata"]["name"], "class-gw")
    assert fresh.spec.storageClassName == "class-premium"
    assert cluster.get("v1", "PersistentVolumeClaim", old["metadata"]["name"], "class-gw").metadata.uid == old_uid
    volumes = cluster.get("apps/v1", "Deployment", "class-gw", "class-gw").spec.template.spec.volumes
    assert [v.persistentVolumeClaim.claimName for v in volumes] == [new["metadata"]["name"]]


def test_switching_the_autoscaler_on_never_drops_below_the_replicas_and_off_has_no_conflict(
    local_cluster: Any,
) -> None:
    """A 3-replica Deployment, then the autoscaler (minimum 4) switched on, then off again, with
    the provider's field managers (``provider_model``: a ``pulumi-kubernetes`` create, then
    updates by ``pulumi-kubernetes-<random>``, ``provider/pkg/provider/provider.go``
    fieldManagerName).

    Left out of the applied spec, ``replicas`` has no other owner and is reset to its default of
    1 (Kubernetes docs, "Server-Side Apply": a removed field no other manager owns is reset to its
    default; "Transferring ownership"), until the autoscaler raises it again
    (kube-controller-manager ``pkg/controller/podautoscaler/horizontal.go`` :839, below
    minReplicas → minReplicas, written through the scale subresource, :893). Kept with
    ``ignore_changes``, the provider sends the live value (``provider/pkg/await/await.go``
    handleSSAIgnoreFields), so it never drops. Off again, the autoscaler's manager owns
    ``replicas``: an unforced apply of another value is a conflict (shown), so the Deployment
    carries ``pulumi.com/patchForce`` while no autoscaler runs (``await.go`` patchForce).
    Fails on the previous design: replicas fell to 1."""
    from kubernetes.client.exceptions import ApiException

    cluster = local_demo.Cluster(local_cluster.kubeconfig)
    model = ProviderModel(cluster)
    off = plan("scale-gw", replicas=3, backup={"enabled": False})
    up(model, off)
    deployment = as_object(of_kind(off, "Deployment"))
    model.update(deployment, deployment)  # a later `up`: the provider's field manager takes over
    available(cluster, "scale-gw")

    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(cluster.get("apps/v1", "Deployment", "scale-gw", "scale-gw").spec.replicas)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        on = plan("scale-gw", replicas=3, backup={"enabled": False}, autoscaling={"enabled": True, "minReplicas": 4})
        scaled = of_kind(on, "Deployment")
        model.update(as_object(scaled), deployment, scaled.ignore_changes)
        scaler = of_kind(on, "HorizontalPodAutoscaler")
        model.create(scaler.type, as_object(scaler))
        local_demo.wait_for(
            "the autoscaler did not raise the Deployment to its minimum",
            lambda: cluster.get("apps/v1", "Deployment", "scale-gw", "scale-gw").spec.replicas == 4,
            timeout=120,
        )
        time.sleep(1)
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert len(seen) > 20
    assert min(seen) >= 3, f"replicas fell to {min(seen)} while the autoscaler was switched on"

    back = plan("scale-gw", replicas=3, backup={"enabled": False})
    unforced = as_object(of_kind(back, "Deployment"))
    unforced["metadata"].pop("annotations", None)
    with pytest.raises(ApiException) as conflict:
        model.update(unforced)
    assert conflict.value.status == 409 and "replicas" in str(conflict.value.body)
    model.update(as_object(of_kind(back, "Deployment")))  # the component's spec: no conflict
    model.delete(scaler)
    live = cluster.get("apps/v1", "Deployment", "scale-gw", "scale-gw").to_dict()
    assert live["spec"]["replicas"] == 3
    owners = [
        entry["manager"]
        for entry in live["metadata"]["managedFields"]
        if "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {})
    ]
    assert owners == [model.field_manager]
    available(cluster, "scale-gw")
