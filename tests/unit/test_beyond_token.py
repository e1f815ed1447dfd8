"""Token-free authentication, key rotation, autoscaling, network policy and fleets:
config rules, pure objects (schema-validated), and the program under mocks."""

from __future__ import annotations

import copy
import json
import runpy
from typing import Any

import kubernetes_validate
import pytest
from azure_fakes import FakeArm, client_factory
from harness import (
    ENTRA_AUTH,
    ENTRA_CLIENT,
    ENTRA_SP_OBJECT,
    ENTRA_TENANT,
    NS,
    ROOT,
    SUBSCRIPTION_ID,
    WORKLOAD_AUTH,
    Recording,
    engine_goal_inputs,
    parse,
    refused,
    run_main,
    run_program,
    stack,
    stack_file_config,
)
from offline import APIM_PRINCIPAL_ID, OfflineMocks

from components.azure.identity import ApimIdentityError
from components.azure.token import GatewayKeyRegenerationProvider, TokenGenerationError
from components.kubernetes import manifests
from components.kubernetes.settings import gateway_settings

TENANT, CLIENT, SP_OBJECT = ENTRA_TENANT, ENTRA_CLIENT, ENTRA_SP_OBJECT
ENTRA, WORKLOAD = ENTRA_AUTH, WORKLOAD_AUTH
SUBSCRIPTION_SCOPE = f"/subscriptions/{SUBSCRIPTION_ID}"
RESOURCE_GROUP_SCOPE = f"{SUBSCRIPTION_SCOPE}/resourceGroups/rg-apim-prod"
INSTANCE_SCOPE = f"{RESOURCE_GROUP_SCOPE}/providers/Microsoft.ApiManagement/service/contoso-apim-prod"
TOKEN = {"mode": "token"}  # the prod example uses workload identity; these tests need its token mode
REGENERATION_PROPS = {
    "subscription_id": "00000000-0000-0000-0000-000000000001",
    "resource_group_name": "rg",
    "service_name": "svc",
    "gateway_id": "gw",
    "key_type": "primary",
}


def with_client_secret(
    raw: dict[str, Any], secret: str = "entra-client-secret-value"
) -> tuple[dict[str, Any], tuple[str, ...]]:
    raw[f"{NS}:entraClientSecrets"] = {raw[f"{NS}:gateways"][0]["name"]: secret}
    return raw, (f"{NS}:entraClientSecrets",)


# -- config -----------------------------------------------------------------------------


def test_entra_app_requires_its_ids_and_a_client_secret() -> None:
    assert "mode 'entraApp' requires tenantId, clientId, servicePrincipalObjectId" in refused(
        stack(auth={"mode": "entraApp"})
    )
    message = refused(stack(auth=ENTRA))
    assert "apim-gateway:entraClientSecrets.contoso-weu-gw: required setting is missing" in message
    certificate = stack(auth={**ENTRA, "clientCertificateSecretName": "gw-entra-cert"}, namespace={"create": False})
    assert parse(certificate).auth.client_certificate_secret_name == "gw-entra-cert"


def test_client_secret_must_be_secret_and_only_where_used() -> None:
    raw, _ = with_client_secret(stack(auth=ENTRA))
    assert "apim-gateway:entraClientSecrets: must be set as a secret" in refused(raw)
    raw, keys = with_client_secret(stack())
    assert "only used with auth.mode 'entraApp'" in refused(raw, keys)


def test_workload_identity_needs_its_block_and_gateway_2_11() -> None:
    assert "requires the workloadIdentity block" in refused(stack(auth={"mode": "workloadIdentity"}))
    old = refused(stack(auth=WORKLOAD, image={"tag": "2.10.3"}))
    assert "image.tag = '2.10.3': auth.mode 'workloadIdentity' needs gateway 2.11.0 or newer" in old
    assert "needs gateway 2.3.0 or newer" in refused(with_client_secret(stack(auth=ENTRA, image={"tag": "2.2.9"}))[0])
    assert parse(stack(auth=WORKLOAD)).service_account_name == "contoso-weu-gw"


