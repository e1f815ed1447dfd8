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

from .azure.alerts import TokenExpiryAlertResources
from .config import ConfigError, GatewayConfig, StackConfig, parse_stack_config, read_pulumi_config
from .gateway import SelfHostedGateway, SelfHostedGatewayArgs

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
