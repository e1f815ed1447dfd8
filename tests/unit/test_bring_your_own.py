"""Issue 24, item 2: bring your own identity (an existing workload-identity client id, no identity
created by the stack) and your own token Secret (read at every ``up``, never written, its renewal
someone else's; a renewed token rolls the pods at the next ``up``; its expiry still reaches the
``tokenExpiresOn`` output the renewal check watches, and a warning when near)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import offline
import pytest
from harness import parse, refused, run_main, stack

NS = "apim-gateway"
CLIENT_ID = "22222222-2222-2222-2222-222222222222"
PRINCIPAL_ID = "33333333-3333-3333-3333-333333333333"
BROUGHT = {
    "mode": "workloadIdentity",
    "workloadIdentity": {"clientId": CLIENT_ID, "principalObjectId": PRINCIPAL_ID},
}


def test_an_existing_identity_is_used_and_none_is_created() -> None:
    recording = run_main(stack(auth=BROUGHT), stack="prod")
    assert not recording.of_type("azure-native:managedidentity:UserAssignedIdentity")
    assert not recording.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    account = recording.one("kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT_ID
    assignment = recording.one("azure-native:authorization:RoleAssignment", "contoso-weu-gw-configuration-reader")
    assert assignment.inputs["principalId"] == PRINCIPAL_ID


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({"clientId": CLIENT_ID}, "needs both clientId and principalObjectId"),
        (
            {"clientId": CLIENT_ID, "principalObjectId": PRINCIPAL_ID, "location": "westeurope"},
            "location only apply to an identity the stack creates",
        ),
        ({"location": "westeurope"}, "needs oidcIssuerUrl, resourceGroupName"),
        ({"clientId": "not-a-guid", "principalObjectId": PRINCIPAL_ID}, "must be a GUID"),
    ],
)
def test_the_identity_is_either_created_or_brought(identity: dict[str, Any], expected: str) -> None:
    message = refused(stack(auth={"mode": "workloadIdentity", "workloadIdentity": identity}))
    assert "auth.workloadIdentity" in message and expected in message


SECRET = {"name": "gateway-token", "key": "token"}
OUTSIDE_NAMESPACE = {"name": "gateways", "create": False}


def _token(expiry: str) -> str:
    return f"GatewayKey contoso-dev-gw&{expiry}&c2lnbmF0dXJl"


@pytest.fixture
def existing_secret() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"data": {"token": base64.b64encode(_token("203012312359").encode()).decode()}}
    offline.EXISTING_OBJECTS["gateways/gateway-token"] = state
    yield state
    offline.EXISTING_OBJECTS.clear()


def _byo_token(apim_mode: str = "managed") -> dict[str, Any]:
    raw = stack("dev", namespace=OUTSIDE_NAMESPACE, token={"existingSecret": SECRET})
    raw[f"{NS}:apim"] = {**raw[f"{NS}:apim"], "mode": apim_mode}
    return raw


@pytest.mark.parametrize("apim_mode", ["managed", "existing"])
def test_the_token_comes_from_the_existing_secret_and_the_stack_never_writes_it(
    existing_secret: dict[str, Any], apim_mode: str
) -> None:
    recording = run_main(_byo_token(apim_mode))
    # The Secret is only read (Secret.get, not recorded as a registration): the stack writes no Secret.
    assert not recording.of_type("kubernetes:core/v1:Secret")
    assert not recording.of_type("pulumi-python:dynamic:Resource") or all(
        "expires_on" not in r.inputs for r in recording.of_type("pulumi-python:dynamic:Resource")
    )  # no token generated
    deployment = recording.one("kubernetes:apps/v1:Deployment").inputs
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "config.service.auth",
        "valueFrom": {"secretKeyRef": {"name": "gateway-token", "key": "token"}},
    } in env
    digest = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/existing-token"]
    assert recording.plain_outputs["gateways"]["contoso-dev-gw"]["tokenExpiresOn"] == "2030-12-31T23:59:00Z"
    # A renewed token (same Secret, new value) changes the pod template: the next up rolls the pods.
    existing_secret["data"] = {"token": base64.b64encode(_token("203101312359").encode()).decode()}
    renewed = run_main(_byo_token(apim_mode)).one("kubernetes:apps/v1:Deployment").inputs
    assert renewed["spec"]["template"]["metadata"]["annotations"]["checksum/existing-token"] != digest
    for resource in recording.resources:
        assert "c2lnbmF0dXJl" not in json.dumps(resource.plain)


def test_a_token_near_expiry_in_the_existing_secret_is_warned(
    existing_secret: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    existing_secret["data"] = {"token": base64.b64encode(_token("202001010000").encode()).decode()}
    with caplog.at_level(logging.WARNING):
        recording = run_main(_byo_token())
    assert recording.plain_outputs["gateways"]["contoso-dev-gw"]["tokenExpiresOn"] == "2020-01-01T00:00:00Z"
    assert any(
        "the token in Secret gateway-token (renewed by its owner, not this stack) expired at 2020-01-01T00:00:00Z"
        in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"token": {"existingSecret": SECRET}}, "the stack creates the namespace"),
        (
            {"namespace": OUTSIDE_NAMESPACE, "token": {"existingSecret": SECRET, "regenerateRetiredKey": True}},
            "regenerateRetiredKey",
        ),
        (
            {"namespace": OUTSIDE_NAMESPACE, "token": {"existingSecret": {"name": "Bad_Name"}}},
            "token.existingSecret.name",
        ),
    ],
)
def test_bad_existing_token_settings_are_refused(overrides: dict[str, Any], expected: str) -> None:
    assert expected in refused(stack("dev", **overrides))


def test_no_gateway_token_is_needed_or_taken_in_existing_mode() -> None:
    raw = _byo_token("existing")
    assert parse(raw).token.existing_secret is not None
    raw[f"{NS}:gatewayTokens"] = {"contoso-dev-gw": _token("203012312359")}
    assert "only used with apim.mode 'existing' and auth.mode 'token'" in refused(raw, (f"{NS}:gatewayTokens",))