def test_autoscaling_never_below_the_production_floor() -> None:
    message = refused(stack(autoscaling={"enabled": True, "minReplicas": 1}))
    assert "autoscaling.minReplicas = 1: prod needs at least 2 replicas" in message
    message = refused(stack(autoscaling={"enabled": True, "minReplicas": 5, "maxReplicas": 4}))
    assert "autoscaling.minReplicas (5) is above autoscaling.maxReplicas (4)" in message
    assert parse(stack(autoscaling={"enabled": True})).min_replicas == 3  # defaults to replicas


def test_fleet_errors_name_the_offending_gateway() -> None:
    raw = stack_file_config("prod")
    second = copy.deepcopy(raw[f"{NS}:gateways"][0])
    second.update(name="contoso-neu-gw", replicas=1)
    raw[f"{NS}:gateways"].append(second)
    assert "apim-gateway:gateways[1](contoso-neu-gw).replicas = 1: prod needs at least 2 replicas" in refused(raw)


# -- pure objects -------------------------------------------------------------------------


def auth_env(container: dict[str, Any]) -> list[dict[str, Any]]:
    """The container's env without the trust-store variables of the prod example's custom CA."""
    return [entry for entry in container["env"] if not entry["name"].startswith("SSL_CERT_")]


def validate(obj: dict[str, Any] | None) -> dict[str, Any]:
    assert obj is not None
    kubernetes_validate.validate(obj, "1.34.0", strict=True)
    return obj


def test_entra_app_settings_and_pod() -> None:
    gateway = parse(*with_client_secret(stack(auth=ENTRA)))
    settings = gateway_settings(gateway, "config.apis.contoso.com")
    assert settings["gateway.name"] == "contoso-weu-gw"
    assert settings["config.service.auth.azureAd.tenantId"] == TENANT
    assert settings["config.service.auth.azureAd.clientId"] == CLIENT
    assert settings["config.service.auth.azureAd.authority"] == "https://login.microsoftonline.com"
    assert "config.service.auth" not in settings
    deployment = validate(manifests.deployment(gateway, "s", "c"))
    env = auth_env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env == [
        {"name": "config.service.auth", "value": "azureAdApp"},
        {
            "name": "config.service.auth.azureAd.clientSecret",
            "valueFrom": {"secretKeyRef": {"name": "contoso-weu-gw-entra", "key": "clientSecret"}},
        },
    ]
    validate(manifests.entra_secret(gateway, "x"))


def test_entra_app_with_certificate_mounts_it() -> None:
    gateway = parse(stack(auth={**ENTRA, "clientCertificateSecretName": "gw-entra-cert"}, namespace={"create": False}))
    settings = gateway_settings(gateway, "x.configuration.azure-api.net")
    assert settings["config.service.auth.azureAd.certificatePath"] == "/apim/certificates/entra/certificate.pfx"
    pod = validate(manifests.deployment(gateway, "s", None))["spec"]["template"]["spec"]
    assert {"name": "entra-certificate", "secret": {"secretName": "gw-entra-cert"}} in pod["volumes"]
    assert auth_env(pod["containers"][0]) == [{"name": "config.service.auth", "value": "azureAdApp"}]


