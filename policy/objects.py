"""What the guardrail rules read from a resource: its kind, pod spec, containers and image, and
the gateway's constants. Pure functions, no Pulumi (see ``rules.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

Props = Mapping[str, Any]
ResourceRule = Callable[[str, Props], list[str]]
IndexedStackRule = Callable[[Sequence[tuple[str, Props]]], list[tuple[int, str]]]
"""A stack rule: all (type, props) of the stack → (index of the offending resource, message)."""

GATEWAY_IMAGE_REPOSITORY = "mcr.microsoft.com/azure-api-management/gateway"
"""The gateway image as Microsoft publishes it."""
GATEWAY_IMAGE_PATH = "azure-api-management/gateway"
"""Containers whose image repository is this path, on any registry (mirrors such as
``contoso.azurecr.io/azure-api-management/gateway`` included), are "the gateway container"."""
STATUS_PATH = "/status-0123456789abcdef"
"""The gateway's health endpoint; 200 once its configuration is loaded."""
BACKUP_MOUNT_PATH = "/apim/config"
"""Mounting a volume here turns the gateway's configuration backup on."""
AUTH_SETTING = "config.service.auth"
"""The gateway setting that carries the token."""
TOKEN_PREFIX = "GatewayKey "  # noqa: S105 - the prefix of a token, not a token
TOKEN_FREE_AUTH_MODES = frozenset({"azureAdApp", "workloadIdentity"})
"""Plain ``config.service.auth`` values that select a token-free mode (Entra app, workload identity)."""
MIN_REPLICAS = 2
DEFAULT_NAMESPACE = "default"

_PINNED_TAG = re.compile(r"^\d+\.\d+\.\d+$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
PATCH_SUFFIX = "Patch"

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttributesClass",
        "VolumeAttachment",
    }
)
"""Kinds that live outside any namespace (``kubectl api-resources --namespaced=false``)."""

_COMPONENT_MODULES = ("helm.sh/", "yaml/", "kustomize/")
"""pulumi-kubernetes component resources: their children are checked instead."""

_POD_TEMPLATE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
)


# --------------------------------------------------------------------------- helpers


def kubernetes_kind(resource_type: str) -> str | None:
    """The Kubernetes kind of a pulumi-kubernetes resource type, or None for anything else.

    ``kubernetes:apps/v1:Deployment`` → ``Deployment``; a patch resource is judged as the kind
    it patches: ``kubernetes:apps/v1:DeploymentPatch`` → ``Deployment`` (see ``is_patch``);
    ``kubernetes:yaml/v2:ConfigGroup``, providers and non-Kubernetes types → None.
    """
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    if parts[1].startswith(_COMPONENT_MODULES):
        return None
    kind = parts[2]
    return kind.removesuffix(PATCH_SUFFIX) if kind.endswith(PATCH_SUFFIX) and kind != PATCH_SUFFIX else kind


def is_patch(resource_type: str) -> bool:
    """Whether the resource is a server-side-apply patch (``kubernetes:apps/v1:DeploymentPatch``).

    A patch sets only the fields it names; the others keep the live object's values, which a
    policy cannot see. The rules judge every field a patch sets like the kind's, and skip the
    checks of a field being absent (pulumi-kubernetes docs, "Patch resources").
    """
    return resource_type.startswith("kubernetes:") and resource_type.endswith(PATCH_SUFFIX)


def _mapping(value: Any) -> Props:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def describe(kind: str, props: Props) -> str:
    """``Deployment "gateways/contoso-weu-gw"``: how messages name an object."""
    metadata = _mapping(props.get("metadata"))
    name = metadata.get("name")
    namespace = metadata.get("namespace")
    if not isinstance(name, str) or not name:
        return f"{kind} (unnamed)"
    return f'{kind} "{namespace}/{name}"' if isinstance(namespace, str) and namespace else f'{kind} "{name}"'


def pod_spec(kind: str, props: Props) -> Props | None:
    """The pod spec of a workload object, or None when the kind has none."""
    spec = _mapping(props.get("spec"))
    if kind == "Pod":
        return spec
    if kind in _POD_TEMPLATE_KINDS:
        return _mapping(_mapping(spec.get("template")).get("spec"))
    if kind == "CronJob":
        job_spec = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
        return _mapping(_mapping(job_spec.get("template")).get("spec"))
    return None


def _containers(spec: Props, *, init: bool = False) -> Iterator[Props]:
    keys = ("initContainers", "containers") if init else ("containers",)
    for key in keys:
        for container in _sequence(spec.get(key)):
            yield _mapping(container)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``registry/repo:tag@digest`` → (repository, tag or None, digest or None)."""
    name, _, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def is_gateway_image(image: str) -> bool:
    """Whether an image reference is the gateway's, from Microsoft's registry or a mirror."""
    repository = split_image(image)[0].lower()
    return repository == GATEWAY_IMAGE_PATH or repository.endswith("/" + GATEWAY_IMAGE_PATH)


def is_gateway_container(container: Props) -> bool:
    image = container.get("image")
    return isinstance(image, str) and is_gateway_image(image)


def _gateway_containers(kind: str, props: Props) -> Iterator[Props]:
    spec = pod_spec(kind, props)
    if spec is not None:
        yield from (container for container in _containers(spec) if is_gateway_container(container))


def _container_name(container: Props) -> str:
    name = container.get("name")
    return name if isinstance(name, str) and name else "(unnamed)"
