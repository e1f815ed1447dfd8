"""What the component registers for the cluster lifecycle: kept claims, immutable claim fields,
the autoscaler switch. The behaviour with the real engine and Kubernetes plugin (4.25.0) on the
local API server is in ``tests/integration/test_lifecycle.py``; docs/cluster-lifecycle.md explains
the design."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from harness import Registered, run_main, stack_file_config

from components import parse_stack_config
from components.config import GatewayConfig
from components.kubernetes import manifests
from components.kubernetes.cluster_guard import OWNER_ANNOTATION

NS = "apim-gateway"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def prod(**gateway: Any) -> dict[str, Any]:
    raw = stack_file_config("prod")
    raw[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    return raw


def gateway(**settings: Any) -> GatewayConfig:
    return parse_stack_config(prod(**settings), (), now=NOW).gateways[0]


def test_keep_on_destroy_keeps_the_claim_and_its_namespace_and_adopts_them_again() -> None:
    """A Patch resource is created with server-side apply, which creates or adopts (pulumi-kubernetes
    4.25.0 ``provider/pkg/await/await.go`` Creation, lines 187-229; in 4.25 every create is, and
    from 4.29 on a plain resource is created with a plain create that fails with AlreadyExists on
    a kept object, so the Patch resource is what keeps adoption working past 4.29). The
    engine never calls Delete on a ``retain_on_delete`` resource; the provider itself points Patch
    resources that manage required fields there (``provider/pkg/provider/provider.go`` Delete,
    lines 2318-2325: "Either set the `retainOnDelete` resource option"). The namespace is kept too:
    deleting it deletes the claim."""
    recording = run_main(stack_file_config("prod"), stack="prod")
    namespace = recording.one("kubernetes:core/v1:NamespacePatch")
    claim = recording.one("kubernetes:core/v1:PersistentVolumeClaimPatch")
    assert namespace.retain_on_delete and claim.retain_on_delete
    assert (namespace.inputs["kind"], claim.inputs["kind"]) == ("Namespace", "PersistentVolumeClaim")
    # Adopted from the field manager of the stack that made them, which is gone: forced.
    for kept in (namespace, claim):
        annotations = dict(kept.inputs["metadata"]["annotations"])
        # Only the claim: ready on any phase, so a Bound kept claim is adopted (CLAIM_READY).
        assert annotations.pop(manifests.CLAIM_READY_ANNOTATION, None) == (
            manifests.CLAIM_READY if kept is claim else None
        )
        assert annotations == {
            manifests.PATCH_FORCE_ANNOTATION: "true",
            OWNER_ANNOTATION: "apim-gateway/prod",  # what lets the cluster guard adopt it again
        }
    others = [r for r in recording.resources if r.type.startswith("kubernetes:") and r not in (namespace, claim)]
    assert others and not any(r.retain_on_delete for r in others)


def test_without_keep_on_destroy_the_stack_owns_claim_and_namespace() -> None:
    recording = run_main(prod(backup={"enabled": True, "keepOnDestroy": False}), stack="prod")
    types = {r.type for r in recording.resources}
    assert {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolumeClaim"} <= types
    assert not {"kubernetes:core/v1:NamespacePatch", "kubernetes:core/v1:PersistentVolumeClaimPatch"} & types
    assert not any(r.retain_on_delete for r in recording.resources)


def alias_types(resource: Registered) -> set[str]:
    return {json.loads(alias)["spec"]["type"] for alias in resource.aliases if alias.startswith("{")}


def test_switching_keep_on_destroy_is_the_same_object_under_its_other_type() -> None:
    """Without an alias, a type change is a delete of the old resource and a create of the new one
    (Pulumi docs, "Resource options: aliases"): upgrading from 0.1.0 (plain Namespace and claim)
    or switching ``keepOnDestroy`` would delete the namespace, and the claim with it. Each kind
    names the other as an alias, so the engine treats the switch as the same object."""
    kept = run_main(stack_file_config("prod"), stack="prod")
    owned = run_main(prod(backup={"enabled": True, "keepOnDestroy": False}), stack="prod")
    for kind in ("Namespace", "PersistentVolumeClaim"):
        patch = kept.one(f"kubernetes:core/v1:{kind}Patch")
        plain = owned.one(f"kubernetes:core/v1:{kind}")
        assert patch.name == plain.name
        assert f"kubernetes:core/v1:{kind}" in alias_types(patch)
        assert f"kubernetes:core/v1:{kind}Patch" in alias_types(plain)


def test_a_kept_claim_in_a_namespace_the_stack_does_not_create_leaves_the_namespace_alone() -> None:
    recording = run_main(prod(namespace={"name": "shared", "create": False}), stack="prod")
    assert recording.one("kubernetes:core/v1:PersistentVolumeClaimPatch").retain_on_delete
    assert not [r for r in recording.resources if r.type.startswith("kubernetes:core/v1:Namespace")]


def test_backup_claim_name_follows_immutable_fields() -> None:
    """``storageClassName`` and ``accessModes`` cannot change on a claim (Kubernetes
    "Persistent Volumes": a claim's spec is immutable after creation except
    ``resources.requests``; the provider forces replacement on both, pulumi-kubernetes 4.25.0
    ``provider/pkg/provider/diff.go`` PersistentVolumeClaim force-new list, lines 110-117). A
    change gives a new name, so the provider creates the new claim before the old one goes
    (``provider.go`` Diff, lines 1508-1521: deleteBeforeReplace only when the name stays) and a
    kept claim is never applied over with an immutable change."""
    default = gateway(backup={"enabled": True})
    assert manifests.backup_claim_name(default) == "contoso-weu-gw-config-backup"  # unchanged for defaults
    fast = gateway(backup={"enabled": True, "storageClassName": "azurefile-csi-premium"})
    standard = gateway(backup={"enabled": True, "storageClassName": "azurefile-csi"})
    single = gateway(backup={"enabled": True, "storageClassName": "azurefile-csi", "accessMode": "ReadWriteOnce"})
    names = {manifests.backup_claim_name(g) for g in (default, fast, standard, single)}
    assert len(names) == 4
    # The size may grow in place: it is no part of the name.
    bigger = gateway(backup={"enabled": True, "storageClassName": "azurefile-csi", "size": "1Gi"})
    assert manifests.backup_claim_name(bigger) == manifests.backup_claim_name(standard)
    claim = manifests.backup_claim(standard)
    deployment = manifests.deployment(standard, "s", "c")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert claim is not None
    assert volumes["config-backup"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_autoscaler_switch_keeps_replicas_and_leaves_them_to_the_autoscaler() -> None:
    """Left out, ``replicas`` is released under server-side apply and falls to its default of 1
    (Kubernetes "Server-Side Apply", Transferring ownership). It stays, at the autoscaler's
    minimum, with ``ignore_changes``: the provider then sends the live value, or drops the field
    when only the autoscaler manages it (4.25.0 ``provider/pkg/await/await.go``
    handleSSAIgnoreFields, lines 624-696)."""
    recording = run_main(prod(autoscaling={"enabled": True, "minReplicas": 4}), stack="prod")
    deployment = recording.one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["replicas"] == 4
    assert deployment.ignore_changes == ("spec.replicas",)
    assert manifests.PATCH_FORCE_ANNOTATION not in deployment.inputs["metadata"].get("annotations", {})
    fixed = run_main(stack_file_config("prod"), stack="prod").one("kubernetes:apps/v1:Deployment")
    assert fixed.inputs["spec"]["replicas"] == 3 and fixed.ignore_changes == ()
    # Off again: replicas back from the autoscaler's field manager without an apply conflict.
    assert fixed.inputs["metadata"]["annotations"] == {
        manifests.PATCH_FORCE_ANNOTATION: "true",
        OWNER_ANNOTATION: "apim-gateway/prod",
    }
