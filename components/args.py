"""The component's inputs (``SelfHostedGatewayArgs``) and what its Azure side hands to its Kubernetes side
(``Credentials``): the types both sides share, kept with the component rather than in either side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import pulumi
import pulumi_kubernetes as k8s

from .config import GatewayConfig

if TYPE_CHECKING:
    # Types only: the Kubernetes side imports these args and needs nothing of the Azure side at run time.
    from .azure.token import GatewayKeyRegenerationProvider, GatewayTokenArgs, GatewayTokenProvider


@dataclass
class SelfHostedGatewayArgs:
    """Inputs of ``SelfHostedGateway``."""

    gateway: GatewayConfig
    """Validated settings of this gateway (see ``components.config.GatewayConfig``)."""

    apim_mode: Literal["managed", "existing"] = "managed"
    """``managed`` creates the gateway resource in APIM (and, in token mode, generates its
    token); ``existing`` deploys a gateway whose resource is managed elsewhere."""

    apim_resource_group_name: pulumi.Input[str] | None = None
    """Resource group of the APIM instance (``managed`` mode and the token-free auth modes)."""

    apim_service_name: pulumi.Input[str] | None = None
    """Name of the APIM instance; may be another resource's output. Required in ``managed``
    mode, and in ``existing`` mode unless the gateway sets ``configurationEndpoint``."""

    apim_cloud: Literal["public", "usgovernment", "china"] = "public"
    """Azure cloud of the APIM instance; the default configuration endpoint exists only in ``public``."""

    token: pulumi.Input[str] | None = None
    """``existing`` mode with token auth: the gateway token (``GatewayKey …`` or bare). Always secret."""

    entra_client_secret: pulumi.Input[str] | None = None
    """``auth.mode: entraApp`` without a certificate: the application's client secret. Always secret."""

    proxy_credentials: pulumi.Input[str] | None = None
    """``user:password`` of the outbound proxy (``gateway.proxy``): the pods read the proxy URLs with
    them from a Secret the stack creates, never from the settings ConfigMap. Always secret."""

    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig content; may be another resource's output. Always treated as secret.
    Without it, ``gateway.kubernetes.kubeconfigPath`` or the ambient kubeconfig is used. Either
    way the provider gets it pinned to one context (``kubernetes/kubeconfig.py``)."""

    kubernetes_provider: k8s.Provider | None = None
    """An existing Kubernetes provider to deploy with; overrides ``kubeconfig``. It should set
    ``enable_secret_mutable=True`` and ``enable_config_map_mutable=True`` (see
    ``docs/provider-behaviour.md``); the component cannot read a provider's inputs, so it warns
    unless ``kubernetes_provider_updates_in_place`` says so."""

    kubernetes_provider_updates_in_place: bool = False
    """Set when ``kubernetes_provider`` sets ``enableSecretMutable`` and ``enableConfigMapMutable``
    (or its runs set ``PULUMI_K8S_ENABLE_SECRET_MUTABLE`` / ``PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE``):
    silences the warning that renewals would otherwise replace the Secret delete-first."""

    owner_key: str | None = field(default=None, repr=False)
    """``apim-gateway:ownerKey`` (secret, at least 32 characters): makes the objects' ownership
    annotation unique to this stack instance (``kubernetes/ownership.py``). Only an HMAC of the stack's
    name under it is ever registered, never the key. Without it the annotation is ``<project>/<stack>``
    and the component warns."""

    retain: frozenset[str] = frozenset()
    """``apim-gateway:retain``: ``Namespace/<name>``, ``StorageClass/<name>``, ``PriorityClass/<name>``
    the component registers with ``retain_on_delete`` (``kubernetes/removal_guard.py``)."""

    now: datetime | None = None
    """Clock for the token renewal window; defaults to the current time (tests pin it)."""

    token_provider: GatewayTokenProvider | None = field(default=None, repr=False)
    """Dynamic provider for the token; tests pass one with a fake Azure transport."""

    key_regeneration_provider: GatewayKeyRegenerationProvider | None = field(default=None, repr=False)
    """Dynamic provider for key rotation; tests pass one with a fake Azure transport."""


@dataclass
class Credentials:
    """What the Azure side hands to the Kubernetes side."""

    gateway_id: pulumi.Output[str]
    token: pulumi.Output[str] | None = None
    token_expires_on: pulumi.Output[str] | None = None
    client_secret: pulumi.Output[str] | None = None
    workload_client_id: pulumi.Output[str] | None = None
    token_args: GatewayTokenArgs | None = None
    azure_dependencies: list[pulumi.Resource] = field(default_factory=list)
    """Every Azure resource the pods need before they start: the gateway resource and its API,
    hostname and CA assignments, the token, the managed identity and its federated credential,
    the role definitions and assignments. The Deployment depends on all of them in every auth mode
    (Microsoft's Entra ID and workload identity articles order it: roles, assignments, then deploy)."""
