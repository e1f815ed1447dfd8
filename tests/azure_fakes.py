"""Fakes at the edges of the official Azure SDK: a credential, an HTTP adapter under
azure-core's RequestsTransport that answers Azure Resource Manager from a script or from
Microsoft's own REST examples (``ExampleArm``), and real HTTP(S) servers on 127.0.0.1 standing in
for GitHub's OIDC token endpoint and Entra ID."""

from __future__ import annotations

import io
import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from arm_examples import example
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.apimanagement import ApiManagementClient
from certificates import self_signed
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

from components.azure.token import AZURE_CLOUDS, AzureCloud, ClientFactory, management_client

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
SIGNED = (
    "contoso-gw&202612222300&"
    + str(example("apimanagement/ApiManagementGatewayGenerateToken.json")["responses"]["200"]["body"]["value"]).split(
        "&", 2
    )[2]
)
"""A token as ``ApiManagementGatewayGenerateToken.json`` answers it (its signature), for gateway
``contoso-gw`` expiring 2026-12-22 23:00 UTC: the scripted ``FakeArm``'s default answer."""


ArmAnswer = Callable[[requests.PreparedRequest], tuple[int, dict[str, Any] | None]]
"""A request -> (HTTP status, JSON body or None)."""


class FakeArm(BaseAdapter):
    """Answers Azure Resource Manager requests from a script (a fixed reply, or ``answer``) and records them."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None, answer: ArmAnswer | None = None) -> None:
        super().__init__()
        self.status = status
        self.body = body if body is not None else {"value": SIGNED}
        self.answer = answer
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        status, body = self.answer(request) if self.answer else (self.status, self.body)
        content = b"" if status == 204 or body is None else json.dumps(body).encode()
        response = requests.Response()
        response.status_code = status
        response.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers={"Content-Type": "application/json", "Content-Length": str(len(content))},
            status=status,
            preload_content=False,
        )
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class ExampleOperation:
    """One ARM operation as a Microsoft ``x-ms-examples`` file shows it: the request must match
    (method, path, ``api-version``, body keys), and the answer is the example's response."""

    method: str
    path: str
    """Path template; ``{name}`` are the example's parameter names."""
    fixture: str
    answer: Callable[[dict[str, str], dict[str, Any]], tuple[int, dict[str, Any] | None]]
    """(path values, request body) -> (status, body), built from the example's response."""

    def match(self, request: requests.PreparedRequest) -> dict[str, str] | None:
        """The path values when ``request`` is this operation (any api-version), else None."""
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, unquote(urlsplit(request.url or "").path), re.IGNORECASE)
        return found.groupdict() if found and request.method == self.method else None

    def mismatches(self, request: requests.PreparedRequest) -> list[str]:
        """How ``request`` departs from the example's request (api-version, body keys)."""
        parameters = example(self.fixture)["parameters"]
        problems = []
        sent_version = parse_qs(urlsplit(request.url or "").query).get("api-version", [""])[0]
        if sent_version != parameters["api-version"]:
            problems.append(f"api-version {sent_version!r}, the example's is {parameters['api-version']!r}")
        body = json.loads(request.body or b"{}") if request.body else {}
        expected = set(parameters.get("parameters", {}))
        if set(body) != expected:
            problems.append(f"body keys {sorted(body)}, the example's are {sorted(expected)}")
        return problems


class ExampleArm(FakeArm):
    """ARM answering from Microsoft's examples. A request no operation matches, or that departs
    from its example, is recorded in ``mismatches`` and refused with HTTP 400."""

    def __init__(self, *operations: ExampleOperation) -> None:
        super().__init__(answer=self._answer)
        self.operations = operations
        self.mismatches: list[str] = []

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, Any] | None]:
        for operation in self.operations:
            values = operation.match(request)
            if values is None:
                continue
            problems = operation.mismatches(request)
            if problems:
                self.mismatches.extend(f"{operation.fixture}: {problem}" for problem in problems)
                return 400, {"error": {"code": "ExampleMismatch", "message": "; ".join(problems)}}
            body = json.loads(request.body) if request.body else {}
            return operation.answer(values, body)
        self.mismatches.append(f"no example for {request.method} {request.url}")
        return 400, {"error": {"code": "ExampleMismatch", "message": f"no example for {request.method} {request.url}"}}


GATEWAY_PATH = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ApiManagement"
    "/service/{serviceName}/gateways/{gatewayId}"
)


def _generated_token(values: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """``ApiManagementGatewayGenerateToken.json``'s 200 answer for this gateway and expiry: the
    example's ``<gatewayId>&<yyyyMMddHHmm>&<signature>`` with the stack's gateway and expiry."""
    document = example("apimanagement/ApiManagementGatewayGenerateToken.json")
    value = document["responses"]["200"]["body"]["value"]
    _, _, signature = value.split("&", 2)
    expiry = datetime.fromisoformat(str(body["expiry"]).replace("Z", "+00:00")).astimezone(UTC)
    return 200, {"value": f"{values['gatewayId']}&{expiry:%Y%m%d%H%M}&{signature}"}


GENERATE_TOKEN = ExampleOperation(
    "POST", GATEWAY_PATH + "/generateToken", "apimanagement/ApiManagementGatewayGenerateToken.json", _generated_token
)
REGENERATE_KEY = ExampleOperation(
    "POST",
    GATEWAY_PATH + "/regenerateKey",
    "apimanagement/ApiManagementGatewayRegenerateKey.json",
    lambda values, body: (204, None),  # the example's only answer: 204, no body
)


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
    adapter: FakeArm,
    credential: FakeCredential | None = None,
    cloud: AzureCloud = AZURE_CLOUDS["public"],
    credential_factory: Callable[[], Any] | None = None,
) -> ClientFactory:
    """Builds the project's ApiManagementClient (``management_client``) on the fake ARM.

    ``credential_factory`` (for example the project's own ``azure_credential``) builds a fresh
    credential per client, as production does; otherwise ``credential`` (a fake) is used."""
    fake = credential or FakeCredential()

    def factory(subscription_id: str) -> ApiManagementClient:
        session = requests.Session()
        session.mount("https://", adapter)
        client: ApiManagementClient = management_client(
            subscription_id,
            credential_factory() if credential_factory else fake,
            cloud,
            transport=RequestsTransport(session=session, session_owner=False),
            retry_total=0,
        )
        return client

    return factory


# ---------------------------------------------------------------------------
# Real servers on the loopback interface


@dataclass
class Received:
    """One request a loopback server answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


Answer = Callable[[Received], tuple[int, dict[str, Any]]]


@dataclass
class LoopbackServer:
    """``http.server`` on 127.0.0.1 (an ephemeral port) in a thread, answering JSON from ``answer``;
    HTTPS when given a ``tls`` context. A context manager: stopped and joined on exit."""

    answer: Answer
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # bounded reads: a stuck client cannot hold the test

            def _reply(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                request = Received(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    form=parse_qs(body),
                )
                server.received.append(request)
                status, reply = server.answer(request)
                content = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _reply  # noqa: N815 - http.server's method names

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


def loopback_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a self-signed certificate for 127.0.0.1, and the certificate's
    path (to trust it as a CA bundle). Made with ``cryptography``, valid for one hour."""
    certificate_pem, key_pem = self_signed("127.0.0.1", ca=True, ip="127.0.0.1", valid_for=timedelta(hours=1))
    certificate_path, key_path = directory / "loopback.pem", directory / "loopback.key"
    certificate_path.write_text(certificate_pem)
    key_path.write_text(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_path, key_path)
    return context, certificate_path
