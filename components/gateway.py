"""``SelfHostedGateway``: one self-hosted gateway, from its APIM resource to running pods.

A thin layer: the Kubernetes objects come from the pure functions in ``manifests.py``,
the settings from ``settings.py``; this module only registers them with Pulumi, parented
to the component, in dependency order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from . import manifests
from .config import GatewayConfig, token_expiry
from .settings import configuration_endpoint, gateway_settings
from .token import GatewayToken, GatewayTokenArgs, GatewayTokenProvider, format_expiry, renewal_window

COMPONENT_TYPE = "apim-gateway:index:SelfHostedGateway"


@dataclass
class SelfHostedGatewayArgs:
    """Inputs of ``SelfHostedGateway``."""

    gateway: GatewayConfig
    """Validated settings of this gateway (see ``components.config.GatewayConfig``)."""

    apim_mode: Literal["managed", "existing"] = "managed"
    """``managed`` creates the gateway resource in APIM and generates its token;
    ``existing`` deploys a gateway whose resource is managed elsewhere, with ``token``."""

    apim_resource_group_name: pulumi.Input[str] | None = None
    """Resource group of the APIM instance (``managed`` mode)."""

    apim_service_name: pulumi.Input[str] | None = None
    """Name of the APIM instance; may be another resource's output. Required in ``managed``
    mode, and in ``existing`` mode unless the gateway sets ``configurationEndpoint``."""

    token: pulumi.Input[str] | None = None
    """``existing`` mode: the gateway token (``GatewayKey …`` or bare). Always treated as secret."""

    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig content; may be another resource's output. Always treated as secret.
    Without it, ``gateway.kubernetes.kubeconfigPath`` or the ambient kubeconfig is used."""

    kubernetes_provider: k8s.Provider | None = None
    """An existing Kubernetes provider to deploy with; overrides ``kubeconfig``."""

    now: datetime | None = None
    """Clock for the token renewal window; defaults to the current time (tests pin it)."""

    token_provider: GatewayTokenProvider | None = field(default=None, repr=False)
    """Dynamic provider for the token; tests pass one with a fake Azure transport."""


