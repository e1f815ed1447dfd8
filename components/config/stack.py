"""The top of the schema: one gateway (``GatewayConfig``) and a whole stack (``StackConfig``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from .alerts import TokenExpiryAlert
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
    NamespaceSettings,
    NetworkPolicySettings,
    ProbeSettings,
    ResourceSettings,
    RolloutSettings,
    SchedulingSettings,
    ServiceSettings,
    TopologySpreadSettings,
    _extra_settings,
)
from .pod import PodSettings, ServiceAccountSettings
from .telemetry import LogSettings, MetricsSettings, ProxySettings
from .values import ApimEntityId, Labels, first_collision, hostname_configuration_id, resource_suffix


class GatewayConfig(Model):
    """One self-hosted gateway: its Azure resource and its Kubernetes deployment."""

    name: DnsLabel = Field(max_length=MAX_GATEWAY_NAME_LENGTH)
    """Gateway id in APIM and base name of every Kubernetes object (at most 43 characters)."""
    description: str = Field(default="", max_length=1000)
    """Description of the gateway resource in APIM."""
    location_data: LocationData
    apis: tuple[ApimEntityId, ...] = ()
    """APIM API ids to make available on this gateway."""
    hostnames: tuple[HostnameConfiguration, ...] = ()
    """Hostnames the gateway serves with their certificates (``GatewayHostnameConfiguration``)."""
    certificate_authorities: tuple[CertificateAuthority, ...] = ()
    """APIM certificate entities the gateway trusts as CAs (``GatewayCertificateAuthority``); the
    stack then sets ``certificates.local.ca.enabled`` (azure-docs issue 116325)."""
    configuration_endpoint: EndpointHost | None = None
    """Custom domain of the configuration endpoint; default ``<service>.configuration.azure-api.net``."""
    adopt_gateway_resource_id: str | None = None
    """ARM id of this gateway's resource when it already exists in APIM (made in the portal, or by
    another tool): with ``apim.mode: managed`` the stack imports it instead of creating it, and
    manages it and renews its token from then on. See docs/migration.md."""
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
    common_labels: Labels = Field(default_factory=dict)
    """Labels added to every object the stack creates (and to the pods), never to a selector: a
    Deployment's selector is immutable, so these may change on a live stack."""
    pod: PodSettings = PodSettings()
    service_account: ServiceAccountSettings = ServiceAccountSettings()
    forwarded_proto: bool = False
    """Honour ``X-Forwarded-Proto`` from a TLS-terminating load balancer."""
    extra_settings: Annotated[dict[str, str], AfterValidator(_extra_settings)] = Field(default_factory=dict)
    """Further gateway settings passed through to the settings ConfigMap verbatim."""

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        # apimanagement.json (2024-05-01), GatewayIdParameter: "Must not have value 'managed'".
        if value == "managed":
            raise ValueError("'managed' is reserved by API Management for its managed gateway")
        return value

    @field_validator("apis")
    @classmethod
    def _distinct_apis(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _refuse_collision(value, resource_suffix, "API id")
        return value

    @field_validator("hostnames")
    @classmethod
    def _distinct_hostnames(cls, value: tuple[HostnameConfiguration, ...]) -> tuple[HostnameConfiguration, ...]:
        hostnames = tuple(entry.hostname for entry in value)
        _refuse_collision(hostnames, resource_suffix, "host name")
        _refuse_collision(hostnames, hostname_configuration_id, "host name (as hostname configuration id)")
        return value

    @field_validator("certificate_authorities")
    @classmethod
    def _distinct_authorities(cls, value: tuple[CertificateAuthority, ...]) -> tuple[CertificateAuthority, ...]:
        _refuse_collision(tuple(entry.certificate_id for entry in value), resource_suffix, "certificate id")
        return value

    @property
    def namespace_name(self) -> str:
        return self.namespace.name or self.name

    @property
    def service_account_name(self) -> str | None:
        """The pods' ServiceAccount: workload identity's, or one named after the gateway when
        ``serviceAccount`` gives it annotations or labels; None: the namespace's ``default``."""
        identity = self.auth.workload_identity
        if identity:
            return identity.service_account_name or self.name
        return self.name if self.service_account.wanted else None

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


def _refuse_collision(values: tuple[str, ...], derive: Callable[[str], str], what: str) -> None:
    """Each entry becomes one Azure resource whose Pulumi name (and id) derives from it:
    two entries deriving the same name would be one resource twice."""
    collision = first_collision(values, derive)
    if collision:
        first, second, derived = collision
        raise ValueError(
            f"entries [{first}] ({values[first]!r}) and [{second}] ({values[second]!r}) are the same "
            f"{what} once reduced to letters, digits and '-' ({derived!r}); each must be distinct"
        )


class StackConfig(Model):
    """Everything a stack file configures, validated."""

    environment: DnsLabel
    """Name of the environment (``dev``, ``staging``, ``prod``, ``prod-eu``...): a DNS label, exported as
    the ``environment`` output."""
    environment_rules: Literal["dev", "prod"] | None = None
    """The rules and defaults the environment follows: ``prod`` (at least 2 replicas, a pinned image,
    no backend range by default, ...) or ``dev``. Unset: ``dev`` for the environment named ``dev``,
    ``prod`` for every other name (the stricter rules unless the stack says otherwise)."""
    apim: ApimSettings
    gateways: tuple[GatewayConfig, ...] = Field(min_length=1)
    kubeconfig: SecretStr | None = None
    """Kubeconfig content (secret), shared by every gateway."""
    owner_key: SecretStr | None = None
    """A secret of at least 32 characters (``openssl rand -hex 32``) that makes the ownership annotation on
    the stack's Kubernetes objects unique to this stack instance: ``<project>/<stack>#<HMAC of it>``.
    It survives ``pulumi destroy``, so objects kept on destroy stay this stack's; a stack of the same
    name elsewhere never takes them. Unset: ``<project>/<stack>``, a warning, and kept objects are not
    taken back (``components/kubernetes/ownership.py``; docs/cluster-lifecycle.md, "Ownership")."""
    gateway_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    """``existing`` mode: gateway name → token (secret)."""
    entra_client_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """``auth.mode: entraApp``: gateway name → client secret of the application (secret)."""
    proxy_credentials: dict[str, SecretStr] = Field(default_factory=dict)
    """Gateway name → ``user:password`` of its outbound proxy (secret). The stack then puts
    ``proxy.http``/``proxy.https`` with these credentials into a Secret ``<gateway>-proxy`` that the
    pods read as ``HTTP_PROXY``/``HTTPS_PROXY``; the settings ConfigMap keeps the URLs without them."""
    token_expiry_alert: TokenExpiryAlert | None = None
    """The alert that needs no GitHub: an Event Grid system topic on the APIM instance, a
    subscription to its ``GatewayTokenNearExpiry`` / ``GatewayTokenExpired`` events (preview, one
    per gateway instance) delivered to a storage queue, and an Azure Monitor metric alert on the
    topic's matched events that tells an action group e-mailing these receivers
    (``components/azure/alerts.py``; needs ``apim.resourceGroupName`` and ``apim.serviceName``)."""
    allow_deleting: tuple[str, ...] = ()
    """Objects the next ``pulumi up`` may delete although a config change only stopped creating
    them: ``Namespace/<name>``, ``PersistentVolumeClaim/<namespace>/<name>``, ``StorageClass/<name>``,
    ``PriorityClass/<name>``, or ``gateway/<name>`` for a gateway removed from the list. Without an
    entry such a change is refused in preview (``components/kubernetes/removal_guard.py``); an
    entry naming what the config still owns is refused. Remove the entries after that ``up``."""
    retain: tuple[str, ...] = ()
    """Objects the stack manages but never deletes (``Namespace/<name>``, ``StorageClass/<name>``,
    ``PriorityClass/<name>``): not on ``pulumi destroy`` and not when a later config change stops
    creating them, which then only makes the stack forget them."""

    @property
    def rules(self) -> Literal["dev", "prod"]:
        """The rules the environment follows (``environmentRules``, or by its name)."""
        return environment_rules(self.environment, self.environment_rules)

    @property
    def is_production(self) -> bool:
        return self.rules == "prod"


def environment_rules(name: object, rules: object = None) -> Literal["dev", "prod"]:
    """``environmentRules`` when set, else ``dev`` for the environment named ``dev`` and ``prod`` for
    every other name."""
    if rules in ("dev", "prod"):
        return "dev" if rules == "dev" else "prod"
    return "dev" if name == "dev" else "prod"