def test_workload_identity_pod_and_service_account() -> None:
    gateway = parse(stack(auth=WORKLOAD))
    deployment = validate(manifests.deployment(gateway, "s", None))
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert "checksum/credentials" not in template["metadata"]["annotations"]
    assert template["spec"]["serviceAccountName"] == "contoso-weu-gw"
    assert auth_env(template["spec"]["containers"][0]) == [{"name": "config.service.auth", "value": "workloadIdentity"}]
    account = validate(manifests.service_account(gateway, CLIENT))
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": CLIENT}
    assert account["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert manifests.service_account(parse(stack(auth=TOKEN)), CLIENT) is None


def test_autoscaler_takes_over_replicas() -> None:
    gateway = parse(stack(autoscaling={"enabled": True, "maxReplicas": 8, "targetMemoryUtilization": None}))
    scaler = validate(manifests.autoscaler(gateway))
    assert scaler["spec"]["minReplicas"] == 3 and scaler["spec"]["maxReplicas"] == 8
    assert scaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "contoso-weu-gw"}
    assert [m["resource"]["name"] for m in scaler["spec"]["metrics"]] == ["cpu"]
    # replicas stays, at the autoscaler's minimum, and is left to the autoscaler (ignore_changes):
    # left out, server-side apply would release it and the Deployment fall to one pod.
    deployment = validate(manifests.deployment(gateway, "s", "c"))
    assert deployment["spec"]["replicas"] == 3
    assert manifests.deployment_ignore_changes(gateway) == ["spec.replicas"]
    assert manifests.PATCH_FORCE_ANNOTATION not in deployment["metadata"].get("annotations", {})
    assert manifests.autoscaler(parse(stack())) is None
    assert manifests.deployment_ignore_changes(parse(stack())) == []
    fixed = manifests.deployment(parse(stack()), "s", "c")
    assert fixed["metadata"]["annotations"] == {manifests.PATCH_FORCE_ANNOTATION: "true"}


def test_network_policy() -> None:
    gateway = parse(
        stack(
            networkPolicy={
                "ingressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}],
                "backendCidrs": ["10.30.0.0/16"],
                "backendPorts": [443, 8443],
            }
        )
    )
    policy = validate(manifests.network_policy(gateway))["spec"]
    selector = {"matchLabels": manifests.selector_labels(gateway)}
    assert policy["podSelector"] == selector
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    clients, peers = policy["ingress"]
    assert clients["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}]
    assert {p["port"] for p in clients["ports"]} == {8080, 8081}
    assert peers == {
        "from": [{"podSelector": selector}],
        "ports": [{"port": 4290, "protocol": "UDP"}, {"port": 4291, "protocol": "UDP"}],
    }
    egress_ports = [sorted(p["port"] for p in rule.get("ports", [])) for rule in policy["egress"]]
    # DNS, 443 out, gateway pods, backendCidrs, and the prod example's StatsD sink.
    assert egress_ports == [[53, 53], [443], [4290, 4291], [443, 8443], [8125]]
    assert policy["egress"][3]["to"] == [{"ipBlock": {"cidr": "10.30.0.0/16"}}]
    assert manifests.network_policy(parse(stack("dev", networkPolicy={"enabled": False}))) is None
    # By default: any client; backends anywhere in dev (never the metadata addresses), none in prod.
    default = validate(manifests.network_policy(parse(stack("dev"))))["spec"]
    assert "from" not in default["ingress"][0]
    assert default["egress"][3] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "168.63.129.16/32"]}}]
    }
    prod = validate(manifests.network_policy(parse(stack())))["spec"]["egress"]
    assert [rule["to"][0] for rule in prod[3:5]] == [
        {"ipBlock": {"cidr": "10.40.0.0/16"}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "orders"}}},
    ]


# -- under mocks --------------------------------------------------------------------------


def k8s_types(recording: Recording) -> set[str]:
    return {r.type for r in recording.resources if r.type.startswith("kubernetes:")}


def credential_secrets(recording: Recording) -> set[str]:
    """Secrets other than the prod example's CA bundle (public certificates)."""
    return {r.name for r in recording.of_type("kubernetes:core/v1:Secret") if not r.name.endswith("-ca-bundle")}


