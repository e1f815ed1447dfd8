"""Pure functions: validated gateway config → Kubernetes objects.

One function per Kubernetes object, in the order a reader meets them in the
official Helm chart. Each returns the object as the Kubernetes API spells it
(camelCase dicts), so it can be validated against the Kubernetes OpenAPI schema and
compared with ``kubectl get -o json`` without Pulumi. ``gateway.py`` registers them.

Values that are only known at deployment time (the token, its digest) are passed
in; they may be plain strings (tests) or Pulumi Outputs (the component).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .config import BackupSettings, GatewayConfig, rules
from .egress import egress_rules
from .settings import ENTRA_CERTIFICATE_DIRECTORY, discovery_service_name
from .trust_store import CA_BUNDLE_FILE, ca_secret_name, trust_store

STATUS_PATH = "/status-0123456789abcdef"
"""Health endpoint of the gateway; it answers 200 once configuration is loaded. The chart probes
it (``values.yaml`` lines 225-240, chart 1.15.1) and Microsoft calls it "a default health endpoint
hosted on all the API Management services" (Application Gateway integration article, step 6);
``/internal-status-0123456789abcdef`` of one docs YAML is the developer portal's status page."""
BACKUP_MOUNT_PATH = "/apim/config"
"""Where the gateway keeps its configuration backup; mounting a volume here turns backup on."""
GATEWAY_UID = 1001
"""The gateway image runs as this user; the backup volume must be writable by its group."""
HTTP_PORT = 8080
HTTPS_PORT = 8081
RATE_LIMIT_SYNC_PORT = 4290
HEARTBEAT_PORT = 4291
CLIENT_SECRET_KEY = "clientSecret"  # noqa: S105 - the key name inside the Secret, not a secret
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id"
AUTH_MODE_SETTING = {"entraApp": "azureAdApp", "workloadIdentity": "workloadIdentity"}
"""``config.service.auth`` of the token-free modes; in token mode it is the token itself."""
TOKEN_SECRET_KEY = "value"  # noqa: S105 - the key name inside the Secret, not a secret
AUTH_SETTING = "config.service.auth"
APP_NAME = "azure-api-management-gateway"
VERSION_LABEL = "app.kubernetes.io/version"
AZURE_LOAD_BALANCER_IPV4 = rules.AZURE_LOAD_BALANCER_IPV4
"""AKS's replacement for ``spec.loadBalancerIP`` (deprecated since Kubernetes 1.24): Microsoft
Learn, "Use a static public IP address and DNS label with the AKS load balancer"
(learn.microsoft.com/azure/aks/static-ip) and "Use a public standard load balancer in AKS",
section "Specify the load balancer IP address" (learn.microsoft.com/azure/aks/load-balancer-standard)."""
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
"""pulumi-kubernetes reads it from an object's inputs and forces server-side apply conflicts for that
object only (provider ``pkg/metadata/annotations.go`` AnnotationPatchForce, ``pkg/await/await.go``
patchForce)."""
AUTOSCALED_FIELDS = ("spec.replicas",)
"""Deployment fields the autoscaler owns while it is on (it writes them through the scale
subresource, k8s.io/kubernetes ``pkg/controller/podautoscaler/horizontal.go``): the provider must
neither reset nor release them (Kubernetes docs, "Server-Side Apply", Transferring ownership)."""
DEFAULT_BACKUP_ACCESS_MODE = BackupSettings.model_fields["access_mode"].default

T = TypeVar("T")
Obj = dict[str, Any]


@dataclass(frozen=True)
class ObjectNames:
    """Names of the Kubernetes objects of one gateway (as in the portal YAML)."""

    namespace: str
    deployment: str
    settings_config_map: str
    token_secret: str
    traffic_service: str
    discovery_service: str
    backup_claim: str
    disruption_budget: str
    entra_secret: str
    autoscaler: str
    network_policy: str
    ca_secret: str | None = None
    """The CA bundle Secret: the stack's own (named after its content) or ``customCa.secretName``."""


def object_names(gateway: GatewayConfig) -> ObjectNames:
    return ObjectNames(
        namespace=gateway.namespace_name,
        deployment=gateway.name,
        settings_config_map=f"{gateway.name}-env",
        token_secret=f"{gateway.name}-token",
        traffic_service=f"{gateway.name}-live-traffic",
        discovery_service=discovery_service_name(gateway),
        backup_claim=gateway.backup.existing_claim or backup_claim_name(gateway),
        disruption_budget=gateway.name,
        entra_secret=f"{gateway.name}-entra",
        autoscaler=gateway.name,
        network_policy=gateway.name,
        ca_secret=ca_secret_name(gateway),
    )


