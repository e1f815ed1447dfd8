"""A read the API server forbids ends in one CheckFailure naming the verb, the object, the identity
(the API server's SelfSubjectReview) and the shipped RBAC (issue 21, item 2), never the Kubernetes
client's traceback (before: ``ApiException: (403) Reason: Forbidden`` raised from ``_read``).

The fake transport answers as the API server does: 403 for a forbidden ``get``, and the
``SelfSubjectReview`` (``authentication.k8s.io/v1``) that every authenticated user may create
(``system:basic-user``: kubernetes v1.34.3 ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``
line 339)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.kubernetes import cluster_guard, removal_guard
from components.kubernetes.cluster_guard import METADATA_ONLY, ClusterGuardProvider

USER = "system:serviceaccount:ci:pr-preview"


@dataclass
class Response:
    status: int
    data: bytes = b"{}"
    reason: str = ""

    def read(self) -> bytes:
        return self.data


@dataclass
class FakeApi:
    """``param_serialize`` / ``call_api`` of the ``kubernetes`` ApiClient, answering from ``forbidden`` paths."""

    forbidden: set[str]
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def param_serialize(self, method: str, path: str, **kwargs: Any) -> tuple[str, str, dict[str, str], Any, None]:
        return method, path, dict(kwargs.get("header_params") or {}), kwargs.get("body"), None

    def call_api(self, method: str, url: str, header_params: dict[str, str], **_: Any) -> Response:
        self.requests.append((method, url, header_params))
        if url.endswith("/selfsubjectreviews"):
            return Response(201, json.dumps({"status": {"userInfo": {"username": USER}}}).encode())
        if url in self.forbidden:
            return Response(403, reason="Forbidden")
        if url == "/api/v1/namespaces/kube-system":
            return Response(200, json.dumps({"metadata": {"uid": "cluster-uid"}}).encode())
        return Response(404)

    def close(self) -> None:
        pass


def guard_check(monkeypatch: pytest.MonkeyPatch, api: FakeApi) -> list[Any]:
    monkeypatch.setattr(cluster_guard, "_api_client", lambda _access: api)
    news = {
        "gateway": "gw",
        "owner": "apim-gateway/dev",
        "cluster_identifier": "dev",
        "access": {"kubeconfig": None, "kubeconfig_path": "kc", "context": None},
        "objects": [["v1", "Namespace", "", "gw"], ["v1", "Secret", "gw", "gw-token"]],
    }
    return list(ClusterGuardProvider().check({}, news).failures)


def test_a_forbidden_identity_read_is_one_message_naming_verb_object_user_and_rbac(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (failure,) = guard_check(monkeypatch, FakeApi({"/api/v1/namespaces/kube-system"}))
    assert failure.property == "access"
    assert failure.reason == (
        f"apim-gateway:gateways(gw).kubernetes: user '{USER}' may not get namespaces (core) kube-system, which "
        "the cluster guard reads to know which cluster this is. Grant the job's identity its shipped rights: "
        "'python -m components.kubernetes.rbac --stack dev --identity preview|deploy|renewal --subject "
        '<kind:name> | kubectl apply -f -\' (docs/delivery.md, "Kubernetes rights"), or run with a kubeconfig '
        "of an identity that has them."
    )


def test_a_forbidden_secret_read_names_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    (failure,) = guard_check(monkeypatch, FakeApi({"/api/v1/namespaces/gw/secrets/gw-token"}))
    assert f"user '{USER}' may not get secrets (core) gw/gw-token, which the cluster guard reads" in failure.reason


def test_the_guard_reads_metadata_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Secret's data never reaches the guard: metadata only, as client-go's metadata client asks
    (k8s.io/client-go v0.34.3 ``metadata/metadata.go`` line 186)."""
    api = FakeApi(set())
    assert guard_check(monkeypatch, api) == []
    reads = [headers["Accept"] for method, _, headers in api.requests if method == "GET"]
    assert reads == [METADATA_ONLY] * 3


def test_without_a_self_subject_review_the_message_still_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoReview(FakeApi):
        def call_api(self, method: str, url: str, header_params: dict[str, str], **kwargs: Any) -> Response:
            if url.endswith("/selfsubjectreviews"):
                raise ConnectionError("gone")
            return super().call_api(method, url, header_params, **kwargs)

    (failure,) = guard_check(monkeypatch, NoReview({"/api/v1/namespaces/kube-system"}))
    assert "the kubeconfig's user (the SelfSubjectReview failed: ConnectionError) may not get namespaces" in (
        failure.reason
    )


def test_the_removal_guard_keeps_its_refusal_and_names_the_missing_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_guard, "_api_client", lambda _access: FakeApi({"/api/v1/namespaces/gw"}))
    recorded = {
        "gw": {
            "access": {"kubeconfig_path": "kc", "context": None},
            "namespace": {"token": "Namespace/gw", "kept": False},
            "claim": None,
            "storageClass": None,
            "priorityClass": None,
            "settings": {"namespace.name": "gw", "namespace.create": True},
        }
    }
    now = {"gw": {**recorded["gw"], "namespace": None, "settings": {"namespace.name": "gw", "namespace.create": False}}}
    news: dict[str, Any] = {"gateways": now, "allow_deleting": [], "owner": "apim-gateway/dev", "kubeconfig": None}
    (failure,) = removal_guard.RemovalGuardProvider().check({"gateways": recorded}, news).failures
    assert "namespace.create: true → false would delete Namespace/gw" in failure.reason  # the refusal stands
    assert f"user '{USER}' may not get namespaces (core) gw, which the removal guard reads" in failure.reason
