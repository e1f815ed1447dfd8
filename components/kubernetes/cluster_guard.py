"""A guard that stops the stack from touching a cluster or an object it does not own.

pulumi-kubernetes 4.25 creates every object with server-side apply when server-side apply is on
(``provider/pkg/await/await.go`` ``Creation``, v4.25.0 lines 187-229: "we always send a PATCH
request during creates with SSA enabled. This means that we currently always upsert the
object"). So an object that already exists under the same name is silently adopted, changed to
the stack's spec, and deleted by ``pulumi destroy``; and with ``clusterIdentifier`` constant, a
kubeconfig whose current context now names another cluster is only a provider update
(``provider.go`` ``DiffConfig``), so the stack would quietly retarget that cluster.

This dynamic resource is registered before the stack's Kubernetes provider, which depends on it,
so every object waits for it. Its ``check`` runs in ``pulumi preview`` and ``pulumi up`` alike
and reads the cluster the provider will use (the same pinned kubeconfig):

- the cluster's identity, the uid of its ``kube-system`` namespace (created once per cluster by
  the API server and never renamed): a different uid than the one recorded is refused;
- the provider's ``clusterIdentifier``: a change replaces the provider and every object
  create-before-delete (pulumi ``pkg/resource/deploy/step_generator.go`` providerChanged); the
  creates upsert the live objects and the deletes then remove them, so a change is refused;
- each object the stack registers, on every run: absent, or carrying this stack instance's
  ownership annotation (an object the stack created, or created and kept, ``backup.keepOnDestroy``;
  ``ownership.py`` says what the value names), or it is refused, naming the object and the setting
  to change. What the guard recorded on an earlier run proves nothing by itself: it recorded the
  objects before they existed. Only an annotation without a key (``<project>/<stack>``, which
  alike-named stacks share) needs both: the cluster's annotation and this stack's own record of the
  object on this cluster (``owned``);
- the exception, a migration (issue 24): an object that ``kubernetes.adopt`` names (kind,
  namespace, name) is let through unannotated or under another owner, and nothing else is. An
  entry naming an object the stack does not register is refused, and so is an adopted Deployment
  whose selector is not the stack's (``spec.selector`` is immutable in apps/v1,
  k8s.io/kubernetes ``pkg/apis/apps/validation/validation.go`` ValidateDeploymentUpdate: the apply
  would fail half-way; docs/migration.md shows the cut-over instead).

It reads the cluster with the very kubeconfig the provider gets, pinned once by the program
(``kubeconfig.py``), so the two cannot reach different clusters. It records nothing secret: the
kubeconfig content is an input (a Pulumi secret, like the provider's own copy) and is never part
of its outputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from ..moved_providers import stored_at_old_path
from .forbidden import ForbiddenError, forbidden_message, who_am_i
from .kubeconfig import KubeconfigError, pin, unquoted
from .ownership import OWNER_ANNOTATION, has_key, keyless_owner, stack_owner

__all__ = ["OWNER_ANNOTATION", "ClusterGuard", "ClusterGuardProvider", "owned"]

IDENTITY_NAMESPACE = "kube-system"
GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:ClusterGuard"


def _api_client(access: Mapping[str, Any]) -> Any:
    """A Kubernetes API client for the cluster the stack's provider uses.

    ``access`` holds the provider's pinned kubeconfig (``kubeconfig``) or, when none could be made,
    the ``problem``; the removal guard's records hold ``kubeconfig_path`` and ``context`` instead,
    resolved here the same way (``kubeconfig.py``, client-go's rules). Every error is a
    ``KubeconfigError`` that quotes nothing of the kubeconfig."""
    from kubernetes import config as kube_config

    if access.get("problem"):
        raise KubeconfigError(str(access["problem"]))
    pinned = pin(access.get("kubeconfig") or None, access.get("kubeconfig_path"), access.get("context"), os.environ)
    if pinned.kubeconfig is None:
        raise KubeconfigError(str(pinned.problem))
    try:
        return kube_config.new_client_from_config_dict(json.loads(pinned.kubeconfig))  # type: ignore[no-untyped-call]
    except Exception as error:  # the client's errors may carry the content: re-raised without it
        raise KubeconfigError(f"the kubeconfig cannot be used: {unquoted(error)}; its content is not shown") from None


PLURALS = {
    "Namespace": "namespaces",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "ServiceAccount": "serviceaccounts",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Service": "services",
    "Deployment": "deployments",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "NetworkPolicy": "networkpolicies",
    "PriorityClass": "priorityclasses",
    "StorageClass": "storageclasses",
}
"""The resource path of every kind the stack creates (Kubernetes API reference), so a read needs
no API discovery round trips."""


METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
"""The object's metadata only, as client-go's metadata client asks for it (k8s.io/client-go v0.34.3
``metadata/metadata.go`` line 186): what the guards need (uid, annotations), never a Secret's data.
RBAC still authorizes it as ``get`` on the resource."""


def _read(
    client: Any, api_version: str, kind: str, name: str, namespace: str | None, whole: bool = False
) -> dict[str, Any] | None:
    """The object's metadata (``{"metadata": ...}``; with ``whole``, the whole object), or None when
    the API server answers 404; a 403 raises ``ForbiddenError`` naming the verb and object."""
    import json

    from kubernetes.client.exceptions import ApiException

    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = f"/namespaces/{namespace}" if namespace else ""
    method, url, headers, _, _ = client.param_serialize(
        "GET",
        f"{prefix}{scope}/{PLURALS[kind]}/{name}",
        header_params={"Accept": "application/json" if whole else METADATA_ONLY},
        auth_settings=["BearerToken"],
    )
    response = client.call_api(method, url, header_params=headers, _request_timeout=30)
    response.read()
    if response.status == 404:
        return None
    if response.status == 403:
        raise ForbiddenError("get", api_version.rpartition("/")[0], PLURALS[kind], namespace, name)
    if not 200 <= response.status < 300:
        raise ApiException(status=response.status, reason=response.reason)
    found: dict[str, Any] = json.loads(response.data)
    return found


def cluster_refusal(gateway: str, old: str, new: str) -> str:
    return (
        f"apim-gateway:gateways({gateway}).kubernetes: the kubeconfig now reaches another cluster "
        f"(kube-system uid {new}, not {old} as recorded). Set kubernetes.context (or kubeconfigPath) so "
        "that it reaches the cluster this stack deployed to. To move the gateway to another cluster, "
        "run 'pulumi destroy' first, or deploy the new cluster from a new stack."
    )


def identifier_refusal(gateway: str, old: str, new: str) -> str:
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.clusterIdentifier: changing it from {old!r} to {new!r} "
        "replaces the Kubernetes provider and with it every object, create-before-delete: the new objects take "
        "the old ones over (same names) and the engine then deletes them, so the gateway would be gone. Keep "
        "the identifier; to move the gateway to another cluster, run 'pulumi destroy' first, or deploy the new "
        "cluster from a new stack."
    )


def owned(annotation: str | None, obj: Sequence[str], olds: Mapping[str, Any], owner: str, cluster: str) -> bool:
    """Whether an object whose ownership annotation is ``annotation`` is this stack instance's.

    With a key, the annotation decides (no other instance can write that value). The keyless value
    ``<project>/<stack>`` is shared by alike-named stacks, so it counts only for an object this stack's
    own state (``olds``, written while the stack was keyless) lists on this same cluster: the stack's
    live objects, before and while it takes on a key, and never another stack's.
    """
    if annotation is None:
        return False
    if has_key(owner) and annotation == owner:
        return True
    keyless = keyless_owner(owner)
    return (
        annotation == keyless
        and olds.get("owner") == keyless
        and bool(cluster)
        and olds.get("cluster") == cluster
        and list(obj) in [list(recorded) for recorded in olds.get("objects") or []]
    )


def ownership_refusal(gateway: str, obj: Sequence[str], owner: str, annotation: str | None = None) -> str:
    _, kind, namespace, name = obj
    where = f"{namespace}/{name}" if namespace else name
    setting = (
        "namespace.name (or namespace.create: false to use an existing namespace without owning it)"
        if kind == "Namespace"
        else "the gateway's name or namespace.name"
    )
    refusal = (
        f"apim-gateway:gateways({gateway}): {kind} {where} already exists and was not created by this "
        f"stack ({keyless_owner(owner)}); the stack never adopts, changes or deletes an object it does not own. "
        f"Choose another {setting}, or remove the object yourself; to take it over from an earlier install, "
        "list it in kubernetes.adopt (docs/migration.md)."
    )
    if annotation is not None and annotation == keyless_owner(owner):
        # Kept by this stack before it had a key, or made by another stack of the same name: only a person
        # can tell, so only a person can take it over, one named object at a time.
        namespace_flag = f" -n {namespace}" if namespace else ""
        how = (
            f"kubectl annotate --overwrite {kind.lower()} {name}{namespace_flag} '{OWNER_ANNOTATION}={owner}'"
            if has_key(owner)
            else "set apim-gateway:ownerKey first, then annotate it as this message then says"
        )
        refusal += (
            f" It carries this stack's name without a key ({annotation}), which any stack of that name writes: "
            f"if you know it is this stack's (kept by a destroy before apim-gateway:ownerKey was set), take it "
            f"over explicitly: {how}"
        )
    return refusal


def unregistered_adoption_refusal(gateway: str, entry: Sequence[str]) -> str:
    kind, namespace, name = entry
    where = f"{namespace}/{name}" if namespace else name
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.adopt: names {kind} {where}, which this configuration "
        "does not register, and the stack adopts only objects it registers; remove the entry"
    )


def selector_refusal(gateway: str, obj: Sequence[str], live: Any, wanted: Mapping[str, str]) -> str:
    _, kind, namespace, name = obj
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.adopt: {kind} {namespace}/{name} selects its pods with "
        f"{live!r}, not the stack's {dict(wanted)!r}, and a Deployment's selector cannot change; remove the entry "
        f"and cut over instead: 'kubectl delete deployment {name} -n {namespace} --cascade=orphan' leaves its pods "
        "serving while the stack creates its own (docs/migration.md)"
    )


def adoption_failures(
    gateway: str, obj: Sequence[str], found: Mapping[str, Any], deployment_selector: Mapping[str, str] | None
) -> list[CheckFailure]:
    """Why an adopted object cannot be taken over in place (none: it can)."""
    if obj[1] != "Deployment":
        return []
    selector = (found.get("spec") or {}).get("selector") or {}
    if selector == {"matchLabels": dict(deployment_selector or {})}:
        return []
    return [CheckFailure("adopt", selector_refusal(gateway, obj, selector, deployment_selector or {}))]


def _object_failures(
    client: Any, gateway: str, olds: Mapping[str, Any], news: Mapping[str, Any], cluster: str
) -> list[CheckFailure]:
    """Every object the stack registers that exists and is not this stack instance's (``owned``),
    unless ``kubernetes.adopt`` lists it; and every ``adopt`` entry the stack does not register."""
    objects = news.get("objects") or []
    adopted = {tuple(entry) for entry in news.get("adopt") or []}
    registered = {(obj[1], obj[2], obj[3]) for obj in objects}
    failures = [
        CheckFailure("adopt", unregistered_adoption_refusal(gateway, entry)) for entry in sorted(adopted - registered)
    ]
    owner = str(news.get("owner"))
    for obj in objects:
        # Every object, every run: it is the stack's because the cluster says so (the annotation),
        # not because an earlier run recorded it (which it did before the object existed).
        found = _read(client, obj[0], obj[1], obj[3], obj[2] or None)
        if found is None:
            continue
        annotation = (((found.get("metadata") or {}).get("annotations")) or {}).get(OWNER_ANNOTATION)
        if owned(annotation, obj, olds, owner, cluster):
            continue
        if (obj[1], obj[2], obj[3]) in adopted:
            # Only an adopted Deployment needs more than metadata: its selector (never a Secret's data).
            if obj[1] == "Deployment":
                found = _read(client, obj[0], obj[1], obj[3], obj[2] or None, whole=True) or found
            failures.extend(adoption_failures(gateway, obj, found, news.get("deployment_selector")))
        else:
            failures.append(CheckFailure("objects", ownership_refusal(gateway, obj, owner, annotation)))
    return failures


class ClusterGuardProvider(ResourceProvider):
    """Refuses, in ``check``, another cluster and objects the stack does not own."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        olds = _olds or {}
        gateway = str(news.get("gateway"))
        old_identifier, new_identifier = olds.get("cluster_identifier"), news.get("cluster_identifier")
        if old_identifier and new_identifier and old_identifier != new_identifier:
            refusal = identifier_refusal(gateway, str(old_identifier), str(new_identifier))
            return CheckResult(news, [CheckFailure("cluster_identifier", refusal)])
        # Secret inputs arrive wrapped (pulumi runtime/rpc.py deserialize_properties keeps them so):
        # unwrapped here only to connect; the inputs handed back keep them wrapped, so secret.
        access = rpc.unwrap_rpc_secret(news.get("access")) or {}
        if isinstance(access, Mapping):
            access = {key: rpc.unwrap_rpc_secret(value) for key, value in access.items()}
        if not isinstance(access, Mapping) or any(
            value == rpc.UNKNOWN or not isinstance(value, (str, type(None))) for value in access.values()
        ):
            return CheckResult(news, [])  # unknown during preview (an Output of another resource)
        try:
            client = _api_client(access)
        except KubeconfigError as error:
            return CheckResult(news, [CheckFailure("access", f"apim-gateway:gateways({gateway}).kubernetes: {error}")])
        try:
            identity = _read(client, "v1", "Namespace", IDENTITY_NAMESPACE, None)
            cluster = str(((identity or {}).get("metadata") or {}).get("uid") or "")
            recorded = str(olds.get("cluster") or "")
            # A 404 on kube-system never erases the recorded identity.
            checked = {**news, "cluster": cluster or recorded or None}
            if recorded and cluster and recorded != cluster:
                return CheckResult(checked, [CheckFailure("cluster", cluster_refusal(gateway, recorded, cluster))])
            failures = _object_failures(client, gateway, olds, news, cluster)
            return CheckResult(checked, failures)
        except ForbiddenError as error:
            # One message naming the verb, the object and who we are, never the client's traceback.
            reader = (
                "the cluster guard reads to know which cluster this is"
                if error.name == IDENTITY_NAMESPACE and error.resource == "namespaces"
                else "the cluster guard reads to check that the object is this stack's"
            )
            label = f"apim-gateway:gateways({gateway}).kubernetes"
            message = forbidden_message(label, error, who_am_i(client), str(news.get("owner")), reader)
            return CheckResult(news, [CheckFailure("access", message)])
        finally:
            client.close()

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['gateway']}-cluster", outs=_recorded(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = _recorded(olds) != _recorded(news) or stored_at_old_path(olds)
        return DiffResult(changes=changes, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_recorded(news))


