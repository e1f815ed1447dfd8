"""Pod knobs a platform team expects from a chart (issue 24): labels and annotations, extra
environment and volumes from the team's own Secrets and ConfigMaps, host aliases, the pod's user
and group. Each is a typed model; the rendered objects are also checked against Kubernetes' own
schema (``kubernetes_schema.py``) before anything registers."""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .fields import DnsLabel, DnsName, Model, Quantity
from .kubernetes import RESERVED_SETTING_PREFIXES, RESERVED_SETTINGS
from .values import INT32_MAX, Annotations, IpAddress, Labels

GATEWAY_UID = 1001
"""The gateway image's user and group. Microsoft Learn ("Self-hosted gateway settings",
``certificates.local.ca.enabled``: "requires root or UID 1001") and the production guidance
(``/apim/config`` writable by group 1001) both name it; the pods run as it unless
``pod.runAsUser``/``pod.runAsGroup`` say otherwise."""

STACK_MOUNT_ROOT = "/apim"
"""Every volume the stack mounts lies under it (``/apim/config``, ``/apim/certificates/...``)."""

STACK_VOLUME_NAMES = frozenset({"config-backup", "custom-ca", "entra-certificate"})
"""Volume names the stack's own pod spec uses (``manifests/workload.py``, ``trust_store.py``)."""

STACK_ENV_NAMES = frozenset(
    {"config.service.auth", "config.service.auth.azureAd.clientSecret", "SSL_CERT_FILE", "SSL_CERT_DIR"}
)
"""Container variables the stack sets itself (``workload._auth_env``, ``trust_store``)."""

_ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
"""Kubernetes ``IsEnvVarName`` (apimachinery ``validation.go``): letters, digits, '_', '-', '.',
not starting with a digit; the gateway's settings are such names (``config.service.endpoint``)."""


class KeyRef(Model):
    """One key of a Secret or ConfigMap in the gateway's namespace."""

    name: DnsName
    """Name of the Secret or ConfigMap."""
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    """Key inside it."""
    optional: bool = False
    """Start the pod even when the object or key is missing."""


class ObjectRef(Model):
    """A whole Secret or ConfigMap in the gateway's namespace."""

    name: DnsName
    """Name of the Secret or ConfigMap."""
    optional: bool = False
    """Start the pod even when the object is missing."""


class ExtraEnv(Model):
    """One container variable read from a key of a Secret or ConfigMap (a plain value is a gateway
    setting: use ``extraSettings``)."""

    name: str = Field(min_length=1, pattern=_ENV_NAME_PATTERN)
    """Variable name, for example a gateway setting such as ``telemetry.logs.std.level``."""
    secret_key_ref: KeyRef | None = None
    """The value is this key of a Secret."""
    config_map_key_ref: KeyRef | None = None
    """The value is this key of a ConfigMap."""

    @model_validator(mode="after")
    def _one_source(self) -> ExtraEnv:
        if (self.secret_key_ref is None) == (self.config_map_key_ref is None):
            raise ValueError("set exactly one of secretKeyRef and configMapKeyRef")
        # A variable of ``env`` wins over every ``envFrom`` source, the settings ConfigMap included
        # (core/v1 Container.envFrom: "Values defined by an Env with a duplicate key will take precedence").
        if self.name in STACK_ENV_NAMES or self.name in RESERVED_SETTINGS:
            raise ValueError(f"{self.name!r} is set by the stack itself and cannot be overridden")
        for prefix, instead in RESERVED_SETTING_PREFIXES.items():
            if self.name.startswith(prefix):
                raise ValueError(f"{self.name!r} cannot be set here; use {instead}")
        return self


class ExtraEnvFrom(Model):
    """Every key of a Secret or ConfigMap as container variables. The stack's own settings
    ConfigMap comes after these in ``envFrom``, so a key the stack sets keeps the stack's value
    (Kubernetes: "When a key exists in multiple sources, the value associated with the last source
    will take precedence", ``EnvFromSource`` in core/v1 ``Container.envFrom``)."""

    secret_ref: ObjectRef | None = None
    """Every key of this Secret."""
    config_map_ref: ObjectRef | None = None
    """Every key of this ConfigMap."""
    prefix: str | None = Field(default=None, pattern=_ENV_NAME_PATTERN)
    """Prefix added to each key."""

    @model_validator(mode="after")
    def _one_source(self) -> ExtraEnvFrom:
        if (self.secret_ref is None) == (self.config_map_ref is None):
            raise ValueError("set exactly one of secretRef and configMapRef")
        return self