def backup_claim_name(gateway: GatewayConfig) -> str:
    """The created claim's name, derived from the fields Kubernetes never lets change on a claim.

    ``storageClassName`` and ``accessModes`` are immutable once the claim exists, and the provider
    replaces a claim whose fields change delete-first, which waits on the claim's protection
    finalizer while pods still mount it (see docs/cluster-lifecycle.md). A new class or mode
    therefore gives a new claim beside the old one: the pods roll onto it, the old one is left
    (kept) or deleted after the rollout. The default class and mode keep the plain name.
    """
    backup = gateway.backup
    base = f"{gateway.name}-config-backup"
    if backup.storage_class_name is None and backup.access_mode == DEFAULT_BACKUP_ACCESS_MODE:
        return base
    immutable = json.dumps([backup.storage_class_name, backup.access_mode])
    return f"{base}-{hashlib.sha256(immutable.encode()).hexdigest()[:8]}"


def selector_labels(gateway: GatewayConfig) -> dict[str, str]:
    """Labels that select the gateway's pods; never change them on a live Deployment."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": gateway.name}


def common_labels(gateway: GatewayConfig) -> dict[str, str]:
    return {
        **selector_labels(gateway),
        "app.kubernetes.io/component": "self-hosted-gateway",
        VERSION_LABEL: gateway.image.tag,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def _metadata(gateway: GatewayConfig, name: str, **extra: Any) -> Obj:
    return {"name": name, "namespace": gateway.namespace_name, "labels": common_labels(gateway), **extra}


def _service_metadata(gateway: GatewayConfig, name: str) -> Obj:
    """Service metadata without the version label. pulumi-kubernetes awaits every Service update
    until its endpoints settle and target ready pods (``await/service.go`` ``Await``; the same
    awaiters run on update, ``await/await.go`` ``Update``), so a label that changes with the image
    tag would tie each upgrade's Service updates to the rollout's pods. Objects without an awaiter
    (ConfigMap, PodDisruptionBudget, HPA, NetworkPolicy: ``await/awaiters.go``) and the Deployment
    (an image change rolls it out anyway) keep it."""
    labels = {key: value for key, value in common_labels(gateway).items() if key != VERSION_LABEL}
    return {"name": name, "namespace": gateway.namespace_name, "labels": labels}


def settings_checksum(settings: Mapping[str, str]) -> str:
    """Digest of the settings; as a pod annotation it rolls the pods when a setting changes."""
    return hashlib.sha256(json.dumps(dict(settings), sort_keys=True).encode()).hexdigest()


def credentials_checksum(credential: str) -> str:
    """One-way digest of the token or client secret for the pod template (the Helm
    ``checksum/secret`` practice): the gateway reads it only at start, so a new one must
    roll the pods. The annotation stays a Pulumi secret all the same."""
    return hashlib.sha256(credential.encode()).hexdigest()


# ---------------------------------------------------------------------------


def namespace(gateway: GatewayConfig) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": gateway.namespace_name,
            "labels": {
                **common_labels(gateway),
                # The gateway's pod spec meets the restricted Pod Security Standard. The enforced
                # version is pinned (the Kubernetes version the project is tested on), so a cluster
                # upgrade cannot reject running pods; warn and audit follow the latest version to
                # show early what a newer standard would reject (kubernetes.io, "Enforce Pod
                # Security Standards with Namespace Labels").
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "v1.34",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/warn-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/audit-version": "latest",
            },
        },
    }


def token_secret(gateway: GatewayConfig, token: T) -> Obj:
    """The Secret holding ``GatewayKey <token>``, read by the container as ``config.service.auth``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(gateway, object_names(gateway).token_secret),
        "type": "Opaque",
        "stringData": {TOKEN_SECRET_KEY: token},
    }


