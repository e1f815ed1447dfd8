"""Each identity of docs/delivery.md runs its job as itself, with only the shipped RBAC
(``python -m components.kubernetes.rbac``), on the local API server (``--authorization-mode=RBAC``,
scripts/local_cluster.py), with the real engine and Kubernetes plugin 4.25.0.

Every identity is a ServiceAccount with a token of its own (``kubectl create token``, the TokenRequest
API) in a kubeconfig holding nothing else. The stack's ``kubernetes.kubeconfigPath`` names one file;
each job writes its identity's kubeconfig there, as each CI job fetches its own. In order: the deploy
identity deploys; the pull-request identity previews the deployed stack without and with a change
(exit 0, and nothing the stack owns changed: resourceVersions); an identity with only ``view`` in the
namespace (the issue's) gets one message naming the verb, the object, itself and the shipped RBAC;
the renewal identity renews the token (preview, plan check, targeted up) and changes only the token
Secret and the Deployment; the deploy identity destroys the stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster, delete_namespaces, deployment_available, wait_for
from engine import LocalStack, placeholder_token
from identities import act_as, shipped_rbac

from components.kubernetes import rbac
from scripts import local_cluster as lc
from scripts import renewal

pytestmark = pytest.mark.integration

GW = "rbac-gw"
CI = "rbac-ci"
"""The namespace of the identities' ServiceAccounts (a CI system's identities live outside the gateway's)."""
API_VERSIONS = {
    "": "v1",
    "apps": "apps/v1",
    "policy": "policy/v1",
    "networking.k8s.io": "networking.k8s.io/v1",
    "autoscaling": "autoscaling/v2",
    "scheduling.k8s.io": "scheduling.k8s.io/v1",
    "storage.k8s.io": "storage.k8s.io/v1",
}


class Jobs:
    """The deployed stack, and the kubeconfig file its ``kubeconfigPath`` names, rewritten per job."""

    def __init__(self, stack: LocalStack, admin: Path, path: Path) -> None:
        self.stack, self.admin, self.path = stack, admin, path

    def as_identity(self, identity: str) -> None:
        """The job's credential: a fresh token of the identity's ServiceAccount in the token file."""
        act_as(self.admin, self.path, identity, CI)

    def owned(self) -> dict[str, tuple[str, str, str, str | None]]:
        """Every object the stack owns (what any of its identities could write): key → (apiVersion,
        kind, name, namespace)."""
        config, _ = rbac.load_stack("local", self.stack.directory)
        return {
            f"{obj.resource}/{obj.namespace}/{obj.name}": (
                API_VERSIONS[obj.group],
                next(kind for kind, plural in rbac.PLURAL.items() if plural == obj.resource),
                obj.name,
                obj.namespace or None,
            )
            for obj in rbac.owned_objects(config.gateways[0])
        }

    def live(self, cluster: Cluster) -> dict[str, Any]:
        return {key: cluster.get(*where) for key, where in self.owned().items()}

    def versions(self, cluster: Cluster) -> dict[str, str]:
        """resourceVersion of every owned object: any write at all changes it."""
        return {key: live.metadata.resourceVersion for key, live in self.live(cluster).items()}

    def writes(self, cluster: Cluster) -> dict[str, Any]:
        """Every owned object's writes other than to its status: the managed fields' entries (manager,
        operation, time, fields) without ``subresource: status``, which controllers write (a rollout
        changes the PodDisruptionBudget's status; Kubernetes docs, "Server-Side Apply", managed fields)."""
        return {
            key: [
                entry
                for entry in live.to_dict()["metadata"].get("managedFields") or []
                if entry.get("subresource") != "status"
            ]
            for key, live in self.live(cluster).items()
        }


