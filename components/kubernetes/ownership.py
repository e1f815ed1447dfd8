"""Which stack instance owns an object in the cluster: the ownership annotation's value.

Two stacks of the same project and stack name (two people's ``dev`` stacks on their own
backends, or a stack removed and initialised again) must never take each other's objects, and
the objects a stack keeps on destroy (``backup.keepOnDestroy``) must stay its own. So the value
names the stack instance, not only ``<project>/<stack>``:

- ``apim-gateway:ownerKey`` (a secret of the stack's config, at least 32 characters) makes the
  value ``<project>/<stack>#<digest>``, the digest an HMAC-SHA256 of ``<project>/<stack>`` under the
  key. The key lives in the stack's config file, encrypted by the stack's own secrets provider:
  it survives ``pulumi destroy`` (kept objects stay this stack's), and another stack cannot
  derive the digest from the annotation it reads. ``pulumi stack rm`` deletes the config file
  (unless ``--preserve-config``): a new ``stack init`` with a new key is a new instance, and what
  the old one kept is foreign to it (docs/cluster-lifecycle.md, "Ownership").
- Without a key (stacks deployed before the key existed, and package users who pass none), the
  value is ``<project>/<stack>``, which alike-named stacks share; the cluster guard then also
  requires that the stack's own state lists the object on the same cluster
  (``cluster_guard.owned``), so neither such stack takes the other's objects, and a kept object is
  not taken back after a destroy. The same rule lets a stack that sets a key afterwards take over
  its own objects with the old annotation once: its next ``up`` writes the new value on them.
"""

from __future__ import annotations

import hashlib
import hmac

import pulumi

OWNER_ANNOTATION = "apim-gateway/stack"
"""On every object the stack creates: the owning stack instance (``stack_owner``). Lets a later
``up`` of the same stack take back what ``keepOnDestroy`` kept, and nothing else."""
DIGEST_CHARACTERS = 32
"""128 bits of the HMAC: enough that no other instance matches by chance; an annotation stays short."""


def stack_owner(owner_key: str | None) -> str:
    """The ownership annotation's value for the running stack."""
    return owner_for(f"{pulumi.get_project()}/{pulumi.get_stack()}", owner_key)


def owner_for(stack: str, owner_key: str | None) -> str:
    """``<project>/<stack>#<digest>`` with a key, ``<project>/<stack>`` without."""
    if not owner_key:
        return stack
    digest = hmac.new(owner_key.encode(), stack.encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARACTERS]
    return f"{stack}#{digest}"


def keyless_owner(owner: str) -> str:
    """The value the same stack wrote before it had a key: ``<project>/<stack>``."""
    return owner.partition("#")[0]


def has_key(owner: str) -> bool:
    return "#" in owner


def missing_key_warning() -> str:
    return (
        "apim-gateway:ownerKey is not set: the objects' ownership annotation is only "
        f"'{pulumi.get_project()}/{pulumi.get_stack()}', which a stack of the same name elsewhere shares, so objects "
        "this stack keeps on destroy cannot be taken back by it. Set a key once (it stays in the stack's "
        'config, encrypted): pulumi config set --secret apim-gateway:ownerKey "$(openssl rand -hex 32)"'
    )
