"""The Azure side of ``SelfHostedGateway``: the gateway resource, its token or identity, and roles.

Registered as children of the component; returns the ``Credentials`` the Kubernetes side needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from .args import Credentials, SelfHostedGatewayArgs
from .config import token_expiry
from .config.azure import certificate_resource_id, certificate_service
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

    # The literal id, never the gateway resource's ``name`` output: that output is unknown in
    # the preview of any gateway update, and an unknown id makes preview show a new token, a
    # Secret update and a rollout that ``up`` will not do. The dependency stays explicit.
    gateway_id = gateway.name
    after_gateway = child
    credentials = Credentials(gateway_id=pulumi.Output.from_input(gateway_id))
    if args.apim_mode == "managed":
        gateway_resources = _gateway_resource(component, name, args, apim, child)
        credentials.azure_dependencies.extend(gateway_resources)
        after_gateway = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway_resources[0]]))

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
        token = GatewayToken(f"{name}-access-token", token_args, opts=after_gateway, provider=args.token_provider)
        credentials.azure_dependencies.append(token)
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
        scopes = _role_scopes(args, client.subscription_id)
        principal_id = _identity(component, name, args, credentials, child)
        credentials.azure_dependencies.extend(_configuration_reader(component, name, args, scopes, principal_id, child))
        if auth.create_apim_validator_role:
            credentials.azure_dependencies.extend(_apim_validator(component, name, args, scopes, child))
    return credentials


def _gateway_resource(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    apim: dict[str, Any],
    child: pulumi.ResourceOptions,
) -> list[pulumi.CustomResource]:
    """The gateway resource (first) and its API, hostname and certificate-authority assignments."""
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
    gateway_id = gateway.name  # literal: see azure_side
    child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway_resource]))
    resources: list[pulumi.CustomResource] = [gateway_resource]
    for api_id in gateway.apis:
        resources.append(
            azure_native.apimanagement.GatewayApiEntityTag(
                f"{name}-api-{_safe_id(api_id)}", gateway_id=gateway_id, api_id=api_id, **apim, opts=child
            )
        )
    for hostname in gateway.hostnames:
        resources.append(
            azure_native.apimanagement.GatewayHostnameConfiguration(
                f"{name}-hostname-{_safe_id(hostname.hostname)}",
                gateway_id=gateway_id,
                hc_id=hostname_configuration_id(hostname.hostname),
                hostname=hostname.hostname,
                certificate_id=_hostname_certificate_id(component, hostname.certificate_id, apim),
                negotiate_client_certificate=hostname.negotiate_client_certificate,
                http2_enabled=hostname.http2_enabled,
                tls10_enabled=hostname.tls10_enabled,
                tls11_enabled=hostname.tls11_enabled,
                **apim,
                opts=child,
            )
        )
    for authority in gateway.certificate_authorities:
        resources.append(
            azure_native.apimanagement.GatewayCertificateAuthority(
                f"{name}-ca-{_safe_id(authority.certificate_id)}",
                gateway_id=gateway_id,
                certificate_id=authority.certificate_id,
                is_trusted=authority.is_trusted,
                **apim,
                opts=child,
            )
        )
    return resources


def _hostname_certificate_id(
    component: pulumi.ComponentResource, certificate_id: str | None, apim: dict[str, Any]
) -> pulumi.Input[str] | None:
    """ARM wants the certificate's full resource id (REST spec example
    ``ApiManagementCreateGatewayHostnameConfiguration.json``); a bare name is expanded in the
    APIM instance's subscription (the one azure-native deploys to)."""
    if certificate_id is None or certificate_service(certificate_id) is not None:
        return certificate_id
    client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=component))
    return pulumi.Output.all(client.subscription_id, apim["resource_group_name"], apim["service_name"]).apply(
        lambda values: certificate_resource_id(certificate_id, values[0], values[1], values[2])
    )


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
    federation = azure_native.managedidentity.FederatedIdentityCredential(
        f"{name}-federation",
        resource_group_name=identity_settings.resource_group_name,
        resource_name_=identity.name,
        federated_identity_credential_resource_name=f"{gateway.name}-{gateway.namespace_name}",
        issuer=identity_settings.oidc_issuer_url,
        subject=f"system:serviceaccount:{gateway.namespace_name}:{gateway.service_account_name}",
        audiences=[FEDERATION_AUDIENCE],
        opts=child,
    )
    credentials.azure_dependencies.extend([identity, federation])
    credentials.workload_client_id = pulumi.Output.from_input(identity.client_id)
    return pulumi.Output.from_input(identity.principal_id)


