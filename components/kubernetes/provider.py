"""The stack's own Kubernetes provider, and the two guards every object waits for.

Every input is independent of where a kubeconfig file lives.

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

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..args import SelfHostedGatewayArgs
from ..config.adoption import adopted_identity
from . import manifests
from .cluster_guard import ClusterGuard
from .delivery_guard import DeliveryModeGuard, delivery_mode
from .ownership import stack_owner


def stack_provider(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs, objects: list[dict[str, Any]]
) -> k8s.Provider:
    """The provider every object of the gateway is registered on; it waits for the guards."""
    settings = args.gateway.kubernetes
    kubeconfig: pulumi.Input[str] = ""  # the provider loads the ambient kubeconfig itself
    if args.kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(args.kubeconfig)
    elif settings.kubeconfig_path:
        # The path as the stack file spells it: the same string on every machine. Not the file's
        # content: per-user credentials in it would show a provider diff on every other runner.
        kubeconfig = settings.kubeconfig_path
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
        opts=pulumi.ResourceOptions(parent=component, depends_on=_guards(component, name, args, objects)),
    )


def _guards(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs, objects: list[dict[str, Any]]
) -> list[pulumi.Resource]:
    """The delivery-mode guard and, when applying to a cluster, the cluster guard."""
    settings = args.gateway.kubernetes
    # Registered first: a delivery-mode switch fails here, before the provider is diffed.
    guards: list[pulumi.Resource] = [
        DeliveryModeGuard(
            f"{name}-delivery-mode",
            args.gateway.name,
            delivery_mode(settings.render_yaml_to_directory),
            settings.render_yaml_to_directory,
            opts=pulumi.ResourceOptions(parent=component),
            cluster_identifier=settings.effective_cluster_identifier,
        )
    ]
    if not settings.render_yaml_to_directory:
        # Another cluster, or an object the stack does not own, fails here (no cluster in render mode).
        kubeconfig = pulumi.Output.secret(args.kubeconfig) if args.kubeconfig is not None else None
        guards.append(
            ClusterGuard(
                f"{name}-cluster",
                args.gateway.name,
                {"kubeconfig": kubeconfig, "kubeconfig_path": settings.kubeconfig_path, "context": settings.context},
                [_identity(obj) for obj in objects],
                settings.effective_cluster_identifier,
                opts=pulumi.ResourceOptions(parent=component),
                owner=stack_owner(args.owner_key),
                adopt=[adopted_identity(args.gateway, entry) for entry in settings.adopt],
                deployment_selector=manifests.selector_labels(args.gateway),
            )
        )
    return guards


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace or "", name) of an object spec."""
    metadata = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], metadata.get("namespace") or "", metadata["name"])