class KeyToPath(Model):
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    """Key of the Secret or ConfigMap."""
    path: str = Field(min_length=1, pattern=r"^[^/]")
    """Relative path of the file inside the volume."""


class SecretVolume(Model):
    secret_name: DnsName
    """The Secret in the gateway's namespace."""
    items: tuple[KeyToPath, ...] = ()
    """Only these keys, at these paths (every key by default)."""
    optional: bool = False
    """Start the pod even when the Secret is missing."""


class ConfigMapVolume(Model):
    name: DnsName
    """The ConfigMap in the gateway's namespace."""
    items: tuple[KeyToPath, ...] = ()
    """Only these keys, at these paths (every key by default)."""
    optional: bool = False
    """Start the pod even when the ConfigMap is missing."""


class EmptyDirVolume(Model):
    medium: Literal["Memory"] | None = None
    """``Memory`` for a tmpfs; the node's disk by default."""
    size_limit: Quantity | None = None
    """Largest size of the directory."""


class ClaimVolume(Model):
    claim_name: DnsName
    """An existing PersistentVolumeClaim in the gateway's namespace."""
    read_only: bool = False
    """Mount it read-only."""


class CsiVolume(Model):
    """An inline CSI volume, for example the Secrets Store CSI driver (Azure Key Vault provider)."""

    driver: DnsName
    """Name of the CSI driver, for example ``secrets-store.csi.k8s.io``."""
    read_only: bool = True
    """Mount it read-only."""
    volume_attributes: dict[str, str] = Field(default_factory=dict)
    """Driver attributes, for example ``secretProviderClass``."""
    node_publish_secret_name: DnsName | None = None
    """A Secret the driver reads when mounting (``nodePublishSecretRef``)."""


class ExtraVolume(Model):
    """A volume of the pod. Only the kinds the restricted Pod Security Standard allows are offered
    (kubernetes.io, "Pod Security Standards", Restricted, "Volume Types": configMap, csi,
    downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)."""

    name: DnsLabel
    """Volume name, used by ``pod.volumeMounts``."""
    secret: SecretVolume | None = None
    config_map: ConfigMapVolume | None = None
    empty_dir: EmptyDirVolume | None = None
    persistent_volume_claim: ClaimVolume | None = None
    csi: CsiVolume | None = None

    @field_validator("name")
    @classmethod
    def _not_the_stacks(cls, value: str) -> str:
        if value in STACK_VOLUME_NAMES:
            raise ValueError(f"{value!r} is a volume of the stack's own; choose another name")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ExtraVolume:
        sources = [self.secret, self.config_map, self.empty_dir, self.persistent_volume_claim, self.csi]
        if sum(source is not None for source in sources) != 1:
            raise ValueError("set exactly one of secret, configMap, emptyDir, persistentVolumeClaim and csi")
        return self


class ExtraVolumeMount(Model):
    name: DnsLabel
    """Name of one of ``pod.volumes``."""
    mount_path: str = Field(pattern=r"^/")
    """Absolute path in the container; never ``/apim`` or under it (the stack's own mounts)."""
    read_only: bool = False
    """Mount read-only."""
    sub_path: str | None = Field(default=None, pattern=r"^[^/]")
    """Mount only this relative path of the volume."""

    @field_validator("mount_path")
    @classmethod
    def _not_over_the_stacks(cls, value: str) -> str:
        path = posixpath.normpath(value)
        if path == STACK_MOUNT_ROOT or path.startswith(STACK_MOUNT_ROOT + "/") or path == "/":
            raise ValueError(
                f"{value!r} would hide or share a mount of the stack's own (everything under {STACK_MOUNT_ROOT}); "
                "mount elsewhere, for example under /mnt"
            )
        return value


class HostAlias(Model):
    """An entry of the pods' ``/etc/hosts`` (core/v1 ``HostAlias``)."""

    ip: IpAddress
    """The address."""
    hostnames: tuple[DnsName, ...] = Field(min_length=1)
    """Host names for it."""


STACK_POD_ANNOTATION_PREFIX = "checksum/"
"""Pod-template annotations the stack writes (``checksum/settings``, ``checksum/credentials``)."""