@dataclass(frozen=True)
class RoleScopes:
    """Where the custom roles are defined, and where they are assigned."""

    definition: pulumi.Output[str]
    """The APIM instance's resource group or subscription (``auth.customRoleScope``): the role
    definitions' scope and their only ``assignableScopes`` entry. Microsoft documents management
    groups, subscriptions and resource groups there, and advises against a single resource
    (Microsoft Learn, "Understand Azure role definitions", AssignableScopes)."""
    instance: pulumi.Output[str]
    """The APIM instance's resource id: where the configuration reader is assigned."""
    service_name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    subscription: pulumi.Output[str]
    """``/subscriptions/<id>``: the APIM instance's (and the role definitions') subscription."""


def role_definition_id(subscription: str, guid: str) -> str:
    """A custom role's id as ARM reports it: subscription-scoped whatever scope it was defined at.
    Microsoft's REST examples (azure-rest-api-specs, Microsoft.Authorization 2022-05-01-preview
    ``PutRoleDefinition.json`` and ``GetRoleDefinitionById.json``) answer a role defined at any
    ``scope`` with ``/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>``,
    and the 2022-04-01 ``RoleAssignments_Create*.json`` examples send ``roleDefinitionId`` in that
    form. (azure-native's own id for the role is its PUT path, which for a resource-group
    definition carries ``/resourceGroups/<rg>``: crud.go ``PrepareAzureRESTIdAndQuery``.)"""
    return f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def _role_scopes(args: SelfHostedGatewayArgs, subscription_id: pulumi.Input[str]) -> RoleScopes:
    subscription = pulumi.Output.concat("/subscriptions/", subscription_id)
    resource_group_name = pulumi.Output.from_input(args.apim_resource_group_name).apply(str)
    service_name = pulumi.Output.from_input(args.apim_service_name).apply(str)
    resource_group = pulumi.Output.concat(subscription, "/resourceGroups/", resource_group_name)
    return RoleScopes(
        definition=resource_group if args.gateway.auth.custom_role_scope == "resourceGroup" else subscription,
        instance=pulumi.Output.concat(resource_group, "/providers/Microsoft.ApiManagement/service/", service_name),
        service_name=service_name,
        resource_group_name=resource_group_name,
        subscription=subscription,
    )


def _configuration_reader(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    scopes: RoleScopes,
    principal_id: pulumi.Input[str],
    child: pulumi.ResourceOptions,
) -> list[pulumi.CustomResource]:
    """The role holding getConfiguration (there is no built-in one): defined at the resource group
    or subscription, assigned to the gateway's identity on the instance only. Microsoft's
    self-hosted gateway Entra ID and workload identity articles ("Assign API Management Gateway
    Configuration Reader Role": scope "The API Management instance") and their role template."""
    gateway = args.gateway
    resources: list[pulumi.CustomResource] = []
    role_id: pulumi.Input[str]
    role_key: pulumi.Output[str]
    if gateway.auth.role_definition_id:
        role_id = gateway.auth.role_definition_id
        role_key = pulumi.Output.from_input(gateway.auth.role_definition_id)
    else:
        # Stable per scope: the same definition scope, instance and gateway always give the same GUID.
        role_key = pulumi.Output.all(scopes.definition, scopes.service_name).apply(
            lambda parts: _guid(parts[0], parts[1], gateway.name, "configuration-reader")
        )
        role = azure_native.authorization.RoleDefinition(
            f"{name}-configuration-reader",
            role_definition_id=role_key,
            # Role names are unique per tenant (Microsoft Learn, "Azure custom roles", roleName):
            # the definition scope in the name keeps two stacks' roles apart.
            role_name=pulumi.Output.all(scopes.definition, scopes.service_name).apply(
                lambda parts: f"API Management Gateway Configuration Reader: {gateway.name} of {parts[1]} ({parts[0]})"
            ),
            description="Can read self-hosted gateway configuration from Configuration API",
            scope=scopes.definition,
            assignable_scopes=[scopes.definition],
            permissions=[azure_native.authorization.PermissionArgs(data_actions=[GET_CONFIGURATION_ACTION])],
            opts=child,
        )
        role_id = pulumi.Output.all(scopes.subscription, role_key).apply(lambda parts: role_definition_id(*parts))
        resources.append(role)
    assignment = azure_native.authorization.RoleAssignment(
        f"{name}-configuration-reader",
        # The role is part of the assignment's name, so a new role (or a new definition scope) is a
        # new assignment, created before the old one is deleted, never an update of an assignment's role.
        role_assignment_name=pulumi.Output.all(scopes.instance, role_key).apply(
            lambda parts: _guid(parts[0], gateway.name, parts[1], "configuration-reader-assignment")
        ),
        principal_id=principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=role_id,
        scope=scopes.instance,
        opts=pulumi.ResourceOptions.merge(child, _assignment_options(resources)),
    )
    return [*resources, assignment]


