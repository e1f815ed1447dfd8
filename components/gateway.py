"""``SelfHostedGateway``: one self-hosted gateway, from its APIM resource to running pods.

A thin layer: the Kubernetes objects come from the pure functions in ``manifests.py``,
the settings from ``settings.py``; this module only registers them with Pulumi, parented
to the component, in dependency order.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from . import manifests
from .config import GatewayConfig, token_expiry
from .settings import configuration_endpoint, gateway_settings
from .token import (
    RETIRED_KEY,
    GatewayKeyRegeneration,
    GatewayKeyRegenerationProvider,
    GatewayToken,
    GatewayTokenArgs,
    GatewayTokenProvider,
    format_expiry,
    renewal_window,
)

COMPONENT_TYPE = "apim-gateway:index:SelfHostedGateway"
GET_CONFIGURATION_ACTION = "Microsoft.ApiManagement/service/gateways/getConfiguration/action"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
_ROLE_NAMESPACE = uuid.UUID("6f1c2b9e-3f5c-4a51-9a55-8d7c1a0f4b21")
"""Fixed namespace for the deterministic GUIDs of role definitions and assignments."""


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

    token: pulumi.Input[str] | None = None
    """``existing`` mode with token auth: the gateway token (``GatewayKey …`` or bare). Always secret."""

    entra_client_secret: pulumi.Input[str] | None = None
    """``auth.mode: entraApp`` without a certificate: the application's client secret. Always secret."""

    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig content; may be another resource's output. Always treated as secret.
    Without it, ``gateway.kubernetes.kubeconfigPath`` or the ambient kubeconfig is used."""

    kubernetes_provider: k8s.Provider | None = None
    """An existing Kubernetes provider to deploy with; overrides ``kubeconfig``."""

    now: datetime | None = None
    """Clock for the token renewal window; defaults to the current time (tests pin it)."""

    token_provider: GatewayTokenProvider | None = field(default=None, repr=False)
    """Dynamic provider for the token; tests pass one with a fake Azure transport."""

    key_regeneration_provider: GatewayKeyRegenerationProvider | None = field(default=None, repr=False)
    """Dynamic provider for key rotation; tests pass one with a fake Azure transport."""


@dataclass
class _Credentials:
    """What the Azure side hands to the Kubernetes side."""

    gateway_id: pulumi.Output[str]
    token: pulumi.Output[str] | None = None
    token_expires_on: pulumi.Output[str] | None = None
    client_secret: pulumi.Output[str] | None = None
    workload_client_id: pulumi.Output[str] | None = None
    token_args: GatewayTokenArgs | None = None


def _safe_id(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")[:80]


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_ROLE_NAMESPACE, "/".join(parts)))


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
    """When the current token expires (ISO 8601, UTC; ``none`` in the token-free modes).
    The token itself is never an output."""
    checks: pulumi.Output[dict[str, str]]
    """Ready-to-run ``kubectl`` commands that check the deployment."""

    def __init__(self, name: str, args: SelfHostedGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        gateway = args.gateway
        names = manifests.object_names(gateway)
        child = pulumi.ResourceOptions(parent=self)

        credentials = self._azure_side(name, args, child)
        endpoint = pulumi.Output.from_input(args.apim_service_name or "").apply(
            lambda service: configuration_endpoint(gateway, service or None)
        )
        settings = endpoint.apply(lambda host: gateway_settings(gateway, host))
        deployment = self._kubernetes_side(name, args, credentials, settings)

        if credentials.token_args is not None and gateway.token.regenerate_retired_key:
            # After the pods run with the active key's token, retire the other key.
            retired = GatewayTokenArgs(
                **{**vars(credentials.token_args), "key_type": RETIRED_KEY[gateway.token.key_type]}
            )
            GatewayKeyRegeneration(
                f"{name}-retired-key",
                retired,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
                provider=args.key_regeneration_provider,
            )

        context = f" --context {gateway.kubernetes.context}" if gateway.kubernetes.context else ""
        self.gateway_id = credentials.gateway_id
        self.configuration_endpoint = endpoint
        self.namespace = pulumi.Output.from_input(names.namespace)
        self.deployment_name = pulumi.Output.from_input(names.deployment)
        self.traffic_service_name = pulumi.Output.from_input(names.traffic_service)
        self.discovery_service_name = pulumi.Output.from_input(names.discovery_service)
        self.token_expires_on = credentials.token_expires_on or pulumi.Output.from_input("none")
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

    # -- Azure ------------------------------------------------------------------------

    def _azure_side(self, name: str, args: SelfHostedGatewayArgs, child: pulumi.ResourceOptions) -> _Credentials:
        gateway = args.gateway
        auth = gateway.auth
        apim: dict[str, Any] = {
            "resource_group_name": args.apim_resource_group_name,
            "service_name": args.apim_service_name,
        }
        needs_apim_scope = args.apim_mode == "managed" or auth.mode != "token"
        if needs_apim_scope and (args.apim_resource_group_name is None or args.apim_service_name is None):
            raise ValueError(
                f"gateway {gateway.name!r}: apim_mode {args.apim_mode!r} with auth mode {auth.mode!r} "
                "needs the APIM resource group and service name"
            )

        if args.apim_mode == "managed":
            gateway_id = self._gateway_resource(name, args, apim, child)
        else:
            gateway_id = pulumi.Output.from_input(gateway.name)
        credentials = _Credentials(gateway_id=gateway_id)

        client = None
        if needs_apim_scope:
            # The subscription the azure-native provider deploys to, and so the APIM instance's.
            client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        if auth.mode == "token" and args.apim_mode == "managed":
            assert client is not None
            window = renewal_window(
                args.now or datetime.now(UTC), gateway.token.validity_days, gateway.token.renewal_interval_days
            )
            token_args = GatewayTokenArgs(
                subscription_id=client.subscription_id,
                resource_group_name=args.apim_resource_group_name,  # type: ignore[arg-type]
                service_name=args.apim_service_name,  # type: ignore[arg-type]
                gateway_id=gateway_id,
                key_type=gateway.token.key_type,
                expires_on=format_expiry(window.expires_on),
            )
            token = GatewayToken(f"{name}-access-token", token_args, opts=child, provider=args.token_provider)
            # additional_secret_outputs makes the engine store the value encrypted; wrapping it
            # here keeps everything derived from it (Secret data, pod digest) secret as well.
            credentials.token = pulumi.Output.secret(token.value)
            credentials.token_expires_on = token.expires_on
            credentials.token_args = token_args
        elif auth.mode == "token":
            if args.token is None:
                raise ValueError(f"gateway {gateway.name!r}: apim_mode 'existing' with token auth needs a token")
            credentials.token = pulumi.Output.secret(args.token).apply(
                lambda token: token if token.startswith("GatewayKey ") else f"GatewayKey {token}"
            )
            # The expiry field of a token is public (the portal shows it); the signature is not.
            credentials.token_expires_on = pulumi.Output.unsecret(
                credentials.token.apply(lambda token: format_expiry(e) if (e := token_expiry(token)) else "unknown")
            )
        else:
            assert client is not None
            apim_scope = pulumi.Output.concat(
                "/subscriptions/",
                client.subscription_id,
                "/resourceGroups/",
                args.apim_resource_group_name,  # type: ignore[arg-type]
                "/providers/Microsoft.ApiManagement/service/",
                args.apim_service_name,  # type: ignore[arg-type]
            )
            principal_id = self._identity(name, args, credentials, child)
            self._configuration_reader(name, args, apim_scope, principal_id, child)
            if auth.create_apim_validator_role:
                self._apim_validator(name, args, apim_scope, child)
        return credentials

    def _gateway_resource(
        self, name: str, args: SelfHostedGatewayArgs, apim: dict[str, Any], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        gateway = args.gateway
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
        gateway_id: pulumi.Output[str] = pulumi.Output.from_input(gateway_resource.name)
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
        return gateway_id

    def _identity(
        self, name: str, args: SelfHostedGatewayArgs, credentials: _Credentials, child: pulumi.ResourceOptions
    ) -> pulumi.Input[str]:
        """The principal that reads the configuration: the Entra app's, or a new managed identity."""
        gateway = args.gateway
        auth = gateway.auth
        if auth.mode == "entraApp":
            if not auth.client_certificate_secret_name:
                if args.entra_client_secret is None:
                    raise ValueError(f"gateway {gateway.name!r}: auth mode 'entraApp' needs a client secret")
                credentials.client_secret = pulumi.Output.secret(args.entra_client_secret)
            assert auth.service_principal_object_id is not None
            return auth.service_principal_object_id
        identity_settings = auth.workload_identity
        assert identity_settings is not None and gateway.service_account_name is not None
        identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=identity_settings.resource_group_name,
            location=identity_settings.location,
            resource_name_=f"id-{gateway.name}",
            opts=child,
        )
        azure_native.managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=identity_settings.resource_group_name,
            resource_name_=identity.name,
            federated_identity_credential_resource_name=f"{gateway.name}-{gateway.namespace_name}",
            issuer=identity_settings.oidc_issuer_url,
            subject=f"system:serviceaccount:{gateway.namespace_name}:{gateway.service_account_name}",
            audiences=[FEDERATION_AUDIENCE],
            opts=child,
        )
        credentials.workload_client_id = pulumi.Output.from_input(identity.client_id)
        return pulumi.Output.from_input(identity.principal_id)

    def _configuration_reader(
        self,
        name: str,
        args: SelfHostedGatewayArgs,
        apim_scope: pulumi.Output[str],
        principal_id: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """The role holding getConfiguration (there is no built-in one), assigned on the instance."""
        gateway = args.gateway
        role_id: pulumi.Input[str]
        if gateway.auth.role_definition_id:
            role_id = gateway.auth.role_definition_id
        else:
            role = azure_native.authorization.RoleDefinition(
                f"{name}-configuration-reader",
                role_definition_id=apim_scope.apply(lambda scope: _guid(scope, gateway.name, "configuration-reader")),
                role_name=apim_scope.apply(
                    lambda scope: (
                        f"API Management Gateway Configuration Reader ({scope.rsplit('/', 1)[-1]}/{gateway.name})"
                    )
                ),
                description="Lets a self-hosted gateway download its configuration.",
                scope=apim_scope,
                assignable_scopes=[apim_scope],
                permissions=[azure_native.authorization.PermissionArgs(data_actions=[GET_CONFIGURATION_ACTION])],
                opts=child,
            )
            role_id = role.id
        azure_native.authorization.RoleAssignment(
            f"{name}-configuration-reader",
            role_assignment_name=apim_scope.apply(
                lambda scope: _guid(scope, gateway.name, "configuration-reader-assignment")
            ),
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=apim_scope,
            opts=child,
        )

    def _apim_validator(
        self, name: str, args: SelfHostedGatewayArgs, apim_scope: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> None:
        """The APIM instance's own identity must read role assignments to validate callers."""
        instance = azure_native.apimanagement.get_api_management_service_output(
            resource_group_name=args.apim_resource_group_name,  # type: ignore[arg-type]
            service_name=args.apim_service_name,  # type: ignore[arg-type]
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        role = azure_native.authorization.RoleDefinition(
            f"{name}-apim-validator",
            role_definition_id=apim_scope.apply(lambda scope: _guid(scope, "apim-validator")),
            role_name=apim_scope.apply(
                lambda scope: f"API Management Gateway Identity Validator ({scope.rsplit('/', 1)[-1]})"
            ),
            description="Lets the API Management instance validate its self-hosted gateways' identities.",
            scope=apim_scope,
            assignable_scopes=[apim_scope],
            permissions=[azure_native.authorization.PermissionArgs(actions=["Microsoft.Authorization/*/read"])],
            opts=child,
        )
        azure_native.authorization.RoleAssignment(
            f"{name}-apim-validator",
            role_assignment_name=apim_scope.apply(lambda scope: _guid(scope, "apim-validator-assignment")),
            principal_id=instance.identity.apply(
                lambda identity: identity.principal_id if identity and identity.principal_id else ""
            ),
            principal_type="ServicePrincipal",
            role_definition_id=role.id,
            scope=apim_scope,
            opts=child,
        )

    # -- Kubernetes ---------------------------------------------------------------------

    def _kubernetes_side(
        self,
        name: str,
        args: SelfHostedGatewayArgs,
        credentials: _Credentials,
        settings: pulumi.Output[dict[str, str]],
    ) -> k8s.apps.v1.Deployment:
        gateway = args.gateway
        provider = args.kubernetes_provider or self._kubernetes_provider(name, args)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace_depends: list[pulumi.Resource] = []
        if gateway.namespace.create:
            ns = manifests.namespace(gateway)
            namespace_depends.append(k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns["metadata"], opts=k8s_opts))
        in_namespace = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=namespace_depends))

        pod_depends: list[pulumi.Resource] = []
        # In render mode the manifests are files: keep credentials out of them unless asked.
        render_credentials = not gateway.kubernetes.render_yaml_to_directory or gateway.kubernetes.render_secrets
        credential = credentials.token if credentials.token is not None else credentials.client_secret
        if not render_credentials:
            # Rendered files hold everything in plain text: not even a digest of the credential.
            credential = None
        if credentials.token is not None and render_credentials:
            secret = manifests.token_secret(gateway, credentials.token)
            pod_depends.append(self._secret(f"{name}-token", secret, in_namespace))
        if credentials.client_secret is not None and render_credentials:
            secret = manifests.entra_secret(gateway, credentials.client_secret)
            pod_depends.append(self._secret(f"{name}-entra-secret", secret, in_namespace))
        if credentials.workload_client_id is not None:
            account = manifests.service_account(gateway, credentials.workload_client_id)
            assert account is not None
            pod_depends.append(
                k8s.core.v1.ServiceAccount(
                    f"{name}-service-account",
                    metadata=account["metadata"],
                    automount_service_account_token=account["automountServiceAccountToken"],
                    opts=in_namespace,
                )
            )

        config_map = manifests.settings_config_map(gateway, settings)
        pod_depends.append(
            k8s.core.v1.ConfigMap(
                f"{name}-settings", metadata=config_map["metadata"], data=config_map["data"], opts=in_namespace
            )
        )

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

        spec = manifests.deployment(
            gateway,
            settings_digest=settings.apply(manifests.settings_checksum),
            credentials_digest=credential.apply(manifests.credentials_checksum) if credential is not None else None,
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=spec["metadata"],
            spec=spec["spec"],
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
        scaler = manifests.autoscaler(gateway)
        if scaler is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler", metadata=scaler["metadata"], spec=scaler["spec"], opts=in_namespace
            )
        policy = manifests.network_policy(gateway)
        if policy is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-network-policy", metadata=policy["metadata"], spec=policy["spec"], opts=in_namespace
            )
        return deployment

    @staticmethod
    def _secret(name: str, secret: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            name, metadata=secret["metadata"], type=secret["type"], string_data=secret["stringData"], opts=opts
        )

    def _kubernetes_provider(self, name: str, args: SelfHostedGatewayArgs) -> k8s.Provider:
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
            opts=pulumi.ResourceOptions(parent=self),
        )
