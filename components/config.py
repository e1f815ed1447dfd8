"""The stack's configuration schema: parsed once, at the edge, into frozen models.

Everything under the ``apim-gateway:`` namespace of a stack file is described here.
``parse_stack_config`` turns the raw values into a ``StackConfig`` or raises one
``ConfigError`` that lists every problem with the setting's full key, the value
that was given (never a secret's) and what is allowed. Nothing is registered with
Pulumi before this has succeeded, so bad input creates nothing.

Keys are camelCase, as in every Pulumi stack file; the models use snake_case
attributes and accept the camelCase spelling through aliases.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "apim-gateway"
"""Pulumi config namespace (the project name in ``Pulumi.yaml``)."""

GATEWAY_IMAGE_REPOSITORY = "mcr.microsoft.com/azure-api-management/gateway"
DEFAULT_GATEWAY_TAG = "2.11.1"
"""Gateway image tag used when a stack does not pin one (a ``major.minor.patch`` tag)."""

MAX_TOKEN_VALIDITY_DAYS = 30
"""The management API refuses a token expiry more than 30 days ahead."""

PRODUCTION_MIN_REPLICAS = 2
"""Microsoft's production guidance: never fewer than two gateway replicas."""

MAX_GATEWAY_NAME_LENGTH = 43
"""Longest gateway name whose derived Kubernetes names (``<name>-instance-discovery``)
still fit the 63-character DNS label limit."""

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    # Defaults that differ per environment. Everything else defaults the same way.
    "dev": {"replicas": 1, "backup": {"enabled": False}},
    "prod": {"replicas": 3, "backup": {"enabled": True}},
}

SECRET_KEYS = ("kubeconfig", "gatewayTokens", "entraClientSecrets")
"""Top-level keys that must be set with ``pulumi config set --secret``."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+$"
)
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_PERCENT_OR_INT = re.compile(r"^(100|[1-9]?[0-9])%$")
_PINNED_TAG = re.compile(r"^\d+\.\d+\.\d+$")
_SETTING_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GATEWAY_TOKEN = re.compile(r"^(?:GatewayKey )?(?P<gateway>[^&\s]+)&(?P<expiry>\d{12})&(?P<signature>[^&\s]+)$")


class ConfigError(ValueError):
    """Stack configuration is invalid. The message lists every problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


# ---------------------------------------------------------------------------
# Reusable field validators


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS-1123 label: lowercase letters, digits and '-', starting and "
            "ending with a letter or digit, at most 63 characters"
        )
    return value


def _dns_name(value: str) -> str:
    if not _DNS_NAME.match(value):
        raise ValueError("must be a lowercase DNS-1123 name (letters, digits, '-' and '.')")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError("must be a Kubernetes quantity such as '500m', '2', '512Mi' or '2Gi'")
    return value


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must be a non-negative integer or a percentage such as '25%'")
        return value
    if not _PERCENT_OR_INT.match(value):
        raise ValueError("must be a non-negative integer or a percentage such as '25%'")
    return value


def _endpoint_host(value: str) -> str:
    if "://" in value or "/" in value or not _HOSTNAME.match(value):
        raise ValueError(
            "must be a host name without scheme or path, such as "
            "'contoso.configuration.azure-api.net' or 'config.apis.contoso.com'"
        )
    return value.lower()


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Quantity = Annotated[str, AfterValidator(_quantity)]
IntOrPercent = Annotated[int | str, AfterValidator(_int_or_percent)]
EndpointHost = Annotated[str, AfterValidator(_endpoint_host)]


