"""The Deployment: the pod template and its rollout."""

from __future__ import annotations

from ...config import GatewayConfig
from ...config.pod import ExtraVolume, ExtraVolumeMount
from ..settings import ENTRA_CERTIFICATE_DIRECTORY
from ..trust_store import trust_store
from .common import (
    AUTH_MODE_SETTING,
    AUTH_SETTING,
    AUTOSCALED_FIELDS,
    BACKUP_MOUNT_PATH,
    CLIENT_SECRET_KEY,
    HEARTBEAT_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    PATCH_FORCE_ANNOTATION,
    RATE_LIMIT_SYNC_PORT,
    STATUS_PATH,
    TOKEN_SECRET_KEY,
    WORKLOAD_IDENTITY_LABEL,
    Obj,
    ObjectNames,
    T,
    common_labels,
    object_metadata,
    object_names,
    selector_labels,
)
from .prerequisites import PROXY_SETTINGS


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
        existing = gateway.token.existing_secret
        name, key = (existing.name, existing.key) if existing else (names.token_secret, TOKEN_SECRET_KEY)
        return [{"name": AUTH_SETTING, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}]
    env: list[Obj] = [{"name": AUTH_SETTING, "value": AUTH_MODE_SETTING[mode]}]
    if mode == "entraApp" and not gateway.auth.client_certificate_secret_name:
        env.append(
            {
                "name": "config.service.auth.azureAd.clientSecret",
                "valueFrom": {"secretKeyRef": {"name": names.entra_secret, "key": CLIENT_SECRET_KEY}},
            }
        )
    return env


def _extra_volume(volume: ExtraVolume) -> Obj:
    """One of ``pod.volumes`` as core/v1 ``Volume``."""
    spec: Obj = {"name": volume.name}
    if volume.secret:
        spec["secret"] = {"secretName": volume.secret.secret_name, "optional": volume.secret.optional}
        if volume.secret.items:
            spec["secret"]["items"] = [{"key": item.key, "path": item.path} for item in volume.secret.items]
    elif volume.config_map:
        spec["configMap"] = {"name": volume.config_map.name, "optional": volume.config_map.optional}
        if volume.config_map.items:
            spec["configMap"]["items"] = [{"key": item.key, "path": item.path} for item in volume.config_map.items]
    elif volume.empty_dir:
        spec["emptyDir"] = {
            **({"medium": volume.empty_dir.medium} if volume.empty_dir.medium else {}),
            **({"sizeLimit": volume.empty_dir.size_limit} if volume.empty_dir.size_limit else {}),
        }
    elif volume.persistent_volume_claim:
        claim = volume.persistent_volume_claim
        spec["persistentVolumeClaim"] = {"claimName": claim.claim_name, "readOnly": claim.read_only}
    elif volume.csi:
        csi: Obj = {"driver": volume.csi.driver, "readOnly": volume.csi.read_only}
        if volume.csi.volume_attributes:
            csi["volumeAttributes"] = dict(volume.csi.volume_attributes)
        if volume.csi.node_publish_secret_name:
            csi["nodePublishSecretRef"] = {"name": volume.csi.node_publish_secret_name}
        spec["csi"] = csi
    return spec


def _extra_mount(mount: ExtraVolumeMount) -> Obj:
    spec: Obj = {"name": mount.name, "mountPath": mount.mount_path, "readOnly": mount.read_only}
    if mount.sub_path:
        spec["subPath"] = mount.sub_path
    return spec


def _extra_env(gateway: GatewayConfig) -> tuple[list[Obj], list[Obj]]:
    """``pod.env`` (as ``env``) and ``pod.envFrom`` (as ``envFrom`` entries)."""
    env: list[Obj] = []
    for variable in gateway.pod.env:
        ref = variable.secret_key_ref or variable.config_map_key_ref
        assert ref is not None  # ExtraEnv: exactly one
        source = "secretKeyRef" if variable.secret_key_ref else "configMapKeyRef"
        env.append(
            {"name": variable.name, "valueFrom": {source: {"name": ref.name, "key": ref.key, "optional": ref.optional}}}
        )
    env_from: list[Obj] = []
    for entry in gateway.pod.env_from:
        whole = entry.secret_ref or entry.config_map_ref
        assert whole is not None  # ExtraEnvFrom: exactly one
        item: Obj = {
            "secretRef" if entry.secret_ref else "configMapRef": {"name": whole.name, "optional": whole.optional}
        }
        if entry.prefix:
            item["prefix"] = entry.prefix
        env_from.append(item)
    return env, env_from


