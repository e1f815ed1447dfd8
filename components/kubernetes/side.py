"""The Kubernetes side of ``SelfHostedGateway``: every object's spec first (pure ``manifests``
functions of the config), then the stack's provider behind its guards, then the objects in the
order the pods need them (``objects.py`` registers each one).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..args import Credentials, SelfHostedGatewayArgs
from ..config import GatewayConfig, token_expiry
from ..config.adoption import adopted_identity
from . import manifests, objects
from .objects import Placement, Spec
from .ownership import OWNER_ANNOTATION, missing_key_warning, stack_owner
from .provider import stack_provider
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
    """Registers the gateway's Kubernetes objects; returns the Deployment (the pods)."""
    gateway = args.gateway
    # Rendered files carry no ownership annotation: an apply-mode stack must never take an object
    # a GitOps tool applied from them for its own (the cluster guard refuses it instead).
    rendered = bool(gateway.kubernetes.render_yaml_to_directory)
    owned = _with_owner(component, args, rendered, describe(component, name, args, credentials, settings))
    owned, adopted = _adopting(gateway, owned)
    provider = args.kubernetes_provider or stack_provider(component, name, args, list(owned.values()))
    if args.kubernetes_provider is not None and not args.kubernetes_provider_updates_in_place:
        pulumi.log.warn(USER_PROVIDER_WARNING.format(gateway=gateway.name), resource=component)
    cluster = pulumi.ResourceOptions(parent=component, provider=provider)
    keep_claim = "config-backup" in owned and gateway.backup.keep_on_destroy
    namespace = _namespace(name, args, cluster, owned, keep_claim)
    at = _at(name, cluster, namespace)
    if gateway.token.existing_secret is not None and not rendered:
        _existing_token(component, name, gateway, at, credentials, owned["deployment"])

    # What the pods need before they start. The CA bundle holds public certificates: created by the
    # stack so a first run on an empty cluster can start pods.
    pod_needs: list[pulumi.Resource] = [
        objects.secret(at, key, owned[key]) for key in ("token", "entra-secret", "ca-bundle", "proxy") if key in owned
    ]
    if "service-account" in owned:
        pod_needs.append(objects.service_account(at, owned["service-account"]))
    if "priority-class" in owned:
        priority = owned["priority-class"]
        pod_needs.append(objects.priority_class(at, priority, keep=_retained(args, priority)))
    pod_needs.append(objects.settings_config_map(at, owned["settings"]))
    if "config-backup" in owned:
        storage_class = owned.get("backup-storage-class")
        pod_needs.append(
            objects.backup_storage(
                at, storage_class, owned["config-backup"], keep_claim, keep_class=_retained(args, storage_class)
            )
        )

    # The pods also wait for everything they need in Azure (issue 17), and the wait covers it.
    deployment = objects.deployment(
        at,
        owned["deployment"],
        depends_on=[*pod_needs, *credentials.azure_dependencies],
        ignore_changes=manifests.deployment_ignore_changes(gateway),
        timeout_minutes=manifests.deployment_timeout_minutes(gateway),
        delete_minutes=manifests.deletion_timeout_minutes(gateway),
    )
    _services(at, owned, adopted, deployment)
    if "disruption-budget" in owned:
        objects.disruption_budget(at, owned["disruption-budget"])
    if "autoscaler" in owned:
        objects.autoscaler(at, owned["autoscaler"])
    if "network-policy" in owned:
        objects.network_policy(at, owned["network-policy"])
    return deployment


def _namespace(
    name: str, args: SelfHostedGatewayArgs, cluster: pulumi.ResourceOptions, owned: dict[str, Spec], keep_claim: bool
) -> list[pulumi.Resource]:
    """The namespace when the stack owns it: kept when it holds a kept claim, or when
    ``apim-gateway:retain`` names it; its delete waits for the pods in it."""
    if "namespace" not in owned:
        return []
    keep = keep_claim or _retained(args, owned["namespace"])
    minutes = manifests.deletion_timeout_minutes(args.gateway)
    return [objects.namespace(_at(name, cluster), owned["namespace"], keep, minutes)]