class PodSettings(Model):
    """The gateway pods: metadata, extra environment and volumes, host aliases, user and group."""

    annotations: Annotations = Field(default_factory=dict)
    """Annotations of the pods (service-mesh injection, monitoring agents); ``checksum/*`` keys are
    the stack's."""
    labels: Labels = Field(default_factory=dict)
    """Labels of the pods only, besides ``commonLabels``; never in a selector, and never one of the
    stack's own label keys."""
    env: tuple[ExtraEnv, ...] = ()
    """Extra container variables, each from a key of a Secret or ConfigMap."""
    env_from: tuple[ExtraEnvFrom, ...] = ()
    """Extra container variables from every key of a Secret or ConfigMap (the stack's settings win
    on a shared key)."""
    volumes: tuple[ExtraVolume, ...] = ()
    """Extra volumes of the pod (kinds the restricted Pod Security Standard allows)."""
    volume_mounts: tuple[ExtraVolumeMount, ...] = ()
    """Where the gateway container mounts ``volumes``."""
    host_aliases: tuple[HostAlias, ...] = ()
    """Extra ``/etc/hosts`` entries (``hostAliases``)."""
    run_as_user: int = Field(default=GATEWAY_UID, ge=1, le=INT32_MAX)
    """User the gateway runs as (never 0: the restricted Pod Security Standard refuses root). Other
    than 1001, ``certificateAuthorities`` is refused (the gateway installs them only as root or 1001)."""
    run_as_group: int = Field(default=GATEWAY_UID, ge=0, le=INT32_MAX)
    """Group of the gateway, also the pod's ``fsGroup`` (group owner of the backup volume where the
    volume honours it) and the ``gid=`` of a class the stack creates (``backup.createStorageClass``)."""
    ids_from_platform: bool = False
    """Set no user, group or ``fsGroup``: the platform assigns them, as OpenShift's ``restricted-v2``
    SCC does from the namespace's range. Refuses ``backup.createStorageClass`` (its mount options
    need the ids ahead) and ``certificateAuthorities`` (UID 1001 or root only); docs/configuration.md."""

    @field_validator("annotations")
    @classmethod
    def _not_the_stacks_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith(STACK_POD_ANNOTATION_PREFIX):
                raise ValueError(f"annotation {key!r}: 'checksum/' annotations are the stack's (they roll the pods)")
        return value

    @field_validator("volumes")
    @classmethod
    def _distinct_volumes(cls, value: tuple[ExtraVolume, ...]) -> tuple[ExtraVolume, ...]:
        names = [volume.name for volume in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"volume names must be distinct; repeated: {', '.join(duplicates)}")
        return value

    @field_validator("env")
    @classmethod
    def _distinct_env(cls, value: tuple[ExtraEnv, ...]) -> tuple[ExtraEnv, ...]:
        names = [variable.name for variable in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"variable names must be distinct; repeated: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _mounts_name_volumes(self) -> PodSettings:
        names = {volume.name for volume in self.volumes}
        paths: set[str] = set()
        for mount in self.volume_mounts:
            if mount.name not in names:
                raise ValueError(
                    f"volumeMounts: {mount.name!r} is not one of pod.volumes ({', '.join(sorted(names)) or 'none'})"
                )
            path = posixpath.normpath(mount.mount_path)
            if path in paths:
                raise ValueError(f"volumeMounts: two mounts at {mount.mount_path!r}")
            paths.add(path)
        return self


class ServiceAccountSettings(Model):
    """Metadata of the pods' ServiceAccount. Without workload identity the pods run as the
    namespace's ``default`` account unless one of these is set: the stack then creates a
    ServiceAccount named after the gateway (no API token mounted)."""

    annotations: Annotations = Field(default_factory=dict)
    """Annotations of the ServiceAccount; ``azure.workload.identity/*`` keys are the stack's."""
    labels: Labels = Field(default_factory=dict)
    """Labels of the ServiceAccount; ``azure.workload.identity/*`` keys are the stack's."""

    @field_validator("annotations", "labels")
    @classmethod
    def _not_workload_identity(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith("azure.workload.identity/"):
                raise ValueError(f"{key!r} is set by the stack (auth.workloadIdentity)")
        return value

    @property
    def wanted(self) -> bool:
        return bool(self.annotations or self.labels)