def test_entra_app_stack() -> None:
    recording = run_main(*with_client_secret(stack(auth=ENTRA)), stack="prod")
    # No token; the only dynamic resource is the key of the client secret's rollout annotation.
    assert [r.name for r in recording.of_type("pulumi-python:dynamic:Resource")] == ["contoso-weu-gw-rollout-key"]
    role = recording.one("azure-native:authorization:RoleDefinition").inputs
    assert role["scope"] == RESOURCE_GROUP_SCOPE and role["assignableScopes"] == [RESOURCE_GROUP_SCOPE]
    assert role["permissions"] == [
        {"dataActions": ["Microsoft.ApiManagement/service/gateways/getConfiguration/action"]}
    ]
    assignment = recording.one("azure-native:authorization:RoleAssignment").inputs
    assert assignment["principalId"] == SP_OBJECT and assignment["scope"] == INSTANCE_SCOPE
    assert credential_secrets(recording) == {"contoso-weu-gw-entra-secret"}
    secret = recording.one("kubernetes:core/v1:Secret", "contoso-weu-gw-entra-secret")
    assert "stringData" in secret.secret_paths
    for resource in recording.resources:
        assert "entra-client-secret-value" not in json.dumps(resource.plain), resource.name
    annotations = recording.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/credentials" in annotations


def roles(recording: Recording) -> dict[str, dict[str, Any]]:
    """Role definitions and assignments by ``<kind>:<name>``."""
    found = recording.of_type("azure-native:authorization:RoleDefinition")
    found += recording.of_type("azure-native:authorization:RoleAssignment")
    return {f"{r.type.rsplit(':', 1)[1]}:{r.name.removeprefix('contoso-weu-gw-')}": r.inputs for r in found}