class Model(BaseModel):
    """Base of every config model: frozen, camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        use_attribute_docstrings=True,
    )


# ---------------------------------------------------------------------------
# Azure side


class ApimSettings(Model):
    """The existing API Management instance the gateways belong to."""

    mode: Literal["managed", "existing"] = "managed"
    """``managed``: the stack creates the gateway resource and generates its token.
    ``existing`` (bring your own gateway): the gateway resource is managed elsewhere; its
    token comes from the secret ``gatewayTokens`` config and no Azure resource is created."""
    resource_group_name: str | None = Field(default=None, min_length=1, max_length=90)
    """Resource group of the APIM instance. Required in ``managed`` mode."""
    service_name: str | None = Field(default=None, pattern=r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$")
    """Name of the APIM instance. Required in ``managed`` mode; in ``existing`` mode it is only
    used to derive the configuration endpoint."""

    @model_validator(mode="after")
    def _managed_needs_instance(self) -> ApimSettings:
        if self.mode == "managed":
            missing = [
                key
                for key, value in (("resourceGroupName", self.resource_group_name), ("serviceName", self.service_name))
                if not value
            ]
            if missing:
                raise ValueError(f"mode 'managed' requires {' and '.join(missing)}")
        return self


class LocationData(Model):
    """Where the gateway runs, as shown in the Azure portal."""

    name: str = Field(min_length=1, max_length=256)
    """Location name shown in the portal (required)."""
    city: str | None = Field(default=None, max_length=256)
    """City of the location."""
    district: str | None = Field(default=None, max_length=256)
    """District, state or province of the location."""
    country_or_region: str | None = Field(default=None, max_length=256)
    """Country or region of the location."""


class HostnameConfiguration(Model):
    """A hostname the gateway serves, with its certificate (``GatewayHostnameConfiguration``)."""

    hostname: Annotated[str, AfterValidator(_endpoint_host)]
    """Host name, a full name or a wildcard such as ``*.apis.contoso.com``."""
    certificate_id: str | None = None
    """APIM certificate entity id used for TLS on this hostname."""
    negotiate_client_certificate: bool = False
    """Ask clients for a certificate on this hostname."""
    http2_enabled: bool = True
    """Accept HTTP/2 on this hostname."""
    tls10_enabled: bool = False
    """Accept TLS 1.0 (off: it is obsolete)."""
    tls11_enabled: bool = False
    """Accept TLS 1.1 (off: it is obsolete)."""


class CertificateAuthority(Model):
    """An APIM certificate entity the gateway trusts as a CA (``GatewayCertificateAuthority``)."""

    certificate_id: str = Field(min_length=1)
    """APIM certificate entity id of the CA."""
    is_trusted: bool = True
    """Trust the CA (false: intermediate only)."""


class TokenSettings(Model):
    """How the gateway access token is generated and renewed (``managed`` mode)."""

    key_type: Literal["primary", "secondary"] = "primary"
    """Gateway key that signs the token."""
    validity_days: int = Field(default=MAX_TOKEN_VALIDITY_DAYS, ge=1, le=MAX_TOKEN_VALIDITY_DAYS)
    """Lifetime of each token, counted from the start of its renewal window (1–30 days)."""
    renewal_interval_days: int = Field(default=7, ge=1, le=MAX_TOKEN_VALIDITY_DAYS - 1)
    """Length of the renewal window: the first ``pulumi up`` in a new window renews the token."""
    regenerate_retired_key: bool = False
    """Key rotation: after the pods run with a token from ``keyType``, regenerate the other key,
    so that every token signed with it (a leaked one included) stops working."""

    @model_validator(mode="after")
    def _renewal_before_expiry(self) -> TokenSettings:
        if self.renewal_interval_days >= self.validity_days:
            raise ValueError(
                f"renewalIntervalDays ({self.renewal_interval_days}) must be smaller than "
                f"validityDays ({self.validity_days}), or a token could expire before it is renewed"
            )
        return self


# ---------------------------------------------------------------------------
# Kubernetes side


class KubernetesSettings(Model):
    """How the stack reaches the cluster. The kubeconfig content itself is the secret
    top-level key ``kubeconfig``; without it and without ``kubeconfigPath`` the ambient
    kubeconfig (``KUBECONFIG`` or ``~/.kube/config``) is used."""

    kubeconfig_path: str | None = None
    """Path of a kubeconfig file (instead of the secret ``kubeconfig`` content)."""
    context: str | None = None
    """Context to use from the kubeconfig (its current context by default)."""
    render_yaml_to_directory: str | None = None
    """Write manifests to this directory instead of applying them (GitOps)."""
    render_secrets: bool = False
    """With ``renderYamlToDirectory``: also render the token Secret, in plain text. Off by
    default: the rendered Deployment then expects the Secret ``<gateway>-token`` to be
    provided out of band (for example through Sealed Secrets or External Secrets)."""

    @model_validator(mode="after")
    def _render_only(self) -> KubernetesSettings:
        if self.render_secrets and not self.render_yaml_to_directory:
            raise ValueError("renderSecrets only applies together with renderYamlToDirectory")
        return self


class NamespaceSettings(Model):
    name: DnsLabel | None = None
    """Namespace of every object; defaults to the gateway name. ``default`` only when set explicitly."""
    create: bool = True
    """Create the namespace (turn off for a namespace managed elsewhere)."""


class ImageSettings(Model):
    repository: str = GATEWAY_IMAGE_REPOSITORY
    """Gateway image repository."""
    tag: str = Field(default=DEFAULT_GATEWAY_TAG, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
    """Pin a ``major.minor.patch`` tag; moving tags (``v2``, ``latest``…) are refused in prod."""
    allow_moving_tag: bool = False
    """Accept a tag that is not ``major.minor.patch`` in prod."""
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    """Image pull policy."""
    pull_secrets: tuple[DnsName, ...] = ()
    """Names of image pull Secrets in the namespace (for a mirrored registry)."""


class RolloutSettings(Model):
    max_unavailable: IntOrPercent = 0
    """Pods that may be unavailable during a rollout (0: a new pod is ready before an old one stops)."""
    max_surge: IntOrPercent = "25%"
    """Extra pods a rollout may start above ``replicas``."""

    @model_validator(mode="after")
    def _can_progress(self) -> RolloutSettings:
        if self.max_unavailable in (0, "0%") and self.max_surge in (0, "0%"):
            raise ValueError("maxUnavailable and maxSurge cannot both be 0: the rollout could never progress")
        return self


class ResourceSettings(Model):
    requests_cpu: Quantity = "2"
    """CPU request; 2 cores is Microsoft's production starting point."""
    requests_memory: Quantity = "2Gi"
    """Memory request; 2 GiB is Microsoft's production starting point."""
    limits_cpu: Quantity | None = None
    """CPU limit (none by default: throttling hurts latency)."""
    limits_memory: Quantity | None = None
    """Memory limit."""


