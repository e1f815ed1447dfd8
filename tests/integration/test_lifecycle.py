"""The stack's lifecycle with the real engine and Kubernetes plugin (4.25.0) on the local API
server: ``keepOnDestroy`` (also with a ``WaitForFirstConsumer`` class), the autoscaler switched on
and off, a kubeconfig moved with the same content, another cluster behind the same kubeconfig, a PriorityClass whose
immutable value changes, and a failed deploy followed by a token renewal.
docs/cluster-lifecycle.md describes the design these tests hold."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster, deployment_available, wait_for
from engine import LocalStack, placeholder_token

from scripts import local_cluster as lc
from scripts import renewal

pytestmark = pytest.mark.integration


def claim_of(cluster: Cluster, namespace: str) -> Any:
    (claim,) = cluster.resource("v1", "PersistentVolumeClaim").get(namespace=namespace).items
    return claim


def test_deleting_a_namespace_deletes_the_claim_in_it(local_cluster: Any) -> None:
    """Why a kept claim needs a kept namespace: the namespace controller (kube-controller-manager)
    deletes everything in a namespace being deleted (Kubernetes docs, "Namespaces": "Deleting a
    namespace … deletes everything in the namespace"); ``retain_on_delete`` on the claim only
    keeps Pulumi from deleting it itself."""
    cluster = Cluster(local_cluster.kubeconfig)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cascade-gw"}})
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "cascade-gw-config-backup", "namespace": "cascade-gw"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Mi"}}},
    }
    cluster.apply(claim)
    cluster.resource("v1", "Namespace").delete(name="cascade-gw")
    wait_for(
        "the claim outlived its namespace",
        lambda: cluster.find("v1", "PersistentVolumeClaim", "cascade-gw-config-backup", "cascade-gw") is None,
        timeout=120,
    )


@pytest.mark.parametrize("binding", ["Immediate", "WaitForFirstConsumer"])
def test_keep_on_destroy_keeps_the_claim_and_its_volume_and_the_next_up_adopts_them(
    local_cluster: Any, tmp_path: Path, binding: str
) -> None:
    """Destroy keeps the namespace and the claim (retained Patch resources: the engine never calls
    Delete, pulumi ``pkg/resource/deploy/step.go`` DeleteStep with retainOnDelete); the claim stays
    bound to the same volume, and the next ``up`` adopts both (a Patch resource's create is a
    server-side apply, 4.25.0 ``await/await.go`` Creation). For a ``WaitForFirstConsumer`` class the
    provider's own claim awaiter would wait 5 minutes for Pending on the Bound claim
    (``await/awaiters.go`` untilCoreV1PersistentVolumeClaimReady); the claim's ``pulumi.com/waitFor``
    replaces it (components/kubernetes/manifests/prerequisites.py CLAIM_READY)."""
    gateway = f"keep-{binding.lower()}"
    cluster = Cluster(local_cluster.kubeconfig)
    storage_class = f"keep-{binding.lower()}"
    cluster.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": storage_class},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": binding,
        }
    )
    cluster.static_volume(f"{gateway}-volume", storage_class=storage_class)
    backup = {"enabled": True, "storageClassName": storage_class, "accessMode": "ReadWriteOnce", "size": "50Mi"}
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup=backup)
    stack.up()
    claim = claim_of(cluster, gateway)
    assert claim.status.phase == "Bound"
    namespace_uid = cluster.get("v1", "Namespace", gateway).metadata.uid

    stack.destroy()
    kept = claim_of(cluster, gateway)
    assert (kept.metadata.uid, kept.spec.volumeName, kept.status.phase) == (
        claim.metadata.uid,
        claim.spec.volumeName,
        "Bound",
    )
    assert cluster.get("v1", "Namespace", gateway).metadata.uid == namespace_uid
    assert cluster.find("apps/v1", "Deployment", gateway, gateway) is None
    assert cluster.find("v1", "Secret", f"{gateway}-token", gateway) is None

    started = time.monotonic()
    stack.up()
    assert time.monotonic() - started < 120  # not the claim awaiter's 5 minutes
    adopted = claim_of(cluster, gateway)
    assert (adopted.metadata.uid, adopted.spec.volumeName) == (claim.metadata.uid, claim.spec.volumeName)
    assert cluster.get("v1", "Namespace", gateway).metadata.uid == namespace_uid
    assert deployment_available(cluster, gateway, gateway)
    stack.preview("--expect-no-changes")


def _replicas_managers(cluster: Cluster, name: str) -> set[str]:
    """The field managers that own the Deployment's ``spec.replicas`` (its managedFields)."""
    deployment = cluster.get("apps/v1", "Deployment", name, name).to_dict()
    return {
        entry["manager"]
        for entry in deployment["metadata"].get("managedFields") or []
        if "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    }


def test_switching_the_autoscaler_on_and_off_never_drops_below_the_floor_and_takes_replicas_back(
    local_cluster: Any, tmp_path: Path
) -> None:
    """On: ``spec.replicas`` is left to the autoscaler (``ignore_changes``), and availability, polled
    through the update, never goes below the two replicas. Then the autoscaler is made the owner of
    ``replicas``: an incident-time scale to 1, below ``minReplicas``, which the HPA controller raises
    back to the minimum without any metrics (k8s.io/kubernetes v1.34.3
    ``pkg/controller/podautoscaler/horizontal.go`` reconcileAutoscaler: "Current number of replicas
    below Spec.MinReplicas") through the scale subresource, as ``kube-controller-manager``. An
    unforced apply by the provider's field manager then conflicts (shown with a dry run), so the
    switch off with another count succeeds only because the Deployment carries
    ``pulumi.com/patchForce`` (4.25.0 ``await/await.go`` patchForce)."""
    from kubernetes.client import AppsV1Api
    from kubernetes.client.exceptions import ApiException

    gateway = "scaled-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=2, backup={"enabled": False})
    stack.up()
    lowest: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            status = cluster.get("apps/v1", "Deployment", gateway, gateway).status
            lowest.append(status.availableReplicas or 0)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stack.update(autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 4})
        stack.up()
        assert cluster.find("autoscaling/v2", "HorizontalPodAutoscaler", gateway, gateway) is not None
        stack.preview("--expect-no-changes")
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert len(lowest) > 5 and min(lowest) >= 2

    # The autoscaler takes replicas over: scaled below its minimum, it raises the count again.
    AppsV1Api(cluster.api).patch_namespaced_deployment_scale(
        gateway, gateway, {"spec": {"replicas": 1}}, field_manager="incident-responder"
    )
    wait_for(
        "the autoscaler to raise replicas to its minimum and own the field",
        lambda: (
            cluster.get("apps/v1", "Deployment", gateway, gateway).spec.replicas == 2
            and "kube-controller-manager" in _replicas_managers(cluster, gateway)
        ),
        timeout=120,
    )
    managed = cluster.get("apps/v1", "Deployment", gateway, gateway).to_dict()["metadata"]["managedFields"]
    provider_managers = sorted(e["manager"] for e in managed if e["manager"].startswith("pulumi-kubernetes"))
    assert provider_managers, managed
    provider_manager = provider_managers[0]
    with pytest.raises(ApiException) as conflict:  # what the provider's apply would meet unforced
        cluster.resource("apps/v1", "Deployment").server_side_apply(
            body={
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": gateway},
                "spec": {"replicas": 3},
            },
            name=gateway,
            namespace=gateway,
            field_manager=provider_manager,
            force_conflicts=False,
            dry_run="All",
        )
    assert conflict.value.status == 409 and "kube-controller-manager" in str(conflict.value.body)

    stack.update(replicas=3, autoscaling={"enabled": False})
    stack.up()
    assert cluster.find("autoscaling/v2", "HorizontalPodAutoscaler", gateway, gateway) is None
    assert cluster.get("apps/v1", "Deployment", gateway, gateway).spec.replicas == 3
    assert "kube-controller-manager" not in _replicas_managers(cluster, gateway)
    stack.preview("--expect-no-changes")


def test_a_storage_class_change_gives_a_new_claim_beside_the_kept_one(local_cluster: Any, tmp_path: Path) -> None:
    """A claim's class is immutable: the API server refuses the change in place (422, k8s.io/kubernetes
    ``pkg/apis/core/validation/validation.go`` ValidatePersistentVolumeClaimUpdate), so the claim's
    name follows its class (components/kubernetes/manifests/common.py object_names): a class change
    is a new claim beside the kept one, and the Deployment mounts the new one."""
    from kubernetes.client.exceptions import ApiException

    gateway = "class-change-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    for storage_class in ("class-change-a", "class-change-b"):
        cluster.apply(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": storage_class},
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "Immediate",
            }
        )
        cluster.static_volume(f"{storage_class}-volume", storage_class=storage_class)
    backup = {"enabled": True, "storageClassName": "class-change-a", "accessMode": "ReadWriteOnce"}
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup=backup)
    stack.up()
    (old,) = cluster.resource("v1", "PersistentVolumeClaim").get(namespace=gateway).items
    changed = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": old.metadata.name, "namespace": gateway},
        "spec": {"storageClassName": "class-change-b"},
    }
    with pytest.raises(ApiException) as refused:
        cluster.apply(changed, dry_run=True)
    assert refused.value.status == 422

    stack.update(backup={**backup, "storageClassName": "class-change-b"})
    stack.up()
    claims = {c.metadata.name: c for c in cluster.resource("v1", "PersistentVolumeClaim").get(namespace=gateway).items}
    assert old.metadata.name in claims and claims[old.metadata.name].metadata.uid == old.metadata.uid  # kept
    (new_name,) = set(claims) - {old.metadata.name}
    assert claims[new_name].spec.storageClassName == "class-change-b"
    wait_for(
        "the new claim to bind",
        lambda: cluster.get("v1", "PersistentVolumeClaim", new_name, gateway).status.phase == "Bound",
        timeout=60,
    )
    volumes = cluster.get("apps/v1", "Deployment", gateway, gateway).spec.template.spec.volumes
    assert [v.persistentVolumeClaim.claimName for v in volumes if v.persistentVolumeClaim] == [new_name]
    assert deployment_available(cluster, gateway, gateway)
    stack.preview("--expect-no-changes")


