"""The Azure side of ``SelfHostedGateway``: the gateway resource, its token or identity, and roles.

Registered as children of the component; returns the ``Credentials`` the Kubernetes side needs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from .args import Credentials, SelfHostedGatewayArgs
from .config import token_expiry
from .config.values import hostname_configuration_id, resource_suffix
from .token import GatewayToken, GatewayTokenArgs, format_expiry, renewal_window

GET_CONFIGURATION_ACTION = "Microsoft.ApiManagement/service/gateways/getConfiguration/action"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
_ROLE_NAMESPACE = uuid.UUID("6f1c2b9e-3f5c-4a51-9a55-8d7c1a0f4b21")
"""Fixed namespace for the deterministic GUIDs of role definitions and assignments."""


# One derivation for resource names and hostname configuration ids, shared with the config
# checks that refuse two entries deriving the same name.
_safe_id = resource_suffix


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_ROLE_NAMESPACE, "/".join(parts)))


def azure_side(
    component: pulumi.ComponentResource, name: str, args: SelfHostedGatewayArgs, child: pulumi.ResourceOptions
) -> Credentials:
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
        gateway_id = _gateway_resource(component, name, args, apim, child)
    else:
        gateway_id = pulumi.Output.from_input(gateway.name)
    credentials = Credentials(gateway_id=gateway_id)

    client = None
    if needs_apim_scope:
        # The subscription the azure-native provider deploys to, and so the APIM instance's.
        client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=component))

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
        principal_id = _identity(component, name, args, credentials, child)
        _configuration_reader(component, name, args, apim_scope, principal_id, child)
        if auth.create_apim_validator_role:
            _apim_validator(component, name, args, apim_scope, child)
    return credentials


def _gateway_resource(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    apim: dict[str, Any],
    child: pulumi.ResourceOptions,
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
            hc_id=hostname_configuration_id(hostname.hostname),
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
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    credentials: Credentials,
    child: pulumi.ResourceOptions,
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
    component: pulumi.ComponentResource,
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
                lambda scope: f"API Management Gateway Configuration Reader ({scope.rsplit('/', 1)[-1]}/{gateway.name})"
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
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    apim_scope: pulumi.Output[str],
    child: pulumi.ResourceOptions,
) -> None:
    """The APIM instance's own identity must read role assignments to validate callers."""
    instance = azure_native.apimanagement.get_api_management_service_output(
        resource_group_name=args.apim_resource_group_name,  # type: ignore[arg-type]
        service_name=args.apim_service_name,  # type: ignore[arg-type]
        opts=pulumi.InvokeOutputOptions(parent=component),
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
