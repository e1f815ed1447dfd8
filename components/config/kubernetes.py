"""Kubernetes-side models: how each gateway runs in the cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .adoption import AdoptedObject
from .fields import (
    _IMAGE_DIGEST,
    _SETTING_KEY,
    DEFAULT_GATEWAY_TAG,
    GATEWAY_IMAGE_REPOSITORY,
    DnsLabel,
    DnsName,
    IntOrPercent,
    Model,
    Quantity,
)
from .kubernetes_schema import Affinity, NetworkPolicyPeer
from .network import DEFAULT_DNS_PEERS, EgressPeerRule, InClusterPeer, PeerPort
from .values import (
    INT32_MAX,
    Annotations,
    Cidr,
    IpAddress,
    Labels,
    Port,
    QualifiedName,
    TolerationObject,
    parse_quantity,
)

DEFAULT_CLUSTER_IDENTIFIER = "apim-gateway"
"""``clusterIdentifier`` unless one is set: a constant, so that no kubeconfig or context change
ever makes the provider replace every object (pulumi-kubernetes ``provider.go`` ``DiffConfig``)."""


class KubernetesSettings(Model):
    """How the stack reaches the cluster. The kubeconfig content itself is the secret
    top-level key ``kubeconfig``; without it and without ``kubeconfigPath`` the ambient
    kubeconfig (``KUBECONFIG``, ``~/.kube/config`` or the in-cluster service account, resolved as
    client-go does) is used, pinned to one context in the provider's state."""

    kubeconfig_path: str | None = None
    """Path of a kubeconfig file (instead of the secret ``kubeconfig`` content), read by the program,
    which gives the provider the selected context's content as a secret (files embedded); it must
    exist at this path wherever the stack runs."""
    context: str | None = None
    """Context to use from the kubeconfig (its current context by default)."""
    cluster_identifier: str | None = Field(default=None, min_length=1)
    """The provider's ``clusterIdentifier``: while it stays the same, no change of the kubeconfig's
    server address, CA or context makes the provider replace every object. A constant by default
    (``apim-gateway``). A change on a live stack is refused (it would replace every object
    create-before-delete, and the deletes would remove the objects the creates took over): move a
    stack to another cluster by destroying it first (or with a new stack), not by changing this."""
    render_yaml_to_directory: str | None = None
    """Write manifests to this directory instead of applying them (GitOps)."""
    cluster_domain: DnsName = "cluster.local"
    """DNS domain of the cluster (the kubelet's ``clusterDomain``); ``cluster.local`` is the
    Kubernetes default ("DNS for Services and Pods"). ``neighborhood.host`` is the discovery
    Service's full name in it, so it resolves under every DNS policy the stack accepts."""
    render_secrets: bool = False
    """With ``renderYamlToDirectory``: also render the token Secret, in plain text. Off by
    default: the rendered Deployment then expects the Secret ``<gateway>-token`` to be
    provided out of band (for example through Sealed Secrets or External Secrets)."""
    adopt: tuple[AdoptedObject, ...] = ()
    """Existing objects of an earlier install (the portal's YAML, the Helm chart) that the stack may
    take over although it did not create them, each named by kind, name and namespace; only names
    the stack gives its own objects. Every other existing object is refused as before. Once taken
    over they carry the stack's ownership annotation, so the entries can be removed after the
    migration. See docs/migration.md."""

    @property
    def effective_cluster_identifier(self) -> str:
        return self.cluster_identifier or DEFAULT_CLUSTER_IDENTIFIER

    @model_validator(mode="after")
    def _render_only(self) -> KubernetesSettings:
        if self.render_secrets and not self.render_yaml_to_directory:
            raise ValueError("renderSecrets only applies together with renderYamlToDirectory")
        return self


class NamespaceSettings(Model):
    name: DnsLabel | None = None
    """Namespace of every object; defaults to the gateway name. Never a system namespace
    (``kube-system``, ``kube-public``, ``kube-node-lease``); ``default`` only with ``create: false``."""
    create: bool = True
    """Create (and own) the namespace; one that exists and was not made by this stack is refused.
    Turn off to deploy into a namespace managed elsewhere without owning it."""


