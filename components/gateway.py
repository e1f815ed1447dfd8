"""``SelfHostedGateway``: one self-hosted gateway, from its APIM resource to running pods.

A thin layer: ``azure/side.py`` registers the Azure resources, ``kubernetes/side.py`` the
Kubernetes objects (described by the pure functions in ``kubernetes/manifests/``, with the
settings from ``kubernetes/settings.py``), all parented to the component, in dependency order.
"""

from __future__ import annotations

import pulumi

from .args import SelfHostedGatewayArgs
from .azure.side import azure_side
from .azure.token import RETIRED_KEY, GatewayKeyRegeneration, GatewayTokenArgs
from .kubernetes import manifests
from .kubernetes.settings import configuration_endpoint, gateway_settings
from .kubernetes.side import kubernetes_side

__all__ = ["COMPONENT_TYPE", "SelfHostedGateway", "SelfHostedGatewayArgs"]

COMPONENT_TYPE = "apim-gateway:index:SelfHostedGateway"


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

        credentials = azure_side(self, name, args, child)
        endpoint = pulumi.Output.from_input(args.apim_service_name or "").apply(
            lambda service: configuration_endpoint(gateway, service or None, args.apim_cloud)
        )
        settings = endpoint.apply(lambda host: gateway_settings(gateway, host, args.apim_cloud))
        deployment = kubernetes_side(self, name, args, credentials, settings)

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