def test_a_kubeconfig_moved_with_the_same_content_changes_nothing(local_cluster: Any, tmp_path: Path) -> None:
    """The provider gets the kubeconfig's content pinned to its context, with its files embedded
    (components/kubernetes/kubeconfig.py), never a path: a file that moves with the same content
    changes nothing, and no path is in state. (Content that leads to another cluster is another
    input, which the cluster guard refuses: tests/integration/test_cluster_pinning.py.)"""
    first = tmp_path / "first" / "config"
    first.parent.mkdir()
    shutil.copy(local_cluster.kubeconfig, first)
    stack = LocalStack(tmp_path, None, "moved-config-gw", replicas=1, backup={"enabled": False})
    stack.up(env={"KUBECONFIG": str(first)})
    second = tmp_path / "elsewhere" / "kube.yaml"
    second.parent.mkdir()
    shutil.move(first, second)
    stack.preview("--expect-no-changes", env={"KUBECONFIG": str(second)})
    assert str(first) not in json.dumps(stack.state())


@pytest.fixture
def second_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    cluster = lc.LocalCluster(tmp_path_factory.mktemp("second-cluster"), zones=("zone-a",))
    try:
        yield cluster.start(timeout=180)
    finally:
        cluster.stop()


def test_a_current_context_that_now_names_another_cluster_is_refused(
    local_cluster: Any, second_cluster: Path, tmp_path: Path
) -> None:
    """With ``kubernetes.context`` unset the provider follows the kubeconfig's current context, and a
    constant ``clusterIdentifier`` makes a new cluster a mere provider update (4.25.0 ``provider.go``
    DiffConfig): the cluster guard compares the ``kube-system`` uid with the one it recorded."""
    merged = tmp_path / "kubeconfig"
    first = yaml.safe_load(Path(local_cluster.kubeconfig).read_text())
    other = yaml.safe_load(second_cluster.read_text())
    for document, name in ((first, "first"), (other, "second")):
        document["clusters"][0]["name"] = document["contexts"][0]["context"]["cluster"] = name
        document["users"][0]["name"] = document["contexts"][0]["context"]["user"] = name
        document["contexts"][0]["name"] = name
    combined = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": first["clusters"] + other["clusters"],
        "users": first["users"] + other["users"],
        "contexts": first["contexts"] + other["contexts"],
        "current-context": "first",
    }
    merged.write_text(yaml.safe_dump(combined))
    stack = LocalStack(tmp_path, None, "context-gw", replicas=1, backup={"enabled": False})
    stack.up(env={"KUBECONFIG": str(merged)})
    combined["current-context"] = "second"
    merged.write_text(yaml.safe_dump(combined))
    for run in (
        stack.preview(check=False, env={"KUBECONFIG": str(merged)}),
        stack.up(check=False, env={"KUBECONFIG": str(merged)}),
    ):
        output = run.stdout + run.stderr
        assert run.returncode != 0
        assert "the kubeconfig now reaches another cluster" in output and "kubernetes.context" in output
    assert Cluster(second_cluster).find("v1", "Namespace", "context-gw") is None  # nothing reached it
    # Naming the context the stack was deployed with brings it back.
    stack.update(kubernetes={"context": "first"})
    stack.up(env={"KUBECONFIG": str(merged)})
    stack.preview("--expect-no-changes", env={"KUBECONFIG": str(merged)})


