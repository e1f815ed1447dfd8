"""The whole program under Pulumi's mocks, for the dev and the prod stack files:
every resource and property that matters, dev/prod differences, secrecy, rollouts."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from harness import SUBSCRIPTION_ID, Recording, run_main, run_program, stack_file_config
from offline import FAKE_ROLLOUT_KEY, restore_integers

from components import SelfHostedGateway, SelfHostedGatewayArgs, parse_stack_config
from components.kubernetes import manifests
from components.kubernetes.cluster_guard import OWNER_ANNOTATION

NS = "apim-gateway"
KUBERNETES_VERSION = "1.34.0"
K8S_TYPES = {
    "kubernetes:core/v1:Namespace": ("v1", "Namespace"),
    "kubernetes:core/v1:Secret": ("v1", "Secret"),
    "kubernetes:core/v1:ConfigMap": ("v1", "ConfigMap"),
    "kubernetes:core/v1:Service": ("v1", "Service"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("v1", "PersistentVolumeClaim"),
    "kubernetes:core/v1:NamespacePatch": ("v1", "Namespace"),
    "kubernetes:core/v1:PersistentVolumeClaimPatch": ("v1", "PersistentVolumeClaim"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "kubernetes:core/v1:ServiceAccount": ("v1", "ServiceAccount"),
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": ("scheduling.k8s.io/v1", "PriorityClass"),
}
EXISTING_TOKEN = "contoso-dev-gw&203001010000&c2VjcmV0LXNpZ25hdHVyZQ=="


def as_object(resource_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    api_version, kind = K8S_TYPES[resource_type]
    return {"apiVersion": api_version, "kind": kind, **restore_integers(inputs)}


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_main(stack_file_config("dev"), stack="dev")


@pytest.fixture(scope="module")
def prod() -> Recording:
    return run_main(stack_file_config("prod"), stack="prod")


@pytest.fixture(scope="module")
def prod_token() -> Recording:
    """The prod stack in token mode: the example uses workload identity (docs/network.md)."""
    raw = stack_file_config("prod")
    raw[f"{NS}:gateways"][0]["auth"] = {"mode": "token"}
    return run_main(raw, stack="prod")


def types(recording: Recording) -> list[str]:
    return sorted(resource.type for resource in recording.resources)


def test_prod_registers_every_resource(prod: Recording) -> None:
    assert types(prod) == sorted(
        [
            "apim-gateway:index:SelfHostedGateway",
            "azure-native:apimanagement:Gateway",
            "azure-native:apimanagement:GatewayApiEntityTag",
            "azure-native:apimanagement:GatewayApiEntityTag",
            "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard",
            "pulumi-python:dynamic/apim-gateway:ClusterGuard",
            "pulumi-python:dynamic/apim-gateway:RemovalGuard",  # the stack's, not the gateway's
            # Workload identity: a managed identity federated with the ServiceAccount, the
            # configuration-reader and APIM-validator roles; no token, no token Secret.
            "azure-native:managedidentity:UserAssignedIdentity",
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azure-native:authorization:RoleDefinition",
            "azure-native:authorization:RoleDefinition",
            "azure-native:authorization:RoleAssignment",
            "azure-native:authorization:RoleAssignment",
            "pulumi:providers:kubernetes",
            # keepOnDestroy: the claim and the namespace that holds it are created or adopted, and kept
            "kubernetes:core/v1:NamespacePatch",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:core/v1:Secret",  # the custom CA bundle
            "kubernetes:scheduling.k8s.io/v1:PriorityClass",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:storage.k8s.io/v1:StorageClass",  # backup.createStorageClass (uid/gid 1001)
            "kubernetes:core/v1:PersistentVolumeClaimPatch",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:Service",
            "kubernetes:policy/v1:PodDisruptionBudget",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        ]
    )


def test_dev_has_no_backup_claim_and_fewer_apis(dev: Recording) -> None:
    assert "kubernetes:core/v1:PersistentVolumeClaim" not in types(dev)
    assert len(dev.of_type("azure-native:apimanagement:GatewayApiEntityTag")) == 1
    deployment = dev.one("kubernetes:apps/v1:Deployment").inputs
    assert deployment["spec"]["replicas"] == 1
    assert "volumes" not in deployment["spec"]["template"]["spec"]


def test_children_are_parented_to_the_component_and_use_its_provider(prod: Recording) -> None:
    component = prod.one("apim-gateway:index:SelfHostedGateway")
    assert component.name == "contoso-weu-gw"
    component_urn_suffix = "apim-gateway:index:SelfHostedGateway::contoso-weu-gw"
    for resource in prod.resources:
        if resource is component or resource.type == "pulumi-python:dynamic/apim-gateway:RemovalGuard":
            continue  # the removal guard is the stack's own
        assert resource.parent.endswith(component_urn_suffix), resource.name
        if resource.type.startswith("kubernetes:"):
            assert "pulumi:providers:kubernetes::contoso-weu-gw-kubernetes" in resource.provider


def test_gateway_resource(prod: Recording) -> None:
    gateway = prod.one("azure-native:apimanagement:Gateway").inputs
    assert gateway["resourceGroupName"] == "rg-apim-prod"
    assert gateway["serviceName"] == "contoso-apim-prod"
    assert gateway["gatewayId"] == "contoso-weu-gw"
    assert gateway["description"].startswith("Self-hosted gateway")
    assert gateway["locationData"] == {
        "name": "prod-aks-westeurope",
        "city": "Amsterdam",
        "district": "Noord-Holland",
        "countryOrRegion": "Netherlands",
    }
    apis = sorted(tag.inputs["apiId"] for tag in prod.of_type("azure-native:apimanagement:GatewayApiEntityTag"))
    assert apis == ["orders-api", "payments-api"]


def test_token_resource_inputs(prod_token: Recording) -> None:
    prod = prod_token
    token = prod.one("pulumi-python:dynamic:Resource", "contoso-weu-gw-access-token").inputs
    assert token["subscription_id"] == SUBSCRIPTION_ID
    assert (token["resource_group_name"], token["service_name"]) == ("rg-apim-prod", "contoso-apim-prod")
    assert (token["gateway_id"], token["key_type"]) == ("contoso-weu-gw", "primary")
    expires_on = datetime.strptime(token["expires_on"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now + timedelta(days=23) - timedelta(hours=1) <= expires_on <= now + timedelta(days=30)
    assert any(call[0] == "azure-native:authorization:getClientConfig" for call in prod.calls)


def test_kubernetes_objects_match_the_pure_functions(prod: Recording) -> None:
    config = parse_stack_config(stack_file_config("prod"))
    gateway = config.gateways[0]
    registered = restore_integers(prod.one("kubernetes:apps/v1:Deployment").inputs)
    annotations = registered["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/credentials" not in annotations  # workload identity: no credential to digest
    expected = manifests.deployment(gateway, annotations["checksum/settings"], None)
    # The one addition: the stack's ownership annotation (components/kubernetes/cluster_guard.py).
    assert registered["metadata"]["annotations"].pop(OWNER_ANNOTATION) == "apim-gateway/prod"
    assert registered == expected
    assert (
        restore_integers(prod.one("kubernetes:core/v1:Service", "contoso-weu-gw-traffic").inputs)["spec"]
        == manifests.traffic_service(gateway)["spec"]
    )
    assert (
        restore_integers(prod.one("kubernetes:core/v1:Service", "contoso-weu-gw-discovery").inputs)["spec"]
        == manifests.discovery_service(gateway)["spec"]
    )
    claim = manifests.backup_claim(gateway)
    assert claim is not None
    assert prod.one("kubernetes:core/v1:PersistentVolumeClaimPatch").inputs["spec"] == claim["spec"]
    namespace = prod.one("kubernetes:core/v1:NamespacePatch").inputs
    assert namespace["metadata"]["name"] == "contoso-weu-gw"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_registered_kubernetes_object_passes_strict_schema_validation(
    stack: str, dev: Recording, prod: Recording
) -> None:
    recording = {"dev": dev, "prod": prod}[stack]
    checked = 0
    for resource in recording.resources:
        if resource.type in K8S_TYPES:
            kubernetes_validate.validate(as_object(resource.type, resource.inputs), KUBERNETES_VERSION, strict=True)
            checked += 1
    assert checked >= 7


def test_settings_config_map(prod: Recording) -> None:
    data = prod.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert data["config.service.endpoint"] == "config.apis.contoso.com"
    assert data["neighborhood.host"] == "contoso-weu-gw-instance-discovery.contoso-weu-gw.svc.cluster.local"
    assert "config.service.auth" not in data


def test_settings_endpoint_defaults_to_the_instance(dev: Recording) -> None:
    data = dev.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert data["config.service.endpoint"] == "contoso-apim-dev.configuration.azure-api.net"


def test_token_is_a_secret_everywhere(prod_token: Recording) -> None:
    prod = prod_token
    secret = prod.one("kubernetes:core/v1:Secret", "contoso-weu-gw-token")
    token = secret.inputs["stringData"]["value"]
    assert token.startswith("GatewayKey contoso-weu-gw&")
    assert "stringData" in secret.secret_paths
    deployment = prod.one("kubernetes:apps/v1:Deployment")
    assert "spec.template.metadata.annotations.checksum/credentials" in deployment.secret_paths
    bare = token.removeprefix("GatewayKey ")
    for resource in prod.resources:
        assert bare not in json.dumps(resource.plain), resource.name
    assert bare not in json.dumps(prod.plain_outputs)
    assert bare not in json.dumps(prod.outputs)  # not even as a secret output


def test_outputs(prod: Recording) -> None:
    outputs = prod.outputs["gateways"]["contoso-weu-gw"]
    assert outputs["gatewayId"] == "contoso-weu-gw"
    assert outputs["configurationEndpoint"] == "config.apis.contoso.com"
    assert outputs["namespace"] == "contoso-weu-gw"
    assert outputs["deployment"] == "contoso-weu-gw"
    assert outputs["trafficService"] == "contoso-weu-gw-live-traffic"
    assert outputs["tokenExpiresOn"] == "none"  # workload identity: no token to expire
    assert outputs["checks"] == {
        "deployments": "kubectl get deployments -n contoso-weu-gw --context aks-contoso-prod-weu",
        "services": "kubectl get services -n contoso-weu-gw --context aks-contoso-prod-weu",
        "logs": "kubectl logs deployment/contoso-weu-gw -n contoso-weu-gw --context aks-contoso-prod-weu",
    }
    assert prod.outputs["environment"] == "prod"


# -- existing (bring-your-own) gateway, secrets from config ---------------------------------


def existing_config(
    token: str, kubeconfig: str | None = "apiVersion: v1\nkind: Config\n# secret kubeconfig\n"
) -> tuple[dict[str, Any], tuple[str, ...]]:
    config = stack_file_config("dev")
    config[f"{NS}:apim"] = {"mode": "existing", "serviceName": "contoso-apim-dev"}
    config[f"{NS}:gatewayTokens"] = {"contoso-dev-gw": token}
    secret_keys = [f"{NS}:gatewayTokens"]
    if kubeconfig:
        config[f"{NS}:kubeconfig"] = kubeconfig
        secret_keys.append(f"{NS}:kubeconfig")
    return config, tuple(secret_keys)


def test_existing_mode_creates_no_azure_resource_and_keeps_secrets_secret() -> None:
    recording = run_main(*existing_config(EXISTING_TOKEN))
    assert not [r for r in recording.resources if r.type.startswith("azure-native:")]
    # No token resource: the only dynamic resource is the rollout annotation's key.
    assert [r.name for r in recording.of_type("pulumi-python:dynamic:Resource")] == ["contoso-dev-gw-rollout-key"]
    secret = recording.one("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"]["value"] == "GatewayKey " + EXISTING_TOKEN
    provider = recording.one("pulumi:providers:kubernetes")
    assert "kubeconfig" in provider.secret_paths
    for resource in recording.resources:
        plain = json.dumps(resource.plain)
        assert "c2VjcmV0LXNpZ25hdHVyZQ" not in plain, resource.name
        assert "# secret kubeconfig" not in plain, resource.name
    assert recording.outputs["gateways"]["contoso-dev-gw"]["tokenExpiresOn"] == "2030-01-01T00:00:00Z"
    assert "c2VjcmV0LXNpZ25hdHVyZQ" not in json.dumps(recording.outputs)


def test_a_new_token_changes_the_pod_template() -> None:
    first = run_main(*existing_config(EXISTING_TOKEN))
    second = run_main(*existing_config("contoso-dev-gw&203002010000&b3RoZXItc2lnbmF0dXJl"))
    template = [r.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"] for r in (first, second)]
    assert template[0] != template[1]
    assert (
        template[0]["metadata"]["annotations"]["checksum/credentials"]
        != template[1]["metadata"]["annotations"]["checksum/credentials"]
    )
    assert (
        template[0]["metadata"]["annotations"]["checksum/settings"]
        == template[1]["metadata"]["annotations"]["checksum/settings"]
    )


def test_the_credentials_annotation_is_an_hmac_under_a_kept_secret_key() -> None:
    """Issue 16.12: not an unsalted SHA-256 of the token (readable by whoever may get the
    Deployment), but HMAC-SHA256 under the stack's rollout key, which is a secret in state and
    kept across runs (``ignore_changes``; components/kubernetes/rollout.py)."""
    recording = run_main(*existing_config(EXISTING_TOKEN))
    key = recording.one("pulumi-python:dynamic:Resource", "contoso-dev-gw-rollout-key")
    assert key.ignore_changes == ("rollout_key",)
    assert "rollout_key" in key.secret_paths
    annotation = recording.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"][
        "checksum/credentials"
    ]
    credential = "GatewayKey " + EXISTING_TOKEN
    assert annotation != hashlib.sha256(credential.encode()).hexdigest()
    assert annotation == hmac.new(bytes.fromhex(FAKE_ROLLOUT_KEY), credential.encode(), hashlib.sha256).hexdigest()


def test_a_settings_change_changes_the_pod_template() -> None:
    config, secret_keys = existing_config(EXISTING_TOKEN)
    first = run_main(config, secret_keys)
    config[f"{NS}:gateways"][0]["logs"] = {"level": "warn"}
    second = run_main(config, secret_keys)
    annotations = [
        r.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"]
        for r in (first, second)
    ]
    assert annotations[0]["checksum/settings"] != annotations[1]["checksum/settings"]
    assert annotations[0]["checksum/credentials"] == annotations[1]["checksum/credentials"]


def test_token_renewal_window_changes_the_pod_template() -> None:
    gateway = parse_stack_config(stack_file_config("dev")).gateways[0]

    def program(now: datetime) -> None:
        SelfHostedGateway(
            "gw",
            SelfHostedGatewayArgs(gateway=gateway, apim_resource_group_name="rg", apim_service_name="svc", now=now),
        )

    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    runs = {
        "start": run_program(lambda: program(monday)),
        "same window": run_program(lambda: program(monday + timedelta(days=1))),
        "next window": run_program(lambda: program(monday + timedelta(days=8))),
    }
    expiry = {
        key: run.one("pulumi-python:dynamic:Resource", "gw-access-token").inputs["expires_on"]
        for key, run in runs.items()
    }
    digest = {
        key: run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"][
            "checksum/credentials"
        ]
        for key, run in runs.items()
    }
    assert expiry["start"] == expiry["same window"] != expiry["next window"]
    assert digest["start"] == digest["same window"] != digest["next window"]


def test_render_mode_leaves_the_secret_out_unless_asked() -> None:
    config, secret_keys = existing_config(EXISTING_TOKEN, kubeconfig=None)
    config.pop(f"{NS}:defaults")  # its kubernetes.context is refused in render mode
    config[f"{NS}:gateways"][0]["kubernetes"] = {"renderYamlToDirectory": "rendered"}
    rendered = run_main(config, secret_keys)
    assert not rendered.of_type("kubernetes:core/v1:Secret")
    annotations = rendered.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/credentials" not in annotations
    for resource in rendered.resources:
        assert "c2VjcmV0LXNpZ25hdHVyZQ" not in json.dumps(resource.inputs), resource.name
    provider = rendered.one("pulumi:providers:kubernetes").inputs
    assert provider["renderYamlToDirectory"] == "rendered"
    config[f"{NS}:gateways"][0]["kubernetes"] = {"renderYamlToDirectory": "rendered", "renderSecrets": True}
    assert run_main(config, secret_keys).of_type("kubernetes:core/v1:Secret")


def test_bad_config_registers_nothing() -> None:
    config = stack_file_config("prod")
    config[f"{NS}:gateways"][0]["replicas"] = 1
    with pytest.raises(pulumi.RunError, match=r"gateways\[0\]\(contoso-weu-gw\)\.replicas = 1: prod needs at least 2"):
        run_main(config, stack="prod")


def test_several_gateways_in_one_stack() -> None:
    config = stack_file_config("prod")
    second = json.loads(json.dumps(config[f"{NS}:gateways"][0]))
    second.update(
        name="contoso-neu-gw", locationData={"name": "prod-aks-northeurope"}, kubernetes={"context": "aks-neu"}
    )
    # The PriorityClass is cluster-wide: one gateway creates it, the other uses it.
    second["scheduling"]["priorityClass"]["create"] = False
    # So is the APIM instance's validator role: one gateway per instance creates it.
    second["auth"]["createApimValidatorRole"] = False
    # And the backup StorageClass: one gateway creates it, the other uses it.
    second["backup"]["createStorageClass"] = False
    config[f"{NS}:gateways"].append(second)
    recording = run_main(config, stack="prod")
    assert len(recording.of_type("apim-gateway:index:SelfHostedGateway")) == 2
    namespaces = sorted(r.inputs["metadata"]["name"] for r in recording.of_type("kubernetes:core/v1:NamespacePatch"))
    assert namespaces == ["contoso-neu-gw", "contoso-weu-gw"]
    contexts = sorted(str(r.inputs.get("context")) for r in recording.of_type("pulumi:providers:kubernetes"))
    assert contexts == ["aks-contoso-prod-weu", "aks-neu"]
    assert set(recording.outputs["gateways"]) == {"contoso-weu-gw", "contoso-neu-gw"}


def test_hostnames_certificate_authorities_and_kubeconfig_path() -> None:
    """A hostname's certificate given by name reaches ARM as the certificate's full resource id,
    the form of the REST spec example (azure-rest-api-specs, apimanagement stable/2024-05-01
    ``examples/ApiManagementCreateGatewayHostnameConfiguration.json``: ``certificateId`` is
    ``/subscriptions/…/service/apimService1/certificates/cert1``). A certificate authority's
    ``certificateId`` is a path parameter, the certificate's name (Gateway Certificate Authority -
    Create Or Update), and stays one."""
    config = stack_file_config("prod")
    config[f"{NS}:gateways"][0].update(
        hostnames=[{"hostname": "*.apis.contoso.com", "certificateId": "contoso-wildcard", "http2Enabled": False}],
        certificateAuthorities=[{"certificateId": "contoso-root", "isTrusted": True}],
        kubernetes={"kubeconfigPath": "/etc/kube/prod.yaml", "context": "aks-prod"},
    )
    recording = run_main(config, stack="prod")
    hostname = recording.one("azure-native:apimanagement:GatewayHostnameConfiguration").inputs
    assert hostname["hostname"] == "*.apis.contoso.com"
    assert hostname["hcId"] == "wildcard-apis-contoso-com"
    assert (hostname["certificateId"], hostname["http2Enabled"], hostname["tls10Enabled"]) == (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim-prod/providers/"
        "Microsoft.ApiManagement/service/contoso-apim-prod/certificates/contoso-wildcard",
        False,
        False,
    )
    authority = recording.one("azure-native:apimanagement:GatewayCertificateAuthority").inputs
    assert (authority["certificateId"], authority["isTrusted"], authority["gatewayId"]) == (
        "contoso-root",
        True,
        "contoso-weu-gw",
    )
    provider = recording.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "aks-prod"
    # The file is read once, here (components/kubernetes/kubeconfig.py); absent, the cluster guard
    # refuses the run naming the setting, and the provider gets no kubeconfig.
    guard = recording.one("pulumi-python:dynamic/apim-gateway:ClusterGuard").inputs
    assert "kubernetes.kubeconfigPath '/etc/kube/prod.yaml'" in guard["access"]["problem"]
    assert "no such file" in guard["access"]["problem"] and provider.inputs["kubeconfig"] == ""


def test_every_kubernetes_object_carries_the_recommended_labels(prod: Recording) -> None:
    for resource in prod.resources:
        if resource.type in K8S_TYPES:
            labels = resource.inputs["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == "azure-api-management-gateway", resource.name
            assert labels["app.kubernetes.io/instance"] == "contoso-weu-gw", resource.name
            assert labels["app.kubernetes.io/managed-by"] == "pulumi", resource.name
            # Not on Services: their updates await endpoints (see test_provider_behaviour.py).
            expected = None if resource.type == "kubernetes:core/v1:Service" else "2.12.1"
            assert labels.get("app.kubernetes.io/version") == expected, resource.name