class ProbeTiming(Model):
    initial_delay_seconds: int = Field(default=0, ge=0)
    """Seconds before the first probe."""
    period_seconds: int = Field(default=5, ge=1)
    """Seconds between probes."""
    timeout_seconds: int = Field(default=3, ge=1)
    """Seconds a probe may take."""
    failure_threshold: int = Field(default=3, ge=1)
    """Failed probes before the pod is marked unready (readiness) or restarted."""


class ProbeSettings(Model):
    readiness: ProbeTiming = ProbeTiming()
    liveness: ProbeTiming = ProbeTiming(period_seconds=10, failure_threshold=3)
    startup: ProbeTiming = ProbeTiming(period_seconds=5, failure_threshold=60)
    """Up to 5 minutes for the first configuration download before liveness takes over."""


class DnsOption(Model):
    name: str = Field(min_length=1)
    """Option name, for example ``ndots``."""
    value: str | None = None
    """Option value, for example ``"2"``."""


class DnsSettings(Model):
    policy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] = "ClusterFirst"
    """Pod DNS policy."""
    nameservers: tuple[str, ...] = Field(default=(), max_length=3)
    """Extra name servers (required with policy ``None``; at most 3)."""
    searches: tuple[str, ...] = Field(default=(), max_length=32)
    """Extra DNS search domains."""
    options: tuple[DnsOption, ...] = ()
    """Resolver options such as ``ndots``."""

    @model_validator(mode="after")
    def _none_needs_nameservers(self) -> DnsSettings:
        if self.policy == "None" and not self.nameservers:
            raise ValueError("policy 'None' requires at least one entry in nameservers")
        return self


class CustomCaSettings(Model):
    secret_name: DnsName | None = None
    """Existing Secret (in the gateway namespace) whose entries are PEM CA certificates.
    Setting it mounts them and turns on ``certificates.local.ca.enabled``."""
    mount_path: str = Field(default="/usr/local/share/ca-certificates/apim", pattern=r"^/")
    """Where the CA certificates are mounted in the container."""


class ServiceSettings(Model):
    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    """Type of the traffic Service."""
    external_traffic_policy: Literal["Local", "Cluster"] = "Local"
    """``Local`` keeps the caller's IP and avoids a second hop (LoadBalancer and NodePort only)."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations of the traffic Service (for example an internal load balancer)."""
    load_balancer_ip: str | None = Field(default=None, alias="loadBalancerIP")
    """Requested load balancer IP (LoadBalancer only)."""
    http_port: int = Field(default=80, ge=1, le=65535)
    """Service port for HTTP (to container port 8080)."""
    https_port: int = Field(default=443, ge=1, le=65535)
    """Service port for HTTPS (to container port 8081)."""


