"""Another team's stack reusing the component.

The APIM instance is created in this very program and the kubeconfig comes from an AKS
cluster's credentials: both reach the component as Pulumi Outputs, not as strings.
"""

import base64

import pulumi
import pulumi_azure_native as azure_native

from components import GatewayConfig, SelfHostedGateway, SelfHostedGatewayArgs

config = pulumi.Config()
resource_group = config.get("resourceGroupName") or "rg-team-a"
cluster_name = config.get("clusterName") or "aks-team-a"

apim = azure_native.apimanagement.ApiManagementService(
    "apim",
    resource_group_name=resource_group,
    service_name="team-a-apim",
    publisher_email="platform@contoso.com",
    publisher_name="Contoso Platform",
    sku=azure_native.apimanagement.ApiManagementServiceSkuPropertiesArgs(name="Developer", capacity=1),
)

credentials = azure_native.containerservice.list_managed_cluster_user_credentials_output(
    resource_group_name=resource_group, resource_name=cluster_name
)
kubeconfig = credentials.kubeconfigs[0].value.apply(lambda encoded: base64.b64decode(encoded).decode())

# The same schema the stack files use, validated the same way.
gateway = GatewayConfig.model_validate(
    {
        "name": "team-a-gw",
        "locationData": {"name": "aks-team-a", "city": "Dublin"},
        "replicas": 2,
        "resources": {"requestsCpu": "1", "requestsMemory": "1Gi"},
        "service": {"type": "ClusterIP"},
    }
)

team_gateway = SelfHostedGateway(
    "team-a-gw",
    SelfHostedGatewayArgs(
        gateway=gateway,
        apim_resource_group_name=resource_group,
        apim_service_name=apim.name,
        kubeconfig=kubeconfig,
    ),
)

pulumi.export("configurationEndpoint", team_gateway.configuration_endpoint)
pulumi.export("tokenExpiresOn", team_gateway.token_expires_on)
pulumi.export("checks", team_gateway.checks)
