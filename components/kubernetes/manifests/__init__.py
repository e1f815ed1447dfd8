"""Pure functions: validated gateway config → Kubernetes objects.

One function per Kubernetes object, in the order a reader meets them in the
official Helm chart. Each returns the object as the Kubernetes API spells it
(camelCase dicts), so it can be validated against the Kubernetes OpenAPI schema and
compared with ``kubectl get -o json`` without Pulumi. ``kubernetes/objects.py`` registers them.

Values that are only known at deployment time (the token, its digest) are passed
in; they may be plain strings (tests) or Pulumi Outputs (the component).

- ``common.py``: names, labels, metadata, ports and paths, digests;
- ``prerequisites.py``: what the pods need first (namespace, Secrets, ConfigMap, CA bundle,
  priority class, backup claim);
- ``workload.py``: the Deployment;
- ``around.py``: Services, PodDisruptionBudget, HorizontalPodAutoscaler, NetworkPolicy.
"""

from .around import (
    autoscaler,
    discovery_service,
    disruption_budget,
    network_policy,
    traffic_service,
)
from .common import (
    APP_NAME,
    AUTH_MODE_SETTING,
    AUTH_SETTING,
    AUTOSCALED_FIELDS,
    AZURE_LOAD_BALANCER_IPV4,
    BACKUP_MOUNT_PATH,
    CLIENT_SECRET_KEY,
    DEFAULT_BACKUP_ACCESS_MODE,
    GATEWAY_UID,
    HEARTBEAT_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    PATCH_FORCE_ANNOTATION,
    RATE_LIMIT_SYNC_PORT,
    STATUS_PATH,
    TOKEN_SECRET_KEY,
    VERSION_LABEL,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_LABEL,
    Obj,
    ObjectNames,
    backup_claim_name,
    common_labels,
    credentials_checksum,
    object_metadata,
    object_names,
    selector_labels,
    service_metadata,
    settings_checksum,
)
from .prerequisites import (
    CLAIM_READY,
    CLAIM_READY_ANNOTATION,
    adopting,
    backup_claim,
    backup_storage_class,
    ca_bundle_secret,
    entra_secret,
    namespace,
    priority_class,
    proxy_secret,
    proxy_urls,
    service_account,
    settings_config_map,
    token_secret,
)
from .workload import (
    deletion_timeout_minutes,
    deployment,
    deployment_ignore_changes,
    deployment_timeout_minutes,
)

__all__ = [
    "APP_NAME",
    "AUTH_MODE_SETTING",
    "AUTH_SETTING",
    "AUTOSCALED_FIELDS",
    "AZURE_LOAD_BALANCER_IPV4",
    "BACKUP_MOUNT_PATH",
    "CLAIM_READY",
    "CLAIM_READY_ANNOTATION",
    "CLIENT_SECRET_KEY",
    "DEFAULT_BACKUP_ACCESS_MODE",
    "GATEWAY_UID",
    "HEARTBEAT_PORT",
    "HTTPS_PORT",
    "HTTP_PORT",
    "PATCH_FORCE_ANNOTATION",
    "RATE_LIMIT_SYNC_PORT",
    "STATUS_PATH",
    "TOKEN_SECRET_KEY",
    "VERSION_LABEL",
    "WORKLOAD_IDENTITY_CLIENT_ID",
    "WORKLOAD_IDENTITY_LABEL",
    "Obj",
    "ObjectNames",
    "adopting",
    "autoscaler",
    "backup_claim",
    "backup_claim_name",
    "backup_storage_class",
    "ca_bundle_secret",
    "common_labels",
    "credentials_checksum",
    "deletion_timeout_minutes",
    "deployment",
    "deployment_ignore_changes",
    "deployment_timeout_minutes",
    "discovery_service",
    "disruption_budget",
    "entra_secret",
    "namespace",
    "network_policy",
    "object_metadata",
    "object_names",
    "priority_class",
    "proxy_secret",
    "proxy_urls",
    "selector_labels",
    "service_account",
    "service_metadata",
    "settings_checksum",
    "settings_config_map",
    "token_secret",
    "traffic_service",
]
