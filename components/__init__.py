"""Azure API Management self-hosted gateway on Kubernetes, as one Pulumi component.

- ``SelfHostedGateway`` (``gateway.py``) and ``SelfHostedGatewayArgs`` (``args.py``): the component;
  ``azure_side.py`` and ``kubernetes_side.py`` register its two sides.
- ``config/``: the stack configuration schema (frozen pydantic models), its rules and parsing.
- ``settings.py``: the gateway settings map (config → ConfigMap data).
- ``manifests/``: pure functions producing each Kubernetes object.
- ``token.py``: the access token resource and its renewal windows.
"""

from .config import ConfigError, GatewayConfig, StackConfig, parse_stack_config, read_pulumi_config
from .gateway import SelfHostedGateway, SelfHostedGatewayArgs

__all__ = [
    "ConfigError",
    "GatewayConfig",
    "SelfHostedGateway",
    "SelfHostedGatewayArgs",
    "StackConfig",
    "parse_stack_config",
    "read_pulumi_config",
]

__version__ = "0.1.0"
