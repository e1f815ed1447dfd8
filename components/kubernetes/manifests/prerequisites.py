"""What the pods need before they start: the namespace, credentials, settings, the CA bundle,
the priority class and the backup claim."""

from __future__ import annotations

from ...config import GatewayConfig
from ...config.network import with_credentials
from ..trust_store import CA_BUNDLE_FILE
from .common import (
    BACKUP_STORAGE_PROVISIONER,
    BACKUP_STORAGE_SKU,
    CLIENT_SECRET_KEY,
    PATCH_FORCE_ANNOTATION,
    TOKEN_SECRET_KEY,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_LABEL,
    Obj,
    T,
    backup_storage_mount_options,
    common_labels,
    object_metadata,
    object_names,
)


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
        "metadata": object_metadata(gateway, object_names(gateway).token_secret),
        "type": "Opaque",
        "stringData": {TOKEN_SECRET_KEY: token},
    }


def entra_secret(gateway: GatewayConfig, client_secret: T) -> Obj:
    """The Secret holding the Entra ID application's client secret (``auth.mode: entraApp``)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_metadata(gateway, object_names(gateway).entra_secret),
        "type": "Opaque",
        "stringData": {CLIENT_SECRET_KEY: client_secret},
    }


PROXY_SETTINGS = {"HTTP_PROXY": "http", "HTTPS_PROXY": "https"}
"""The proxy variables the Secret holds, each from ``proxy.<field>``."""


def proxy_urls(gateway: GatewayConfig, credentials: str) -> dict[str, str]:
    """``HTTP_PROXY``/``HTTPS_PROXY`` with the proxy's credentials (``proxyCredentials``)."""
    return {
        variable: with_credentials(url, credentials)
        for variable, field in PROXY_SETTINGS.items()
        if (url := getattr(gateway.proxy, field))
    }


def proxy_secret(gateway: GatewayConfig, urls: T) -> Obj:
    """The Secret holding the proxy URLs with their credentials (``proxyCredentials``): the container
    reads each as a variable, which wins over the same name in the settings ConfigMap (core/v1
    ``Container.envFrom``: "Values defined by an Env with a duplicate key will take precedence")."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_metadata(gateway, object_names(gateway).proxy_secret),
        "type": "Opaque",
        "stringData": urls,
    }


def service_account(gateway: GatewayConfig, client_id: T | None) -> Obj | None:
    """The pods' ServiceAccount: workload identity's, bound to the managed identity ``client_id``,
    or (``client_id`` None) one that only carries ``serviceAccount``'s annotations and labels."""
    name = gateway.service_account_name
    if name is None:
        return None
    wanted = gateway.service_account
    labels = {**wanted.labels, **common_labels(gateway)}
    annotations: Obj = dict(wanted.annotations)
    if client_id is not None:
        labels[WORKLOAD_IDENTITY_LABEL] = "true"
        annotations[WORKLOAD_IDENTITY_CLIENT_ID] = client_id
    metadata = {**object_metadata(gateway, name), "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata, "automountServiceAccountToken": False}


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
        "metadata": object_metadata(gateway, name),
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
        "metadata": object_metadata(gateway, object_names(gateway).settings_config_map),
        "data": settings,
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
        "metadata": object_metadata(
            gateway, object_names(gateway).backup_claim, annotations={CLAIM_READY_ANNOTATION: CLAIM_READY}
        ),
        "spec": spec,
    }


CLAIM_READY_ANNOTATION = "pulumi.com/waitFor"
CLAIM_READY = "jsonpath={.status.phase}"
"""The claim is ready once it has a phase, Pending or Bound. The provider's own claim awaiter
(pulumi-kubernetes 4.25.0 ``provider/pkg/await/awaiters.go`` lines 284-303) waits 5 minutes for
Bound, or, for a ``WaitForFirstConsumer`` class, for Pending: so re-adopting a kept claim of such
a class, already Bound, always failed. ``pulumi.com/waitFor`` replaces that awaiter
(``await/await.go`` lines 282-293, ``metadata/overrides.go`` ReadyCondition; a JSONPath without a
value waits for the field to exist, ``jsonpath/jsonpath.go`` Parse). A claim that never binds is
caught by the Deployment's rollout wait instead, whose pods cannot start without it."""


def backup_storage_class(gateway: GatewayConfig) -> Obj | None:
    """The backup claim's Azure Files class when the stack creates it (``backup.createStorageClass``):
    Microsoft's SMB class (Microsoft Learn, "Use mountOptions settings in Azure Files") with the
    mount owned by the gateway's user and group instead of ``0777`` for everyone."""
    backup = gateway.backup
    if not backup.enabled or backup.existing_claim or not backup.create_storage_class:
        return None
    assert backup.storage_class_name is not None  # rules: createStorageClass needs a name
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": backup.storage_class_name, "labels": common_labels(gateway)},
        "provisioner": BACKUP_STORAGE_PROVISIONER,
        "parameters": {"skuName": BACKUP_STORAGE_SKU},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
        "mountOptions": backup_storage_mount_options(gateway),
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