class BackupSettings(Model):
    enabled: bool = False
    """Mount a volume at ``/apim/config`` so a restarted pod can start while Azure is unreachable."""
    existing_claim: DnsName | None = None
    """Use this existing PersistentVolumeClaim instead of creating one."""
    storage_class_name: str | None = None
    """Storage class of the claim (cluster default when unset)."""
    size: Quantity = "50Mi"
    """Size of the claim."""
    access_mode: Literal["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"] = "ReadWriteMany"
    """Access mode; ReadWriteMany lets every replica mount it."""
    keep_on_destroy: bool = True
    """Keep the claim (and the backed-up configuration) when the stack is destroyed."""


class DisruptionBudgetSettings(Model):
    enabled: bool = True
    """Create a PodDisruptionBudget."""
    max_unavailable: IntOrPercent = 1
    """Pods a voluntary disruption (node drain) may take down at once."""


class TopologySpreadSettings(Model):
    enabled: bool = True
    """Spread pods over failure domains."""
    topology_key: str = "topology.kubernetes.io/zone"
    """Node label that names the failure domain."""
    max_skew: int = Field(default=1, ge=1)
    """Largest allowed difference in pods between domains."""
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"
    """``ScheduleAnyway`` prefers spreading; ``DoNotSchedule`` requires it."""


class SchedulingSettings(Model):
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels the pods require."""
    tolerations: tuple[dict[str, Any], ...] = ()
    """Kubernetes ``Toleration`` objects, as in a pod spec."""
    affinity: dict[str, Any] | None = None
    """A Kubernetes ``Affinity`` object, as in a pod spec."""
    priority_class_name: str | None = None
    """Priority class of the pods."""


class LogSettings(Model):
    std: Literal["text", "json", "none"] = "text"
    """Container log format (``telemetry.logs.std``)."""
    level: Literal["all", "debug", "info", "warn", "error", "fatal"] = "info"
    """Container log level; ``warn`` is Microsoft's advice for throughput."""
    color: bool = True
    """Coloured container logs."""
    local: Literal["none", "auto", "localsyslog", "rfc5424", "journal", "json"] = "auto"
    """Local log sink, kept when Azure is unreachable (``telemetry.logs.local``)."""
    local_endpoint: str | None = None
    """Endpoint of the local sink; required for ``rfc5424`` and ``journal``."""

    @model_validator(mode="after")
    def _sink_endpoint(self) -> LogSettings:
        if self.local in ("rfc5424", "journal") and not self.local_endpoint:
            raise ValueError(f"local '{self.local}' requires localEndpoint")
        return self


class StatsdSettings(Model):
    endpoint: str = Field(min_length=1)
    """StatsD endpoint, ``host:port``."""
    sampling: float | None = Field(default=None, gt=0, le=1)
    """Sampling rate between 0 and 1."""
    tag_format: Literal["librato", "dogStatsD", "influxDB"] | None = None
    """Tag format of the StatsD sink."""


class OpenTelemetrySettings(Model):
    enabled: bool = False
    """Send metrics to an OpenTelemetry collector."""
    collector_uri: str | None = None
    """URI of the collector (required when enabled)."""
    system_metrics: bool = False
    """Also send system metrics."""
    histogram_buckets: tuple[float, ...] = ()
    """Histogram bucket boundaries (milliseconds)."""

    @model_validator(mode="after")
    def _collector(self) -> OpenTelemetrySettings:
        if self.enabled and not self.collector_uri:
            raise ValueError("enabled OpenTelemetry requires collectorUri")
        return self


class MetricsSettings(Model):
    cloud: bool = True
    """Send metrics to Azure Monitor."""
    statsd: StatsdSettings | None = None
    """Send metrics to a local StatsD sink as well (``telemetry.metrics.local=statsd``)."""
    open_telemetry: OpenTelemetrySettings = OpenTelemetrySettings()


