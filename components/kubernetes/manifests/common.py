"""What every object shares: names, labels, metadata, the gateway's ports and paths, digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ...config import BackupSettings, GatewayConfig, pod, rules
from ..rollout import credentials_digest
from ..settings import discovery_service_name
from ..trust_store import ca_secret_name

STATUS_PATH = "/status-0123456789abcdef"
"""Health endpoint of the gateway; it answers 200 once configuration is loaded. The chart probes
it (``values.yaml`` lines 225-240, chart 1.15.1) and Microsoft calls it "a default health endpoint
hosted on all the API Management services" (Application Gateway integration article, step 6).
Microsoft's workload identity article probes ``/internal-status-0123456789abcdef`` in its YAML;
this path stays because the chart, the portal's YAML and the production guidance use it
(docs/gateway-settings.md, "Readiness path")."""
BACKUP_MOUNT_PATH = "/apim/config"
"""Where the gateway keeps its configuration backup; mounting a volume here turns backup on."""
GATEWAY_UID = pod.GATEWAY_UID
"""The gateway image runs as this user; the backup volume must be writable by its group. A stack may
choose others (``pod.runAsUser``/``runAsGroup``) or leave them to the platform (``pod.idsFromPlatform``)."""
BACKUP_STORAGE_PROVISIONER = "file.csi.azure.com"
"""The Azure Files CSI driver, as in Microsoft's SMB StorageClass (Microsoft Learn, "Use
mountOptions settings in Azure Files", troubleshoot/azure/azure-kubernetes/storage)."""
BACKUP_STORAGE_SKU = "Standard_LRS"
"""``skuName`` of the created class: the Standard tier; the article lists Premium_LRS, Premium_ZRS,
Standard_LRS, Standard_GRS, Standard_ZRS, Standard_RAGRS, Standard_RAGZRS."""
BACKUP_STORAGE_MOUNT_OPTIONS = (
    "dir_mode=0770",
    "file_mode=0770",
    "mfsymlinks",
    "cache=strict",
    "nosharesock",
    "actimeo=30",
    "nobrl",
)
"""Mount options of the created class. Microsoft's SMB example sets ``dir_mode=0777``,
``file_mode=0777`` ("modify this permission if you want to enhance the security") and the rest as
here; the driver's own examples (kubernetes-sigs/azurefile-csi-driver
``deploy/example/storageclass-azurefile-secret.yaml``) mount with ``uid=0``, ``gid=0``. The
CSIDriver's ``fsGroupPolicy`` is ``ReadWriteOnceWithFSType`` (azurefile-csi-driver PR 1017), so
the pod's ``fsGroup`` changes nothing on a ReadWriteMany share, and a ``gid=`` mount option wins
over ``fsGroup`` anyway (kubernetes PR 58316). So the owner is set here: user and group 1001, as
the production guidance wants ``/apim/config`` writable by group 1001, and nobody else: the
``uid=``/``gid=`` options (``backup_storage_mount_options``) are the pod's user and group, 1001 by
default."""


def backup_storage_mount_options(gateway: GatewayConfig) -> list[str]:
    """The created class's mount options: owned by the pod's user and group (``pod.runAsUser``,
    ``pod.runAsGroup``; ``pod.idsFromPlatform`` refuses a created class, ``pod_rules``)."""
    return [f"uid={gateway.pod.run_as_user}", f"gid={gateway.pod.run_as_group}", *BACKUP_STORAGE_MOUNT_OPTIONS]


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
    proxy_secret: str
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
        proxy_secret=f"{gateway.name}-proxy",
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
    """Every object's labels: ``commonLabels`` (never a key of the stack's own, ``pod_rules``) and the stack's."""
    return {
        **gateway.common_labels,
        **selector_labels(gateway),
        "app.kubernetes.io/component": "self-hosted-gateway",
        VERSION_LABEL: gateway.image.tag,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def object_metadata(gateway: GatewayConfig, name: str, **extra: Any) -> Obj:
    return {"name": name, "namespace": gateway.namespace_name, "labels": common_labels(gateway), **extra}


def service_metadata(gateway: GatewayConfig, name: str) -> Obj:
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


def credentials_checksum(key: str, credential: str) -> str:
    """Keyed digest of the token or client secret for the pod template (the Helm
    ``checksum/secret`` practice): the gateway reads it only at start, so a new one must roll
    the pods. ``HMAC-SHA256`` under the stack's rollout key (``components/kubernetes/rollout.py``), never a
    plain hash: whoever may read the Deployment but not the key learns nothing about the
    credential. The annotation stays a Pulumi secret all the same."""
    return credentials_digest(key, credential)