@pytest.mark.parametrize("auth", [ENTRA, WORKLOAD], ids=["entraApp", "workloadIdentity"])
def test_custom_roles_are_defined_at_the_resource_group_or_subscription_and_assigned_as_microsoft_says(
    auth: dict[str, Any],
) -> None:
    """A custom role's ``assignableScopes`` (and so its definition scope) is a management group,
    subscription or resource group; a single resource is advised against (Microsoft Learn,
    "Understand Azure role definitions", AssignableScopes: azure-docs
    ``articles/role-based-access-control/role-definitions.md``). Microsoft's self-hosted gateway
    articles (``articles/api-management/self-hosted-gateway-enable-azure-ad.md``,
    ``self-hosted-gateway-enable-workload-identity.md`` with
    ``includes/api-management-gateway-role-assignments.md``) assign the "Gateway Configuration
    Reader" role to the gateway's identity with scope "The API Management instance", and the
    "Configuration API Access Validator Service Role" (``Microsoft.Authorization/*/read``) to the
    instance's system-assigned identity with scope "The resource group or subscription in which the
    API Management instance is deployed". The role GUIDs are pinned: stable per scope, so a later
    run (or release) never replaces a role for nothing; role names, unique per tenant (Microsoft
    Learn, "Azure custom roles", roleName), name the scope."""
    runs = {}
    for custom_role_scope in ("resourceGroup", "subscription"):
        raw = stack(auth={**auth, "createApimValidatorRole": True, "customRoleScope": custom_role_scope})
        raw, keys = with_client_secret(raw) if auth["mode"] == "entraApp" else (raw, ())
        runs[custom_role_scope] = [roles(run_main(raw, keys, stack="prod")) for _ in range(2)]
    expected = {
        "resourceGroup": (
            RESOURCE_GROUP_SCOPE,
            "db2be3ed-f194-5fff-bd8b-2af5138d9df4",
            "b80baeb0-37cf-5598-90d9-9d5f102ce33a",
        ),
        "subscription": (
            SUBSCRIPTION_SCOPE,
            "759c20b3-27bb-57e5-af17-c944ada2a9ee",
            "303095d3-dc18-5afe-86a8-053eba29ab9d",
        ),
    }
    for custom_role_scope, (first, again) in runs.items():
        definition_scope, reader_guid, validator_guid = expected[custom_role_scope]
        assert first == again  # deterministic: the same names and GUIDs on every run
        reader, validator = first["RoleDefinition:configuration-reader"], first["RoleDefinition:apim-validator"]
        for role in (reader, validator):
            assert role["scope"] == definition_scope and role["assignableScopes"] == [definition_scope]
            assert definition_scope in role["roleName"]
        assert reader["roleDefinitionId"] == reader_guid
        assert validator["roleDefinitionId"] == validator_guid
        assert validator["permissions"] == [{"actions": ["Microsoft.Authorization/*/read"]}]
        # Each assignment names its role by the subscription-scoped id ARM reports for a custom
        # role whatever its definition scope (Microsoft.Authorization 2022-05-01-preview
        # PutRoleDefinition.json / GetRoleDefinitionById.json), not azure-native's PUT path.
        definitions = f"{SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions"
        reader_assignment = first["RoleAssignment:configuration-reader"]
        assert reader_assignment["scope"] == INSTANCE_SCOPE
        assert reader_assignment["roleDefinitionId"] == f"{definitions}/{reader_guid}"
        validator_assignment = first["RoleAssignment:apim-validator"]
        assert validator_assignment["scope"] == definition_scope
        assert validator_assignment["principalId"] == APIM_PRINCIPAL_ID
        assert validator_assignment["roleDefinitionId"] == f"{definitions}/{validator_guid}"
    # Moving the definitions is a new role and a new assignment, not an update Azure refuses.
    names = [
        {key: run[0][key]["roleAssignmentName"] for key in run[0] if key.startswith("RoleAssignment")}
        for run in runs.values()
    ]
    assert set(names[0].values()).isdisjoint(names[1].values())


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
@pytest.mark.parametrize("identity", [None, {"type": "UserAssigned", "userAssignedIdentities": {}}])
def test_validator_stops_when_the_instance_has_no_system_assigned_identity(
    monkeypatch: pytest.MonkeyPatch, preview: bool, identity: dict[str, Any] | None
) -> None:
    """Only the instance's system-assigned identity can be the validator (Microsoft's self-hosted
    gateway Entra ID article: prerequisite "Enable a system-assigned managed identity on the
    instance", limitation "Only system-assigned managed identity is supported"). Without one the
    program stops, in preview as in up, naming the instance and what to enable, and no role
    assignment with an empty principal is ever registered."""
    recordings: list[Recording] = []
    answer = OfflineMocks.call

    def call(self: OfflineMocks, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        recordings.append(self.recording)
        if args.token == "azure-native:apimanagement:getApiManagementService":
            return ({"name": "contoso-apim-prod"} | ({"identity": identity} if identity else {})), []
        return answer(self, args)

    monkeypatch.setattr(OfflineMocks, "call", call)
    raw, keys = with_client_secret(stack(auth={**ENTRA, "createApimValidatorRole": True}))

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    with pytest.raises(ApimIdentityError) as caught:
        run_program(program, raw, keys, "prod", preview=preview)
    message = str(caught.value)
    assert message.startswith(
        "API Management instance 'contoso-apim-prod' (resource group 'rg-apim-prod') has no system-assigned "
        "managed identity"
    )
    assert "Enable the instance's system-assigned managed identity" in message
    assert "auth.createApimValidatorRole: false" in message
    assignments = recordings[0].of_type("azure-native:authorization:RoleAssignment")
    assert [r.name for r in assignments] == ["contoso-weu-gw-configuration-reader"]
    assert all(r.inputs.get("principalId") for r in assignments)


def test_existing_role_is_used_instead_of_creating_one() -> None:
    role_id = "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/44444444-4444-4444-4444-444444444444"
    recording = run_main(*with_client_secret(stack(auth={**ENTRA, "roleDefinitionId": role_id})), stack="prod")
    assert not recording.of_type("azure-native:authorization:RoleDefinition")
    assert recording.one("azure-native:authorization:RoleAssignment").inputs["roleDefinitionId"] == role_id


ROLE_A = f"{SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/44444444-4444-4444-4444-444444444444"
ROLE_B = f"{SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/55555555-5555-5555-5555-555555555555"


def _role_change(change: str) -> tuple[Recording, Recording]:
    """The stack before and after a change of role: another ``auth.roleDefinitionId``, the
    definitions moved with ``auth.customRoleScope``, or another APIM instance."""
    if change == "roleDefinitionId":
        configs = [with_client_secret(stack(auth={**ENTRA, "roleDefinitionId": role})) for role in (ROLE_A, ROLE_B)]
    elif change == "customRoleScope":
        configs = [
            (stack(auth={**WORKLOAD, "createApimValidatorRole": True, "customRoleScope": scope}), ())
            for scope in ("resourceGroup", "subscription")
        ]
    else:
        configs = []
        for service in ("contoso-apim-prod", "contoso-apim-next"):
            raw = stack(auth={**WORKLOAD, "createApimValidatorRole": True})
            raw[f"{NS}:apim"] = {**raw[f"{NS}:apim"], "serviceName": service}
            configs.append((raw, ()))
    before, after = (run_main(raw, keys, stack="prod") for raw, keys in configs)
    return before, after


@pytest.mark.parametrize("change", ["roleDefinitionId", "customRoleScope", "instance"])
def test_a_change_of_role_creates_the_new_assignment_with_the_new_role_id(change: str) -> None:
    """The role is part of each assignment's name, so a new role replaces the assignment (its name is
    a path parameter). The engine creates the replacement with the goal inputs, in which it first
    puts back the old value of every ``ignore_changes`` key (pulumi/pulumi step_generator.go,
    ``processIgnoreChanges``): with ``ignore_changes=["roleDefinitionId"]`` the new assignment
    would name the OLD role. The assignments carry none, so the goal names the new role."""
    before, after = _role_change(change)
    assignments = after.of_type("azure-native:authorization:RoleAssignment")
    assert len(assignments) == (1 if change == "roleDefinitionId" else 2)
    definitions = f"{SUBSCRIPTION_SCOPE}/providers/Microsoft.Authorization/roleDefinitions"
    for new in assignments:
        old = before.one(new.type, new.name)
        assert new.inputs["roleAssignmentName"] != old.inputs["roleAssignmentName"]  # a replacement
        if change == "roleDefinitionId":
            expected = ROLE_B
        else:
            role = after.one("azure-native:authorization:RoleDefinition", new.name)
            expected = f"{definitions}/{role.inputs['roleDefinitionId']}"
            assert role.inputs["roleDefinitionId"] != before.one(role.type, role.name).inputs["roleDefinitionId"]
        assert old.inputs["roleDefinitionId"] != expected
        goal = engine_goal_inputs(new.inputs, old.inputs, new.ignore_changes)
        assert goal["roleDefinitionId"] == expected
        assert new.ignore_changes == ()
        # What the previous option did: the replacement would have been created with the old role.
        with_ignore = engine_goal_inputs(new.inputs, old.inputs, ("roleDefinitionId",))
        assert with_ignore["roleDefinitionId"] == old.inputs["roleDefinitionId"] != expected


def test_workload_identity_stack_has_no_secret_at_all() -> None:
    recording = run_main(stack(auth={**WORKLOAD, "createApimValidatorRole": True}), stack="prod")
    assert not credential_secrets(recording)
    assert not recording.of_type("pulumi-python:dynamic:Resource")  # no token, no credential to roll on
    identity = recording.one("azure-native:managedidentity:UserAssignedIdentity").inputs
    assert (identity["resourceGroupName"], identity["location"]) == ("rg-identities", "westeurope")
    federation = recording.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert federation["subject"] == "system:serviceaccount:contoso-weu-gw:contoso-weu-gw"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]
    assert federation["issuer"] == WORKLOAD["workloadIdentity"]["oidcIssuerUrl"]  # type: ignore[index]
    assert recording.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]["name"] == "contoso-weu-gw"
    roles = {r.name for r in recording.of_type("azure-native:authorization:RoleDefinition")}
    assert roles == {"contoso-weu-gw-configuration-reader", "contoso-weu-gw-apim-validator"}
    validator = recording.one("azure-native:authorization:RoleDefinition", "contoso-weu-gw-apim-validator").inputs
    assert validator["permissions"] == [{"actions": ["Microsoft.Authorization/*/read"]}]