class ProxySettings(Model):
    http: str | None = None
    """``HTTP_PROXY`` for outbound calls."""
    https: str | None = None
    """``HTTPS_PROXY`` for outbound calls."""
    no_proxy: str | None = None
    """``NO_PROXY``: hosts reached directly."""


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("must be a GUID such as 00000000-0000-0000-0000-000000000000")
    return value.lower()


Guid = Annotated[str, AfterValidator(_guid)]


class WorkloadIdentitySettings(Model):
    """``auth.mode: workloadIdentity``: the managed identity the stack creates for the gateway."""

    oidc_issuer_url: str = Field(pattern=r"^https://")
    """OIDC issuer URL of the cluster (``az aks show --query oidcIssuerProfile.issuerUrl``)."""
    resource_group_name: str = Field(min_length=1, max_length=90)
    """Resource group for the user-assigned managed identity."""
    location: str = Field(min_length=1)
    """Azure region of the managed identity, for example ``westeurope``."""
    service_account_name: DnsName | None = None
    """Kubernetes ServiceAccount of the gateway pods; defaults to the gateway name."""


class AuthSettings(Model):
    """How the gateway authenticates to its configuration endpoint."""

    mode: Literal["token", "entraApp", "workloadIdentity"] = "token"
    """``token``: a gateway token, generated and renewed by the stack (or from config in
    ``existing`` mode). ``entraApp``: an Entra ID application (gateway 2.3+).
    ``workloadIdentity``: Kubernetes workload identity, no secret at all (gateway 2.11+)."""
    tenant_id: Guid | None = None
    """``entraApp``: Entra ID tenant of the application."""
    client_id: Guid | None = None
    """``entraApp``: client (application) id. Its client secret is the secret config
    ``entraClientSecrets.<gateway>``, unless ``clientCertificateSecretName`` is set."""
    service_principal_object_id: Guid | None = None
    """``entraApp``: object id of the application's service principal, for the role assignment."""
    client_certificate_secret_name: DnsName | None = None
    """``entraApp``: existing Secret holding the application's certificate (instead of a client secret)."""
    client_certificate_key: str = "certificate.pfx"
    """``entraApp``: key of the certificate inside that Secret."""
    authority: str = Field(default="https://login.microsoftonline.com", pattern=r"^https://")
    """``entraApp``: Entra ID authority (sovereign clouds differ)."""
    token_audience: str | None = None
    """Token audience, when not ``https://azure-api.net/configuration`` (sovereign clouds)."""
    role_definition_id: str | None = Field(default=None, pattern=r"^/subscriptions/.+/roleDefinitions/.+$")
    """An existing role holding ``gateways/getConfiguration/action``; by default the stack
    creates one, scoped to the APIM instance."""
    create_apim_validator_role: bool = False
    """Also give the APIM instance's system-assigned identity ``Microsoft.Authorization/*/read``
    (it needs it to validate the gateway's identity). Once per instance: turn it on in one stack."""
    workload_identity: WorkloadIdentitySettings | None = None

    @model_validator(mode="after")
    def _mode_requirements(self) -> AuthSettings:
        if self.mode == "entraApp":
            missing = [
                key
                for key, value in (
                    ("tenantId", self.tenant_id),
                    ("clientId", self.client_id),
                    ("servicePrincipalObjectId", self.service_principal_object_id),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"mode 'entraApp' requires {', '.join(missing)}")
        if self.mode == "workloadIdentity" and self.workload_identity is None:
            raise ValueError("mode 'workloadIdentity' requires the workloadIdentity block")
        if self.mode != "workloadIdentity" and self.workload_identity is not None:
            raise ValueError(f"workloadIdentity only applies to mode 'workloadIdentity', not {self.mode!r}")
        return self


class AutoscalingSettings(Model):
    """A HorizontalPodAutoscaler on CPU and memory; the Deployment then leaves replicas to it."""

    enabled: bool = False
    """Create a HorizontalPodAutoscaler."""
    min_replicas: int | None = Field(default=None, ge=1)
    """Defaults to ``replicas``; never below the environment's floor (2 in prod)."""
    max_replicas: int = Field(default=10, ge=1, le=100)
    """Most pods the autoscaler may run."""
    target_cpu_utilization: int | None = Field(default=70, ge=1, le=100)
    """Average CPU utilisation (% of requests) to aim for; null to ignore CPU."""
    target_memory_utilization: int | None = Field(default=80, ge=1, le=100)
    """Average memory utilisation (% of requests) to aim for; null to ignore memory."""

    @model_validator(mode="after")
    def _some_metric(self) -> AutoscalingSettings:
        if self.enabled and self.target_cpu_utilization is None and self.target_memory_utilization is None:
            raise ValueError("an enabled autoscaler needs targetCpuUtilization or targetMemoryUtilization")
        return self


class NetworkPolicySettings(Model):
    """A NetworkPolicy around the gateway pods (on by default)."""

    enabled: bool = True
    """Create the NetworkPolicy."""
    ingress_from: tuple[dict[str, Any], ...] = ()
    """Kubernetes ``NetworkPolicyPeer`` objects allowed to call ports 8080/8081; empty allows any source."""
    backend_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """Address ranges of the backends (and local log/metric sinks) the gateway may call. The
    default allows every address: narrow it to your backends."""
    backend_ports: tuple[int, ...] = ()
    """Backend ports; empty allows every port on ``backendCidrs``."""


# Settings the stack derives itself; passing them through extraSettings would fight it.
RESERVED_SETTINGS = frozenset(
    {
        "config.service.endpoint",
        "config.service.auth",
        "neighborhood.host",
        "certificates.local.ca.enabled",
        "gateway.name",
    }
)


def _extra_settings(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not _SETTING_KEY.match(key):
            raise ValueError(f"setting name {key!r} may contain only letters, digits, '.', '-' and '_'")
        if key in RESERVED_SETTINGS:
            raise ValueError(f"setting {key!r} is set by the stack itself and cannot be passed through")
    return value


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


# ---------------------------------------------------------------------------
# Parsing


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _decode(value: Any) -> Any:
    """Pulumi hands object values to programs as JSON strings; stack files hold them as YAML."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _show(value: Any, secret: bool) -> str:
    if secret:
        return "[secret]"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> tuple[bool, Any]:
    node = raw
    for part in loc:
        if isinstance(node, Mapping):
            if part not in node:
                return False, None
            node = node[part]
        elif isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


def _problems(error: ValidationError, prefix: str, raw: Any, secret: bool = False) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        # pydantic reports union branches as loc parts such as 'int' / 'str'; drop them.
        loc = tuple(part for part in loc if part not in ("int", "str", "float", "bool", "is-instance[str]"))
        key = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        found, value = _lookup(raw, loc)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            problems.append(f"{key}: required setting is missing")
        elif item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown setting (check the spelling; keys are camelCase)")
        elif found:
            problems.append(f"{key} = {_show(value, secret)}: {message}")
        else:
            problems.append(f"{key}: {message}")
    return problems


# Oldest gateway version that supports each authentication mode.
AUTH_MIN_VERSION = {"entraApp": (2, 3, 0), "workloadIdentity": (2, 11, 0)}


def _gateway_rules(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Rules that need more than one field, or the environment."""
    problems = []
    if production and gateway.replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(f"{key}.replicas = {gateway.replicas}: prod needs at least {PRODUCTION_MIN_REPLICAS} replicas")
    if production and gateway.autoscaling.enabled and gateway.min_replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(
            f"{key}.autoscaling.minReplicas = {gateway.min_replicas}: prod needs at least "
            f"{PRODUCTION_MIN_REPLICAS} replicas"
        )
    minimum = AUTH_MIN_VERSION.get(gateway.auth.mode)
    pinned = _PINNED_TAG.match(gateway.image.tag)
    if minimum and pinned and tuple(int(part) for part in gateway.image.tag.split(".")) < minimum:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: auth.mode {gateway.auth.mode!r} needs gateway "
            f"{'.'.join(map(str, minimum))} or newer"
        )
    if not production:
        return problems
    if not _PINNED_TAG.match(gateway.image.tag) and not gateway.image.allow_moving_tag:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: prod needs a pinned major.minor.patch tag such as "
            f"'{DEFAULT_GATEWAY_TAG}' (moving tags like 'v2' or 'latest' upgrade silently); "
            "set image.allowMovingTag to true to accept it anyway"
        )
    return problems


