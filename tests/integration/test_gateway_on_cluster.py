"""The `local` stack deployed by the real engine and Kubernetes plugin (4.25.0, built by
scripts/toolchain.sh) to the local API server: what ``pulumi up`` creates on an empty cluster,
that a second preview and a refresh find nothing to do, and that a new token updates the Secret in
place and rolls the pods without ever going below the replicas the rollout settings keep."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_client import (
    Cluster,
    delete_namespaces,
    deployment_available,
    kubernetes_objects,
    stack_config,
    wait_for,
)
from engine import TOKEN_SIGNATURE, LocalStack, placeholder_token
from harness import run_main

from scripts import local_cluster as lc
from scripts import renewal

pytestmark = pytest.mark.integration
NS = "apim-gateway"
GW = "real-gw"


@pytest.fixture(scope="module")
def deployed(local_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStack, Cluster]:
    """One `pulumi up` of the local stack (backup on, bound to a static volume)."""
    cluster = Cluster(local_cluster.kubeconfig)
    cluster.static_volume(f"{GW}-config-backup")
    stack = LocalStack(tmp_path_factory.mktemp("real-gw"), local_cluster.kubeconfig, GW)
    stack.up()
    return stack, cluster


def test_a_first_up_on_an_empty_cluster_creates_every_object_and_waits_for_the_rollout(
    deployed: tuple[LocalStack, Cluster],
) -> None:
    stack, cluster = deployed
    # The Deployment awaiter returned only once the rollout was done (await/deployment.go).
    assert deployment_available(cluster, GW, GW)
    kinds = sorted(r["type"] for r in stack.resources() if r["type"].startswith("kubernetes:"))
    assert kinds == sorted(
        [
            "kubernetes:core/v1:NamespacePatch",  # keepOnDestroy (backup on): a retained Patch resource
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:PersistentVolumeClaimPatch",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:Service",
            "kubernetes:policy/v1:PodDisruptionBudget",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        ]
    )
    namespace = cluster.get("v1", "Namespace", GW)
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace.metadata.annotations["apim-gateway/stack"] == stack.owner

    deployment = cluster.get("apps/v1", "Deployment", GW, GW)
    assert deployment.spec.replicas == 2
    assert deployment.spec.strategy.rollingUpdate.maxUnavailable == 0
    pod = deployment.spec.template.spec
    container = pod.containers[0]
    assert container.image == "mcr.microsoft.com/azure-api-management/gateway:2.12.1"
    for probe in (container.readinessProbe, container.livenessProbe, container.startupProbe):
        assert probe.httpGet.path == "/status-0123456789abcdef"
    assert pod.securityContext.fsGroup == 1001
    assert {m.name: m.mountPath for m in container.volumeMounts}["config-backup"] == "/apim/config"

    traffic = cluster.get("v1", "Service", f"{GW}-live-traffic", GW)
    assert traffic.spec.type == "NodePort" and traffic.spec.externalTrafficPolicy == "Local"
    assert cluster.get("v1", "Service", f"{GW}-instance-discovery", GW).spec.clusterIP == "None"
    (claim,) = cluster.resource("v1", "PersistentVolumeClaim").get(namespace=GW).items
    assert claim.status.phase == "Bound"
    secret = cluster.get("v1", "Secret", f"{GW}-token", GW)
    assert base64.b64decode(secret.data["value"]).decode() == placeholder_token(GW)
    settings = cluster.get("v1", "ConfigMap", f"{GW}-env", GW).data
    assert settings["config.service.endpoint"] == "local-apim.configuration.azure-api.net"
    assert "GatewayKey" not in str(settings)


def test_the_token_is_in_neither_state_nor_outputs_in_plain_text(deployed: tuple[LocalStack, Cluster]) -> None:
    stack, _ = deployed
    assert TOKEN_SIGNATURE not in json.dumps(stack.state())
    outputs = stack.outputs()
    assert TOKEN_SIGNATURE not in json.dumps(outputs)
    assert outputs["gateways"][GW]["tokenExpiresOn"] == "2030-01-01T00:00:00Z"


def test_pods_pass_the_restricted_pod_security_standard_and_spread_over_zones(
    deployed: tuple[LocalStack, Cluster],
) -> None:
    _, cluster = deployed
    pods = cluster.resource("v1", "Pod").get(namespace=GW, label_selector=f"app.kubernetes.io/instance={GW}").items
    running = [p for p in pods if p.status.phase == "Running"]
    assert len(running) == 2
    zones = {cluster.get("v1", "Node", p.spec.nodeName).metadata.labels["topology.kubernetes.io/zone"] for p in running}
    assert len(zones) == 2  # the topology spread constraint put them in different zones


def test_a_second_preview_and_a_refresh_find_nothing_to_do(deployed: tuple[LocalStack, Cluster]) -> None:
    stack, cluster = deployed
    generation = cluster.get("apps/v1", "Deployment", GW, GW).metadata.generation
    stack.preview("--expect-no-changes")
    # Refresh reads every object back (the provider's Read); nothing drifted from what up wrote.
    stack.run("refresh", "--yes", "--expect-no-changes", "--non-interactive")
    stack.preview("--expect-no-changes")
    assert cluster.get("apps/v1", "Deployment", GW, GW).metadata.generation == generation


def test_a_new_token_updates_the_secret_in_place_and_rolls_the_pods_with_none_unavailable(
    deployed: tuple[LocalStack, Cluster],
) -> None:
    """``enableSecretMutable`` makes the token Secret's data an update (pulumi-kubernetes 4.25.0
    ``provider/pkg/provider/diff.go`` forceNewProperties), and the pod template's credentials
    annotation rolls the pods; with ``maxUnavailable: 0`` availability never drops (polled)."""
    stack, cluster = deployed
    secret_uid = cluster.get("v1", "Secret", f"{GW}-token", GW).metadata.uid
    old_sets = {rs.metadata.name for rs in cluster.resource("apps/v1", "ReplicaSet").get(namespace=GW).items}
    stack.set_token(placeholder_token(GW, serial=1))
    preview = json.loads(stack.preview("--json").stdout)
    changed = {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in preview["steps"] if step["op"] != "same"}
    assert changed == {f"{GW}-token": "update", f"{GW}-deployment": "update"}
    # The scheduled renewal's plan check accepts exactly this real preview (scripts/renewal.py).
    targets, problems = renewal.check_plan(preview)
    assert problems == [] and sorted(urn.rsplit("::", 1)[-1] for urn in targets) == sorted(changed)

    lowest: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            lowest.append(cluster.get("apps/v1", "Deployment", GW, GW).status.availableReplicas or 0)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stack.up()
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert cluster.get("v1", "Secret", f"{GW}-token", GW).metadata.uid == secret_uid  # updated, not replaced
    new_sets = {rs.metadata.name for rs in cluster.resource("apps/v1", "ReplicaSet").get(namespace=GW).items}
    assert new_sets - old_sets  # a new ReplicaSet: the pods were replaced
    assert deployment_available(cluster, GW, GW)  # up returned after the rollout
    assert len(lowest) > 5 and min(lowest) >= 2  # maxUnavailable 0, observed throughout
    stack.preview("--expect-no-changes")


def test_the_checks_are_real_kubectl_output(local_cluster: Any, deployed: tuple[LocalStack, Cluster]) -> None:
    """The toolchain's kubectl (``scripts/toolchain.sh cluster`` builds ``k8s.io/kubernetes/cmd/kubectl``)."""
    deployments = lc.kubectl(local_cluster.kubeconfig, "get", "deployments", "-n", GW)
    assert re.search(r"^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$", deployments, re.MULTILINE)
    assert re.search(rf"^{GW} +2/2 +2 +2 +\S+$", deployments, re.MULTILINE)
    services = lc.kubectl(local_cluster.kubeconfig, "get", "services", "-n", GW)
    assert re.search(
        rf"^{GW}-live-traffic +NodePort +10\.96\.\S+ +<none> +80:\d+/TCP,443:\d+/TCP +\S+$", services, re.M
    )


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_dev_and_prod_objects_are_accepted_by_the_api_server(local_cluster: Any, environment: str) -> None:
    """Server-side dry run of what the dev and prod programs register (they need Azure, which only
    runs under mocks here): admission, defaulting and validation of the real API server."""
    cluster = Cluster(local_cluster.kubeconfig)
    objects = kubernetes_objects(run_main(stack_config(environment)[0], (), environment))
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    name = namespace["metadata"]["name"]
    cluster.apply(namespace)  # namespaced dry runs need the namespace itself
    try:
        for obj in objects:
            if obj["kind"] != "Namespace":
                cluster.apply(obj, dry_run=True)
        deployments = cluster.resource("apps/v1", "Deployment").get(namespace=name).items
        assert deployments == []  # dry run: nothing was persisted
    finally:
        # Not left behind: a later test deploys this gateway for real (test_workflows_under_act.py), and
        # the cluster guard refuses a namespace the deploying stack does not own.
        delete_namespaces(cluster, [name])


