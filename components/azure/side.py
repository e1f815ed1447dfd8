"""The Azure side of ``SelfHostedGateway``: the gateway resource, its token or identity, and roles.

Registered as children of the component; returns the ``Credentials`` the Kubernetes side needs.
``gateway.py`` registers the gateway resource and its assignments, ``identity.py`` the identity
and the roles of the token-free modes, ``token.py`` holds the token resource.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from ..args import Credentials, SelfHostedGatewayArgs
from ..config import token_expiry
from .gateway import gateway_resources
from .identity import apim_validator, configuration_reader, identity, role_scopes
from .token import GatewayToken, GatewayTokenArgs, format_expiry, renewal_window


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
        registered = gateway_resources(component, name, args, apim, child)
        credentials.azure_dependencies.extend(registered)
        after_gateway = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[registered[0]]))

    client = None
    if needs_apim_scope:
        # The subscription the azure-native provider deploys to, and so the APIM instance's.
        client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=component))

    if auth.mode == "token" and gateway.token.existing_secret is not None:
        pass  # Bring your own (issue 24): the token is read from a Secret someone else renews.
    elif auth.mode == "token" and args.apim_mode == "managed":
        assert client is not None
        _generated_token(name, args, client.subscription_id, after_gateway, credentials)
    elif auth.mode == "token":
        _given_token(args, credentials)
    else:
        assert client is not None
        scopes = role_scopes(args, client.subscription_id)
        principal_id = identity(component, name, args, credentials, child)
        credentials.azure_dependencies.extend(configuration_reader(component, name, args, scopes, principal_id, child))
        if auth.create_apim_validator_role:
            credentials.azure_dependencies.extend(apim_validator(component, name, args, scopes, child))
    return credentials


def _generated_token(
    name: str,
    args: SelfHostedGatewayArgs,
    subscription_id: pulumi.Input[str],
    after_gateway: pulumi.ResourceOptions,
    credentials: Credentials,
) -> None:
    """``managed`` mode: the token generated for the current renewal window (``token.py``)."""
    gateway = args.gateway
    window = renewal_window(
        args.now or datetime.now(UTC), gateway.token.validity_days, gateway.token.renewal_interval_days
    )
    token_args = GatewayTokenArgs(
        subscription_id=subscription_id,
        resource_group_name=args.apim_resource_group_name,  # type: ignore[arg-type]
        service_name=args.apim_service_name,  # type: ignore[arg-type]
        gateway_id=gateway.name,
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


def _given_token(args: SelfHostedGatewayArgs, credentials: Credentials) -> None:
    """``existing`` mode: the token the stack was given (``gatewayTokens``), with or without its prefix."""
    if args.token is None:
        raise ValueError(f"gateway {args.gateway.name!r}: apim_mode 'existing' with token auth needs a token")
    credentials.token = pulumi.Output.secret(args.token).apply(
        lambda token: token if token.startswith("GatewayKey ") else f"GatewayKey {token}"
    )
    # The expiry field of a token is public (the portal shows it); the signature is not.
    credentials.token_expires_on = pulumi.Output.unsecret(
        credentials.token.apply(lambda token: format_expiry(e) if (e := token_expiry(token)) else "unknown")
    )
