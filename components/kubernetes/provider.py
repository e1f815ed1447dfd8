"""The stack's own Kubernetes provider, and the two guards every object waits for.

Evidence (pulumi-kubernetes v4.25.0, tag commit f47bc2d6f199, ``provider/pkg/provider/``;
SDK ``pulumi_kubernetes/provider.py`` 4.25.0; pulumi v3.259.0):

- kubeconfig: the content pinned to the one context the stack uses (``kubeconfig.py``), a Pulumi
  secret, never a path or ``""``. ``refresh``, ``destroy`` and untargeted providers under
  ``--target`` run no program and no ``check``: the engine configures the provider with its
  stored inputs (pulumi ``pkg/resource/deploy/providers/registry.go`` ``Same``, lines 788-868), and with
  ``""`` the provider would load whatever kubeconfig is current (``provider.go`` ``Configure``,
  lines 758-792), so they would read, rewrite or delete in another cluster (issue 21 item 1). Pinned,
  they reach the server and CA of the last ``up``. The cluster guard reads the same content, so
  both reach the same cluster by construction (issue 21 item 4).
- clusterIdentifier: while it is present and unchanged, ``DiffConfig`` drops every
  replacement (``provider.go`` ``DiffConfig``, lines 408-424), so new pinned content (a CA
  rotation, a new server FQDN, another runner's credentials, a stack deployed with ``""``) is a
  provider update, not a replacement of every object. The other side: content that reaches another
  cluster is a provider update too, which the cluster guard refuses (``cluster_guard.py``).
- deleteUnreachable: never set, so the provider's own way out of a deleted cluster works
  (``provider.go``:538-552 reads ``PULUMI_K8S_DELETE_UNREACHABLE`` only when the input is absent;
  its errors name that variable, :1786-1789 and :2278-2281). The SDK would fill the unset input
  from the same variable at ``up`` (SDK ``provider.py`` lines 459-461) and keep it in state for
  every later operation, so the program hides the variable from the SDK while it registers.
- enableSecretMutable / enableConfigMapMutable: without them a change to a Secret's or
  ConfigMap's data is a replacement (``diff.go`` ``forceNewProperties``, lines 22-37), done
  delete-first for named objects (``provider.go`` ``Diff``, ``deleteBeforeReplace``, lines
  1508-1521).
- the other ``PULUMI_K8S_*`` fallbacks of the SDK (``provider.py`` lines 459-486) are set
  explicitly too; ``upsertExistingObjects`` and ``enablePatchForce`` are 4.29 inputs, unknown
  to 4.25 (docs/provider-behaviour.md, "Moving past 4.29").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..args import SelfHostedGatewayArgs
from ..config.adoption import adopted_identity
from . import manifests
from .cluster_guard import ClusterGuard
from .delivery_guard import DeliveryModeGuard, delivery_mode
from .kubeconfig import Pinned, endpoint, pin
from .ownership import stack_owner

DELETE_UNREACHABLE_VARIABLE = "PULUMI_K8S_DELETE_UNREACHABLE"


def stack_provider(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs, objects: list[dict[str, Any]]
) -> k8s.Provider:
    """The provider every object of the gateway is registered on; it waits for the guards."""
    settings = args.gateway.kubernetes
    guards: list[pulumi.Resource] = [_delivery_mode_guard(component, name, args)]
    # Render mode reaches no cluster, and the provider refuses a kubeconfig there (CheckConfig).
    kubeconfig: pulumi.Input[str] = ""
    if not settings.render_yaml_to_directory:
        pinned = pinned_kubeconfig(args)
        cluster_guard = _cluster_guard(component, name, args, objects, pinned)
        guards.append(cluster_guard)
        kubeconfig = pulumi.Output.all(cluster_guard.endpoint, pinned).apply(
            lambda checked: checked_kubeconfig(args.gateway.name, checked[0], checked[1])
        )
    with _hidden_from_the_sdk(DELETE_UNREACHABLE_VARIABLE):
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
            # delete_unreachable is left unset: see the module docstring.
            skip_update_unreachable=False,
            suppress_deprecation_warnings=False,
            suppress_helm_hook_warnings=False,
            render_yaml_to_directory=settings.render_yaml_to_directory,
            opts=pulumi.ResourceOptions(parent=component, depends_on=guards),
        )


def checked_kubeconfig(gateway: str, checked: str | None, pinned: Pinned) -> str:
    """The pinned kubeconfig, once the cluster guard has checked where it leads.

    Under ``up --target`` the engine targets every provider implicitly (pulumi v3.259.0
    ``step_generator.go``:1286-1300) but not the guard, whose ``check`` it stubs with the old inputs
    (:1313-1319) and whose outputs stay the old ones: the provider would take a kubeconfig that now
    reaches another cluster unchecked, and every later ``refresh`` or ``destroy`` would go there. The
    guard's outputs say which endpoint it checked (in preview too: a dynamic provider has no preview,
    so its planned outputs are its checked inputs, pulumi ``provider_plugin.go``:1713-1714)."""
    if endpoint(pinned.kubeconfig) != checked:
        raise pulumi.RunError(
            f"apim-gateway:gateways({gateway}).kubernetes: the kubeconfig now leads to another API server or CA "
            "than the one the cluster guard last checked, which an 'up --target' does not check; run 'pulumi "
            "preview' or 'pulumi up' without --target first (the cluster guard then checks it), or point the "
            "kubeconfig back at the cluster this stack deployed to."
        )
    # No content (its problem fails the guard's check first, so the provider never gets to use it).
    return pinned.kubeconfig or ""


def pinned_kubeconfig(args: SelfHostedGatewayArgs) -> pulumi.Output[Pinned]:
    """The kubeconfig pinned once, a secret: from the secret content (which may be an Output), else
    from ``kubeconfigPath``, else from the ambient kubeconfig of the program's environment (the
    provider plugin's environment too: the engine starts both)."""
    settings = args.gateway.kubernetes
    if args.kubeconfig is not None:
        return pulumi.Output.secret(args.kubeconfig).apply(
            lambda content: pin(content or None, None, settings.context, os.environ)
        )
    return pulumi.Output.secret(pin(None, settings.kubeconfig_path, settings.context, os.environ))