def entra_secret(gateway: GatewayConfig, client_secret: T) -> Obj:
    """The Secret holding the Entra ID application's client secret (``auth.mode: entraApp``)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(gateway, object_names(gateway).entra_secret),
        "type": "Opaque",
        "stringData": {CLIENT_SECRET_KEY: client_secret},
    }


def service_account(gateway: GatewayConfig, client_id: T) -> Obj | None:
    """The workload-identity ServiceAccount, bound to the managed identity ``client_id``."""
    name = gateway.service_account_name
    if name is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            **_metadata(gateway, name),
            "labels": {**common_labels(gateway), WORKLOAD_IDENTITY_LABEL: "true"},
            "annotations": {WORKLOAD_IDENTITY_CLIENT_ID: client_id},
        },
        "automountServiceAccountToken": False,
    }


def ca_bundle_secret(gateway: GatewayConfig) -> Obj | None:
    """The Secret holding ``customCa.certificates`` (or the file's content), or None when the
    stack has no bundle of its own. CA certificates are public; a Secret keeps the pod's volume
    the same kind whether the stack creates the bundle or ``customCa.secretName`` names one."""
    bundle = gateway.custom_ca.bundle
    name = object_names(gateway).ca_secret
    if bundle is None or name is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(gateway, name),
        "type": "Opaque",
        "stringData": {CA_BUNDLE_FILE: bundle},
    }


def priority_class(gateway: GatewayConfig) -> Obj | None:
    """The pods' PriorityClass when the stack creates it (``scheduling.priorityClass.create``)."""
    wanted = gateway.scheduling.priority_class
    if wanted is None or not wanted.create:
        return None
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": wanted.name, "labels": common_labels(gateway)},
        "value": wanted.value,
        "preemptionPolicy": wanted.preemption_policy,
        "globalDefault": False,
        "description": wanted.description,
    }


