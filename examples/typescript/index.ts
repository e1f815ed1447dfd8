// Another team's stack, in TypeScript, reusing the SelfHostedGateway component through the
// apim-gateway package. The keys are the stack's config keys (docs/configuration.md); the
// component validates them exactly like a stack file and fails with the same message.
import * as pulumi from "@pulumi/pulumi";
import * as apimGateway from "@pulumi/apim-gateway";

const config = new pulumi.Config();

const gateway = new apimGateway.SelfHostedGateway("team-a-gw", {
    environment: "prod",  // a name; its rules: environmentRules (prod unless the name is dev)
    apim: {
        mode: apimGateway.types.enums.ApimMode.Managed,
        resourceGroupName: "rg-team-a",
        serviceName: "team-a-apim",
    },
    gateway: {
        name: "team-a-gw",
        locationData: { name: "aks-team-a", city: "Dublin" },
        replicas: 3,
        image: { tag: "2.12.1", pullPolicy: "IfNotPresent" },  // the stack's default tag (components/config/fields.py)
        resources: { requestsCpu: "1", requestsMemory: "1Gi" },
        // IntOrPercent settings are strings in the package: "1" or "25%".
        rollout: { maxUnavailable: "0", maxSurge: "1" },
        service: { type: "ClusterIP", annotations: { "team": "a" } },
        hostnames: [{ hostname: "api.team-a.contoso.com", certificateId: "team-a-cert" }],
        networkPolicy: { backendCidrs: ["10.20.0.0/16"], backendPorts: [443] },
        logs: { level: apimGateway.types.enums.LogLevel.Warn },
        extraSettings: { "runtime.deployment.artifact.source": "Azure Portal" },
    },
    // Kubeconfig content: a secret, typically another resource's output.
    kubeconfig: config.requireSecret("kubeconfig"),
});

export const configurationEndpoint = gateway.configurationEndpoint;
export const tokenExpiresOn = gateway.tokenExpiresOn;
export const checks = gateway.checks;
