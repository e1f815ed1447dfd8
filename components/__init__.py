"""Azure API Management self-hosted gateway on Kubernetes, as one Pulumi component.

- ``gateway.py``: ``SelfHostedGateway``, the component; ``args.py``: its inputs
  (``SelfHostedGatewayArgs``) and the ``Credentials`` its Azure side hands to its Kubernetes side.
- ``config/``: the stack configuration schema (frozen pydantic models), its rules and parsing, and
  the generator of the configuration reference.
- ``azure/``: the Azure side (gateway resource, token, identity and roles, token-expiry alert).
- ``kubernetes/``: the Kubernetes side (manifests, their registration, the settings map, the
  provider and its guards).
- ``package/``: the component as a Pulumi package for other languages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .azure.alerts import TokenExpiryAlertResources
    from .config import ConfigError, GatewayConfig, StackConfig, parse_stack_config, read_pulumi_config
    from .gateway import SelfHostedGateway, SelfHostedGatewayArgs

_EXPORTS = {
    "TokenExpiryAlertResources": ".azure.alerts",
    "ConfigError": ".config",
    "GatewayConfig": ".config",
    "StackConfig": ".config",
    "parse_stack_config": ".config",
    "read_pulumi_config": ".config",
    "SelfHostedGateway": ".gateway",
    "SelfHostedGatewayArgs": ".gateway",
}
"""Loaded on first use (PEP 562): the engine's dynamic-provider host imports a guard's module on
every preview, and through this package it would otherwise load the whole component (the Azure
side, the config models, pulumi_kubernetes), about 0.4 s a preview (benchmarks/bench.py)."""


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)


__all__ = [
    "ConfigError",
    "GatewayConfig",
    "SelfHostedGateway",
    "SelfHostedGatewayArgs",
    "StackConfig",
    "TokenExpiryAlertResources",
    "parse_stack_config",
    "read_pulumi_config",
]

__version__ = "0.1.0"
