"""The Kubernetes side of ``SelfHostedGateway``: registers the objects ``manifests/`` describes.

One place per object; every object is a child of the component, on the stack's Kubernetes provider.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import manifests
from .args import Credentials, SelfHostedGatewayArgs
from .cluster_guard import OWNER_ANNOTATION, ClusterGuard, stack_owner
from .delivery_guard import DeliveryModeGuard, delivery_mode
from .rollout import RolloutKey

USER_PROVIDER_WARNING = (
    "gateway {gateway!r}: the Kubernetes provider passed in must set enableSecretMutable and "
    "enableConfigMapMutable (or run with PULUMI_K8S_ENABLE_SECRET_MUTABLE=true and "
    "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE=true); without them every token renewal or settings change "
    "deletes the Secret or ConfigMap before creating it again. Set "
    "SelfHostedGatewayArgs.kubernetes_provider_updates_in_place once it does."
)


def kubernetes_side(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    credentials: Credentials,
    settings: pulumi.Output[dict[str, str]],
) -> k8s.apps.v1.Deployment:
    gateway = args.gateway
    # Rendered files hold everything in plain text: credentials only when asked, not even a digest.
    render_credentials = not gateway.kubernetes.render_yaml_to_directory or gateway.kubernetes.render_secrets
    credential = credentials.token if credentials.token is not None else credentials.client_secret
    if not render_credentials:
        credential = None
    claim = manifests.backup_claim(gateway)
    keep_claim = claim is not None and gateway.backup.keep_on_destroy
    credentials_digest = None
    if credential is not None:
        # HMAC under a key only the stack's state holds (components/rollout.py), not a plain hash.
        rollout_key = RolloutKey(f"{name}-rollout-key", opts=pulumi.ResourceOptions(parent=component))
        credentials_digest = pulumi.Output.all(rollout_key.rollout_key, credential).apply(
            lambda parts: manifests.credentials_checksum(parts[0], parts[1])
        )
    # Every object's spec first (pure functions of the config), so the guard knows what the stack creates.
    specs: dict[str, dict[str, Any] | None] = {
        "namespace": manifests.namespace(gateway) if gateway.namespace.create else None,
        "token": manifests.token_secret(gateway, credentials.token)
        if credentials.token is not None and render_credentials
        else None,
        "entra-secret": manifests.entra_secret(gateway, credentials.client_secret)
        if credentials.client_secret is not None and render_credentials
        else None,
        "service-account": manifests.service_account(gateway, credentials.workload_client_id)
        if credentials.workload_client_id is not None
        else None,
        "ca-bundle": manifests.ca_bundle_secret(gateway),
        "priority-class": manifests.priority_class(gateway),
        "settings": manifests.settings_config_map(gateway, settings),
        "backup-storage-class": manifests.backup_storage_class(gateway) if claim is not None else None,
        "config-backup": claim,
        "deployment": manifests.deployment(
            gateway,
            settings_digest=settings.apply(manifests.settings_checksum),
            credentials_digest=credentials_digest,
        ),
        "traffic": manifests.traffic_service(gateway),
        "discovery": manifests.discovery_service(gateway),
        "disruption-budget": manifests.disruption_budget(gateway),
        "autoscaler": manifests.autoscaler(gateway),
        "network-policy": manifests.network_policy(gateway),
    }
    owned = {key: _owned(spec) for key, spec in specs.items() if spec is not None}
    provider = args.kubernetes_provider or _kubernetes_provider(component, name, args, list(owned.values()))
    if args.kubernetes_provider is not None and not args.kubernetes_provider_updates_in_place:
        pulumi.log.warn(USER_PROVIDER_WARNING.format(gateway=gateway.name), resource=component)
    k8s_opts = pulumi.ResourceOptions(parent=component, provider=provider)
    namespace_depends: list[pulumi.Resource] = []
    if "namespace" in owned:
        namespace_depends.append(_namespace(f"{name}-namespace", owned["namespace"], keep_claim, k8s_opts))
    in_namespace = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=namespace_depends))

    pod_depends: list[pulumi.Resource] = []
    for key in ("token", "entra-secret", "ca-bundle"):
        # The CA bundle holds public certificates: created by the stack so a first run on an empty
        # cluster can start pods.
        if key in owned:
            pod_depends.append(_secret(f"{name}-{key}", owned[key], in_namespace))
    if "service-account" in owned:
        account = owned["service-account"]
        pod_depends.append(
            k8s.core.v1.ServiceAccount(
                f"{name}-service-account",
                metadata=account["metadata"],
                automount_service_account_token=account["automountServiceAccountToken"],
                opts=in_namespace,
            )
        )
    if "priority-class" in owned:
        priority = owned["priority-class"]
        pod_depends.append(
            k8s.scheduling.v1.PriorityClass(
                f"{name}-priority-class",
                metadata=priority["metadata"],
                value=priority["value"],
                preemption_policy=priority["preemptionPolicy"],
                global_default=priority["globalDefault"],
                description=priority["description"],
                # value and preemptionPolicy are immutable (k8s.io/kubernetes pkg/apis/scheduling/
                # validation ValidatePriorityClassUpdate): a change is a replacement, and the name
                # stays, so the old one goes first.
                opts=pulumi.ResourceOptions.merge(
                    k8s_opts,
                    pulumi.ResourceOptions(
                        replace_on_changes=["value", "preemptionPolicy"], delete_before_replace=True
                    ),
                ),
            )
        )
    config_map = owned["settings"]
    pod_depends.append(
        k8s.core.v1.ConfigMap(
            f"{name}-settings", metadata=config_map["metadata"], data=config_map["data"], opts=in_namespace
        )
    )
    if "config-backup" in owned:
        claim_opts = in_namespace
        if "backup-storage-class" in owned:
            # The class the claim needs, owned by the gateway's group (cluster-scoped).
            storage_class = owned["backup-storage-class"]
            created = k8s.storage.v1.StorageClass(
                f"{name}-backup-storage-class",
                metadata=storage_class["metadata"],
                provisioner=storage_class["provisioner"],
                parameters=storage_class["parameters"],
                reclaim_policy=storage_class["reclaimPolicy"],
                volume_binding_mode=storage_class["volumeBindingMode"],
                allow_volume_expansion=storage_class["allowVolumeExpansion"],
                mount_options=storage_class["mountOptions"],
                opts=k8s_opts,
            )
            claim_opts = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[created]))
        pod_depends.append(_backup_claim(f"{name}-config-backup", owned["config-backup"], keep_claim, claim_opts))

    spec = owned["deployment"]
    # The pods also wait for everything they need in Azure (issue 17), and the wait covers it.
    timeout = f"{manifests.deployment_timeout_minutes(gateway)}m"
    deployment = k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata=spec["metadata"],
        spec=spec["spec"],
        opts=pulumi.ResourceOptions.merge(
            in_namespace,
            pulumi.ResourceOptions(
                depends_on=[*pod_depends, *credentials.azure_dependencies],
                ignore_changes=manifests.deployment_ignore_changes(gateway),
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        ),
    )
    for key in ("traffic", "discovery"):
        service = owned[key]
        k8s.core.v1.Service(f"{name}-{key}", metadata=service["metadata"], spec=service["spec"], opts=in_namespace)
    if "disruption-budget" in owned:
        budget = owned["disruption-budget"]
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget", metadata=budget["metadata"], spec=budget["spec"], opts=in_namespace
        )
    if "autoscaler" in owned:
        scaler = owned["autoscaler"]
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-autoscaler", metadata=scaler["metadata"], spec=scaler["spec"], opts=in_namespace
        )
    if "network-policy" in owned:
        policy = owned["network-policy"]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy", metadata=policy["metadata"], spec=policy["spec"], opts=in_namespace
        )
    return deployment


def _owned(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the stack's ownership annotation (``cluster_guard.OWNER_ANNOTATION``)."""
    metadata = spec["metadata"]
    annotations = {**metadata.get("annotations", {}), OWNER_ANNOTATION: stack_owner()}
    return {**spec, "metadata": {**metadata, "annotations": annotations}}