def _volumes(gateway: GatewayConfig, names: ObjectNames) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """The pod's volumes, the container's mounts and the trust store's environment. The CA bundle
    is a Secret volume whose files get mode 0644 (core/v1 ``SecretVolumeSource.defaultMode``,
    "Defaults to 0644"): readable by whatever user the pod runs as (``pod.runAsUser``,
    ``pod.idsFromPlatform``), so the trust store needs nothing of the pod's ids."""
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
    volumes.extend(_extra_volume(volume) for volume in gateway.pod.volumes)
    mounts.extend(_extra_mount(mount) for mount in gateway.pod.volume_mounts)
    return volumes, mounts, ca_env


def _proxy_env(gateway: GatewayConfig, names: ObjectNames) -> list[Obj]:
    """The proxy variables from the stack's proxy Secret (``proxyCredentials``)."""
    return [
        {"name": variable, "valueFrom": {"secretKeyRef": {"name": names.proxy_secret, "key": variable}}}
        for variable, field in PROXY_SETTINGS.items()
        if getattr(gateway.proxy, field)
    ]


def _container(
    gateway: GatewayConfig, names: ObjectNames, mounts: list[Obj], ca_env: list[Obj], proxy_secret: bool
) -> Obj:
    """The gateway container: image, ports, settings, credentials, resources, probes."""
    extra_env, extra_env_from = _extra_env(gateway)
    if proxy_secret:
        extra_env = _proxy_env(gateway, names) + extra_env
    security: Obj = {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        # The gateway writes to its root filesystem; a read-only one is not supported.
        "readOnlyRootFilesystem": False,
    }
    if not gateway.pod.ids_from_platform:
        security["runAsUser"] = gateway.pod.run_as_user
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
        "env": _auth_env(gateway) + ca_env + extra_env,
        # The stack's settings come last: on a key both hold, the last source wins (core/v1 Container.envFrom).
        "envFrom": [*extra_env_from, {"configMapRef": {"name": names.settings_config_map}}],
        "resources": _resources(gateway),
        "readinessProbe": _probe(gateway, "readiness"),
        "livenessProbe": _probe(gateway, "liveness"),
        "startupProbe": _probe(gateway, "startup"),
        "securityContext": security,
    }
    if mounts:
        container["volumeMounts"] = mounts
    return container


def _scheduling(gateway: GatewayConfig) -> Obj:
    """Where the pods may run: node selector, tolerations, affinity, priority, zone spread."""
    scheduling = gateway.scheduling
    placement: Obj = {}
    if scheduling.node_selector:
        placement["nodeSelector"] = dict(scheduling.node_selector)
    if scheduling.tolerations:
        placement["tolerations"] = [dict(toleration) for toleration in scheduling.tolerations]
    if scheduling.affinity:
        placement["affinity"] = dict(scheduling.affinity)
    if scheduling.priority_class:
        placement["priorityClassName"] = scheduling.priority_class.name
    if gateway.topology_spread.enabled:
        placement["topologySpreadConstraints"] = [
            {
                "maxSkew": gateway.topology_spread.max_skew,
                "topologyKey": gateway.topology_spread.topology_key,
                "whenUnsatisfiable": gateway.topology_spread.when_unsatisfiable,
                "labelSelector": {"matchLabels": selector_labels(gateway)},
            }
        ]
    return placement


def _pod_spec(gateway: GatewayConfig, names: ObjectNames, proxy_secret: bool) -> Obj:
    """The pod template's spec."""
    volumes, mounts, ca_env = _volumes(gateway, names)
    security: Obj = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if not gateway.pod.ids_from_platform:
        # Makes the backup volume writable by the gateway's group (where the volume applies fsGroup).
        # With idsFromPlatform all three are left to the platform: OpenShift's restricted-v2 SCC
        # assigns them from the namespace's range and refuses pods that set others.
        security |= {
            "runAsUser": gateway.pod.run_as_user,
            "runAsGroup": gateway.pod.run_as_group,
            "fsGroup": gateway.pod.run_as_group,
        }
    pod_spec: Obj = {
        "containers": [_container(gateway, names, mounts, ca_env, proxy_secret)],
        "terminationGracePeriodSeconds": gateway.termination_grace_period_seconds,
        "automountServiceAccountToken": False,
        "securityContext": security,
        "dnsPolicy": gateway.dns.policy,
    }
    if gateway.pod.host_aliases:
        pod_spec["hostAliases"] = [
            {"ip": alias.ip, "hostnames": list(alias.hostnames)} for alias in gateway.pod.host_aliases
        ]
    if gateway.service_account_name:
        pod_spec["serviceAccountName"] = gateway.service_account_name
    dns_config = _dns_config(gateway)
    if dns_config:
        pod_spec["dnsConfig"] = dns_config
    if volumes:
        pod_spec["volumes"] = volumes
    if gateway.image.pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in gateway.image.pull_secrets]
    return {**pod_spec, **_scheduling(gateway)}