def describe(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    credentials: Credentials,
    settings: pulumi.Output[dict[str, str]],
) -> dict[str, Spec | None]:
    """Every object's spec, keyed by the suffix of its resource name (None: not created), so the
    cluster guard knows all of them before anything registers."""
    gateway = args.gateway
    # Rendered files hold everything in plain text: credentials only when asked, not even a digest.
    render_credentials = not gateway.kubernetes.render_yaml_to_directory or gateway.kubernetes.render_secrets
    token = credentials.token if render_credentials else None
    client_secret = credentials.client_secret if render_credentials else None
    claim = manifests.backup_claim(gateway)
    proxy = pulumi.Output.secret(args.proxy_credentials) if args.proxy_credentials is not None else None
    # Render mode without renderSecrets: the Deployment still reads <gateway>-proxy, provided out of band.
    rendered_proxy = proxy if render_credentials else None
    credential = token if token is not None else client_secret
    if rendered_proxy is not None:
        # The proxy credentials are read at start too: a new one must roll the pods.
        first = credential if credential is not None else ""
        credential = pulumi.Output.all(first, rendered_proxy).apply(lambda parts: "\n".join(parts))
    return {
        "namespace": manifests.namespace(gateway) if gateway.namespace.create else None,
        "token": manifests.token_secret(gateway, token) if token is not None else None,
        "entra-secret": manifests.entra_secret(gateway, client_secret) if client_secret is not None else None,
        "service-account": manifests.service_account(gateway, credentials.workload_client_id)
        if credentials.workload_client_id is not None or gateway.service_account.wanted
        else None,
        "ca-bundle": manifests.ca_bundle_secret(gateway),
        "proxy": manifests.proxy_secret(
            gateway, rendered_proxy.apply(lambda value: manifests.proxy_urls(gateway, value))
        )
        if rendered_proxy is not None
        else None,
        "priority-class": manifests.priority_class(gateway),
        "settings": manifests.settings_config_map(gateway, settings),
        "backup-storage-class": manifests.backup_storage_class(gateway) if claim is not None else None,
        "config-backup": claim,
        "deployment": manifests.deployment(
            gateway,
            settings_digest=settings.apply(manifests.settings_checksum),
            credentials_digest=_credentials_digest(component, name, credential),
            proxy_secret=proxy is not None,
        ),
        "traffic": manifests.traffic_service(gateway),
        "discovery": manifests.discovery_service(gateway),
        "disruption-budget": manifests.disruption_budget(gateway),
        "autoscaler": manifests.autoscaler(gateway),
        "network-policy": manifests.network_policy(gateway),
    }


ROLLOUT_KEY_ATTRIBUTE = "_apim_gateway_rollout_key"


def _credentials_digest(
    component: pulumi.ComponentResource, name: str, credential: pulumi.Output[str] | None
) -> pulumi.Output[str] | None:
    """The pod template's credentials annotation: an HMAC under a key only the stack's state holds
    (``rollout.py``), not a plain hash; None without a credential in the pods' Secrets."""
    if credential is None:
        return None
    # One rollout key per component, whichever credentials use it (a token, a proxy, an existing Secret).
    rollout_key: RolloutKey | None = getattr(component, ROLLOUT_KEY_ATTRIBUTE, None)
    if rollout_key is None:
        rollout_key = RolloutKey(f"{name}-rollout-key", opts=pulumi.ResourceOptions(parent=component))
        setattr(component, ROLLOUT_KEY_ATTRIBUTE, rollout_key)
    return pulumi.Output.all(rollout_key.rollout_key, credential).apply(
        lambda parts: manifests.credentials_checksum(parts[0], parts[1])
    )


EXISTING_TOKEN_WARNING_DAYS = 7
"""Warn at ``up`` when the token in an existing Secret expires within this many days (the stack's own
renewal window is 7 days by default, ``token.renewalIntervalDays``)."""
EXISTING_TOKEN_ANNOTATION = "checksum/existing-token"  # noqa: S105 - an annotation name