def _secret_problems(
    config: StackConfig, raw_tokens: Mapping[str, Any], raw_client_secrets: Mapping[str, Any], now: datetime
) -> list[str]:
    """Each gateway gets exactly the secrets its modes need, and tokens are usable."""
    problems: list[str] = []
    by_name = {gateway.name: gateway for gateway in config.gateways}
    token_key = f"{CONFIG_NAMESPACE}:gatewayTokens"
    secret_key = f"{CONFIG_NAMESPACE}:entraClientSecrets"
    for key, given in ((token_key, raw_tokens), (secret_key, raw_client_secrets)):
        for name in given:
            if name not in by_name:
                problems.append(f"{key}.{name}: no gateway of that name (gateways: {', '.join(sorted(by_name))})")

    for gateway in config.gateways:
        label = f"{CONFIG_NAMESPACE}:gateways({gateway.name})"
        auth = gateway.auth
        needs_token = config.apim.mode == "existing" and auth.mode == "token"
        needs_client_secret = auth.mode == "entraApp" and not auth.client_certificate_secret_name
        if auth.mode != "token" and not (config.apim.resource_group_name and config.apim.service_name):
            problems.append(
                f"{label}.auth.mode = {auth.mode!r}: needs apim.resourceGroupName and apim.serviceName "
                "(the role assignment is scoped to the APIM instance)"
            )
        if gateway.name in raw_client_secrets and not needs_client_secret:
            problems.append(
                f"{secret_key}.{gateway.name}: only used with auth.mode 'entraApp' without a client certificate"
            )
        if needs_client_secret and gateway.name not in config.entra_client_secrets:
            problems.append(
                f"{secret_key}.{gateway.name}: required setting is missing (auth.mode 'entraApp' needs the "
                f"application's client secret: pulumi config set --secret --path '{secret_key}.{gateway.name}' ...)"
            )
        if gateway.name in raw_tokens and not needs_token:
            problems.append(
                f"{token_key}.{gateway.name}: only used with apim.mode 'existing' and auth.mode 'token'; "
                "remove it or change the mode"
            )
        if not needs_token:
            continue
        token = config.gateway_tokens.get(gateway.name)
        if token is None:
            problems.append(
                f"{token_key}.{gateway.name}: required setting is missing (apim.mode 'existing' takes each "
                f"gateway's token from config: pulumi config set --secret --path '{token_key}.{gateway.name}' ...)"
            )
            continue
        match = _GATEWAY_TOKEN.match(token.get_secret_value().strip())
        if not match:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: not a gateway token (expected "
                "'<gatewayId>&<yyyyMMddHHmm>&<signature>', optionally prefixed with 'GatewayKey ')"
            )
            continue
        if match["gateway"] != gateway.name:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: the token was issued for gateway "
                f"{match['gateway']!r}, not {gateway.name!r}"
            )
        expiry = token_expiry(token.get_secret_value())
        if expiry is not None and expiry <= now:
            problems.append(
                f"{token_key}.{gateway.name} = [secret]: the token expired at {expiry:%Y-%m-%dT%H:%MZ}; "
                "generate a new one in the Azure portal or switch to apim.mode 'managed'"
            )
    return problems


