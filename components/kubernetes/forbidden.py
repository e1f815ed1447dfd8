"""One clear message for a read the API server forbids: the verb, the resource, who we are, and the
shipped RBAC that grants it (``rbac.py``), instead of the Kubernetes client's traceback."""

from __future__ import annotations

import json
from typing import Any

from .ownership import keyless_owner

RBAC_COMMAND = "python -m components.kubernetes.rbac"
SELF_SUBJECT_REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
"""Who the API server says we are: every authenticated user may create one (the
``system:basic-user`` ClusterRole, kubernetes v1.34.3
``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`` line 339; ``authentication.k8s.io/v1``
since Kubernetes 1.28)."""


class ForbiddenError(Exception):
    """The API server answered 403 to ``verb`` on one object."""

    def __init__(self, verb: str, group: str, resource: str, namespace: str | None, name: str) -> None:
        self.verb, self.group, self.resource, self.namespace, self.name = verb, group, resource, namespace, name
        super().__init__(f"{verb} {self.what}: forbidden")

    @property
    def what(self) -> str:
        """``secrets (core) ns/name``: the resource with its API group, and the object."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.resource} ({self.group or 'core'}) {where}"


def who_am_i(client: Any) -> str:
    """The user the API server authenticates us as (a SelfSubjectReview), or a phrase saying it is unknown."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        method, url, headers, serialized, _ = client.param_serialize(
            "POST",
            SELF_SUBJECT_REVIEW,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = client.call_api(method, url, header_params=headers, body=serialized, _request_timeout=30)
        response.read()
        if not 200 <= response.status < 300:
            return f"the kubeconfig's user (the API server answered {response.status} to a SelfSubjectReview)"
        user = (json.loads(response.data).get("status") or {}).get("userInfo") or {}
        return f"user {user.get('username')!r}" if user.get("username") else "the kubeconfig's user (unnamed)"
    except Exception as error:  # the message must come out whatever this extra request meets
        return f"the kubeconfig's user (the SelfSubjectReview failed: {type(error).__name__})"


def forbidden_message(label: str, error: ForbiddenError, identity: str, owner: str, reader: str) -> str:
    """The one message of a forbidden read: ``label`` names the setting (``apim-gateway:gateways(x)``),
    ``reader`` what reads and why, ``owner`` the stack (``<project>/<stack>``)."""
    stack = keyless_owner(owner).partition("/")[2] or "<stack>"
    return (
        f"{label}: {identity} may not {error.verb} {error.what}, which {reader}. Grant the job's "
        f"identity its shipped rights: '{RBAC_COMMAND} --stack {stack} --identity preview|deploy|renewal "
        '--subject <kind:name> | kubectl apply -f -\' (docs/delivery.md, "Kubernetes rights"), or run '
        "with a kubeconfig of an identity that has them."
    )