def _existing_token(
    component: pulumi.ComponentResource,
    name: str,
    gateway: GatewayConfig,
    at: Placement,
    credentials: Credentials,
    deployment: Spec,
) -> None:
    """Reads the token Secret someone else keeps (``token.existingSecret``) at every ``up`` and never
    writes it: its keyed digest goes into the pod template, so a renewed token rolls the pods at the
    next ``up``; its expiry becomes ``tokenExpiresOn`` (what ``scripts/renewal.py`` checks) and a
    warning when near. A read Secret's data stays secret in state (pulumi-kubernetes marks it so)."""
    existing = gateway.token.existing_secret
    assert existing is not None
    secret = objects.existing_secret(at, gateway.namespace_name, existing.name)

    def token_of(data: Mapping[str, str]) -> str:
        encoded = data.get(existing.key)
        if encoded is None:
            raise ValueError(
                f"gateway {gateway.name!r}: token.existingSecret: Secret {gateway.namespace_name}/{existing.name} has "
                f"no key {existing.key!r}"
            )
        return base64.b64decode(encoded).decode()

    token: pulumi.Output[str] = pulumi.Output.secret(secret.data.apply(token_of))
    digest = _credentials_digest(component, name, token)
    deployment["spec"]["template"]["metadata"]["annotations"][EXISTING_TOKEN_ANNOTATION] = digest

    def expiry(value: str) -> str:
        moment = token_expiry(value)
        if moment is None:
            pulumi.log.warn(
                f"gateway {gateway.name!r}: the token in Secret {existing.name} has no readable expiry",
                resource=component,
            )
            return "unknown"
        left = moment - datetime.now(UTC)
        if left < timedelta(days=EXISTING_TOKEN_WARNING_DAYS):
            pulumi.log.warn(
                f"gateway {gateway.name!r}: the token in Secret {existing.name} (renewed by its owner, not this stack) "
                f"{'expired' if left.total_seconds() <= 0 else 'expires'} at {moment:%Y-%m-%dT%H:%M:%SZ}",
                resource=component,
            )
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # The expiry field of a token is public (the portal shows it); the signature is not.
    credentials.token_expires_on = pulumi.Output.unsecret(token.apply(expiry))


def _services(at: Placement, owned: Mapping[str, Spec], adopted: set[str], deployment: pulumi.Resource) -> None:
    """The traffic and discovery Services. An adopted one still selects the old pods: it switches to
    the stack's pods only once they are available (the Deployment's await), never to none ready."""
    for key in ("traffic", "discovery"):
        objects.service(at, key, owned[key], depends_on=[deployment] if key in adopted else [])


def _adopting(gateway: GatewayConfig, owned: dict[str, Spec]) -> tuple[dict[str, Spec], set[str]]:
    """The specs, and the keys of the objects ``kubernetes.adopt`` names (issue 24). Each of those is
    applied with ``pulumi.com/patchForce`` (``manifests.adopting``): the fields an earlier manager
    (kubectl, Helm) set become the stack's instead of failing as apply conflicts (Kubernetes docs,
    "Server-Side Apply", Conflicts)."""
    wanted = {adopted_identity(gateway, entry) for entry in gateway.kubernetes.adopt}
    adopted = {
        key
        for key, spec in owned.items()
        if (spec["kind"], spec["metadata"].get("namespace") or "", spec["metadata"]["name"]) in wanted
    }
    return {key: manifests.adopting(spec) if key in adopted else spec for key, spec in owned.items()}, adopted


def _retained(args: SelfHostedGatewayArgs, spec: Spec | None) -> bool:
    """Whether ``apim-gateway:retain`` names this (cluster-scoped) object: ``Kind/name``."""
    return spec is not None and f"{spec['kind']}/{spec['metadata']['name']}" in args.retain


def _with_owner(
    component: pulumi.ComponentResource, args: SelfHostedGatewayArgs, rendered: bool, specs: dict[str, Spec | None]
) -> dict[str, Spec]:
    """The specs that exist, each with the ownership annotation unless rendered; a warning when the
    value is only the stack's name (``ownership.py``)."""
    if not rendered and args.owner_key is None and args.kubernetes_provider is None:
        pulumi.log.warn(missing_key_warning(), resource=component)
    owner = stack_owner(args.owner_key)
    return {key: spec if rendered else _owned(spec, owner) for key, spec in specs.items() if spec is not None}


def _owned(spec: Spec, owner: str) -> Spec:
    """``spec`` with the stack instance's ownership annotation (``ownership.py``)."""
    metadata = spec["metadata"]
    annotations = {**metadata.get("annotations", {}), OWNER_ANNOTATION: owner}
    return {**spec, "metadata": {**metadata, "annotations": annotations}}


def _at(name: str, cluster: pulumi.ResourceOptions, namespace: list[Any] | None = None) -> Placement:
    in_namespace = pulumi.ResourceOptions.merge(cluster, pulumi.ResourceOptions(depends_on=namespace or []))
    return Placement(name=name, cluster=cluster, in_namespace=in_namespace)
