"""No Pulumi operation reaches another cluster (issue 21 items 1, 4, 6, 7), on the real engine and
Kubernetes plugin (4.25.0) with two local API servers.

``refresh``, ``destroy`` and the untargeted resources of ``up --target`` run no program and no
``check``: the engine configures the provider with its stored inputs (pulumi v3.259.0
``pkg/resource/deploy/providers/registry.go``:788-868 ``Same``) and, for ``--target``, keeps
untargeted resources as they are (``step_generator.go``:997-1074, :1313-1319). Only the stored
kubeconfig can pin them to the cluster the stack deployed to; with ``kubeconfig: ""`` the plugin
loaded whatever kubeconfig was current (4.25.0 ``provider/pkg/provider/provider.go``:758-792).
docs/cluster-lifecycle.md describes the design these tests hold."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import Cluster
from engine import LocalStack, install_program

from scripts import local_cluster as lc

pytestmark = pytest.mark.integration

BEFORE_PINNING = "cb941dfab71595e06c9761e1bdfdbccb3f94557f"
"""A commit whose program passed ``kubeconfig: ""`` and ``deleteUnreachable: false``."""
COPIED_KINDS = ("Namespace", "ConfigMap", "Secret", "Deployment")
"""The stack's objects copied by name to the other cluster, where nothing may touch them."""


def named(kubeconfig: Path, name: str, current: str | None = None) -> dict[str, Any]:
    """The local cluster's kubeconfig with its one context, cluster and user all called ``name``."""
    document: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    document["clusters"][0]["name"] = document["contexts"][0]["context"]["cluster"] = name
    document["users"][0]["name"] = document["contexts"][0]["context"]["user"] = name
    document["contexts"][0]["name"] = name
    document["current-context"] = current or name
    return document


def reaching(path: Path, cluster_kubeconfig: Path, context: str = "local") -> Path:
    """Write ``path`` so that ``context`` (the current context) reaches that cluster."""
    path.write_text(yaml.safe_dump(named(cluster_kubeconfig, context)))
    return path


@pytest.fixture
def other_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lc.LocalCluster]:
    """A second API server (its own CA and etcd); stopped in any case."""
    cluster = lc.LocalCluster(tmp_path_factory.mktemp("other-cluster"), zones=("zone-a",))
    try:
        cluster.start(timeout=180)
        yield cluster
    finally:
        cluster.stop()


def kubernetes_objects(stack: LocalStack) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of the stack's objects of ``COPIED_KINDS``, from its state."""
    found = []
    for resource in stack.resources():
        kind = resource["type"].rsplit(":", 1)[-1]
        if resource["type"].startswith("kubernetes:") and kind in COPIED_KINDS:
            metadata = resource["outputs"]["metadata"]
            found.append((kind, metadata.get("namespace") or "", metadata["name"]))
    return found


def copy_to(objects: list[tuple[str, str, str]], source: Path, target: Path) -> None:
    """The same objects, same names and annotations (the stack's ownership one too: the worst
    case for the guard), applied to the other cluster with kubectl."""
    for kind, namespace, name in sorted(objects, key=lambda o: o[0] != "Namespace"):
        scope = ["-n", namespace] if namespace else []
        obj = json.loads(lc.kubectl(source, "get", kind, name, *scope, "-o", "json"))
        metadata = obj["metadata"]
        obj["metadata"] = {k: metadata[k] for k in ("name", "namespace", "labels", "annotations") if k in metadata}
        obj.pop("status", None)
        lc.kubectl(target, "apply", "-f", "-", stdin=json.dumps(obj))