def test_switching_from_token_to_workload_identity_drops_the_secret_and_rolls_once() -> None:
    token_run = run_main(stack(auth=TOKEN), stack="prod")
    identity_run = run_main(stack(auth=WORKLOAD), stack="prod")
    assert credential_secrets(token_run) == {"contoso-weu-gw-token"}
    assert not credential_secrets(identity_run)
    names = [{r.name for r in run.resources if r.type.startswith("kubernetes:")} for run in (token_run, identity_run)]
    # Same logical names for everything both modes share: an update in place, not a replacement.
    assert names[0] - {"contoso-weu-gw-token"} <= names[1]
    templates = [
        run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"] for run in (token_run, identity_run)
    ]
    assert templates[0] != templates[1]


def test_autoscaling_and_network_policy_under_mocks() -> None:
    recording = run_main(stack(autoscaling={"enabled": True, "minReplicas": 3, "maxReplicas": 6}), stack="prod")
    scaler = recording.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs
    assert (scaler["spec"]["minReplicas"], scaler["spec"]["maxReplicas"]) == (3, 6)
    deployment = recording.one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["replicas"] == 3
    assert deployment.ignore_changes == ("spec.replicas",)
    assert (
        recording.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["metadata"]["namespace"]
        == "contoso-weu-gw"
    )


