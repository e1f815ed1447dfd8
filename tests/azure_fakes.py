"""Fakes at the edges of the official Azure SDK: a credential, and an HTTP adapter under
azure-core's RequestsTransport that answers Azure Resource Manager from a script."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.apimanagement import ApiManagementClient
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

from components.token import AZURE_CLOUDS, AzureCloud, ClientFactory, management_client

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
SIGNED = "contoso-gw&202612222300&Zm9vYmFyc2lnbmF0dXJl=="


class FakeArm(BaseAdapter):
    """Answers Azure Resource Manager requests from a script and records them."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.status = status
        self.body = body if body is not None else {"value": SIGNED}
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        content = b"" if self.status == 204 else json.dumps(self.body).encode()
        response = requests.Response()
        response.status_code = self.status
        response.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers={"Content-Type": "application/json", "Content-Length": str(len(content))},
            status=self.status,
            preload_content=False,
        )
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


class FakeCredential:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.fail:
            raise ClientAuthenticationError(message="no Azure login found")
        return AccessToken("fake-arm-token", int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))


def client_factory(
    adapter: FakeArm, credential: FakeCredential | None = None, cloud: AzureCloud = AZURE_CLOUDS["public"]
) -> ClientFactory:
    """Builds the project's ApiManagementClient (``management_client``) on the fakes."""
    credential = credential or FakeCredential()

    def factory(subscription_id: str) -> ApiManagementClient:
        session = requests.Session()
        session.mount("https://", adapter)
        client: ApiManagementClient = management_client(
            subscription_id,
            credential,
            cloud,
            transport=RequestsTransport(session=session, session_owner=False),
            retry_total=0,
        )
        return client

    return factory