def test_a_priority_class_value_change_replaces_the_class(local_cluster: Any, tmp_path: Path) -> None:
    """``value`` is immutable (k8s.io/kubernetes ``pkg/apis/scheduling/validation``
    ValidatePriorityClassUpdate: the API server answers 422); the stack replaces the class."""
    gateway = "priority-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    priority: dict[str, Any] = {"name": "apim-gateway-priority-test", "create": True, "value": 1000}
    stack = LocalStack(
        tmp_path,
        local_cluster.kubeconfig,
        gateway,
        replicas=1,
        backup={"enabled": False},
        scheduling={"priorityClass": priority},
    )
    stack.up()
    stack.update(scheduling={"priorityClass": {**priority, "value": 2000}})
    stack.up()
    assert cluster.get("scheduling.k8s.io/v1", "PriorityClass", priority["name"]).value == 2000
    stack.preview("--expect-no-changes")
    stack.destroy()


def test_a_failed_deploy_does_not_block_the_next_token_renewal(local_cluster: Any, tmp_path: Path) -> None:
    """A LoadBalancer Service never gets an address here, so its create fails after the timeout its
    annotation sets (4.25.0 ``metadata/overrides.go`` TimeoutDuration, ``await/service.go``). The
    engine keeps it with its initialization error and proposes an ``update`` with no diff on the
    next run; the renewal's plan check lets that step pass untargeted, so the renewal still runs."""
    gateway = "failed-gw"
    service = {"type": "LoadBalancer", "annotations": {"pulumi.com/timeoutSeconds": "10"}}
    stack = LocalStack(
        tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup={"enabled": False}, service=service
    )
    failed = stack.up(check=False)
    assert failed.returncode != 0
    traffic = [r for r in stack.resources() if r["urn"].endswith(f"::{gateway}-traffic")]
    assert traffic and traffic[0].get("initErrors")

    stack.set_token(placeholder_token(gateway, serial=1))
    preview = json.loads(stack.preview("--json").stdout)
    targets, problems = renewal.check_plan(preview)
    assert problems == []
    assert sorted(urn.rsplit("::", 1)[-1] for urn in targets) == [f"{gateway}-deployment", f"{gateway}-token"]
    stack.run("up", "--yes", "--skip-preview", "--non-interactive", *(f"--target={urn}" for urn in targets))
    stack.destroy()


