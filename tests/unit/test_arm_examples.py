"""The mocks answer as Azure Resource Manager does in Microsoft's own REST examples, so the Azure
half is checked end to end: what one resource hands the next is what ARM would hand it.

Fixtures: ``tests/fixtures/azure`` (copies of azure-rest-api-specs ``x-ms-examples``; path, commit
and API version of each in ``SOURCES.json``). Answers: ``tests/arm_examples.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from arm_examples import ARM_RESOURCES, FIXTURES, INSTANCE_EXAMPLES, SOURCES, example, instance, sdk_shape
from harness import NS, SUBSCRIPTION_ID, WORKLOAD_AUTH, Recording, Registered, run_main, stack, stack_file_config
from offline import APIM_PRINCIPAL_ID, TENANT_ID

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- the fixtures are what SOURCES.json says they are --------------------------------------------


def test_every_fixture_has_a_source_and_every_source_a_fixture() -> None:
    files = {str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.json") if path.name != "SOURCES.json"}
    assert files == set(SOURCES)
    for name, source in SOURCES.items():
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), name
        assert source["path"].endswith("/" + name.rsplit("/", 1)[1]), name
        assert f"/{source['apiVersion']}/" in source["path"], name


def test_each_example_is_for_the_api_version_the_sdk_uses_or_says_why_not() -> None:
    for name, source in SOURCES.items():
        parameters = example(name).get("parameters", {})
        if "api-version" in parameters and parameters["api-version"] != source["apiVersion"]:
            # One example names another version than its folder's; SOURCES.json says so.
            assert parameters["api-version"] in source.get("closest", ""), name
        if source["pinned"] != source["apiVersion"]:
            assert source.get("closest"), f"{name}: example for {source['apiVersion']}, SDK uses {source['pinned']}"
    closest = sorted(name for name, source in SOURCES.items() if source["pinned"] != source["apiVersion"])
    assert closest == [
        "eventgrid/SystemTopicEventSubscriptions_CreateOrUpdate.json",
        "eventgrid/SystemTopics_CreateOrUpdate.json",
    ]


def test_every_mocked_type_answers_from_a_listed_example() -> None:
    for token, resource in ARM_RESOURCES.items():
        assert resource.fixture in SOURCES, token
        assert SOURCES[resource.fixture]["resource"].startswith(token), token
    for variant in INSTANCE_EXAMPLES.values():
        assert SOURCES[variant]["operation"] == "ApiManagementService_Get"


# -- the answers ------------------------------------------------------------------------------


def workload_fleet() -> dict[str, Any]:
    """prod with a second gateway (both workload identity), as test_stack's fleet test builds it."""
    config = stack_file_config("prod")
    second = json.loads(json.dumps(config[f"{NS}:gateways"][0]))
    second.update(
        name="contoso-neu-gw", locationData={"name": "prod-aks-northeurope"}, kubernetes={"context": "aks-neu"}
    )
    second["scheduling"]["priorityClass"]["create"] = False
    second["auth"]["createApimValidatorRole"] = False
    second["backup"]["createStorageClass"] = False
    config[f"{NS}:gateways"].append(second)
    return config


@pytest.fixture(scope="module")
def fleet() -> Recording:
    return run_main(workload_fleet(), stack="prod")


def in_namespace(recording: Recording, resource_type: str, namespace: str) -> Registered:
    (found,) = [r for r in recording.of_type(resource_type) if r.inputs["metadata"].get("namespace") == namespace]
    return found


def test_a_workload_identity_stack_is_wired_with_what_arm_answers(fleet: Recording) -> None:
    """Identity name on the federated credential, ``clientId`` on the ServiceAccount,
    ``principalId`` on every role assignment: each is the identity's own, as ARM answers it
    (``IdentityCreate.json``: ``clientId``/``principalId``/``tenantId`` are server-set), and
    differs between the two gateways of the fleet."""
    identities = {r.name: r for r in fleet.of_type("azure-native:managedidentity:UserAssignedIdentity")}
    assert set(identities) == {"contoso-weu-gw-identity", "contoso-neu-gw-identity"}
    client_ids = set()
    for gateway in ("contoso-weu-gw", "contoso-neu-gw"):
        identity = identities[f"{gateway}-identity"]
        outputs = identity.outputs
        assert outputs["name"] == identity.inputs["resourceName"] == f"id-{gateway}"
        assert GUID.match(outputs["clientId"]) and GUID.match(outputs["principalId"])
        assert outputs["tenantId"] == TENANT_ID
        assert identity.id == (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-apim-prod/providers"
            f"/Microsoft.ManagedIdentity/userAssignedIdentities/id-{gateway}"
        )
        federation = fleet.one("azure-native:managedidentity:FederatedIdentityCredential", f"{gateway}-federation")
        assert federation.inputs["resourceName"] == outputs["name"]
        assert federation.id.startswith(identity.id + "/federatedIdentityCredentials/")
        account = in_namespace(fleet, "kubernetes:core/v1:ServiceAccount", gateway)
        assert account.inputs["metadata"]["annotations"]["azure.workload.identity/client-id"] == outputs["clientId"]
        reader = fleet.one("azure-native:authorization:RoleAssignment", f"{gateway}-configuration-reader")
        assert reader.inputs["principalId"] == outputs["principalId"]
        client_ids.add(outputs["clientId"])
    assert len(client_ids) == 2
    validator = fleet.one("azure-native:authorization:RoleAssignment", "contoso-weu-gw-apim-validator")
    # The instance's system-assigned principal, from ApiManagementServiceGetServiceHavingMsi.json.
    assert validator.inputs["principalId"] == APIM_PRINCIPAL_ID == "ca1d33f7-0000-42ec-0000-d526a1ee953a"
    for assignment in fleet.of_type("azure-native:authorization:RoleAssignment"):
        assert GUID.match(assignment.inputs["principalId"]), assignment.name


