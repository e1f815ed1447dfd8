"""Rules across the pod knobs and the rest of a gateway: its user and group against the backup
share and the CA store, the stack's own labels, the namespace objects the knobs name."""

from __future__ import annotations

from .pod import GATEWAY_UID
from .stack import GatewayConfig

STACK_LABEL_KEYS = frozenset(
    {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
        "app.kubernetes.io/version",
        "app.kubernetes.io/managed-by",
        "azure.workload.identity/use",
    }
)
"""Label keys the stack writes itself (``manifests/common.py``): the first two select the pods, and a
Deployment's selector is immutable (apps/v1 ``DeploymentSpec.selector``: "It must match the pod
template's labels"; changes refused by ``ValidateDeploymentUpdate``)."""
STACK_LABEL_PREFIXES = ("pod-security.kubernetes.io/",)
"""The namespace's Pod Security labels are the stack's (``manifests/prerequisites.namespace``)."""


def pod_problems(gateway: GatewayConfig, key: str) -> list[str]:
    problems = []
    for setting, labels in (("commonLabels", gateway.common_labels), ("pod.labels", gateway.pod.labels)):
        for label in labels:
            if label in STACK_LABEL_KEYS or label.startswith(STACK_LABEL_PREFIXES):
                problems.append(
                    f"{key}.{setting} = [{label!r}]: a label the stack sets itself (selector, version, "
                    "workload identity or Pod Security); choose another key"
                )
    pod = gateway.pod
    ids = (
        "pod.idsFromPlatform = True"
        if pod.ids_from_platform
        else f"pod.runAsUser = {pod.run_as_user}"
        if pod.run_as_user != GATEWAY_UID
        else None
    )
    if ids and gateway.certificate_authorities:
        problems.append(
            f"{key}.{ids}: certificateAuthorities needs the gateway to run as UID {GATEWAY_UID} or root "
            "(Microsoft Learn, self-hosted gateway settings, certificates.local.ca.enabled); keep the default "
            "user, or trust the CAs through customCa instead (mounted readable by any user)"
        )
    backup = gateway.backup
    if pod.ids_from_platform and backup.enabled and backup.create_storage_class and not backup.existing_claim:
        problems.append(
            f"{key}.pod.idsFromPlatform = True: backup.createStorageClass writes the pod's uid and gid into the "
            "class's mount options, and the platform assigns them only when the pod is admitted; use an existing "
            "class whose volumes apply the pod's fsGroup (a ReadWriteOnce disk) or backup.existingClaim"
        )
    problems += _existing_token_problems(gateway, key)
    problems += _first_run_problems(gateway, key)
    return problems


def _existing_token_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """``token.existingSecret``: token mode, a token the stack does not own, a namespace not its own."""
    problems = []
    existing = gateway.token.existing_secret
    if existing is not None:
        setting = f"{key}.token.existingSecret.name = {existing.name!r}"
        if gateway.auth.mode != "token":
            problems.append(f"{setting}: only applies to auth.mode 'token' (it is {gateway.auth.mode!r})")
        if gateway.token.regenerate_retired_key:
            problems.append(
                f"{setting}: token.regenerateRetiredKey regenerates a key the Secret's token may be signed "
                "with, and the stack does not own that token; turn one of them off"
            )
        if gateway.namespace.create:
            problems.append(
                f"{setting}: the stack creates the namespace {gateway.namespace_name!r}, so the Secret cannot exist "
                "before the first run; set namespace.create to false and create the namespace with it beforehand"
            )
    return problems


def _first_run_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """Objects the pod knobs name cannot exist in a namespace the stack creates on its first run."""
    problems = []
    pod = gateway.pod
    if gateway.namespace.create:
        needed = [
            f"pod.volumes[{index}]"
            for index, volume in enumerate(pod.volumes)
            if (volume.secret and not volume.secret.optional)
            or (volume.config_map and not volume.config_map.optional)
            or volume.persistent_volume_claim
        ]
        needed += [
            f"pod.env[{index}]"
            for index, variable in enumerate(pod.env)
            if not (variable.secret_key_ref or variable.config_map_key_ref).optional  # type: ignore[union-attr]
        ]
        needed += [
            f"pod.envFrom[{index}]"
            for index, source in enumerate(pod.env_from)
            if not (source.secret_ref or source.config_map_ref).optional  # type: ignore[union-attr]
        ]
        if needed:
            problems.append(
                f"{key}.{needed[0]}: names an object in the namespace {gateway.namespace_name!r}, which the stack "
                "creates, so it cannot exist before the first run and the pods could never start; set "
                "namespace.create to false and create the namespace with the object beforehand, or mark it optional"
            )
    return problems


def backup_binding_problems(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Prod-like stacks turn backup on by default (parsing calls this only when the stack does not set
    ``backup.enabled`` itself: an explicit choice of the default class is the stack's, for clusters whose
    default class offers ReadWriteMany); on the cluster's default class a ReadWriteMany claim
    does not bind on stock AKS, whose default class is an Azure Disk (Microsoft Learn, "Create and use
    a volume with Azure Disks in AKS": "An Azure disk can only be mounted with Access mode type
    ReadWriteOnce"). The pods would wait for the claim and the Deployment would time out: refused here,
    before anything registers, with the fixes."""
    backup = gateway.backup
    if not (production and backup.enabled) or backup.existing_claim or backup.storage_class_name:
        return []
    if backup.access_mode != "ReadWriteMany":
        return []
    return [
        f"{key}.backup.storageClassName = None: backup, on by default in prod-like environments, asks the "
        "cluster's default class for a ReadWriteMany claim, which stock AKS's default class (an Azure Disk, "
        "ReadWriteOnce only) never binds, so the pods would never start; set backup.storageClassName to a new "
        "name with backup.createStorageClass: true (Azure Files owned by the gateway's user, as Pulumi.prod.yaml "
        "does), or backup.existingClaim, or a class of yours that offers ReadWriteMany, or say backup.enabled (true "
        "to keep the default class anyway, false to go without a backup)"
    ]