def settings_config_map(gateway: GatewayConfig, settings: T) -> Obj:
    """The ConfigMap of gateway settings (``settings.gateway_settings``), read with envFrom."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(gateway, object_names(gateway).settings_config_map),
        "data": settings,
    }


def _probe(gateway: GatewayConfig, kind: str) -> Obj:
    timing = getattr(gateway.probes, kind)
    return {
        "httpGet": {"path": STATUS_PATH, "port": "http", "scheme": "HTTP"},
        "initialDelaySeconds": timing.initial_delay_seconds,
        "periodSeconds": timing.period_seconds,
        "timeoutSeconds": timing.timeout_seconds,
        "failureThreshold": timing.failure_threshold,
        "successThreshold": 1,
    }


def _resources(gateway: GatewayConfig) -> Obj:
    resources: Obj = {"requests": {"cpu": gateway.resources.requests_cpu, "memory": gateway.resources.requests_memory}}
    limits = {
        key: value
        for key, value in (("cpu", gateway.resources.limits_cpu), ("memory", gateway.resources.limits_memory))
        if value
    }
    if limits:
        resources["limits"] = limits
    return resources


def _dns_config(gateway: GatewayConfig) -> Obj | None:
    dns = gateway.dns
    config: Obj = {}
    if dns.nameservers:
        config["nameservers"] = list(dns.nameservers)
    if dns.searches:
        config["searches"] = list(dns.searches)
    if dns.options:
        config["options"] = [
            {"name": option.name, **({"value": option.value} if option.value is not None else {})}
            for option in dns.options
        ]
    return config or None


def _auth_env(gateway: GatewayConfig) -> list[Obj]:
    names = object_names(gateway)
    mode = gateway.auth.mode
    if mode == "token":
        return [
            {"name": AUTH_SETTING, "valueFrom": {"secretKeyRef": {"name": names.token_secret, "key": TOKEN_SECRET_KEY}}}
        ]
    env: list[Obj] = [{"name": AUTH_SETTING, "value": AUTH_MODE_SETTING[mode]}]
    if mode == "entraApp" and not gateway.auth.client_certificate_secret_name:
        env.append(
            {
                "name": "config.service.auth.azureAd.clientSecret",
                "valueFrom": {"secretKeyRef": {"name": names.entra_secret, "key": CLIENT_SECRET_KEY}},
            }
        )
    return env


def deployment(gateway: GatewayConfig, settings_digest: T, credentials_digest: T | None) -> Obj:
    """The gateway Deployment.

    ``settings_digest`` and ``credentials_digest`` (token or client secret; None when the
    mode has none) go into pod-template annotations: the gateway reads both only at
    start, so a change must replace the pods, which RollingUpdate does with zero
    unavailable. ``replicas`` is always set: left out, server-side apply would release it
    and the Deployment would fall to one pod. With an autoscaler it starts at the
    autoscaler's minimum and is listed in ``deployment_ignore_changes``, so Pulumi keeps
    the live count; without one, the provider forces it back (see docs/cluster-lifecycle.md).
    """
    names = object_names(gateway)
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    if gateway.backup.enabled:
        volumes.append({"name": "config-backup", "persistentVolumeClaim": {"claimName": names.backup_claim}})
        mounts.append({"name": "config-backup", "mountPath": BACKUP_MOUNT_PATH})
    ca_volumes, ca_mounts, ca_env = trust_store(gateway, names.ca_secret)
    volumes.extend(ca_volumes)
    mounts.extend(ca_mounts)
    if gateway.auth.client_certificate_secret_name:
        volumes.append(
            {"name": "entra-certificate", "secret": {"secretName": gateway.auth.client_certificate_secret_name}}
        )
        mounts.append({"name": "entra-certificate", "mountPath": ENTRA_CERTIFICATE_DIRECTORY, "readOnly": True})

    container: Obj = {
        "name": "gateway",
        "image": gateway.image.reference,
        "imagePullPolicy": gateway.image.pull_policy,
        "ports": [
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "https", "containerPort": HTTPS_PORT, "protocol": "TCP"},
            {"name": "rate-limit", "containerPort": RATE_LIMIT_SYNC_PORT, "protocol": "UDP"},
            {"name": "heartbeat", "containerPort": HEARTBEAT_PORT, "protocol": "UDP"},
        ],
        "env": _auth_env(gateway) + ca_env,
        "envFrom": [{"configMapRef": {"name": names.settings_config_map}}],
        "resources": _resources(gateway),
        "readinessProbe": _probe(gateway, "readiness"),
        "livenessProbe": _probe(gateway, "liveness"),
        "startupProbe": _probe(gateway, "startup"),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": GATEWAY_UID,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            # The gateway writes to its root filesystem; a read-only one is not supported.
            "readOnlyRootFilesystem": False,
        },
    }
    if mounts:
        container["volumeMounts"] = mounts

    pod_spec: Obj = {
        "containers": [container],
        "terminationGracePeriodSeconds": gateway.termination_grace_period_seconds,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": GATEWAY_UID,
            "runAsGroup": GATEWAY_UID,
            # Makes the backup volume writable by the gateway's group.
            "fsGroup": GATEWAY_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "dnsPolicy": gateway.dns.policy,
    }
    if gateway.service_account_name:
        pod_spec["serviceAccountName"] = gateway.service_account_name
    dns_config = _dns_config(gateway)
    if dns_config:
        pod_spec["dnsConfig"] = dns_config
    if volumes:
        pod_spec["volumes"] = volumes
    if gateway.image.pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in gateway.image.pull_secrets]
    scheduling = gateway.scheduling
    if scheduling.node_selector:
        pod_spec["nodeSelector"] = dict(scheduling.node_selector)
    if scheduling.tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in scheduling.tolerations]
    if scheduling.affinity:
        pod_spec["affinity"] = dict(scheduling.affinity)
    if scheduling.priority_class:
        pod_spec["priorityClassName"] = scheduling.priority_class.name
    if gateway.topology_spread.enabled:
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": gateway.topology_spread.max_skew,
                "topologyKey": gateway.topology_spread.topology_key,
                "whenUnsatisfiable": gateway.topology_spread.when_unsatisfiable,
                "labelSelector": {"matchLabels": selector_labels(gateway)},
            }
        ]

    pod_labels = common_labels(gateway)
    if gateway.auth.mode == "workloadIdentity":
        pod_labels[WORKLOAD_IDENTITY_LABEL] = "true"
    annotations: Obj = {"checksum/settings": settings_digest}
    if credentials_digest is not None:
        annotations["checksum/credentials"] = credentials_digest
    metadata = _metadata(gateway, names.deployment)
    if not gateway.autoscaling.enabled:
        # Take ``replicas`` back from the autoscaler's field manager without an apply conflict.
        metadata["annotations"] = {PATCH_FORCE_ANNOTATION: "true"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": gateway.min_replicas if gateway.autoscaling.enabled else gateway.replicas,
            "selector": {"matchLabels": selector_labels(gateway)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxUnavailable": gateway.rollout.max_unavailable,
                    "maxSurge": gateway.rollout.max_surge,
                },
            },
            "template": {"metadata": {"labels": pod_labels, "annotations": annotations}, "spec": pod_spec},
        },
    }


def deployment_ignore_changes(gateway: GatewayConfig) -> list[str]:
    """Deployment input paths Pulumi must leave to the autoscaler (``ignore_changes``)."""
    return list(AUTOSCALED_FIELDS) if gateway.autoscaling.enabled else []


def traffic_service(gateway: GatewayConfig) -> Obj:
    """The Service clients call: 80→8080 and 443→8081."""
    service = gateway.service
    spec: Obj = {
        "type": service.type,
        "selector": selector_labels(gateway),
        "ports": [
            {"name": "http", "port": service.http_port, "targetPort": "http", "protocol": "TCP"},
            {"name": "https", "port": service.https_port, "targetPort": "https", "protocol": "TCP"},
        ],
    }
    if service.type != "ClusterIP":
        # Local keeps the caller's IP and avoids a second hop between nodes.
        spec["externalTrafficPolicy"] = service.external_traffic_policy
    metadata = _service_metadata(gateway, object_names(gateway).traffic_service)
    annotations = dict(service.annotations)
    if service.load_balancer_ip and service.type == "LoadBalancer":
        # Not spec.loadBalancerIP: deprecated since Kubernetes 1.24; AKS reads this annotation.
        annotations[rules.load_balancer_ip_annotation(service.load_balancer_ip)] = service.load_balancer_ip
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def discovery_service(gateway: GatewayConfig) -> Obj:
    """Headless Service resolving every replica: instance discovery and rate-limit sync."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _service_metadata(gateway, object_names(gateway).discovery_service),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(gateway),
            "ports": [
                {"name": "rate-limit", "port": RATE_LIMIT_SYNC_PORT, "targetPort": "rate-limit", "protocol": "UDP"},
                {"name": "heartbeat", "port": HEARTBEAT_PORT, "targetPort": "heartbeat", "protocol": "UDP"},
            ],
        },
    }