@contextmanager
def _hidden_from_the_sdk(variable: str) -> Iterator[None]:
    """Registration without ``variable``: the SDK fills an unset input from it (SDK ``provider.py``
    lines 459-461), which would store it; the provider reads it itself when the input is absent
    (``provider.go``:538-552). Registration is synchronous, so nothing else runs meanwhile."""
    saved = os.environ.pop(variable, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[variable] = saved


def _delivery_mode_guard(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs
) -> pulumi.Resource:
    """Registered first: a delivery-mode switch fails here, before the provider is diffed."""
    settings = args.gateway.kubernetes
    return DeliveryModeGuard(
        f"{name}-delivery-mode",
        args.gateway.name,
        delivery_mode(settings.render_yaml_to_directory),
        settings.render_yaml_to_directory,
        opts=pulumi.ResourceOptions(parent=component),
        cluster_identifier=settings.effective_cluster_identifier,
    )


def _cluster_guard(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    objects: list[dict[str, Any]],
    pinned: pulumi.Output[Pinned],
) -> ClusterGuard:
    """Another cluster, or an object the stack does not own, fails here; it reads the very content
    the provider gets, so it reads the cluster the provider writes to."""
    return ClusterGuard(
        f"{name}-cluster",
        args.gateway.name,
        {"kubeconfig": pinned.apply(lambda p: p.kubeconfig), "problem": pinned.apply(lambda p: p.problem)},
        [_identity(obj) for obj in objects],
        args.gateway.kubernetes.effective_cluster_identifier,
        # A digest of the server and CA, no credential: shown in diffs.
        endpoint=pulumi.Output.unsecret(pinned.apply(lambda p: endpoint(p.kubeconfig))),
        opts=pulumi.ResourceOptions(parent=component),
        owner=stack_owner(args.owner_key),
        adopt=[adopted_identity(args.gateway, entry) for entry in args.gateway.kubernetes.adopt],
        deployment_selector=manifests.selector_labels(args.gateway),
    )


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace or "", name) of an object spec."""
    metadata = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], metadata.get("namespace") or "", metadata["name"])