@pytest.fixture(scope="module")
def jobs(local_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    admin = local_cluster.kubeconfig
    lc.kubectl(admin, "create", "namespace", CI)
    for identity in (*rbac.IDENTITIES, "viewer"):
        lc.kubectl(admin, "create", "serviceaccount", identity, "-n", CI)
    Cluster(admin).static_volume(f"{GW}-config-backup")
    directory = tmp_path_factory.mktemp("rbac")
    path = directory / "identity.kubeconfig"
    stack = LocalStack(directory, path, GW)
    lc.kubectl(admin, "apply", "-f", "-", stdin=shipped_rbac(stack, "deploy", CI))
    yield Jobs(stack, admin, path)
    # The kept namespace too: no later test of the session may meet a gateway namespace it does not own.
    delete_namespaces(Cluster(admin), [CI, GW])


def test_the_deploy_identity_deploys_the_local_stack(jobs: Jobs, local_cluster: Any) -> None:
    jobs.as_identity("deploy")
    jobs.stack.up()
    cluster = Cluster(local_cluster.kubeconfig)
    wait_for("deployment available", lambda: deployment_available(cluster, GW, GW), timeout=120)
    for identity in ("preview", "renewal"):  # their Roles live in the namespace the deploy made
        lc.kubectl(local_cluster.kubeconfig, "apply", "-f", "-", stdin=shipped_rbac(jobs.stack, identity, CI))


def test_the_pull_request_identity_previews_without_and_with_a_change_and_writes_nothing(
    jobs: Jobs, local_cluster: Any
) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    before = jobs.versions(cluster)
    jobs.as_identity("preview")
    unchanged = json.loads(jobs.stack.preview("--json").stdout)
    assert {step["op"] for step in unchanged["steps"]} == {"same"}
    jobs.stack.update(replicas=3)
    jobs.stack.set_token(placeholder_token(GW, serial=7))
    try:
        changed = json.loads(jobs.stack.preview("--json").stdout)  # exit 0: check=True
    finally:
        jobs.stack.update(replicas=2)
        jobs.stack.set_token(placeholder_token(GW))
    ops = {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in changed["steps"] if step["op"] != "same"}
    assert ops == {f"{GW}-token": "update", f"{GW}-deployment": "update"}
    assert jobs.versions(cluster) == before


def test_an_identity_without_the_shipped_rights_gets_one_message_naming_the_right(
    jobs: Jobs, local_cluster: Any
) -> None:
    """The issue's pull-request identity: ``view`` bound in the gateway namespace, nothing else."""
    lc.kubectl(local_cluster.kubeconfig, "create", "rolebinding", "viewer", "-n", GW, "--clusterrole=view",
               f"--serviceaccount={CI}:viewer")  # fmt: skip
    jobs.as_identity("viewer")
    run = jobs.stack.preview(check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert (
        f"apim-gateway:gateways({GW}).kubernetes: user 'system:serviceaccount:{CI}:viewer' may not get "
        "namespaces (core) kube-system, which the cluster guard reads to know which cluster this is. "
        "Grant the job's identity its shipped rights: 'python -m components.kubernetes.rbac --stack local "
        "--identity preview|deploy|renewal" in output
    )
    assert "Traceback" not in output and "Exception calling application" not in output
    # One failure (the engine shows it on the resource's row and once under Diagnostics).
    assert output.partition("Diagnostics:")[2].count("may not get") == 1


def test_the_renewal_identity_changes_only_the_token_secret_and_the_deployment(jobs: Jobs, local_cluster: Any) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    before = jobs.writes(cluster)
    jobs.as_identity("renewal")
    jobs.stack.set_token(placeholder_token(GW, serial=1))
    # The renewal job's steps (renew-token.yml, scripts/renewal.py): the preview, the plan check, the targeted up.
    targets, problems = renewal.check_plan(json.loads(jobs.stack.preview("--json").stdout))
    assert problems == []
    assert sorted(urn.rsplit("::", 1)[-1] for urn in targets) == [f"{GW}-deployment", f"{GW}-token"]
    jobs.stack.run("up", "--yes", "--skip-preview", "--non-interactive", *(f"--target={urn}" for urn in targets))
    after = jobs.writes(cluster)
    changed = sorted(key for key in before if before[key] != after[key])
    assert changed == [f"deployments/{GW}/{GW}", f"secrets/{GW}/{GW}-token"]


def test_the_deploy_identity_destroys_the_stack(jobs: Jobs, local_cluster: Any) -> None:
    jobs.as_identity("deploy")
    cluster = Cluster(local_cluster.kubeconfig)
    owned = jobs.owned()
    jobs.stack.destroy()
    left = {key for key, where in owned.items() if cluster.find(*where) is not None}
    # backup.keepOnDestroy (true by default) keeps the claim and its namespace, with the bindings in it.
    (claim,) = [key for key in owned if key.startswith("persistentvolumeclaims/")]
    assert left == {f"namespaces//{GW}", claim}