def _assignment_options(roles: list[pulumi.CustomResource]) -> pulumi.ResourceOptions:
    """After its role (the id is built, not taken from the role), and ``roleDefinitionId`` never
    updated in place: the role is part of the assignment's name, so another role is another
    assignment; and stacks made before the subscription-scoped id (``role_definition_id``) keep
    the resource-group form they were created with instead of a PUT of an assignment's role,
    which ARM may refuse (docs/operations.md, "Custom roles")."""
    return pulumi.ResourceOptions(depends_on=roles, ignore_changes=["roleDefinitionId"])


class ApimIdentityError(pulumi.RunError):
    """The APIM instance has no system-assigned managed identity to give the validator role to."""


def _identity_field(identity: Any, key: str) -> Any:
    """A field of the invoke's identity: a typed object, or a plain mapping once ``Output.all`` unwrapped it."""
    if identity is None:
        return None
    if isinstance(identity, dict):
        return identity.get(key)
    return getattr(identity, key, None)


def _system_assigned_principal(identity: Any, service_name: str, resource_group_name: str) -> str:
    principal_id = _identity_field(identity, "principal_id")
    if not principal_id:
        kind = _identity_field(identity, "type") or "None"
        raise ApimIdentityError(
            f"API Management instance {service_name!r} (resource group {resource_group_name!r}) has no "
            f"system-assigned managed identity (identity type: {kind}); auth.createApimValidatorRole gives "
            "that identity the role it needs to validate the gateway's Entra ID tokens. Enable the "
            "instance's system-assigned managed identity and run again, or set "
            "auth.createApimValidatorRole: false and assign the role yourself (docs/azure-identity.md)."
        )
    return str(principal_id)


def _apim_validator(
    component: pulumi.ComponentResource,
    name: str,
    args: SelfHostedGatewayArgs,
    scopes: RoleScopes,
    child: pulumi.ResourceOptions,
) -> list[pulumi.CustomResource]:
    """The APIM instance's own identity must read role assignments to validate callers: Microsoft's
    "API Management Configuration API Access Validator Service Role" (``Microsoft.Authorization/*/read``),
    assigned to the instance's system-assigned identity (the only kind supported) at the resource
    group or subscription the instance is deployed in (the self-hosted gateway Entra ID and workload
    identity articles, "Assign API Management Configuration API Access Validator Service Role")."""
    instance = azure_native.apimanagement.get_api_management_service_output(
        resource_group_name=args.apim_resource_group_name,  # type: ignore[arg-type]
        service_name=args.apim_service_name,  # type: ignore[arg-type]
        opts=pulumi.InvokeOutputOptions(parent=component),
    )
    # Checked inside the apply, so preview stops as well; never an assignment with an empty principal.
    principal_id = pulumi.Output.all(instance.identity, scopes.service_name, scopes.resource_group_name).apply(
        lambda parts: _system_assigned_principal(parts[0], parts[1], parts[2])
    )
    role_key = pulumi.Output.all(scopes.definition, scopes.service_name).apply(
        lambda parts: _guid(parts[0], parts[1], "apim-validator")
    )
    role = azure_native.authorization.RoleDefinition(
        f"{name}-apim-validator",
        role_definition_id=role_key,
        role_name=pulumi.Output.all(scopes.definition, scopes.service_name).apply(
            lambda parts: f"API Management Configuration API Access Validator Service Role: {parts[1]} ({parts[0]})"
        ),
        description="Can access RBAC permissions on the API Management resource to authorize requests in "
        "Configuration API.",
        scope=scopes.definition,
        assignable_scopes=[scopes.definition],
        permissions=[azure_native.authorization.PermissionArgs(actions=["Microsoft.Authorization/*/read"])],
        opts=child,
    )
    assignment = azure_native.authorization.RoleAssignment(
        f"{name}-apim-validator",
        role_assignment_name=pulumi.Output.all(scopes.definition, scopes.service_name, role_key).apply(
            lambda parts: _guid(parts[0], parts[1], parts[2], "apim-validator-assignment")
        ),
        principal_id=principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=pulumi.Output.all(scopes.subscription, role_key).apply(
            lambda parts: role_definition_id(*parts)
        ),
        scope=scopes.definition,
        opts=pulumi.ResourceOptions.merge(child, _assignment_options([role])),
    )
    return [role, assignment]
