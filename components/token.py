"""Shim: moved to ``components/azure/token.py``.

Stacks deployed before the layout move hold this module path in their state (the pickled dynamic
provider, ``components/moved_providers.py``); ``pulumi destroy`` and ``pulumi refresh`` of such a
stack import it. Remove it only as CHANGELOG.md ("Layout by side") says.
"""

from .azure.token import GatewayKeyRegenerationProvider, GatewayTokenProvider

__all__ = ["GatewayKeyRegenerationProvider", "GatewayTokenProvider"]
