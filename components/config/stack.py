"""The top of the schema: one gateway (``GatewayConfig``) and a whole stack (``StackConfig``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, model_validator

from .azure import (
    ApimSettings,
    AuthSettings,
    CertificateAuthority,
    HostnameConfiguration,
    LocationData,
    TokenSettings,
)
from .certificates import CustomCaSettings
from .fields import MAX_GATEWAY_NAME_LENGTH, DnsLabel, EndpointHost, Model
from .kubernetes import (
    AutoscalingSettings,
    BackupSettings,
    DisruptionBudgetSettings,
    DnsSettings,
    ImageSettings,
    KubernetesSettings,
    LogSettings,
    MetricsSettings,
    NamespaceSettings,
    NetworkPolicySettings,
    ProbeSettings,
    ProxySettings,
    ResourceSettings,
    RolloutSettings,
    SchedulingSettings,
    ServiceSettings,
    TopologySpreadSettings,
    _extra_settings,
)


class GatewayConfig(Model):
    """One self-hosted gateway: its Azure resource and its Kubernetes deployment."""

    name: DnsLabel = Field(max_length=MAX_GATEWAY_NAME_LENGTH)
    """Gateway id in APIM and base name of every Kubernetes object (at most 43 characters)."""
    description: str = Field(default="", max_length=1000)
    """Description of the gateway resource in APIM."""
    location_data: LocationData
    apis: tuple[str, ...] = ()
    """APIM API ids to make available on this gateway."""
    hostnames: tuple[HostnameConfiguration, ...] = ()
    """Hostnames the gateway serves with their certificates (``GatewayHostnameConfiguration``)."""
    certificate_authorities: tuple[CertificateAuthority, ...] = ()
    """APIM certificate entities the gateway trusts as CAs (``GatewayCertificateAuthority``)."""
    configuration_endpoint: EndpointHost | None = None
    """Custom domain of the configuration endpoint; default ``<service>.configuration.azure-api.net``."""
    token: TokenSettings = TokenSettings()
    auth: AuthSettings = AuthSettings()
    kubernetes: KubernetesSettings = KubernetesSettings()
    namespace: NamespaceSettings = NamespaceSettings()
    image: ImageSettings = ImageSettings()
    replicas: int = Field(default=1, ge=1, le=100)
    """Gateway pods; at least 2 in prod. With autoscaling, the autoscaler's default minimum."""
    rollout: RolloutSettings = RolloutSettings()
    resources: ResourceSettings = ResourceSettings()
    probes: ProbeSettings = ProbeSettings()
    termination_grace_period_seconds: int = Field(default=60, ge=0, le=3600)
    """Seconds a stopping pod gets to finish in-flight requests."""
    dns: DnsSettings = DnsSettings()
    custom_ca: CustomCaSettings = CustomCaSettings()
    service: ServiceSettings = ServiceSettings()
    backup: BackupSettings = BackupSettings()
    autoscaling: AutoscalingSettings = AutoscalingSettings()
    network_policy: NetworkPolicySettings = NetworkPolicySettings()
    disruption_budget: DisruptionBudgetSettings = DisruptionBudgetSettings()
    topology_spread: TopologySpreadSettings = TopologySpreadSettings()
    scheduling: SchedulingSettings = SchedulingSettings()
    logs: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    proxy: ProxySettings = ProxySettings()
    forwarded_proto: bool = False
    """Honour ``X-Forwarded-Proto`` from a TLS-terminating load balancer."""
    extra_settings: Annotated[dict[str, str], AfterValidator(_extra_settings)] = Field(default_factory=dict)
    """Further gateway settings passed through to the settings ConfigMap verbatim."""

    @property
    def namespace_name(self) -> str:
        return self.namespace.name or self.name

    @property
    def service_account_name(self) -> str | None:
        """The pods' ServiceAccount: only workload identity needs one of its own."""
        identity = self.auth.workload_identity
        return (identity.service_account_name or self.name) if identity else None

    @property
    def min_replicas(self) -> int:
        return self.autoscaling.min_replicas or self.replicas

    @model_validator(mode="after")
    def _autoscaling_bounds(self) -> GatewayConfig:
        if self.autoscaling.enabled and self.min_replicas > self.autoscaling.max_replicas:
            raise ValueError(
                f"autoscaling.minReplicas ({self.min_replicas}) is above autoscaling.maxReplicas "
                f"({self.autoscaling.max_replicas})"
            )
        return self


class StackConfig(Model):
    """Everything a stack file configures, validated."""

    environment: Literal["dev", "prod"]
    """Environment rules and defaults: prod needs at least 2 replicas and a pinned image tag."""
    apim: ApimSettings
    gateways: tuple[GatewayConfig, ...] = Field(min_length=1)
    kubeconfig: SecretStr | None = None
    """Kubeconfig content (secret), shared by every gateway."""
    gateway_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    """``existing`` mode: gateway name → token (secret)."""
    entra_client_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """``auth.mode: entraApp``: gateway name → client secret of the application (secret)."""

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"