# -- key rotation -------------------------------------------------------------------------


def test_key_rotation_is_registered_after_the_deployment_for_the_retired_key() -> None:
    recording = run_main(stack(auth=TOKEN, token={"keyType": "secondary", "regenerateRetiredKey": True}), stack="prod")
    dynamic = {r.name: r for r in recording.of_type("pulumi-python:dynamic:Resource")}
    assert dynamic["contoso-weu-gw-access-token"].inputs["key_type"] == "secondary"
    regeneration = dynamic["contoso-weu-gw-retired-key"].inputs
    assert regeneration["key_type"] == "primary"
    assert "expires_on" not in regeneration  # renewals alone never regenerate a key
    names = [r.name for r in recording.resources]
    assert names.index("contoso-weu-gw-retired-key") > names.index("contoso-weu-gw-deployment")
    assert "contoso-weu-gw-retired-key" not in {r.name for r in run_main(stack(auth=TOKEN), stack="prod").resources}


def test_key_regeneration_calls_the_management_operation() -> None:
    adapter = FakeArm(status=204)
    provider = GatewayKeyRegenerationProvider(client_factory=client_factory(adapter))
    props = dict(REGENERATION_PROPS)
    provider.create(props)
    (request,) = adapter.requests
    assert request.method == "POST"
    assert request.url is not None and "/gateways/gw/regenerateKey?" in request.url
    assert json.loads(request.body or b"{}") == {"keyType": "primary"}
    assert provider.diff("id", props, {**props, "key_type": "secondary"}).changes is True
    assert provider.diff("id", props, dict(props)).changes is False


def test_key_regeneration_refusal_names_its_own_permission() -> None:
    adapter = FakeArm(403, {"error": {"code": "AuthorizationFailed", "message": "denied"}})
    provider = GatewayKeyRegenerationProvider(client_factory=client_factory(adapter))
    props = dict(REGENERATION_PROPS)
    with pytest.raises(TokenGenerationError) as caught:
        provider.create(props)
    message = str(caught.value)
    assert message.startswith("Azure refused to regenerate the retired key for gateway 'gw'")
    assert "'Microsoft.ApiManagement/service/gateways/regenerateKey/action' permission" in message