def test_every_answer_has_the_examples_shape_ids_rebuilt_from_the_inputs(fleet: Recording) -> None:
    """For every Azure resource: the Pulumi id is the PUT path azure-native derives from the inputs,
    ``name`` its last segment, and every key of the example's response that ARM sets itself is in
    the outputs, flattened out of ``properties``."""
    azure = [r for r in fleet.resources if r.type.startswith("azure-native:")]
    assert {r.type for r in azure} >= {
        "azure-native:apimanagement:Gateway",
        "azure-native:authorization:RoleDefinition",
        "azure-native:managedidentity:UserAssignedIdentity",
    }
    for resource in azure:
        arm = ARM_RESOURCES[resource.type]
        assert resource.id == arm.arm_id(resource.inputs, SUBSCRIPTION_ID), resource.name
        assert resource.outputs["name"] == resource.id.rsplit("/", 1)[1], resource.name
        assert resource.outputs["azureApiVersion"] == SOURCES[arm.fixture]["pinned"], resource.name
        assert "properties" not in resource.outputs, resource.name
        responses = example(arm.fixture)["responses"]
        template = (responses.get("201") or responses["200"])["body"]
        readonly = {
            spec["key"].split(".")[-1]
            for attribute, spec in arm.model("response")._attribute_map.items()  # type: ignore[attr-defined]
            if (arm.model("response")._validation.get(attribute) or {}).get("readonly")  # type: ignore[attr-defined]
        }
        shaped = sdk_shape(template, {}, arm.property_renames)
        expected = {key for key in shaped if key in readonly and key != "id"} if arm.echo else set(shaped) - {"id"}
        assert expected <= set(resource.outputs), (resource.name, expected - set(resource.outputs))


def test_server_set_values_of_the_example_are_rebuilt_for_the_stack() -> None:
    """Names of the example inside what ARM sets (URLs, ids) become the stack's."""
    shaped = instance("msi", SUBSCRIPTION_ID, "rg-apim-prod", "contoso-apim-prod")
    assert shaped["id"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-apim-prod/providers/Microsoft.ApiManagement/service/contoso-apim-prod"
    )
    assert shaped["name"] == "contoso-apim-prod"
    assert shaped["gatewayUrl"] == "https://contoso-apim-prod.azure-api.net"
    assert "apimService1" not in json.dumps(shaped)
    # Location as ARM reports it: a display name, which is why the system topic normalizes it.
    assert shaped["location"] == "West Europe"
    assert instance("premium", SUBSCRIPTION_ID, "rg", "svc")["location"] == "East US"


def test_the_instance_invoke_answers_from_the_chosen_example() -> None:
    for variant, principal in (
        ("msi", "ca1d33f7-0000-42ec-0000-d526a1ee953a"),
        ("premium", "306205e7-b21a-41bf-92e2-3e28af30041e"),
    ):
        assert example(INSTANCE_EXAMPLES[variant])["responses"]["200"]["body"]["identity"]["principalId"] == principal
        assert instance(variant, SUBSCRIPTION_ID, "rg", "svc")["identity"]["principalId"] == principal


def test_an_azure_type_without_an_example_stops_the_run() -> None:
    """A new Azure resource cannot slip in answered by an echo: the mocks refuse types no example covers."""
    config = stack(auth={**WORKLOAD_AUTH, "createApimValidatorRole": True})
    saved = ARM_RESOURCES.pop("azure-native:managedidentity:FederatedIdentityCredential")
    try:
        with pytest.raises(
            Exception, match="no Microsoft example answers for azure-native:managedidentity:FederatedIdentityCredential"
        ):
            run_main(config, stack="prod")
    finally:
        ARM_RESOURCES[saved.token] = saved