def token_expiry(token: str) -> datetime | None:
    """The expiry a gateway token carries (``<id>&<yyyyMMddHHmm>&<signature>``), in UTC."""
    match = _GATEWAY_TOKEN.match(token.strip())
    if not match:
        return None
    try:
        return datetime.strptime(match["expiry"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_stack_config(
    raw: Mapping[str, Any],
    secret_keys: Iterable[str] = (),
    now: datetime | None = None,
) -> StackConfig:
    """Validate a stack's ``apim-gateway:*`` config into a ``StackConfig``.

    ``raw`` maps full keys (``apim-gateway:gateways``) to values, as the stack file or
    the Pulumi runtime holds them. ``secret_keys`` lists the full keys set with
    ``--secret``. Raises ``ConfigError`` naming every problem; returns only valid config.
    """
    now = now or datetime.now(UTC)
    secret_keys = set(secret_keys)
    prefix = f"{CONFIG_NAMESPACE}:"
    values: dict[str, Any] = {}
    problems: list[str] = []
    for full_key, value in raw.items():
        if full_key.startswith(prefix):
            values[full_key[len(prefix) :]] = _decode(value)

    known = {"environment", "apim", "defaults", "gateways", *SECRET_KEYS}
    for key in sorted(set(values) - known):
        problems.append(f"{prefix}{key}: unknown setting (allowed: {', '.join(sorted(known))})")
    for key in SECRET_KEYS:
        if key in values and f"{prefix}{key}" not in secret_keys:
            problems.append(
                f"{prefix}{key}: must be set as a secret (pulumi config set --secret {key} ...), "
                "so that it is encrypted in the stack file and in state"
            )

    environment = values.get("environment")
    if environment is None:
        problems.append(f"{prefix}environment: required setting is missing (allowed: 'dev', 'prod')")
    elif environment not in ENVIRONMENT_DEFAULTS:
        problems.append(f"{prefix}environment = {_show(environment, False)}: allowed values are 'dev', 'prod'")
    env_defaults = ENVIRONMENT_DEFAULTS.get(str(environment), ENVIRONMENT_DEFAULTS["dev"])

    defaults = values.get("defaults", {})
    if not isinstance(defaults, Mapping):
        problems.append(f"{prefix}defaults = {_show(defaults, False)}: must be an object of gateway settings")
        defaults = {}
    raw_gateways = values.get("gateways")
    gateways: list[GatewayConfig] = []
    if raw_gateways is None:
        problems.append(f"{prefix}gateways: required setting is missing (a list with at least one gateway)")
        raw_gateways = []
    elif not isinstance(raw_gateways, list) or not raw_gateways:
        problems.append(f"{prefix}gateways = {_show(raw_gateways, False)}: must be a non-empty list of gateways")
        raw_gateways = []

    seen: dict[str, int] = {}
    for index, entry in enumerate(raw_gateways):
        label = f"{prefix}gateways[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{label} = {_show(entry, False)}: must be an object with at least name and locationData")
            continue
        if isinstance(entry.get("name"), str):
            label = f"{label}({entry['name']})"
        merged = _deep_merge(_deep_merge(env_defaults, defaults), entry)
        try:
            gateway = GatewayConfig.model_validate(merged)
        except ValidationError as error:
            problems.extend(_problems(error, label, merged))
            continue
        if gateway.name in seen:
            problems.append(f"{label}.name = {gateway.name!r}: already used by gateways[{seen[gateway.name]}]")
        seen[gateway.name] = index
        problems.extend(_gateway_rules(gateway, label, production=environment == "prod"))
        gateways.append(gateway)

    apim: ApimSettings | None = None
    try:
        apim = ApimSettings.model_validate(values.get("apim", {}))
    except ValidationError as error:
        problems.extend(_problems(error, f"{prefix}apim", values.get("apim", {})))
    else:
        # 'managed' already requires serviceName; 'existing' needs it only to derive endpoints.
        if not apim.service_name and not all(g.configuration_endpoint for g in gateways):
            problems.append(
                f"{prefix}apim.serviceName: required setting is missing (needed to derive the "
                "configuration endpoint when a gateway sets no configurationEndpoint)"
            )

    raw_tokens = values.get("gatewayTokens", {})
    if not isinstance(raw_tokens, Mapping):
        problems.append(f"{prefix}gatewayTokens = [secret]: must be an object mapping gateway name to token")
        raw_tokens = {}
    raw_client_secrets = values.get("entraClientSecrets", {})
    if not isinstance(raw_client_secrets, Mapping):
        problems.append(f"{prefix}entraClientSecrets = [secret]: must be an object mapping gateway name to secret")
        raw_client_secrets = {}
    kubeconfig = values.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        problems.append(f"{prefix}kubeconfig = [secret]: must be the kubeconfig file's content as a string")
        kubeconfig = None

    if problems or apim is None:
        raise ConfigError(problems)

    config = StackConfig(
        environment=environment,
        apim=apim,
        gateways=tuple(gateways),
        kubeconfig=SecretStr(kubeconfig) if kubeconfig else None,
        gateway_tokens={name: SecretStr(str(token)) for name, token in raw_tokens.items()},
        entra_client_secrets={name: SecretStr(str(secret)) for name, secret in raw_client_secrets.items()},
    )
    secret_problems = _secret_problems(config, raw_tokens, raw_client_secrets, now)
    if secret_problems:
        raise ConfigError(secret_problems)
    return config


def read_pulumi_config() -> StackConfig:
    """Read and validate the running stack's config through the Pulumi runtime."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = [key for key in raw if runtime_config.is_config_secret(key)]
    secret_keys += runtime_config.get_config_secret_keys_env()
    return parse_stack_config(raw, secret_keys)
