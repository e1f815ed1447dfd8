"""The gateway resource in the APIM instance, and its API, hostname and certificate-authority assignments."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from ..args import SelfHostedGatewayArgs
from ..config.azure import certificate_resource_id, certificate_service
from ..config.values import hostname_configuration_id, resource_suffix

# One derivation for resource names and hostname configuration ids, shared with the config
# checks that refuse two entries deriving the same name.
_safe_id = resource_suffix


def gateway_resources(
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
        opts=_adopting(child, gateway.adopt_gateway_resource_id),
    )
    gateway_id = gateway.name  # literal: see side.py, azure_side
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


def _adopting(child: pulumi.ResourceOptions, resource_id: str | None) -> pulumi.ResourceOptions:
    """``adoptGatewayResourceId``: the existing gateway is imported, not created (issue 24).

    An ``import`` id makes the engine read the resource instead of creating it when the stack has
    no state for it yet (pulumi v3.259.0 ``pkg/resource/deploy/step_generator.go`` lines 1102-1113,
    ``isImport``), and then carry on with the usual diff against the program's inputs, so a changed
    description or location is an update of that same gateway (lines 1241-1243). Once the stack
    holds it (same id in state), the option does nothing more; the setting may stay or go.
    """
    if resource_id is None:
        return child
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(import_=resource_id))


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
