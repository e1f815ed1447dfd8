"""One registration function per Kubernetes object (or closely tied pair), as the Helm chart has
one template per object. Each registers, as a child of the component on the stack's provider, the
object its pure ``manifests`` function described; ``side.py`` only orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import manifests

Spec = dict[str, Any]


@dataclass(frozen=True)
class Placement:
    """Where a gateway's objects register: the resource-name prefix and the options they share."""

    name: str
    """The component's name; every object's resource name is ``<name>-<object>``."""
    cluster: pulumi.ResourceOptions
    """Parent and provider: for the namespace and cluster-scoped objects."""
    in_namespace: pulumi.ResourceOptions
    """``cluster`` plus a dependency on the namespace when the stack owns it."""


def namespace(at: Placement, spec: Spec, keep: bool, delete_minutes: int = 10) -> pulumi.CustomResource:
    """The namespace; kept on destroy, and adopted on the next ``up``, when it holds a kept claim.

    Deleting a namespace deletes every object in it, a kept claim too, so it must outlive the
    stack as well. A Patch resource is created with server-side apply, which creates or adopts
    (pulumi-kubernetes 4.25.0 ``provider/pkg/await/await.go`` Creation, lines 187-229; in 4.25
    every create is, and from 4.29 on a plain resource is created with a plain create that fails
    with AlreadyExists on a kept object, so the Patch resource keeps adoption working past 4.29).
    ``retain_on_delete`` keeps the engine from calling Delete (which for a Patch resource would
    release its fields, ``await/await.go`` Deletion, lines 837-841, and may fail on a required
    field, ``provider/pkg/provider/provider.go`` Delete, lines 2318-2325). The alias makes a
    switch of ``keepOnDestroy`` an update of the same object, never a delete of the old one. See
    docs/cluster-lifecycle.md. A plain namespace's delete waits for the pods in it to stop
    (``delete_minutes``, ``manifests.deletion_timeout_minutes``).
    """
    name = f"{at.name}-namespace"
    if not keep:
        opts = pulumi.ResourceOptions.merge(at.cluster, _alias("core/v1:NamespacePatch"))
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(delete=f"{delete_minutes}m"))
        )
        return k8s.core.v1.Namespace(name, metadata=spec["metadata"], opts=opts)
    kept = pulumi.ResourceOptions.merge(at.cluster, _kept("core/v1:Namespace"))
    return k8s.core.v1.NamespacePatch(name, metadata=manifests.adopting(spec)["metadata"], opts=kept)


def secret(at: Placement, key: str, spec: Spec) -> k8s.core.v1.Secret:
    """A Secret the pods read: the token, the Entra client secret or the CA bundle (``key``)."""
    return k8s.core.v1.Secret(
        f"{at.name}-{key}",
        metadata=spec["metadata"],
        type=spec["type"],
        string_data=spec["stringData"],
        opts=at.in_namespace,
    )


def existing_secret(at: Placement, namespace: str, secret_name: str) -> k8s.core.v1.Secret:
    """A Secret someone else keeps (``token.existingSecret``), read at every ``up``, never written."""
    return k8s.core.v1.Secret.get(f"{at.name}-existing-token", f"{namespace}/{secret_name}", opts=at.cluster)


def service_account(at: Placement, spec: Spec) -> k8s.core.v1.ServiceAccount:
    """The pods' ServiceAccount (workload identity)."""
    return k8s.core.v1.ServiceAccount(
        f"{at.name}-service-account",
        metadata=spec["metadata"],
        automount_service_account_token=spec["automountServiceAccountToken"],
        opts=at.in_namespace,
    )


def priority_class(at: Placement, spec: Spec, keep: bool = False) -> k8s.scheduling.v1.PriorityClass:
    """The pods' PriorityClass (cluster-scoped); never deleted with ``keep`` (``apim-gateway:retain``)."""
    # value and preemptionPolicy are immutable (k8s.io/kubernetes pkg/apis/scheduling/validation
    # ValidatePriorityClassUpdate): a change is a replacement, and the name stays, so the old one goes first.
    immutable = pulumi.ResourceOptions(replace_on_changes=["value", "preemptionPolicy"], delete_before_replace=True)
    return k8s.scheduling.v1.PriorityClass(
        f"{at.name}-priority-class",
        metadata=spec["metadata"],
        value=spec["value"],
        preemption_policy=spec["preemptionPolicy"],
        global_default=spec["globalDefault"],
        description=spec["description"],
        opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions.merge(at.cluster, immutable),
            pulumi.ResourceOptions(retain_on_delete=True if keep else None),
        ),
    )


