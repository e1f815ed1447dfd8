"""Property-based, against the local API server: every Kubernetes object a generated stack
configuration makes the program register is accepted by the API server's own validation and
admission (server-side apply with ``dryRun=All``), unless the config check refused the stack first.

The strategies and the offline part of the invariant are those of ``tests/unit/test_property.py``
(``tests/stack_strategies.py``, ``tests/stack_invariants.py``); the API server adds what no schema
holds: quantities compared (request ≤ limit), IP addresses and CIDRs parsed, unique ports, label
syntax. Same profiles (``APIMGW_HYPOTHESIS_PROFILE``); fewer examples by default, each one being a
round trip per object.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import cluster_client
import pytest
from hypothesis import HealthCheck, given, settings
from stack_invariants import PROPERTY_SUMMARY, run_stack
from stack_strategies import DrawnStack, stacks

pytestmark = pytest.mark.integration

settings.register_profile(
    "ci-dry-run",
    max_examples=int(os.environ.get("APIMGW_HYPOTHESIS_DRY_RUN_EXAMPLES", "60")),
    deadline=timedelta(seconds=60),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long-dry-run",
    max_examples=int(os.environ.get("APIMGW_HYPOTHESIS_DRY_RUN_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(
    "long-dry-run" if os.environ.get("APIMGW_HYPOTHESIS_PROFILE") == "long" else "ci-dry-run"
)
OUTCOMES: Counter[str] = Counter()
CREATED_NAMESPACES: set[str] = set()
"""Namespaces this module created for real: removed when it ends, so that no later test of the session
(which deploys gateways of the same names, tests/integration/test_workflows_under_act.py among them)
meets a namespace it does not own and is refused by the cluster guard."""


@pytest.fixture(scope="module")
def cluster(local_cluster: Any, request: pytest.FixtureRequest) -> Iterator[cluster_client.Cluster]:
    client = cluster_client.Cluster(local_cluster.kubeconfig)
    yield client
    cluster_client.delete_namespaces(client, CREATED_NAMESPACES)
    CREATED_NAMESPACES.clear()
    if OUTCOMES:
        request.config.stash.setdefault(PROPERTY_SUMMARY, []).append(
            f"dry run on the local API server: {OUTCOMES['refused'] + OUTCOMES['deployed']} configurations tried, "
            f"{OUTCOMES['refused']} refused by the config check, {OUTCOMES['deployed']} deployed "
            f"({OUTCOMES['objects']} objects accepted with dryRun=All)"
        )


def test_the_server_refuses_two_of_the_issues_examples_and_accepts_the_third(cluster: cluster_client.Cluster) -> None:
    """The dry run is a real check: the API server refuses a request above its limit
    (k8s.io/kubernetes v1.34.3, pkg/apis/core/validation/validation.go:7565), a /33
    (pkg/apis/networking/validation/validation.go:252) and an empty claim (validation.go:2418).
    It stores a ``loadBalancerIP`` that is not an IP with only a warning
    (pkg/api/service/warnings.go:60), which is why the config check refuses it itself."""
    from kubernetes.client.exceptions import ApiException

    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dry-run-probe"}})
    CREATED_NAMESPACES.add("dry-run-probe")
    container = {"name": "c", "image": "i", "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}
    refused = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "dry-run-probe"},
            "spec": {"containers": [container]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "n", "namespace": "dry-run-probe"},
            "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "c", "namespace": "dry-run-probe"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}},
        },
    ]
    for obj in refused:
        with pytest.raises(ApiException) as error:
            cluster.apply(obj, dry_run=True)
        assert error.value.status == 422, obj["kind"]
    accepted = cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "dry-run-probe"},
            "spec": {"type": "LoadBalancer", "loadBalancerIP": "not-an-ip", "ports": [{"port": 80}]},
        },
        dry_run=True,
    )
    assert accepted.spec.loadBalancerIP == "not-an-ip"


def dry_run(cluster: cluster_client.Cluster, objects: list[dict[str, Any]]) -> int:
    """Create the namespaces for real (namespaced objects need them), dry-run everything else."""
    from kubernetes.client.exceptions import ApiException

    namespaces = {obj["metadata"].get("namespace") for obj in objects} - {None}
    for name in sorted(namespaces):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        CREATED_NAMESPACES.add(name)
    for obj in objects:
        try:
            cluster.apply(obj, dry_run=True)
        except ApiException as error:
            raise AssertionError(
                f"the API server refused {obj['kind']} {obj['metadata']['name']}: {error.status} {error.body}"
            ) from None
    return len(objects)


@settings(PROFILE)
@given(stack=stacks())
def test_every_accepted_config_passes_the_servers_dry_run(cluster: cluster_client.Cluster, stack: DrawnStack) -> None:
    outcome = run_stack(stack)
    OUTCOMES["refused" if outcome.refused else "deployed"] += 1
    if not outcome.refused:
        OUTCOMES["objects"] += dry_run(cluster, outcome.objects)


def test_the_pod_knobs_pass_the_servers_dry_run_under_restricted_pod_security(
    cluster: cluster_client.Cluster,
) -> None:
    """Issue 24's pod knobs, all at once and each user/group variant: every object passes the API
    server's validation, and the pod template is admitted by Pod Security admission in a namespace
    that enforces ``restricted`` (admission judges pods, not Deployments: kubernetes.io, "Pod Security
    Admission", so the template is dry-run as a Pod). A root pod is refused there (the control)."""
    from kubernetes.client.exceptions import ApiException
    from pod_knobs import KNOBS, objects_by_name, token_gateway

    from components.kubernetes import manifests

    for variant in ({}, {"runAsUser": 10001, "runAsGroup": 0}, {"idsFromPlatform": True}):
        gateway = token_gateway(**{**KNOBS, "pod": {**KNOBS["pod"], **variant}})
        objects = list(objects_by_name(gateway).values())
        dry_run(cluster, [obj for obj in objects if obj["kind"] != "Namespace"])
        # After dry_run, whose plain namespace (same field manager) would drop the labels: the stack's
        # own, restricted enforced.
        cluster.apply(manifests.namespace(gateway))
        CREATED_NAMESPACES.add(gateway.namespace_name)
        for account in (obj for obj in objects if obj["kind"] == "ServiceAccount"):
            cluster.apply(account)  # ServiceAccount admission looks the pod's account up
        template = next(obj for obj in objects if obj["kind"] == "Deployment")["spec"]["template"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**template["metadata"], "name": "knobs", "namespace": gateway.namespace_name},
            "spec": template["spec"],
        }
        # With idsFromPlatform no platform assigns ids here (OpenShift's SCC admission would); restricted
        # admission needs only runAsNonRoot, which the kubelet checks against the image at start.
        cluster.apply(pod, dry_run=True)
    root = {**pod, "spec": {**pod["spec"], "securityContext": {**pod["spec"]["securityContext"], "runAsUser": 0}}}
    with pytest.raises(ApiException) as error:
        cluster.apply(root, dry_run=True)
    assert error.value.status == 403 and "restricted" in str(error.value.body)
