"""Stack entry point: validate config, create one SelfHostedGateway per gateway, export."""

import pulumi

from components import (
    ConfigError,
    SelfHostedGateway,
    SelfHostedGatewayArgs,
    TokenExpiryAlertResources,
    read_pulumi_config,
)
from components.kubernetes.adoption import check_adoption
from components.kubernetes.removal_guard import RemovalGuard, check_allowances

try:
    stack_config = read_pulumi_config()
    check_allowances(stack_config)
    check_adoption(stack_config)
except ConfigError as error:
    # RunError ends the program with this message only: no traceback, nothing registered.
    raise pulumi.RunError(str(error)) from None

# The stack's record of the namespaces, claims and classes it owns: a change that would delete one
# (a gateway removed from the list too, which registers nothing itself) fails here, in preview.
# Every component waits for it (the SDK registers a resource only once its depends_on are
# registered, and children only after their parent), so a refusal comes before anything changes.
removal_guard = RemovalGuard(
    stack_config.gateways,
    stack_config.allow_deleting,
    stack_config.retain,
    kubeconfig=stack_config.kubeconfig.get_secret_value() if stack_config.kubeconfig else None,
    owner_key=stack_config.owner_key.get_secret_value() if stack_config.owner_key else None,
)

kubeconfig = stack_config.kubeconfig
gateways = {}
for gateway in stack_config.gateways:
    token = stack_config.gateway_tokens.get(gateway.name)
    client_secret = stack_config.entra_client_secrets.get(gateway.name)
    proxy_credentials = stack_config.proxy_credentials.get(gateway.name)
    component = SelfHostedGateway(
        gateway.name,
        SelfHostedGatewayArgs(
            gateway=gateway,
            apim_mode=stack_config.apim.mode,
            apim_cloud=stack_config.apim.cloud,
            apim_resource_group_name=stack_config.apim.resource_group_name,
            apim_service_name=stack_config.apim.service_name,
            token=pulumi.Output.secret(token.get_secret_value()) if token else None,
            entra_client_secret=pulumi.Output.secret(client_secret.get_secret_value()) if client_secret else None,
            proxy_credentials=(
                pulumi.Output.secret(proxy_credentials.get_secret_value()) if proxy_credentials else None
            ),
            kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
            retain=frozenset(stack_config.retain),
            owner_key=stack_config.owner_key.get_secret_value() if stack_config.owner_key else None,
        ),
        opts=pulumi.ResourceOptions(depends_on=[removal_guard]),
    )
    gateways[gateway.name] = {
        "gatewayId": component.gateway_id,
        "configurationEndpoint": component.configuration_endpoint,
        "namespace": component.namespace,
        "deployment": component.deployment_name,
        "trafficService": component.traffic_service_name,
        "discoveryService": component.discovery_service_name,
        "tokenExpiresOn": component.token_expires_on,
        "checks": component.checks,
    }

if stack_config.token_expiry_alert is not None:
    # Checked by the config: both are set whenever tokenExpiryAlert is.
    assert stack_config.apim.resource_group_name and stack_config.apim.service_name
    alert = TokenExpiryAlertResources(
        "token-expiry-alert",
        stack_config.token_expiry_alert,
        apim_resource_group_name=stack_config.apim.resource_group_name,
        apim_service_name=stack_config.apim.service_name,
    )
    pulumi.export("tokenExpiryAlert", {"actionGroupId": alert.action_group_id, "systemTopic": alert.system_topic_name})

pulumi.export("environment", stack_config.environment)
pulumi.export("gateways", gateways)