def settings_config_map(at: Placement, spec: Spec) -> k8s.core.v1.ConfigMap:
    """The gateway's settings (``settings.py``)."""
    return k8s.core.v1.ConfigMap(
        f"{at.name}-settings", metadata=spec["metadata"], data=spec["data"], opts=at.in_namespace
    )


def backup_storage(
    at: Placement, storage_class: Spec | None, claim: Spec, keep: bool, keep_class: bool = False
) -> pulumi.CustomResource:
    """The configuration-backup claim, and the StorageClass it needs when the stack creates one.

    With ``keepOnDestroy`` the claim is a retained Patch resource, like ``namespace``; with
    ``keep_class`` (``apim-gateway:retain``) the StorageClass is never deleted.
    """
    opts = at.in_namespace
    if storage_class is not None:
        # The class the claim needs, owned by the gateway's group (cluster-scoped).
        created = k8s.storage.v1.StorageClass(
            f"{at.name}-backup-storage-class",
            metadata=storage_class["metadata"],
            provisioner=storage_class["provisioner"],
            parameters=storage_class["parameters"],
            reclaim_policy=storage_class["reclaimPolicy"],
            volume_binding_mode=storage_class["volumeBindingMode"],
            allow_volume_expansion=storage_class["allowVolumeExpansion"],
            mount_options=storage_class["mountOptions"],
            opts=pulumi.ResourceOptions.merge(
                at.cluster, pulumi.ResourceOptions(retain_on_delete=True if keep_class else None)
            ),
        )
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[created]))
    name = f"{at.name}-config-backup"
    if not keep:
        opts = pulumi.ResourceOptions.merge(opts, _alias("core/v1:PersistentVolumeClaimPatch"))
        return k8s.core.v1.PersistentVolumeClaim(name, metadata=claim["metadata"], spec=claim["spec"], opts=opts)
    return k8s.core.v1.PersistentVolumeClaimPatch(
        name,
        metadata=manifests.adopting(claim)["metadata"],
        spec=claim["spec"],
        opts=pulumi.ResourceOptions.merge(opts, _kept("core/v1:PersistentVolumeClaim")),
    )


def deployment(
    at: Placement,
    spec: Spec,
    depends_on: list[pulumi.Resource],
    ignore_changes: list[str],
    timeout_minutes: int,
    delete_minutes: int = 10,
) -> k8s.apps.v1.Deployment:
    """The gateway's Deployment; the engine waits until it is available, for up to ``timeout_minutes``,
    and until it is gone, pods included, for up to ``delete_minutes``."""
    timeout = f"{timeout_minutes}m"
    return k8s.apps.v1.Deployment(
        f"{at.name}-deployment",
        metadata=spec["metadata"],
        spec=spec["spec"],
        opts=pulumi.ResourceOptions.merge(
            at.in_namespace,
            pulumi.ResourceOptions(
                depends_on=depends_on,
                ignore_changes=ignore_changes,
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout, delete=f"{delete_minutes}m"),
            ),
        ),
    )


def service(
    at: Placement, key: str, spec: Spec, depends_on: list[pulumi.Resource] | None = None
) -> k8s.core.v1.Service:
    """The traffic or the discovery Service (``key``); ``depends_on``: what it waits for (an adopted one, the pods)."""
    opts = pulumi.ResourceOptions.merge(at.in_namespace, pulumi.ResourceOptions(depends_on=depends_on or []))
    return k8s.core.v1.Service(f"{at.name}-{key}", metadata=spec["metadata"], spec=spec["spec"], opts=opts)


def disruption_budget(at: Placement, spec: Spec) -> k8s.policy.v1.PodDisruptionBudget:
    return k8s.policy.v1.PodDisruptionBudget(
        f"{at.name}-disruption-budget", metadata=spec["metadata"], spec=spec["spec"], opts=at.in_namespace
    )


def autoscaler(at: Placement, spec: Spec) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{at.name}-autoscaler", metadata=spec["metadata"], spec=spec["spec"], opts=at.in_namespace
    )


def network_policy(at: Placement, spec: Spec) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        f"{at.name}-network-policy", metadata=spec["metadata"], spec=spec["spec"], opts=at.in_namespace
    )


def _alias(other_type: str) -> pulumi.ResourceOptions:
    """The same object under its other resource type (before or after a ``keepOnDestroy`` switch)."""
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"kubernetes:{other_type}")])


def _kept(other_type: str) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(_alias(other_type), pulumi.ResourceOptions(retain_on_delete=True))