def _recorded(props: Mapping[str, Any]) -> dict[str, Any]:
    """What the guard keeps as outputs: never the kubeconfig."""
    return {key: props.get(key) for key in ("gateway", "owner", "cluster", "cluster_identifier", "objects", "endpoint")}


class ClusterGuard(pulumi.dynamic.Resource, module="apim-gateway", name="ClusterGuard"):
    """Records the cluster and the objects a gateway's stack owns; refuses anything else."""

    cluster: pulumi.Output[str]
    endpoint: pulumi.Output[str | None]
    """Where the kubeconfig this guard last checked leads (``kubeconfig.endpoint``)."""

    def __init__(
        self,
        name: str,
        gateway: str,
        access: Mapping[str, pulumi.Input[str | None]],
        objects: Sequence[tuple[str, str, str, str]],
        cluster_identifier: str,
        endpoint: pulumi.Input[str | None] = None,
        opts: pulumi.ResourceOptions | None = None,
        owner: str | None = None,
        adopt: Sequence[tuple[str, str, str]] = (),
        deployment_selector: Mapping[str, str] | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "gateway": gateway,
            "cluster_identifier": cluster_identifier,
            "owner": owner if owner is not None else stack_owner(None),
            "access": dict(access),
            "objects": [list(obj) for obj in objects],
            "cluster": None,
            "endpoint": endpoint,
        }
        if adopt:
            # Only while a migration lists objects: the inputs of every other stack stay as they were.
            props["adopt"] = [list(entry) for entry in adopt]
            props["deployment_selector"] = dict(deployment_selector or {})
        super().__init__(ClusterGuardProvider(), name, props, opts)
