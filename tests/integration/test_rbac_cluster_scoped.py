"""The deploy identity of docs/delivery.md, with only the RBAC the project ships for the stack, on a
stack shaped like prod (Pulumi.prod.yaml): a StorageClass of its own for the backup claim
(``backup.createStorageClass``), kept on destroy (``backup.keepOnDestroy``), and a PriorityClass of
its own (``scheduling.priorityClass.create``). Those two are cluster-scoped, so the shipped rights
for them are a ClusterRole (components/kubernetes/rbac.py): ``create`` on the kind (RBAC cannot
limit a create by name: Kubernetes docs, "Using RBAC Authorization", Referring to resources) and
every other verb on the stack's own names only. The job runs as a ServiceAccount with a token of
its own, on the local API server (``--authorization-mode=RBAC``), with the real engine and
Kubernetes plugin 4.25.0: ``pulumi up`` then ``pulumi destroy``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster, delete_namespaces, deployment_available, wait_for
from engine import LocalStack
from identities import act_as, shipped_rbac

from components.kubernetes.ownership import OWNER_ANNOTATION
from scripts import local_cluster as lc

pytestmark = pytest.mark.integration

GW = "classes-rbac-gw"
CI = "classes-rbac-ci"
STORAGE = f"{GW}-backup"
PRIORITY = f"{GW}-critical"


def can_i(admin: Path, verb: str, what: str) -> bool:
    """The API server's own answer for the deploy identity (``kubectl auth can-i --as``, a
    SubjectAccessReview; it exits 1 with "no")."""
    kubectl = lc.find_binaries(names=(lc.KUBECTL,))[lc.KUBECTL]
    identity = f"--as=system:serviceaccount:{CI}:deploy"
    done = subprocess.run(
        [kubectl, f"--kubeconfig={admin}", "auth", "can-i", verb, what, identity],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    answer = done.stdout.strip()
    assert answer in ("yes", "no"), done.stderr
    return answer == "yes"


def test_the_deploy_identity_creates_the_stacks_classes_and_no_other_with_the_shipped_rights(
    local_cluster: Any, tmp_path: Path
) -> None:
    admin = local_cluster.kubeconfig
    cluster = Cluster(admin)
    lc.kubectl(admin, "create", "namespace", CI)
    lc.kubectl(admin, "create", "serviceaccount", "deploy", "-n", CI)
    cluster.static_volume(f"{GW}-volume", storage_class=STORAGE)  # binds the claim (no provisioner here)
    path = tmp_path / "identity.kubeconfig"
    stack = LocalStack(
        tmp_path,
        path,
        GW,
        replicas=1,
        backup={
            "enabled": True,
            "storageClassName": STORAGE,
            "createStorageClass": True,
            "accessMode": "ReadWriteOnce",
            "keepOnDestroy": True,
        },
        scheduling={"priorityClass": {"name": PRIORITY, "create": True, "value": 1000000}},
    )
    try:
        lc.kubectl(admin, "apply", "-f", "-", stdin=shipped_rbac(stack, "deploy", CI))
        # Named rights only: the identity may change the stack's classes and no others.
        assert can_i(admin, "delete", f"storageclasses/{STORAGE}")
        assert can_i(admin, "patch", f"priorityclasses/{PRIORITY}")
        assert not can_i(admin, "delete", "storageclasses/standard")
        assert not can_i(admin, "patch", "priorityclasses/system-cluster-critical")

        act_as(admin, path, "deploy", CI)
        stack.up()
        wait_for("deployment available", lambda: deployment_available(cluster, GW, GW), timeout=120)
        for api_version, kind, name in (
            ("storage.k8s.io/v1", "StorageClass", STORAGE),
            ("scheduling.k8s.io/v1", "PriorityClass", PRIORITY),
        ):
            live = cluster.get(api_version, kind, name)
            assert live.metadata.annotations[OWNER_ANNOTATION] == stack.owner
        deployment = cluster.get("apps/v1", "Deployment", GW, GW)
        assert deployment.spec.template.spec.priorityClassName == PRIORITY
        stack.preview("--expect-no-changes")

        act_as(admin, path, "deploy", CI)
        stack.destroy()
        # Both classes are the stack's and not retained: destroy deletes them, as the same identity.
        assert cluster.find("storage.k8s.io/v1", "StorageClass", STORAGE) is None
        assert cluster.find("scheduling.k8s.io/v1", "PriorityClass", PRIORITY) is None
        # keepOnDestroy: the namespace and the claim stay, with the configuration backup.
        assert cluster.find("v1", "Namespace", GW) is not None
        assert cluster.find("apps/v1", "Deployment", GW, GW) is None
    finally:
        delete_namespaces(cluster, [CI, GW])