class ImageSettings(Model):
    repository: str = GATEWAY_IMAGE_REPOSITORY
    """Gateway image repository."""
    tag: str = Field(default=DEFAULT_GATEWAY_TAG, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
    """Pin a ``major.minor.patch`` tag; moving tags (``v2``, ``latest``…) are refused in prod."""
    allow_moving_tag: bool = False
    """Accept a tag that is not ``major.minor.patch`` in prod (not needed with ``digest``)."""
    digest: str | None = None
    """Optional image digest, ``sha256:<64 hex>``: the pod then runs ``repository:tag@digest``,
    which the container runtime resolves by digest alone. Optional in prod too; see
    docs/gateway-settings.md."""
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    """Image pull policy."""
    pull_secrets: tuple[DnsName, ...] = ()
    """Names of image pull Secrets in the namespace (for a mirrored registry)."""

    @field_validator("digest")
    @classmethod
    def _digest_form(cls, value: str | None) -> str | None:
        if value is not None and not _IMAGE_DIGEST.match(value):
            raise ValueError("must be an image digest 'sha256:' followed by 64 lowercase hex digits")
        return value

    @property
    def reference(self) -> str:
        """The image reference of the container: ``repository:tag``, plus ``@digest`` when pinned."""
        reference = f"{self.repository}:{self.tag}"
        return f"{reference}@{self.digest}" if self.digest else reference


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

    @model_validator(mode="after")
    def _request_within_limit(self) -> ResourceSettings:
        # The API server refuses a container whose request exceeds its limit (k8s.io/kubernetes
        # v1.34.3, pkg/apis/core/validation/validation.go:7565: "must be less than or equal to ... limit").
        for resource, request, limit in (
            ("Cpu", self.requests_cpu, self.limits_cpu),
            ("Memory", self.requests_memory, self.limits_memory),
        ):
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(
                    f"requests{resource} ({request}) is above limits{resource} ({limit}): "
                    "a request must not exceed its limit"
                )
        return self


class ProbeTiming(Model):
    initial_delay_seconds: int = Field(default=0, ge=0, le=INT32_MAX)
    """Seconds before the first probe."""
    period_seconds: int = Field(default=5, ge=1, le=INT32_MAX)
    """Seconds between probes."""
    timeout_seconds: int = Field(default=3, ge=1, le=INT32_MAX)
    """Seconds a probe may take."""
    failure_threshold: int = Field(default=3, ge=1, le=INT32_MAX)
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
    nameservers: tuple[IpAddress, ...] = Field(default=(), max_length=3)
    """Extra name servers, IP addresses (required with policy ``None``; at most 3)."""
    searches: tuple[DnsName, ...] = Field(default=(), max_length=32)
    """Extra DNS search domains."""
    options: tuple[DnsOption, ...] = ()
    """Resolver options such as ``ndots``."""

    @model_validator(mode="after")
    def _none_needs_nameservers(self) -> DnsSettings:
        if self.policy == "None" and not self.nameservers:
            raise ValueError("policy 'None' requires at least one entry in nameservers")
        if self.policy == "Default":
            # Kubernetes "DNS for Services and Pods": Default inherits the node's resolver,
            # which does not answer for cluster Services.
            raise ValueError(
                "policy 'Default' gives the pods the node's resolver, which does not resolve cluster "
                "Services: neighborhood.host (the instance-discovery Service) would not resolve; use "
                "ClusterFirst, or None with the cluster DNS among nameservers"
            )
        return self


class ServiceSettings(Model):
    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    """Type of the traffic Service."""
    external_traffic_policy: Literal["Local", "Cluster"] = "Local"
    """``Local`` keeps the caller's IP and avoids a second hop (LoadBalancer and NodePort only)."""
    annotations: Annotations = Field(default_factory=dict)
    """Annotations of the traffic Service (for example an internal load balancer)."""
    load_balancer_ip: IpAddress | None = Field(default=None, alias="loadBalancerIP")
    """Requested load balancer IP address (LoadBalancer only). Set as AKS's annotation of its
    family (``service.beta.kubernetes.io/azure-load-balancer-ipv4``/``-ipv6``) unless
    ``loadBalancerIPAnnotation`` or ``loadBalancerIPInSpec`` says otherwise."""
    load_balancer_ip_annotation: QualifiedName | None = Field(default=None, alias="loadBalancerIPAnnotation")
    """Outside AKS: the annotation of the cluster's load balancer that carries ``loadBalancerIP``
    instead of AKS's, for example MetalLB's ``metallb.io/loadBalancerIPs``, kube-vip's
    ``kube-vip.io/loadbalancerIPs`` or Cilium's ``lbipam.cilium.io/ips``. Kubernetes deprecated
    ``spec.loadBalancerIP`` in 1.24 and asks for "implementation-specific annotations when
    available" (core/v1 ``ServiceSpec.loadBalancerIP``; kubernetes/kubernetes PR 107235)."""
    load_balancer_ip_in_spec: bool = Field(default=False, alias="loadBalancerIPInSpec")
    """Write ``loadBalancerIP`` into the deprecated ``spec.loadBalancerIP`` (and no AKS annotation),
    for load balancers that read nothing else."""
    allocate_load_balancer_node_ports: bool | None = None
    """LoadBalancer only: ``false`` allocates no node ports, for load balancers that send traffic to
    the pods directly (core/v1 ``ServiceSpec.allocateLoadBalancerNodePorts``, default true: "It may be
    set to false if the cluster load-balancer does not rely on NodePorts"). Unset: Kubernetes' default."""
    http_port: Port = 80
    """Service port for HTTP (to container port 8080)."""
    https_port: Port = 443
    """Service port for HTTPS (to container port 8081)."""

    @model_validator(mode="after")
    def _distinct_ports(self) -> ServiceSettings:
        # Two Service ports with the same number and protocol are refused: server-side apply
        # answers "duplicate entries for key [port=80,protocol=TCP]" (measured on 1.34.3).
        if self.http_port == self.https_port:
            raise ValueError(f"httpPort and httpsPort are both {self.http_port}: they must differ")
        return self

    @model_validator(mode="after")
    def _load_balancer_only(self) -> ServiceSettings:
        # The API server refuses allocateLoadBalancerNodePorts on other types (k8s.io/kubernetes
        # v1.34.3, pkg/apis/core/validation/validation.go:6490, ValidateService: "may only be used when
        # `type` is 'LoadBalancer'").
        if self.allocate_load_balancer_node_ports is not None and self.type != "LoadBalancer":
            raise ValueError(f"allocateLoadBalancerNodePorts only applies to type LoadBalancer (type is {self.type!r})")
        for name, value in (
            ("loadBalancerIPAnnotation", self.load_balancer_ip_annotation),
            ("loadBalancerIPInSpec", self.load_balancer_ip_in_spec or None),
        ):
            if value is not None and self.load_balancer_ip is None:
                raise ValueError(f"{name} only applies together with loadBalancerIP")
        if self.load_balancer_ip_annotation and self.load_balancer_ip_in_spec:
            raise ValueError("set one of loadBalancerIPAnnotation and loadBalancerIPInSpec")
        return self


class BackupSettings(Model):
    enabled: bool = False
    """Mount a volume at ``/apim/config`` so a restarted pod can start while Azure is unreachable."""
    existing_claim: DnsName | None = None
    """Use this existing PersistentVolumeClaim instead of creating one."""
    storage_class_name: str | None = None
    """Storage class of the claim (cluster default when unset)."""
    create_storage_class: bool = False
    """Create ``storageClassName`` as an Azure Files (SMB, ``file.csi.azure.com``) class whose
    mounts belong to the gateway's user and group 1001 (``uid=1001``, ``gid=1001``, modes 0770):
    AKS's ``azurefile-csi`` mounts as root (``uid=0,gid=0``) and ignores ``fsGroup`` on shared
    volumes (docs/cluster-lifecycle.md). A cluster-scoped object: one gateway per name."""
    size: Quantity = "50Mi"
    """Size of the claim (more than 0)."""
    access_mode: Literal["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"] = "ReadWriteMany"
    """Access mode; ReadWriteMany lets every replica mount it."""
    keep_on_destroy: bool = True
    """Keep the claim (and the backed-up configuration) when the stack is destroyed, and the
    namespace holding it when the stack creates that namespace; the next ``up`` adopts both
    (docs/cluster-lifecycle.md)."""

    @model_validator(mode="after")
    def _positive_size(self) -> BackupSettings:
        # A claim's storage request must be greater than zero (k8s.io/kubernetes v1.34.3,
        # pkg/apis/core/validation/validation.go:2418, ValidatePersistentVolumeClaimSpec).
        if parse_quantity(self.size) <= 0:
            raise ValueError(f"size ({self.size}) must be more than 0")
        return self


class DisruptionBudgetSettings(Model):
    enabled: bool = True
    """Create a PodDisruptionBudget."""
    max_unavailable: IntOrPercent = 1
    """Pods a voluntary disruption (node drain) may take down at once."""


class TopologySpreadSettings(Model):
    enabled: bool = True
    """Spread pods over failure domains."""
    topology_key: QualifiedName = "topology.kubernetes.io/zone"
    """Node label that names the failure domain."""
    max_skew: int = Field(default=1, ge=1, le=INT32_MAX)
    """Largest allowed difference in pods between domains."""
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"
    """``ScheduleAnyway`` prefers spreading; ``DoNotSchedule`` requires it."""


HIGHEST_USER_PRIORITY = 1_000_000_000
"""Kubernetes ``HighestUserDefinablePriority`` (``pkg/apis/scheduling/types.go``): larger values
are reserved for the system classes."""
SYSTEM_PRIORITY_PREFIX = "system-"
"""Kubernetes ``SystemPriorityClassPrefix``: reserved for ``system-cluster-critical`` and
``system-node-critical``, which are for critical cluster add-ons, not workloads."""


class PriorityClassSettings(Model):
    """The pods' PriorityClass: an existing one, or one the stack creates (cluster-wide)."""

    name: DnsName
    """Name of the PriorityClass; ``system-`` names are reserved for cluster add-ons."""
    create: bool = False
    """Create the PriorityClass (a cluster-scoped object; only one gateway of a stack may create a given name)."""
    value: int = Field(default=1_000_000, ge=-HIGHEST_USER_PRIORITY, le=HIGHEST_USER_PRIORITY)
    """Priority of the class when created (at most 1,000,000,000, the highest user-definable value)."""
    preemption_policy: Literal["PreemptLowerPriority", "Never"] = "PreemptLowerPriority"
    """Whether pods of this class may preempt lower-priority pods."""
    description: str = "Azure API Management self-hosted gateway"
    """Description of the class when created."""

    @field_validator("name")
    @classmethod
    def _not_system(cls, value: str) -> str:
        if value.startswith(SYSTEM_PRIORITY_PREFIX):
            raise ValueError(
                "'system-' priority classes are reserved for critical cluster add-ons (Kubernetes "
                "SystemPriorityClassPrefix); use a class of your own, for example with create: true"
            )
        return value


class SchedulingSettings(Model):
    node_selector: Labels = Field(default_factory=dict)
    """Node labels the pods require."""
    tolerations: tuple[TolerationObject, ...] = ()
    """Kubernetes ``Toleration`` objects, as in a pod spec."""
    affinity: Affinity | None = None
    """A Kubernetes ``Affinity`` object, as in a pod spec."""
    priority_class: PriorityClassSettings | None = None
    """Priority class of the pods (none by default)."""


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
    """Create the NetworkPolicy. ``false`` is refused in prod (without it the gateway reaches every
    address, the metadata endpoints included); the policy pack's ``gateway-egress-network-policy``
    also requires an egress NetworkPolicy for every gateway Deployment."""
    ingress_from: tuple[NetworkPolicyPeer, ...] = ()
    """Kubernetes ``NetworkPolicyPeer`` objects allowed to call ports 8080/8081; empty allows any source."""
    backend_cidrs: tuple[Cidr, ...] = ("0.0.0.0/0",)
    """Cluster-external address ranges of the backends the gateway may call (``ipBlock``: CNIs
    such as Cilium never match pods with it). Every address by default in dev, none in prod;
    prod refuses a range covering every address unless ``allowAnyBackend``. The metadata
    addresses 169.254.169.254 and 168.63.129.16 are always excepted."""
    backend_ports: tuple[Port, ...] = ()
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
        "gateway.name",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
RESERVED_SETTING_PREFIXES = {
    # The auth settings carry credentials (config.service.auth.azureAd.clientSecret would land in
    # the settings ConfigMap in plain text) or what the auth block sets: use auth.* instead.
    "config.service.auth.": "auth.* (credentials never go into the settings ConfigMap)",
    # The local log sink has rules a pass-through would bypass (node sockets, loopback endpoints).
    "telemetry.logs.local": "logs.local and logs.localEndpoint",
}
"""Setting prefixes that ``extraSettings`` may not use, with the config keys to use instead."""

REFUSED_SETTINGS = {
    # Honouring another port would mean moving it in the container ports, the discovery Service and
    # both directions of the NetworkPolicy (manifests: RATE_LIMIT_SYNC_PORT, HEARTBEAT_PORT); passed
    # through alone, the pods would sync on a port nothing opens and rate limits would silently stop
    # being shared. Defaults 4290/4291: Microsoft Learn, "Self-hosted gateway settings", neighborhood.
    "policy.rate-limit.sync.port": "the stack opens UDP 4290 for rate-limit sync in the container ports, the "
    "discovery Service and the NetworkPolicy; another port would silently stop the replicas sharing rate limits",
    "neighborhood.heartbeat.port": "the stack opens UDP 4291 for heartbeats in the container ports, the discovery "
    "Service and the NetworkPolicy; another port would silently stop the replicas finding each other",
}
"""Settings ``extraSettings`` may not set because the stack derives other objects from their defaults."""
REFUSED_SETTING_PREFIXES = {
    # Azure/api-management-self-hosted-gateway-ingress (README): Kubernetes Ingress support is
    # experimental, turned on with k8s.ingress.enabled (k8s.ingress.namespace...), and the gateway then
    # reads Ingress objects through the Kubernetes API with the RBAC of its deployment template.
    "k8s.ingress.": "Kubernetes Ingress mode (experimental) needs the pods to read Ingress objects through the "
    "Kubernetes API, and the stack mounts no API token (automountServiceAccountToken: false) and grants no RBAC",
}


def _extra_settings(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        # ConfigMap keys: at most 253 characters (apimachinery validation, IsConfigMapKey).
        if len(key) > 253 or not _SETTING_KEY.match(key):
            raise ValueError(f"setting name {key!r} may contain only letters, digits, '.', '-' and '_' (at most 253)")
        if key in RESERVED_SETTINGS:
            raise ValueError(f"setting {key!r} is set by the stack itself and cannot be passed through")
        for prefix, instead in RESERVED_SETTING_PREFIXES.items():
            if key.startswith(prefix):
                raise ValueError(f"setting {key!r} cannot be passed through; use {instead}")
        reason = REFUSED_SETTINGS.get(key) or next(
            (why for prefix, why in REFUSED_SETTING_PREFIXES.items() if key.startswith(prefix)), None
        )
        if reason:
            raise ValueError(f"setting {key!r} cannot be passed through: {reason}")
    return value