def test_a_cluster_identifier_change_on_a_live_stack_is_refused(local_cluster: Any, tmp_path: Path) -> None:
    """A new ``clusterIdentifier`` replaces the provider (4.25.0 ``provider.go`` DiffConfig :412-414),
    so the engine replaces every object create-before-delete (pulumi ``step_generator.go``
    providerChanged): the creates upsert the live objects, then the deletes remove them. Refused."""
    gateway = "identifier-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=1, backup={"enabled": False})
    stack.up()
    uid = cluster.get("apps/v1", "Deployment", gateway, gateway).metadata.uid
    stack.update(kubernetes={"clusterIdentifier": "another-name"})
    for run in (stack.preview(check=False), stack.up(check=False)):
        assert run.returncode != 0
        assert "clusterIdentifier: changing it from 'apim-gateway' to 'another-name'" in run.stdout + run.stderr
    assert cluster.get("apps/v1", "Deployment", gateway, gateway).metadata.uid == uid
    stack.update(kubernetes={"clusterIdentifier": None})
    stack.preview("--expect-no-changes")


def test_an_incident_scale_and_image_change_are_reverted_by_the_next_update_of_the_deployment(
    local_cluster: Any, tmp_path: Path
) -> None:
    """What ``pulumi.com/patchForce`` on the Deployment does to a ``kubectl scale`` and a ``kubectl set
    image`` made during an incident (docs/cluster-lifecycle.md). The provider diffs the new inputs
    against the state's last outputs, not the live object (4.25.0 ``provider/provider.go`` Diff,
    :1304-1320), so without a refresh the change is invisible and a preview shows nothing; the next
    update of the Deployment (a token renewal rolls the pods through ``checksum/credentials``) is a
    forced server-side apply of the whole spec, which sets both back without a conflict."""
    from kubernetes.client import AppsV1Api

    gateway = "incident-gw"
    cluster = Cluster(local_cluster.kubeconfig)
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, gateway, replicas=2, backup={"enabled": False})
    stack.up()
    image = cluster.get("apps/v1", "Deployment", gateway, gateway).spec.template.spec.containers[0].image
    apps = AppsV1Api(cluster.api)
    apps.patch_namespaced_deployment_scale(gateway, gateway, {"spec": {"replicas": 3}}, field_manager="kubectl")
    apps.patch_namespaced_deployment(
        gateway,
        gateway,
        [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "example.com/incident:1"}],
        field_manager="kubectl-set",
    )
    stack.preview("--expect-no-changes")  # no refresh: the state does not know
    refreshed = stack.preview("--refresh", "--expect-no-changes", check=False)
    # with a refresh (deploy.yml's), the Deployment shows as an update: the next deploy reverts it
    assert refreshed.returncode != 0 and f"{gateway}-deployment" in refreshed.stdout, refreshed.stdout

    stack.set_token(placeholder_token(gateway, serial=1))
    stack.up()
    deployment = cluster.get("apps/v1", "Deployment", gateway, gateway)
    assert (deployment.spec.replicas, deployment.spec.template.spec.containers[0].image) == (2, image)
    stack.destroy()
