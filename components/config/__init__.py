"""The stack's configuration schema: parsed once, at the edge, into frozen models.

Everything under the ``apim-gateway:`` namespace of a stack file is described here.
``parse_stack_config`` turns the raw values into a ``StackConfig`` or raises one
``ConfigError`` that lists every problem with the setting's full key, the value
that was given (never a secret's) and what is allowed. Nothing is registered with
Pulumi before this has succeeded, so bad input creates nothing.

Keys are camelCase, as in every Pulumi stack file; the models use snake_case
attributes and accept the camelCase spelling through aliases.

- ``fields.py``: constants, field validators and the model base;
- ``azure.py`` / ``kubernetes.py`` / ``network.py`` / ``telemetry.py``: the models; ``stack.py``: the top models;
- ``rules.py``: the environment rules; ``parsing.py``: parsing and the error message.
"""

from .alerts import AlertEmailReceiver, TokenExpiryAlert
from .azure import (
    ApimSettings,
    AuthSettings,
    CertificateAuthority,
    HostnameConfiguration,
    LocationData,
    TokenSettings,
    WorkloadIdentitySettings,
)
from .certificates import CustomCaSettings
from .fields import (
    CONFIG_NAMESPACE,
    DEFAULT_GATEWAY_TAG,
    GATEWAY_IMAGE_REPOSITORY,
    MAX_GATEWAY_NAME_LENGTH,
    MAX_TOKEN_VALIDITY_DAYS,
    Model,
)
from .kubernetes import (
    RESERVED_SETTINGS,
    AutoscalingSettings,
    BackupSettings,
    DisruptionBudgetSettings,
    DnsSettings,
    ImageSettings,
    KubernetesSettings,
    NamespaceSettings,
    NetworkPolicySettings,
    ProbeSettings,
    ResourceSettings,
    RolloutSettings,
    SchedulingSettings,
    ServiceSettings,
    TopologySpreadSettings,
)
from .parsing import SECRET_KEYS, ConfigError, parse_stack_config, read_pulumi_config
from .rules import AUTH_MIN_VERSION, ENVIRONMENT_DEFAULTS, PRODUCTION_MIN_REPLICAS, token_expiry
from .stack import GatewayConfig, StackConfig
from .telemetry import LogSettings, MetricsSettings, ProxySettings

__all__ = [
    "AUTH_MIN_VERSION",
    "CONFIG_NAMESPACE",
    "DEFAULT_GATEWAY_TAG",
    "ENVIRONMENT_DEFAULTS",
    "GATEWAY_IMAGE_REPOSITORY",
    "MAX_GATEWAY_NAME_LENGTH",
    "MAX_TOKEN_VALIDITY_DAYS",
    "PRODUCTION_MIN_REPLICAS",
    "RESERVED_SETTINGS",
    "SECRET_KEYS",
    "AlertEmailReceiver",
    "ApimSettings",
    "AuthSettings",
    "AutoscalingSettings",
    "BackupSettings",
    "CertificateAuthority",
    "ConfigError",
    "CustomCaSettings",
    "DisruptionBudgetSettings",
    "DnsSettings",
    "GatewayConfig",
    "HostnameConfiguration",
    "ImageSettings",
    "KubernetesSettings",
    "LocationData",
    "LogSettings",
    "MetricsSettings",
    "Model",
    "NamespaceSettings",
    "NetworkPolicySettings",
    "ProbeSettings",
    "ProxySettings",
    "ResourceSettings",
    "RolloutSettings",
    "SchedulingSettings",
    "ServiceSettings",
    "StackConfig",
    "TokenExpiryAlert",
    "TokenSettings",
    "TopologySpreadSettings",
    "WorkloadIdentitySettings",
    "parse_stack_config",
    "read_pulumi_config",
    "token_expiry",
]