def backup_claim(gateway: GatewayConfig) -> Obj | None:
    """The configuration-backup claim, or None when backup is off or uses an existing claim."""
    backup = gateway.backup
    if not backup.enabled or backup.existing_claim:
        return None
    spec: Obj = {
        "accessModes": [backup.access_mode],
        "resources": {"requests": {"storage": backup.size}},
    }
    if backup.storage_class_name:
        spec["storageClassName"] = backup.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(gateway, object_names(gateway).backup_claim),
        "spec": spec,
    }


def adopting(obj: Obj) -> Obj:
    """``obj`` marked to take its fields over from any earlier field manager on apply.

    A kept object still lists the field manager of the stack that made it, which is gone; any
    value changed since (a new image tag in the labels) would be an apply conflict with it.
    """
    metadata = obj["metadata"]
    return {
        **obj,
        "metadata": {**metadata, "annotations": {**metadata.get("annotations", {}), PATCH_FORCE_ANNOTATION: "true"}},
    }


def disruption_budget(gateway: GatewayConfig) -> Obj | None:
    if not gateway.disruption_budget.enabled:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(gateway, object_names(gateway).disruption_budget),
        "spec": {
            "maxUnavailable": gateway.disruption_budget.max_unavailable,
            "selector": {"matchLabels": selector_labels(gateway)},
        },
    }


def autoscaler(gateway: GatewayConfig) -> Obj | None:
    """A HorizontalPodAutoscaler on CPU and memory, or None when autoscaling is off."""
    scaling = gateway.autoscaling
    if not scaling.enabled:
        return None
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
        }
        for resource, target in (("cpu", scaling.target_cpu_utilization), ("memory", scaling.target_memory_utilization))
        if target is not None
    ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(gateway, object_names(gateway).autoscaler),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_names(gateway).deployment},
            "minReplicas": gateway.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
        },
    }


def network_policy(gateway: GatewayConfig) -> Obj | None:
    """Traffic in and out of the gateway pods, or None when turned off.

    In: 8080/8081 from ``ingressFrom`` (any source when empty); UDP 4290/4291 only from
    other gateway pods. Out (``egress.egress_rules``, every rule with a destination): DNS to
    the cluster DNS pods; 443 (and ``externalPorts``) to cluster-external addresses; UDP
    4290/4291 to gateway pods; ``backendCidrs``; ``backendPeers``; the telemetry sinks the
    settings name. 169.254.169.254 and 168.63.129.16 are excepted from every ``ipBlock``.
    """
    policy = gateway.network_policy
    if not policy.enabled:
        return None
    gateway_pods = {"podSelector": {"matchLabels": selector_labels(gateway)}}
    sync_ports = [
        {"port": RATE_LIMIT_SYNC_PORT, "protocol": "UDP"},
        {"port": HEARTBEAT_PORT, "protocol": "UDP"},
    ]
    client_rule: Obj = {"ports": [{"port": HTTP_PORT, "protocol": "TCP"}, {"port": HTTPS_PORT, "protocol": "TCP"}]}
    if policy.ingress_from:
        client_rule["from"] = [dict(peer) for peer in policy.ingress_from]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(gateway, object_names(gateway).network_policy),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(gateway)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [client_rule, {"from": [gateway_pods], "ports": sync_ports}],
            "egress": egress_rules(gateway, gateway_pods, sync_ports),
        },
    }