def versions(kubeconfig: Path, objects: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(uid, resourceVersion) of each object: any change, delete or re-create shows."""
    seen = {}
    for kind, namespace, name in objects:
        scope = ["-n", namespace] if namespace else []
        metadata = json.loads(lc.kubectl(kubeconfig, "get", kind, name, *scope, "-o", "json"))["metadata"]
        seen[(kind, namespace, name)] = (metadata["uid"], metadata["resourceVersion"])
    return seen


def state_uids(stack: LocalStack) -> dict[tuple[str, str, str], str]:
    return {
        (
            r["type"].rsplit(":", 1)[-1],
            r["outputs"]["metadata"].get("namespace") or "",
            r["outputs"]["metadata"]["name"],
        ): r["outputs"]["metadata"]["uid"]
        for r in stack.resources()
        if r["type"].startswith("kubernetes:") and r["type"].rsplit(":", 1)[-1] in COPIED_KINDS
    }


def provider_server(stack: LocalStack) -> str:
    """The API server the provider's stored kubeconfig leads to."""
    exported = json.loads(stack.run("stack", "export", "--show-secrets").stdout)
    (provider,) = [r for r in exported["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes"]
    return str(
        json.loads(json.loads(provider["inputs"]["kubeconfig"]["plaintext"]))["clusters"][0]["cluster"]["server"]
    )


def test_no_operation_reaches_the_cluster_now_behind_the_same_context(
    local_cluster: Any, other_cluster: lc.LocalCluster, tmp_path: Path
) -> None:
    """After the first ``up`` to A, the context ``local`` reaches B, which holds the stack's objects
    under the same names (with its ownership annotation). ``refresh``, ``preview``, ``up --target``
    and ``destroy`` never change or delete anything on B; A's state stays consistent."""
    first, second = Path(local_cluster.kubeconfig), other_cluster.kubeconfig
    kubeconfig = reaching(tmp_path / "kubeconfig", first)
    env = {"KUBECONFIG": str(kubeconfig)}
    stack = LocalStack(tmp_path, None, "pin-gw", replicas=1, backup={"enabled": False})
    stack.up(env=env)
    objects = kubernetes_objects(stack)
    assert {kind for kind, _, _ in objects} == set(COPIED_KINDS)
    deployed = state_uids(stack)
    assert {key: uid for key, (uid, _) in versions(first, objects).items()} == deployed
    copy_to(objects, first, second)
    on_b = versions(second, objects)
    reaching(kubeconfig, second)  # the same context name now reaches B

    # refresh runs no check: the provider's stored kubeconfig keeps it on A.
    refreshed = stack.run("refresh", "--yes", "--non-interactive", "--skip-preview", env=env)
    assert "pin-gw" in refreshed.stdout
    assert state_uids(stack) == deployed
    # preview: the cluster guard reads B's identity with the content the provider would get, and refuses.
    preview = stack.preview(check=False, env=env)
    assert preview.returncode != 0 and "the kubeconfig now reaches another cluster" in preview.stdout + preview.stderr
    # up --target: the engine targets the provider implicitly but stubs the guard's check
    # (step_generator.go:1286-1300, :1313-1319): the provider refuses content the guard did not check.
    deployment_urn = next(r["urn"] for r in stack.resources() if r["type"] == "kubernetes:apps/v1:Deployment")
    targeted = stack.run(
        "up", "--yes", "--skip-preview", "--non-interactive", "--target", deployment_urn, check=False, env=env
    )
    assert targeted.returncode != 0
    assert "than the one the cluster guard last checked" in targeted.stdout + targeted.stderr
    assert provider_server(stack) == local_cluster.server  # still pinned to A
    assert state_uids(stack) == deployed and versions(second, objects) == on_b
    # Back on A: the state is still A's, nothing to change.
    reaching(kubeconfig, first)
    stack.preview("--expect-no-changes", env=env)
    # destroy with the context on B again: it deletes A's objects, never B's.
    reaching(kubeconfig, second)
    stack.run("destroy", "--yes", "--skip-preview", "--non-interactive", env=env)
    assert versions(second, objects) == on_b
    namespace = json.loads(lc.kubectl(first, "get", "namespaces", "-o", "json"))["items"]
    assert all(n["metadata"]["name"] != "pin-gw" or n["status"]["phase"] == "Terminating" for n in namespace)
    assert not [r for r in stack.resources() if r["type"].startswith("kubernetes:")]


def test_with_several_kubeconfig_files_the_guard_and_provider_use_the_first_current_context(
    local_cluster: Any, other_cluster: lc.LocalCluster, tmp_path: Path
) -> None:
    """client-go takes ``current-context`` from the first file that sets it (``loader.go``:184-195);
    the Python client the guard used took the last one (kubernetes ``kube_config.py``:689), so the
    guard recorded B while the provider deployed to A. Now both read the one pinned kubeconfig."""
    first, second = Path(local_cluster.kubeconfig), other_cluster.kubeconfig
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    file_a = tmp_path / "a" / "config"
    file_a.write_text(yaml.safe_dump(named(first, "first")))
    file_b = tmp_path / "b" / "config"
    file_b.write_text(yaml.safe_dump(named(second, "second")))
    stack = LocalStack(tmp_path, None, "list-gw", replicas=1, backup={"enabled": False})
    stack.up(env={"KUBECONFIG": f"{file_a}{os.pathsep}{file_b}"})
    assert Cluster(first).find("apps/v1", "Deployment", "list-gw", "list-gw") is not None
    assert Cluster(second).find("v1", "Namespace", "list-gw") is None
    guard = next(r for r in stack.resources() if r["urn"].endswith("::list-gw-cluster"))
    assert guard["outputs"]["cluster"] == Cluster(first).get("v1", "Namespace", "kube-system").metadata.uid
    # The pinned content is the first file's context alone: the same as from that file by itself.
    stack.preview("--expect-no-changes", env={"KUBECONFIG": str(file_a)})
    stack.run("destroy", "--yes", "--skip-preview", "--non-interactive", env={"KUBECONFIG": str(file_a)})


def test_a_deleted_cluster_is_left_with_the_providers_own_variable(
    other_cluster: lc.LocalCluster, tmp_path: Path
) -> None:
    """The provider's way out (``provider.go``:538-552, its message at :2278-2281): with
    ``deleteUnreachable`` absent from the stored inputs, ``PULUMI_K8S_DELETE_UNREACHABLE=true`` makes
    ``destroy`` drop the objects of a cluster that is gone; without it ``destroy`` fails and keeps them."""
    kubeconfig = reaching(tmp_path / "kubeconfig", other_cluster.kubeconfig)
    env = {"KUBECONFIG": str(kubeconfig)}
    stack = LocalStack(tmp_path, None, "gone-gw", replicas=1, backup={"enabled": False})
    stack.up(env=env)
    provider = next(r for r in stack.resources() if r["type"] == "pulumi:providers:kubernetes")
    assert "deleteUnreachable" not in provider["inputs"]
    kept = [r["urn"] for r in stack.resources() if r["type"].startswith("kubernetes:")]
    other_cluster.stop()  # the cluster is gone; its address refuses connections
    failed = stack.run("destroy", "--yes", "--skip-preview", "--non-interactive", check=False, env=env)
    assert failed.returncode != 0 and "PULUMI_K8S_DELETE_UNREACHABLE" in failed.stdout + failed.stderr
    assert [r["urn"] for r in stack.resources() if r["type"].startswith("kubernetes:")] == kept
    stack.run(
        "destroy", "--yes", "--skip-preview", "--non-interactive", env={**env, "PULUMI_K8S_DELETE_UNREACHABLE": "true"}
    )
    assert not [r for r in stack.resources() if r["type"].startswith("kubernetes:")]


def test_a_stack_deployed_with_the_ambient_kubeconfig_gets_it_pinned_by_a_provider_update(
    local_cluster: Any, tmp_path: Path
) -> None:
    """Its first preview shows two updates, the cluster guard's (the endpoint it checked) and the provider's (new ``kubeconfig``, no
    ``deleteUnreachable``): with ``clusterIdentifier`` unchanged ``DiffConfig`` replaces nothing
    (4.25.0 ``provider.go``:408-424), and a provider update changes no object."""
    kubeconfig = reaching(tmp_path / "kubeconfig", Path(local_cluster.kubeconfig))
    env = {"KUBECONFIG": str(kubeconfig)}
    stack = LocalStack(tmp_path, None, "old-gw", commit=BEFORE_PINNING, replicas=1, backup={"enabled": False})
    stack.up(env=env)
    before = state_uids(stack)
    install_program(stack.directory)
    preview = stack.preview("--diff", env=env)
    # The provider and the cluster guard (which now records the endpoint it checked); nothing else.
    assert "~ 2 to update" in preview.stdout and "replace" not in preview.stdout
    assert "~ pulumi-python:dynamic/apim-gateway:ClusterGuard: (update)" in preview.stdout
    assert "~ pulumi:providers:kubernetes: (update)" in preview.stdout
    assert '- deleteUnreachable: "false"' in preview.stdout and "kubeconfig       : [secret]" in preview.stdout
    stack.up(env=env)
    assert state_uids(stack) == before
    assert provider_server(stack) == local_cluster.server
    stack.preview("--expect-no-changes", env=env)
    stack.run("destroy", "--yes", "--skip-preview", "--non-interactive", env=env)
