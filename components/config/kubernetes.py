"""Kubernetes-side models: how each gateway runs in the cluster."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .fields import (
    _SETTING_KEY,
    DEFAULT_GATEWAY_TAG,
    GATEWAY_IMAGE_REPOSITORY,
    DnsLabel,
    DnsName,
    IntOrPercent,
    Model,
    Quantity,
)
from .network import DEFAULT_DNS_PEERS, EgressPeerRule, InClusterPeer, PeerPort


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
    """An outbound proxy, passed as environment variables through the settings ConfigMap.
    URLs with credentials (``user:password@``) are refused: they would sit in plain text in
    the stack file, the ConfigMap and the pod's environment."""

    http: str | None = None
    """``HTTP_PROXY`` for outbound calls; no credentials in the URL."""
    https: str | None = None
    """``HTTPS_PROXY`` for outbound calls; no credentials in the URL."""
    no_proxy: str | None = None
    """``NO_PROXY``: hosts reached directly."""


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
    """Cluster-external address ranges of the backends the gateway may call (``ipBlock``: CNIs
    such as Cilium never match pods with it). Every address by default in dev, none in prod;
    prod refuses a range covering every address unless ``allowAnyBackend``. The metadata
    addresses 169.254.169.254 and 168.63.129.16 are always excepted."""
    backend_ports: tuple[int, ...] = ()
    """Backend ports; empty allows every port on ``backendCidrs``."""
    allow_any_backend: bool = False
    """Prod only: accept a ``backendCidrs`` entry that covers every address (``0.0.0.0/0``)."""
    backend_peers: tuple[EgressPeerRule, ...] = ()
    """In-cluster destinations (backends, an in-cluster Redis cache, collectors), selected by
    namespace and pod labels, each with its ports."""
    external_ports: tuple[PeerPort, ...] = ()
    """Ports besides 443 the gateway may use on any cluster-external address, for features set
    up in APIM: Event Hubs over AMQP (5671, 5672), an Azure Cache for Redis (6380), ..."""
    dns_peers: tuple[InClusterPeer, ...] = Field(default=DEFAULT_DNS_PEERS, min_length=1)
    """The cluster DNS pods (port 53); by default CoreDNS: ``k8s-app: kube-dns`` in ``kube-system``."""


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
