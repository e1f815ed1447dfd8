"""The key of the pod template's credentials annotation (issue 16, item 12).

The gateway reads its token (or Entra client secret) only at start, so a new credential must
roll the pods: the Deployment's pod template carries an annotation that changes with it (the
Helm ``checksum/secret`` practice). An unsalted SHA-256 of the credential there would let anyone
who can read the Deployment (the ``view`` ClusterRole, which cannot read Secrets) test guesses of
the credential offline. The annotation is instead ``HMAC-SHA256(key, credential)`` (RFC 2104),
keyed with 32 random bytes that only the stack's state holds, as a secret: it changes exactly
when the credential changes, and says nothing about it to whoever lacks the key.

``RolloutKey`` is a dynamic resource that stores the key the first ``pulumi up`` drew
(``secrets.token_hex``, Python docs, "secrets — Generate secure random numbers for managing
secrets"); later runs draw a new one, which ``ignore_changes`` discards, and its provider never
reports a change (but for the one-off re-recording of ``components/moved_providers.py``), so the
key stays for the life of the stack and a renewal shows it as ``same``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..moved_providers import stored_at_old_path

KEY_PROPERTY = "rollout_key"
KEY_BYTES = 32


def new_key() -> str:
    """32 random bytes, hex: the HMAC key a stack draws once."""
    return secrets.token_hex(KEY_BYTES)


def credentials_digest(key: str, credential: str) -> str:
    """``HMAC-SHA256(key, credential)``, hex: equal for equal credentials under one key,
    unrelated to the credential without the key."""
    return hmac.new(bytes.fromhex(key), credential.encode(), hashlib.sha256).hexdigest()


class RolloutKeyProvider(ResourceProvider):
    """Stores the key it is given on create; the key never changes.

    The only update is the one-off re-recording of a provider pickled before the layout move
    (``components/moved_providers.py``), which keeps the stored key.
    """

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_="rollout-key", outs={KEY_PROPERTY: props[KEY_PROPERTY]})

    def diff(self, _id: str, olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=stored_at_old_path(olds), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={KEY_PROPERTY: olds[KEY_PROPERTY]})


class RolloutKey(pulumi.dynamic.Resource):
    """The stack's HMAC key for the credentials annotation; ``rollout_key`` is always a secret."""

    rollout_key: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        keep = pulumi.ResourceOptions(additional_secret_outputs=[KEY_PROPERTY], ignore_changes=[KEY_PROPERTY])
        super().__init__(
            RolloutKeyProvider(),
            name,
            {KEY_PROPERTY: pulumi.Output.secret(new_key())},
            pulumi.ResourceOptions.merge(opts, keep),
        )