def test_bad_config_stops_the_engine_with_the_stacks_message_and_creates_nothing(
    local_cluster: Any, tmp_path: Path
) -> None:
    cluster = Cluster(local_cluster.kubeconfig)
    before = {n.metadata.name for n in cluster.resource("v1", "Namespace").get().items}
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "bad-gw", namespace={"name": "Bad_Namespace"})
    run = stack.up(check=False)
    assert run.returncode != 0
    assert "namespace.name = 'Bad_Namespace': must be a DNS-1123 label" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert [r["type"] for r in stack.resources() if r["type"] != "pulumi:pulumi:Stack"] == []
    assert {n.metadata.name for n in cluster.resource("v1", "Namespace").get().items} == before


def test_a_fleet_of_two_gateways_runs_in_two_namespaces(local_cluster: Any, tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "fleet-a", replicas=1, backup={"enabled": False})
    document: dict[str, Any] = yaml.safe_load(stack.stack_file.read_text())
    gateways = document["config"]["apim-gateway:gateways"]
    gateways.append({**gateways[0], "name": "fleet-b"})
    stack.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    stack.run("config", "set", "--secret", "--path", "gatewayTokens.fleet-b", placeholder_token("fleet-b"))
    stack.up()
    cluster = Cluster(local_cluster.kubeconfig)
    for name in ("fleet-a", "fleet-b"):
        wait_for(f"{name} Available", lambda name=name: deployment_available(cluster, name, name), timeout=5)  # type: ignore[misc]
        settings = cluster.get("v1", "ConfigMap", f"{name}-env", name).data
        assert settings["neighborhood.host"] == f"{name}-instance-discovery.{name}.svc.cluster.local"
    stack.destroy()
    for name in ("fleet-a", "fleet-b"):  # no backup, so nothing kept: the namespaces go
        namespace = cluster.find("v1", "Namespace", name)
        assert namespace is None or namespace.status.phase == "Terminating"