def _namespace(name: str, ns: dict[str, Any], keep: bool, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
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
    docs/cluster-lifecycle.md.
    """
    if not keep:
        return k8s.core.v1.Namespace(
            name, metadata=ns["metadata"], opts=pulumi.ResourceOptions.merge(opts, _alias("core/v1:NamespacePatch"))
        )
    return k8s.core.v1.NamespacePatch(
        name,
        metadata=manifests.adopting(ns)["metadata"],
        opts=pulumi.ResourceOptions.merge(opts, _kept("core/v1:Namespace")),
    )


def _backup_claim(name: str, claim: dict[str, Any], keep: bool, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """The backup claim; with ``keepOnDestroy`` a retained Patch resource, like ``_namespace``."""
    if not keep:
        return k8s.core.v1.PersistentVolumeClaim(
            name,
            metadata=claim["metadata"],
            spec=claim["spec"],
            opts=pulumi.ResourceOptions.merge(opts, _alias("core/v1:PersistentVolumeClaimPatch")),
        )
    return k8s.core.v1.PersistentVolumeClaimPatch(
        name,
        metadata=manifests.adopting(claim)["metadata"],
        spec=claim["spec"],
        opts=pulumi.ResourceOptions.merge(opts, _kept("core/v1:PersistentVolumeClaim")),
    )


def _alias(other_type: str) -> pulumi.ResourceOptions:
    """The same object under its other resource type (before or after a ``keepOnDestroy`` switch)."""
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"kubernetes:{other_type}")])


def _kept(other_type: str) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(_alias(other_type), pulumi.ResourceOptions(retain_on_delete=True))


def _secret(name: str, secret: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        name, metadata=secret["metadata"], type=secret["type"], string_data=secret["stringData"], opts=opts
    )


def _kubernetes_provider(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs, objects: list[dict[str, Any]]
) -> k8s.Provider:
    """The stack's own provider; every input is independent of where a kubeconfig file lives.

    Evidence (pulumi-kubernetes v4.25.0, tag commit f47bc2d6f199, ``provider/pkg/provider/``;
    SDK ``pulumi_kubernetes/provider.py`` 4.25.0):

    - kubeconfig: the SDK fills an unset ``kubeconfig`` from ``KUBECONFIG`` (``provider.py``
      lines 473-474), so state would hold a runner's path, which ``DiffConfig`` then fails to
      parse elsewhere (``util.go`` ``parseKubeconfigString``, lines 157-169, falls back to reading
      the path as content). An empty string is not replaced by the SDK, and ``Configure`` treats
      it as "load the ambient kubeconfig" in the provider's own process (``provider.go``
      ``Configure``, lines 758-792: "the Python SDK was setting the kubeconfig value to "" by
      default"). An explicit ``kubeconfigPath`` is passed as the stack file spells it (see
      docs/provider-behaviour.md for why not its content).
    - clusterIdentifier: while it is present and unchanged, ``DiffConfig`` drops every
      replacement (``provider.go`` ``DiffConfig``, lines 415-424), so a CA rotation or a switch
      to a private server FQDN is a provider update, not a replacement of every object. The
      other side: a current context that now names another cluster is a provider update too,
      which the cluster guard refuses (``cluster_guard.py``).
    - enableSecretMutable / enableConfigMapMutable: without them a change to a Secret's or
      ConfigMap's data is a replacement (``diff.go`` ``forceNewProperties``, lines 22-37), done
      delete-first for named objects (``provider.go`` ``Diff``, ``deleteBeforeReplace``, lines
      1508-1521).
    - the other ``PULUMI_K8S_*`` fallbacks of the SDK (``provider.py`` lines 459-486) are set
      explicitly too; ``upsertExistingObjects`` and ``enablePatchForce`` are 4.29 inputs, unknown
      to 4.25 (docs/provider-behaviour.md, "Moving past 4.29").
    """
    settings = args.gateway.kubernetes
    kubeconfig: pulumi.Input[str] = ""  # the provider loads the ambient kubeconfig itself
    if args.kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(args.kubeconfig)
    elif settings.kubeconfig_path:
        # The path as the stack file spells it: the same string on every machine. Not the file's
        # content: per-user credentials in it would show a provider diff on every other runner.
        kubeconfig = settings.kubeconfig_path
    # Registered first: a delivery-mode switch fails here, before the provider is diffed.
    guards: list[pulumi.Resource] = [
        DeliveryModeGuard(
            f"{name}-delivery-mode",
            args.gateway.name,
            delivery_mode(settings.render_yaml_to_directory),
            settings.render_yaml_to_directory,
            opts=pulumi.ResourceOptions(parent=component),
        )
    ]
    if not settings.render_yaml_to_directory:
        # Another cluster, or an object the stack does not own, fails here (no cluster in render mode).
        guards.append(
            ClusterGuard(
                f"{name}-cluster",
                args.gateway.name,
                {
                    "kubeconfig": kubeconfig if args.kubeconfig is not None else None,
                    "kubeconfig_path": settings.kubeconfig_path,
                    "context": settings.context,
                },
                [_identity(obj) for obj in objects],
                settings.effective_cluster_identifier,
                opts=pulumi.ResourceOptions(parent=component),
            )
        )
    return k8s.Provider(
        f"{name}-kubernetes",
        kubeconfig=kubeconfig,
        context=settings.context,
        cluster_identifier=settings.effective_cluster_identifier,
        enable_secret_mutable=True,
        enable_config_map_mutable=True,
        # Set explicitly: left unset, the SDK fills them from PULUMI_K8S_* variables of whichever
        # runner runs the stack (pulumi_kubernetes provider.py), and server-side apply off would
        # fail every Patch resource's Check (provider.go Check: Patch resources need SSA).
        enable_server_side_apply=True,
        delete_unreachable=False,
        skip_update_unreachable=False,
        suppress_deprecation_warnings=False,
        suppress_helm_hook_warnings=False,
        render_yaml_to_directory=settings.render_yaml_to_directory,
        opts=pulumi.ResourceOptions(parent=component, depends_on=guards),
    )


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace or "", name) of an object spec."""
    metadata = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], metadata.get("namespace") or "", metadata["name"])
