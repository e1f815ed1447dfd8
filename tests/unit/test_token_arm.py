"""The token operations against Microsoft's own examples of them.

``components/azure/token.py`` calls ``Gateway - Generate Token`` and ``Gateway - Regenerate Key``
through azure-mgmt-apimanagement 5.0.0. Here the network under that SDK is ``ExampleArm``
(``tests/azure_fakes.py``), which answers only requests that look like the REST examples
(azure-rest-api-specs, apimanagement stable/2024-05-01 ``ApiManagementGatewayGenerateToken.json``
and ``ApiManagementGatewayRegenerateKey.json``; commits in tests/fixtures/azure/SOURCES.json):
the same method and path, the example's ``api-version``, the example body's keys; and answers
with the example's response.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from arm_examples import example
from azure.core.pipeline.transport import RequestsTransport
from azure_fakes import (
    GENERATE_TOKEN,
    REGENERATE_KEY,
    SUBSCRIPTION,
    ExampleArm,
    FakeCredential,
    client_factory,
)

from components.azure.token import (
    AZURE_CLOUDS,
    GatewayKeyRegenerationProvider,
    GatewayTokenProvider,
    TokenGenerationError,
    management_client,
)
from components.config import token_expiry

GENERATE = "apimanagement/ApiManagementGatewayGenerateToken.json"
REGENERATE = "apimanagement/ApiManagementGatewayRegenerateKey.json"


def props(key_type: str = "primary") -> dict[str, Any]:
    return {
        "subscription_id": SUBSCRIPTION,
        "resource_group_name": "rg-apim-prod",
        "service_name": "contoso-apim-prod",
        "gateway_id": "contoso-gw",
        "key_type": key_type,
        "expires_on": "2026-12-22T23:00:00Z",
    }


def test_generate_token_sends_what_the_example_sends_and_reads_what_it_answers() -> None:
    arm = ExampleArm(GENERATE_TOKEN)
    result = GatewayTokenProvider(client_factory=client_factory(arm)).create(props("secondary"))
    assert arm.mismatches == []
    (request,) = arm.requests
    sent = json.loads(request.body or b"{}")
    shown = example(GENERATE)["parameters"]["parameters"]
    assert set(sent) == set(shown) == {"keyType", "expiry"}
    assert sent["keyType"] == "secondary"
    assert datetime.fromisoformat(sent["expiry"].replace("Z", "+00:00")) == datetime(2026, 12, 22, 23, 0, tzinfo=UTC)
    # The example's answer, for this gateway and expiry: "<gatewayId>&<yyyyMMddHHmm>&<signature>".
    signature = example(GENERATE)["responses"]["200"]["body"]["value"].split("&", 2)[2]
    assert result.outs is not None
    assert result.outs["value"] == f"GatewayKey contoso-gw&202612222300&{signature}"
    assert token_expiry(result.outs["value"]) == datetime(2026, 12, 22, 23, 0, tzinfo=UTC)


def test_regenerate_key_sends_what_the_example_sends_and_takes_its_204() -> None:
    arm = ExampleArm(REGENERATE_KEY)
    regeneration = {key: value for key, value in props("secondary").items() if key != "expires_on"}
    result = GatewayKeyRegenerationProvider(client_factory=client_factory(arm)).create(regeneration)
    assert arm.mismatches == []
    (request,) = arm.requests
    assert json.loads(request.body or b"{}") == {"keyType": "secondary"}
    assert set(example(REGENERATE)["parameters"]["parameters"]) == {"keyType"}
    assert example(REGENERATE)["responses"] == {"204": {}}
    assert result.id.endswith("/gateways/contoso-gw/keys/secondary")


def test_the_examples_token_is_one_the_config_reads() -> None:
    """The token format the config parses (``<id>&<yyyyMMddHHmm>&<signature>``) is the example's."""
    value = example(GENERATE)["responses"]["200"]["body"]["value"]
    assert token_expiry(value) == datetime(2019, 4, 21, 0, 44, tzinfo=UTC)


def test_a_request_unlike_the_example_is_refused() -> None:
    """The fake can fail: another API version, another operation, other body keys."""
    arm = ExampleArm(GENERATE_TOKEN)

    def older_client(subscription_id: str) -> Any:
        session = requests.Session()
        session.mount("https://", arm)
        transport = RequestsTransport(session=session, session_owner=False)
        return management_client(
            subscription_id,
            FakeCredential(),
            AZURE_CLOUDS["public"],
            transport=transport,
            retry_total=0,
            api_version="2022-08-01",
        )

    with pytest.raises(TokenGenerationError, match="HTTP 400 ExampleMismatch"):
        GatewayTokenProvider(client_factory=older_client).create(props())
    assert arm.mismatches == [f"{GENERATE}: api-version '2022-08-01', the example's is '2024-05-01'"]

    only_tokens = ExampleArm(GENERATE_TOKEN)
    regeneration = {key: value for key, value in props().items() if key != "expires_on"}
    with pytest.raises(TokenGenerationError):
        GatewayKeyRegenerationProvider(client_factory=client_factory(only_tokens)).create(regeneration)
    assert only_tokens.mismatches[0].startswith("no example for POST https://management.azure.com/")

    path = GENERATE_TOKEN.path.format(
        subscriptionId=SUBSCRIPTION, resourceGroupName="rg", serviceName="svc", gatewayId="gw"
    )
    extra = requests.Request(
        "POST",
        f"https://management.azure.com{path}?api-version=2024-05-01",
        json={"keyType": "primary", "expiry": "2026-12-22T23:00:00Z", "validity": "P30D"},
    ).prepare()
    assert GENERATE_TOKEN.match(extra) == {
        "subscriptionId": SUBSCRIPTION,
        "resourceGroupName": "rg",
        "serviceName": "svc",
        "gatewayId": "gw",
    }
    assert GENERATE_TOKEN.mismatches(extra) == [
        "body keys ['expiry', 'keyType', 'validity'], the example's are ['expiry', 'keyType']"
    ]