def _safe_id(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")[:80]


class SelfHostedGateway(pulumi.ComponentResource):
    """An Azure API Management self-hosted gateway deployed to Kubernetes."""

    gateway_id: pulumi.Output[str]
    """Gateway id in APIM."""
    configuration_endpoint: pulumi.Output[str]
    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    traffic_service_name: pulumi.Output[str]
    discovery_service_name: pulumi.Output[str]
    token_expires_on: pulumi.Output[str]
    """When the current token expires (ISO 8601, UTC); the token itself is never an output."""
    checks: pulumi.Output[dict[str, str]]
    """Ready-to-run ``kubectl`` commands that check the deployment."""

    def __init__(self, name: str, args: SelfHostedGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        gateway = args.gateway
        names = manifests.object_names(gateway)
        child = pulumi.ResourceOptions(parent=self)

        # -- Azure: the gateway resource and its token --------------------------------
        if args.apim_mode == "managed":
            gateway_id, token_value, token_expires_on = self._azure_side(name, args, child)
        else:
            if args.token is None:
                raise ValueError(f"gateway {gateway.name!r}: apim_mode 'existing' needs a token")
            gateway_id = pulumi.Output.from_input(gateway.name)
            token_value = pulumi.Output.secret(args.token).apply(
                lambda token: token if token.startswith("GatewayKey ") else f"GatewayKey {token}"
            )
            # The expiry field of a token is public (the portal shows it); the signature is not.
            token_expires_on = pulumi.Output.unsecret(
                token_value.apply(lambda token: format_expiry(e) if (e := token_expiry(token)) else "unknown")
            )

        endpoint = pulumi.Output.from_input(args.apim_service_name or "").apply(
            lambda service: configuration_endpoint(gateway, service or None)
        )
        settings = endpoint.apply(lambda host: gateway_settings(gateway, host))

        # -- Kubernetes ----------------------------------------------------------------
        provider = args.kubernetes_provider or self._kubernetes_provider(name, args, child)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        depends: list[pulumi.Resource] = []
        if gateway.namespace.create:
            ns = manifests.namespace(gateway)
            depends.append(k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns["metadata"], opts=k8s_opts))
        in_namespace = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=depends))

        render_only = bool(gateway.kubernetes.render_yaml_to_directory)
        if not render_only or gateway.kubernetes.render_secrets:
            secret = manifests.token_secret(gateway, token_value)
            token_secret = k8s.core.v1.Secret(
                f"{name}-token",
                metadata=secret["metadata"],
                type=secret["type"],
                string_data=secret["stringData"],
                opts=in_namespace,
            )
            pod_depends: list[pulumi.Resource] = [token_secret]
        else:
            pod_depends = []

        config_map = manifests.settings_config_map(gateway, settings)
        settings_map = k8s.core.v1.ConfigMap(
            f"{name}-settings", metadata=config_map["metadata"], data=config_map["data"], opts=in_namespace
        )
        pod_depends.append(settings_map)

        claim = manifests.backup_claim(gateway)
        if claim is not None:
            pod_depends.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-config-backup",
                    metadata=claim["metadata"],
                    spec=claim["spec"],
                    opts=pulumi.ResourceOptions.merge(
                        in_namespace, pulumi.ResourceOptions(retain_on_delete=gateway.backup.keep_on_destroy)
                    ),
                )
            )

        deployment = manifests.deployment(
            gateway,
            settings_digest=settings.apply(manifests.settings_checksum),
            token_digest=token_value.apply(manifests.token_checksum),
        )
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=pod_depends)),
        )
        for key, service in (
            ("traffic", manifests.traffic_service(gateway)),
            ("discovery", manifests.discovery_service(gateway)),
        ):
            k8s.core.v1.Service(f"{name}-{key}", metadata=service["metadata"], spec=service["spec"], opts=in_namespace)
        budget = manifests.disruption_budget(gateway)
        if budget is not None:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-disruption-budget", metadata=budget["metadata"], spec=budget["spec"], opts=in_namespace
            )

        # -- Outputs --------------------------------------------------------------------
        context = f" --context {gateway.kubernetes.context}" if gateway.kubernetes.context else ""
        self.gateway_id = gateway_id
        self.configuration_endpoint = endpoint
        self.namespace = pulumi.Output.from_input(names.namespace)
        self.deployment_name = pulumi.Output.from_input(names.deployment)
        self.traffic_service_name = pulumi.Output.from_input(names.traffic_service)
        self.discovery_service_name = pulumi.Output.from_input(names.discovery_service)
        self.token_expires_on = token_expires_on
        self.checks = pulumi.Output.from_input(
            {
                "deployments": f"kubectl get deployments -n {names.namespace}{context}",
                "services": f"kubectl get services -n {names.namespace}{context}",
                "logs": f"kubectl logs deployment/{names.deployment} -n {names.namespace}{context}",
            }
        )
        self.register_outputs(
            {
                "gateway_id": self.gateway_id,
                "configuration_endpoint": self.configuration_endpoint,
                "namespace": self.namespace,
                "deployment_name": self.deployment_name,
                "traffic_service_name": self.traffic_service_name,
                "discovery_service_name": self.discovery_service_name,
                "token_expires_on": self.token_expires_on,
                "checks": self.checks,
            }
        )

    def _azure_side(
        self, name: str, args: SelfHostedGatewayArgs, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        gateway = args.gateway
        if args.apim_resource_group_name is None or args.apim_service_name is None:
            raise ValueError(
                f"gateway {gateway.name!r}: apim_mode 'managed' needs the APIM resource group and service name"
            )
        apim: dict[str, Any] = {
            "resource_group_name": args.apim_resource_group_name,
            "service_name": args.apim_service_name,
        }
        location = gateway.location_data
        gateway_resource = azure_native.apimanagement.Gateway(
            f"{name}-gateway",
            gateway_id=gateway.name,
            description=gateway.description or None,
            location_data=azure_native.apimanagement.ResourceLocationDataContractArgs(
                name=location.name,
                city=location.city,
                district=location.district,
                country_or_region=location.country_or_region,
            ),
            **apim,
            opts=child,
        )
        gateway_id = gateway_resource.name
        for api_id in gateway.apis:
            azure_native.apimanagement.GatewayApiEntityTag(
                f"{name}-api-{_safe_id(api_id)}", gateway_id=gateway_id, api_id=api_id, **apim, opts=child
            )
        for hostname in gateway.hostnames:
            azure_native.apimanagement.GatewayHostnameConfiguration(
                f"{name}-hostname-{_safe_id(hostname.hostname)}",
                gateway_id=gateway_id,
                hc_id=_safe_id(hostname.hostname.replace("*", "wildcard")),
                hostname=hostname.hostname,
                certificate_id=hostname.certificate_id,
                negotiate_client_certificate=hostname.negotiate_client_certificate,
                http2_enabled=hostname.http2_enabled,
                tls10_enabled=hostname.tls10_enabled,
                tls11_enabled=hostname.tls11_enabled,
                **apim,
                opts=child,
            )
        for authority in gateway.certificate_authorities:
            azure_native.apimanagement.GatewayCertificateAuthority(
                f"{name}-ca-{_safe_id(authority.certificate_id)}",
                gateway_id=gateway_id,
                certificate_id=authority.certificate_id,
                is_trusted=authority.is_trusted,
                **apim,
                opts=child,
            )

        # The token is signed by the subscription the azure-native provider deploys to.
        client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        window = renewal_window(
            args.now or datetime.now(UTC), gateway.token.validity_days, gateway.token.renewal_interval_days
        )
        token = GatewayToken(
            f"{name}-access-token",
            GatewayTokenArgs(
                subscription_id=client.subscription_id,
                resource_group_name=args.apim_resource_group_name,
                service_name=args.apim_service_name,
                gateway_id=gateway_id,
                key_type=gateway.token.key_type,
                expires_on=format_expiry(window.expires_on),
            ),
            opts=child,
            provider=args.token_provider,
        )
        # additional_secret_outputs makes the engine store the value encrypted; wrapping it
        # here keeps everything derived from it (Secret data, pod digest) secret as well.
        return gateway_id, pulumi.Output.secret(token.value), token.expires_on

    def _kubernetes_provider(
        self, name: str, args: SelfHostedGatewayArgs, child: pulumi.ResourceOptions
    ) -> k8s.Provider:
        settings = args.gateway.kubernetes
        kubeconfig: pulumi.Input[str] | None = None
        if args.kubeconfig is not None:
            kubeconfig = pulumi.Output.secret(args.kubeconfig)
        elif settings.kubeconfig_path:
            kubeconfig = settings.kubeconfig_path  # the provider accepts a path as well as content
        return k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=kubeconfig,
            context=settings.context,
            render_yaml_to_directory=settings.render_yaml_to_directory,
            opts=child,
        )
