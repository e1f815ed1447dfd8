"""The token-free modes' identity and roles: the Entra app's principal or a new managed identity
with its federated credential, the configuration reader role, and the APIM validator role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from ..args import Credentials, SelfHostedGatewayArgs

GET_CONFIGURATION_ACTION = "Microsoft.ApiManagement/service/gateways/getConfiguration/action"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
_ROLE_NAMESPACE = uuid.UUID("6f1c2b9e-3f5c-4a51-9a55-8d7c1a0f4b21")
"""Fixed namespace for the deterministic GUIDs of role definitions and assignments."""


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_ROLE_NAMESPACE, "/".join(parts)))


def identity(
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
    if identity_settings.client_id is not None:
        # Bring your own (issue 24): no identity and no federated credential; its owner keeps both.
        assert identity_settings.principal_object_id is not None
        credentials.workload_client_id = pulumi.Output.from_input(identity_settings.client_id)
        return identity_settings.principal_object_id
    assert identity_settings.resource_group_name and identity_settings.location and identity_settings.oidc_issuer_url
    managed_identity = azure_native.managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_group_name=identity_settings.resource_group_name,
        location=identity_settings.location,
        resource_name_=f"id-{gateway.name}",
        opts=child,
    )
    federation = azure_native.managedidentity.FederatedIdentityCredential(
        f"{name}-federation",
        resource_group_name=identity_settings.resource_group_name,
        resource_name_=managed_identity.name,
        federated_identity_credential_resource_name=f"{gateway.name}-{gateway.namespace_name}",
        issuer=identity_settings.oidc_issuer_url,
        subject=f"system:serviceaccount:{gateway.namespace_name}:{gateway.service_account_name}",
        audiences=[FEDERATION_AUDIENCE],
        opts=child,
    )
    credentials.azure_dependencies.extend([managed_identity, federation])
    credentials.workload_client_id = pulumi.Output.from_input(managed_identity.client_id)
    return pulumi.Output.from_input(managed_identity.principal_id)


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
    form. (Releases before issue 23 sent the role's Pulumi id, its PUT path, which for a
    resource-group definition carries ``/resourceGroups/<rg>`` (crud.go
    ``PrepareAzureRESTIdAndQuery``), unless ARM's PUT answer named another id, which azure-native
    then keeps (provider.go ``defaultCreate``, "Read the canonical ID from the response"). Stacks
    that stored the resource-group form are migrated once: ``role_id_migration``.)"""
    return f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def role_scopes(args: SelfHostedGatewayArgs, subscription_id: pulumi.Input[str]) -> RoleScopes:
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


def configuration_reader(
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
    """After its role: the id is built, not taken from the role, so the dependency is explicit.

    No ``ignore_changes`` on ``roleDefinitionId``: the engine applies it by putting the old input
    back into the goal before diffing (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``,
    ``processIgnoreChanges``), and the role is part of the assignment's name, so a new role (another
    ``auth.roleDefinitionId``, ``auth.customRoleScope`` or instance) would replace the assignment
    with one created with the OLD role id. Stacks that stored the resource-group form of the same
    role migrate once instead (``role_id_migration``; docs/operations.md, "Upgrading a stack made
    before issue 23")."""
    return pulumi.ResourceOptions(depends_on=roles)


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


def apim_validator(
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
