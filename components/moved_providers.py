"""Dynamic providers that state still holds under their module paths from before the layout move.

The Python dynamic-provider host stores each dynamic resource's provider in state, pickled with
``dill`` (``pulumi/dynamic/dynamic.py`` ``serialize_provider``), and a class defined in an importable
module is pickled by reference: its module path and name (seen: a pickled ``ClusterGuardProvider``
names ``components.cluster_guard``). The host unpickles that stored copy for ``Delete`` and ``Read``
(``pulumi/dynamic/__main__.py``: ``get_provider(props)`` on the stored outputs) and adds it to the
outputs only on ``Create``, ``Update`` and ``Read`` (``outs[PROVIDER_KEY] = ...``), so a resource
whose diff says "no change" keeps the old pickle for ever, and ``destroy`` or ``refresh`` of a stack
deployed before the move imports the old paths.

Two things follow: thin shims stay at the old paths (``components/cluster_guard.py``,
``delivery_guard.py``, ``rollout.py``, ``token.py``), and every provider here reports a change when
its stored pickle names an old path, so the first ``pulumi up`` after the move updates the
resource (without changing anything else: see each provider's ``update``) and re-records the
provider at its new path. CHANGELOG.md ("Layout by side") says when the shims may go; ``pulumi stack
export --show-secrets | python -m components.moved_providers`` lists what a stack still stores at
an old path (the engine keeps the stored provider as a secret; only URNs are printed).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

PROVIDER_KEY = "__provider"
"""Where the dynamic-provider host keeps the pickled provider (``pulumi/dynamic/__main__.py``)."""

MOVED_MODULES = {
    "components.cluster_guard": "components.kubernetes.cluster_guard",
    "components.delivery_guard": "components.kubernetes.delivery_guard",
    "components.rollout": "components.kubernetes.rollout",
    "components.token": "components.azure.token",
}
"""Old module path → new one, for every module that defines a dynamic provider."""


def _pickled(module: str) -> bytes:
    """How pickle protocol 4 and later write a short string such as a module path: the
    ``SHORT_BINUNICODE`` opcode, one length byte, the UTF-8 bytes (``Lib/pickle.py`` ``save_str``)."""
    encoded = module.encode()
    return b"\x8c" + bytes([len(encoded)]) + encoded


def stored_at_old_path(outputs: Mapping[str, Any]) -> bool:
    """Whether a dynamic resource's stored provider was pickled at a module path from before the move."""
    stored = outputs.get(PROVIDER_KEY)
    if not isinstance(stored, str):
        return False
    try:
        pickled = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        return False
    return any(_pickled(module) in pickled for module in MOVED_MODULES)


SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a type marker, not a password
"""The key that marks a secret in a ``pulumi stack export`` (pulumi ``sdk/go/common/resource/sig``
``Secret``); with ``--show-secrets`` the value is JSON text under ``plaintext``."""


def stored_at_old_paths(exported: Mapping[str, Any]) -> list[str]:
    """The URNs of a ``pulumi stack export --show-secrets`` whose stored provider still names a module
    path from before the move: while any is listed, the shims must stay."""
    resources = (exported.get("deployment") or {}).get("resources") or []
    found = []
    for resource in resources:
        stored = (resource.get("outputs") or {}).get(PROVIDER_KEY)
        if isinstance(stored, Mapping) and SECRET_SIGNATURE in stored and "plaintext" in stored:
            stored = json.loads(stored["plaintext"])
        if stored_at_old_path({PROVIDER_KEY: stored}):
            found.append(str(resource.get("urn")))
    return found


def main() -> None:
    """``pulumi stack export --show-secrets | python -m components.moved_providers``: prints each such
    URN (never a value); exits 1 if any."""
    import sys

    urns = stored_at_old_paths(json.load(sys.stdin))
    for urn in urns:
        print(urn)
    sys.exit(1 if urns else 0)


if __name__ == "__main__":
    main()
