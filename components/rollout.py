"""Shim: moved to ``components/kubernetes/rollout.py``.

Stacks deployed before the layout move hold this module path in their state (the pickled dynamic
provider, ``components/moved_providers.py``); ``pulumi destroy`` and ``pulumi refresh`` of such a
stack import it. Remove it only as CHANGELOG.md ("Layout by side") says.
"""

from .kubernetes.rollout import RolloutKeyProvider

__all__ = ["RolloutKeyProvider"]