def deployment(
    gateway: GatewayConfig, settings_digest: T, credentials_digest: T | None, proxy_secret: bool = False
) -> Obj:
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
    pod_labels = {**gateway.pod.labels, **common_labels(gateway)}
    if gateway.auth.mode == "workloadIdentity":
        pod_labels[WORKLOAD_IDENTITY_LABEL] = "true"
    annotations: Obj = {**gateway.pod.annotations, "checksum/settings": settings_digest}
    if credentials_digest is not None:
        annotations["checksum/credentials"] = credentials_digest
    metadata = object_metadata(gateway, names.deployment)
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
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": _pod_spec(gateway, names, proxy_secret),
            },
        },
    }


PROVIDER_AWAIT_MINUTES = 10
"""What pulumi-kubernetes 4.25.0 waits for a Deployment without ``customTimeouts``:
``provider/pkg/await/await.go`` (Creation and Update: ``timeout := 10 * time.Minute`` unless
``metadata.TimeoutDuration`` finds the resource's ``customTimeouts`` or the
``pulumi.com/timeoutSeconds`` annotation, ``provider/pkg/metadata/overrides.go``) and
``provider/pkg/await/deployment.go`` (``DefaultDeploymentTimeoutMins = 10``)."""
ROLE_PROPAGATION_MINUTES = 30
"""How long a new role assignment may take to apply. Microsoft Learn, "Troubleshoot Azure RBAC",
"Symptom - Role assignment changes are not being detected": "it can take up to 10 minutes for
changes to take effect" (current text); earlier versions of the same page said up to 30 minutes.
The larger figure: the configuration API answers the gateway's token-free sign-in only once the
configuration reader assignment (and the APIM instance's validator assignment) apply."""
START_MARGIN_MINUTES = 5
"""Scheduling, image pull and volume mounts before the startup probe starts counting (this
project's allowance; no source gives a figure)."""


def _startup_window_minutes(gateway: GatewayConfig) -> int:
    """The longest a pod may take to load its configuration before the kubelet restarts it."""
    startup = gateway.probes.startup
    seconds = startup.initial_delay_seconds + startup.period_seconds * startup.failure_threshold
    return -(-seconds // 60)


def deployment_timeout_minutes(gateway: GatewayConfig) -> int:
    """How long ``pulumi up`` waits for the Deployment (create and update), never below the provider's
    10 minutes: the startup window plus a margin, and in the token-free modes the time a new role
    assignment may take to apply (the pods cannot read their configuration before it does)."""
    propagation = ROLE_PROPAGATION_MINUTES if gateway.auth.mode != "token" else 0
    return max(PROVIDER_AWAIT_MINUTES, propagation + _startup_window_minutes(gateway) + START_MARGIN_MINUTES)


def deletion_timeout_minutes(gateway: GatewayConfig) -> int:
    """How long a delete of the Deployment (and of a namespace the stack owns) may wait, never below
    the provider's 10 minutes: the pods' grace period plus the margin. The provider deletes with
    foreground propagation and waits until the object is gone (pulumi-kubernetes 4.25.0
    ``provider/pkg/await/await.go`` Deletion, lines 835-870: ``timeout := 10 * time.Minute`` unless
    ``customTimeouts.delete``), and the Deployment goes only after its pods, each of which may take
    ``terminationGracePeriodSeconds`` (up to 3600 s here) to stop."""
    grace_minutes = -(-gateway.termination_grace_period_seconds // 60)
    return max(PROVIDER_AWAIT_MINUTES, grace_minutes + START_MARGIN_MINUTES)


def deployment_ignore_changes(gateway: GatewayConfig) -> list[str]:
    """Deployment input paths Pulumi must leave to the autoscaler (``ignore_changes``)."""
    return list(AUTOSCALED_FIELDS) if gateway.autoscaling.enabled else []
