"""A stack-level guard that refuses a config change which would delete live data or what others use.

The engine deletes every resource that a run no longer registers, at the end of ``pulumi up``
(pulumi v3.259.0 ``pkg/resource/deploy/step_generator.go`` GenerateDeletes), and the provider
deletes the object (pulumi-kubernetes v4.25.0 ``provider/pkg/await/await.go`` Deletion; a
namespace takes everything in it along). A config change stops registering an object when it sets
``namespace.create``, ``scheduling.priorityClass.create`` or ``backup.createStorageClass`` from
true to false, changes ``namespace.name`` (the old namespace goes after the new one is made),
switches ``backup.enabled`` off or moves to ``backup.existingClaim``, changes the claim's class or
access mode (its name follows them), or removes a gateway from the list. Nothing in such a run
says that it deletes a namespace with a running gateway in it, a backup claim, or a class other
workloads may name.

A removed gateway registers nothing at all, so its own resources cannot refuse anything. This
guard is therefore one resource of the *stack* (``__main__.py`` registers it before any
component), not of a component: it records, for every gateway applied to a cluster, the
namespace, claim, StorageClass and PriorityClass the stack owns and whether each is retained on
delete, and fails ``check`` (in ``pulumi preview`` and ``pulumi up`` alike, before any delete:
deletes of unregistered resources come after the program has finished) when one that is not
retained would go, with one message per object naming the setting, its old and new value and
the safe path. What it refuses may be let through explicitly:

- ``apim-gateway:allowDeleting``: ``Namespace/<name>``, ``PersistentVolumeClaim/<namespace>/<name>``,
  ``StorageClass/<name>``, ``PriorityClass/<name>`` or ``gateway/<name>`` (the whole gateway):
  the next ``up`` may delete it. An entry naming something the config still owns is refused by
  the config check, so a stale entry cannot let a later change through unasked.
- ``apim-gateway:retain``: ``Namespace/<name>``, ``StorageClass/<name>``, ``PriorityClass/<name>``:
  the stack keeps managing the object but never deletes it (``retain_on_delete``; the engine's
  delete of a retained resource is a no-op, ``pkg/resource/deploy/step.go`` :661). Set it with the
  setting unchanged and run ``pulumi up`` once; the change that stops registering the object then
  only makes the stack forget it.

A retained object that goes (``backup.keepOnDestroy``'s kept claim and namespace, or an entry of
``retain``) is not deleted, so it is let through, with one exception: a kept claim that goes while
its namespace stays the stack's but is no longer retained would be deleted with that namespace on
the next ``pulumi destroy``.

The guard records names and where they live (kubeconfig path and context, never a credential);
its ``check`` asks the cluster whether a recorded object exists with this stack's annotation. Render
mode deletes files, not live objects, so a gateway rendered to a directory is recorded by name only
(a switch to or from render mode is the delivery-mode guard's to refuse). A stack deployed before
the guard existed gets its first record on its next ``up``, which is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from . import cluster_guard
from .forbidden import ForbiddenError, forbidden_message, who_am_i
from .ownership import OWNER_ANNOTATION, keyless_owner, stack_owner

if TYPE_CHECKING:
    # The dynamic-provider host imports this module for every preview: the config models and the
    # manifests (about 0.3 s of imports) are the program's side only, imported where it uses them.
    from ..config import GatewayConfig, StackConfig

PREFIX = "apim-gateway:"
GUARD_NAME = "removal-guard"
GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:RemovalGuard"
GATEWAY = "gateway"
RENDERED = "rendered"
"""A gateway in render mode is recorded by name only: it has no live objects to lose."""


def token(kind: str, name: str, namespace: str | None = None) -> str:
    """How ``allowDeleting`` and ``retain`` name an object: ``Kind/name`` or ``Kind/namespace/name``."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def record(gateway: GatewayConfig, retain: Iterable[str]) -> dict[str, Any]:
    """What the stack owns for ``gateway`` and could delete, with the settings that decide it."""
    retained = set(retain)
    from . import manifests

    names = manifests.object_names(gateway)
    claim = manifests.backup_claim(gateway)
    keep_claim = claim is not None and gateway.backup.keep_on_destroy
    storage = manifests.backup_storage_class(gateway)
    priority = manifests.priority_class(gateway)
    namespace = names.namespace
    entry: dict[str, Any] = {
        # Where the objects live (never the secret kubeconfig): to ask the cluster whether they are the stack's.
        "access": {"kubeconfig_path": gateway.kubernetes.kubeconfig_path, "context": gateway.kubernetes.context},
        "namespace": None,
        "claim": None,
        "storageClass": None,
        "priorityClass": None,
        "settings": {
            "namespace.name": namespace,
            "namespace.create": gateway.namespace.create,
            "backup.enabled": gateway.backup.enabled,
            "backup.existingClaim": gateway.backup.existing_claim,
            "backup.storageClassName": gateway.backup.storage_class_name,
            "backup.accessMode": gateway.backup.access_mode,
            "backup.createStorageClass": gateway.backup.create_storage_class,
            "backup.keepOnDestroy": gateway.backup.keep_on_destroy,
            "scheduling.priorityClass.name": gateway.scheduling.priority_class.name
            if gateway.scheduling.priority_class
            else None,
            "scheduling.priorityClass.create": bool(
                gateway.scheduling.priority_class and gateway.scheduling.priority_class.create
            ),
        },
    }
    if gateway.namespace.create:
        kept = keep_claim or token("Namespace", namespace) in retained
        entry["namespace"] = {"token": token("Namespace", namespace), "kept": kept}
    if claim is not None:
        entry["claim"] = {"token": token("PersistentVolumeClaim", names.backup_claim, namespace), "kept": keep_claim}
    if storage is not None:
        name = storage["metadata"]["name"]
        entry["storageClass"] = {"token": token("StorageClass", name), "kept": token("StorageClass", name) in retained}
    if priority is not None:
        name = priority["metadata"]["name"]
        entry["priorityClass"] = {
            "token": token("PriorityClass", name),
            "kept": token("PriorityClass", name) in retained,
        }
    return entry


def owned_tokens(gateways: Sequence[GatewayConfig]) -> dict[str, str]:
    """Every token the config itself owns (applied gateways), mapped to the gateway owning it."""
    owned: dict[str, str] = {}
    for gateway in gateways:
        if gateway.kubernetes.render_yaml_to_directory:
            continue
        owned[token(GATEWAY, gateway.name)] = gateway.name
        for value in record(gateway, ()).values():
            if isinstance(value, Mapping) and "token" in value:
                owned[str(value["token"])] = gateway.name
    return owned


def check_allowances(config: StackConfig) -> None:
    """Refuses an ``allowDeleting`` entry that names what the config still owns: left in place, it
    would let a later change delete that object without asking."""
    owned = owned_tokens(config.gateways)
    problems = [
        f"{PREFIX}allowDeleting[{index}] = {entry!r}: gateway {owned[entry]!r} still owns it, so the entry "
        "would let a later change delete it without asking; remove the entry (it is only for the one "
        "'pulumi up' that deletes the object)"
        for index, entry in enumerate(config.allow_deleting)
        if entry in owned
    ]
    if problems:
        from ..config import ConfigError

        raise ConfigError(problems)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None else repr(value)


def _changed(old: Mapping[str, Any], new: Mapping[str, Any] | None, keys: Sequence[str]) -> str:
    """``key: old → new`` for the first of ``keys`` that changed (the setting behind the change)."""
    for key in keys:
        if new is None or old.get(key) != new.get(key):
            after = new.get(key) if new is not None else None
            return f"{key}: {_show(old.get(key))} → {_show(after)}"
    return f"{keys[-1]}: {_show(old.get(keys[-1]))} (unchanged)"


def _allow(entry: str) -> str:
    return f"add '{entry}' to {PREFIX}allowDeleting for that one 'pulumi up', then remove the entry"


def _retain_first(entry: str, setting: str) -> str:
    return (
        f"first run 'pulumi up' with {setting} unchanged and '{entry}' in {PREFIX}retain (the stack then "
        "never deletes it), then make the change (the stack then only forgets it)"
    )


def refusals(olds: Mapping[str, Any], news: Mapping[str, Any], allowed: Iterable[str]) -> list[tuple[str, str]]:
    """(token, message) for every owned object the change would delete and nobody allowed."""
    allow = set(allowed)
    found: list[tuple[str, str]] = []
    for gateway, old in sorted(olds.items()):
        new = news.get(gateway)
        label = f"{PREFIX}gateways({gateway})"
        if old.get(RENDERED) or (new is not None and new.get(RENDERED)):
            continue  # rendered files are no live objects; a switch is the delivery-mode guard's to refuse
        if new is None:
            entry = token(GATEWAY, gateway)
            if entry in allow:
                continue
            precious = [
                value["token"]
                for key in ("namespace", "claim", "storageClass", "priorityClass")
                if (value := old.get(key)) and not value["kept"]
            ]
            deleted = ", ".join(precious) if precious else "no namespace, claim or class (all kept)"
            found.append(
                (
                    entry,
                    f"{PREFIX}gateways: gateway {gateway!r} is no longer in the list (was there on the last "
                    f"'pulumi up'). 'pulumi up' would delete its Deployment, Services, Secrets and ConfigMap "
                    f"(the running gateway), and {deleted}. If it was renamed, restore the name (a new name is "
                    f"a new gateway, and the old one is deleted); to remove it, {_allow(entry)}.",
                )
            )
            continue
        found += _object_refusals(label, old, new, allow)
    return found


SETTINGS = {
    "namespace": ("namespace.name", "namespace.create"),
    "claim": (
        "backup.enabled",
        "backup.existingClaim",
        "namespace.name",
        "backup.storageClassName",
        "backup.accessMode",
    ),
    "storageClass": ("backup.createStorageClass", "backup.storageClassName", "backup.enabled", "backup.existingClaim"),
    "priorityClass": ("scheduling.priorityClass.create", "scheduling.priorityClass.name"),
}
"""For each owned object, the settings whose change stops creating it, in the order they are named."""


def _namespace_refusal(entry: str, setting: str, before: Mapping[str, Any]) -> str:
    keep = (
        _retain_first(entry, "namespace.create: true")
        if setting.startswith("namespace.create")
        else f"keep namespace.name {before['namespace.name']!r}, or {_retain_first(entry, 'namespace.name')}"
    )
    return (
        f"{setting} would delete {entry} and everything in it (the running gateway, and whatever else was "
        f"put there). To keep it, {keep}. To delete it, {_allow(entry)}."
    )


def _claim_refusal(entry: str, setting: str, _before: Mapping[str, Any]) -> str:
    return (
        f"{setting} would delete {entry}, the configuration backup (backup.keepOnDestroy is false). To keep "
        "it, first run 'pulumi up' with backup.keepOnDestroy: true and nothing else changed (the claim is then "
        f"kept, never deleted). To delete it, {_allow(entry)}."
    )


def _storage_class_refusal(entry: str, setting: str, _before: Mapping[str, Any]) -> str:
    return (
        f"{setting} would delete {entry}, which claims (this stack's or others') may still name: no new "
        f"volume could be provisioned with it. To keep it, {_retain_first(entry, 'backup.createStorageClass: true')}. "
        f"To delete it, {_allow(entry)}."
    )


def _priority_class_refusal(entry: str, setting: str, _before: Mapping[str, Any]) -> str:
    return (
        f"{setting} would delete {entry}, which pods (the gateway's, if it still names the class, or "
        "others') may still name: new pods of a missing class are refused at admission. "
        f"To keep it, {_retain_first(entry, 'scheduling.priorityClass.create: true')}. To delete it, {_allow(entry)}."
    )


REFUSALS = {
    "namespace": _namespace_refusal,
    "claim": _claim_refusal,
    "storageClass": _storage_class_refusal,
    "priorityClass": _priority_class_refusal,
}


def _object_refusals(
    label: str, old: Mapping[str, Any], new: Mapping[str, Any], allow: set[str]
) -> list[tuple[str, str]]:
    """Each owned object, not retained, that the new config no longer creates under the same name."""
    found: list[tuple[str, str]] = []
    before, after = old["settings"], new["settings"]
    for key, refusal in REFUSALS.items():
        value, still = old.get(key), new.get(key)
        if not value or value["kept"] or value["token"] in allow or (still and still["token"] == value["token"]):
            continue
        entry = str(value["token"])
        found.append((entry, f"{label}.{refusal(entry, _changed(before, after, SETTINGS[key]), before)}"))
    orphan = _orphaned_kept_claim(old, new, allow)
    if orphan is not None:
        setting = _changed(before, after, SETTINGS["claim"])
        namespace = str(old["namespace"]["token"])
        found.append(
            (
                orphan,
                f"{label}.{setting}: the kept claim {orphan} stays in the cluster, but {namespace} would no "
                "longer be kept, so the next 'pulumi destroy' would delete it and the claim in it. "
                f"To keep both, {_retain_first(namespace, 'the backup settings')}. To accept that, {_allow(orphan)}.",
            )
        )
    return found


def _orphaned_kept_claim(old: Mapping[str, Any], new: Mapping[str, Any], allow: set[str]) -> str | None:
    """A kept claim that goes while its namespace stays the stack's but is no longer kept."""
    claim, namespace = old.get("claim"), old.get("namespace")
    still_claim, still_namespace = new.get("claim"), new.get("namespace")
    if not (claim and claim["kept"] and namespace and namespace["kept"]) or claim["token"] in allow:
        return None
    if still_claim and still_claim["token"] == claim["token"]:
        return None
    if not still_namespace or still_namespace["token"] != namespace["token"] or still_namespace["kept"]:
        return None
    return str(claim["token"])


class RemovalGuardProvider(ResourceProvider):
    """Fails ``check`` when a change would delete an owned namespace, claim, class or gateway unasked."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        recorded = (_olds or {}).get("gateways") or {}
        failures = []
        for entry, message in refusals(recorded, news.get("gateways") or {}, news.get("allow_deleting") or ()):
            gateway = _gateway_of(recorded, entry)
            try:
                if gateway is not None and not _still_owned(entry, recorded[gateway], news):
                    continue  # the cluster says it is not the stack's (never created, or gone): nothing to lose
            except ForbiddenReadError as forbidden:
                # The refusal stands; the one message also says which right is missing.
                message = f"{message} {forbidden}"
            failures.append(CheckFailure("allow_deleting", message))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=GUARD_NAME, outs=_recorded(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(
            changes=_recorded(olds) != _recorded(news), replaces=[], stables=[], delete_before_replace=False
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_recorded(news))


def _gateway_of(recorded: Mapping[str, Any], entry: str) -> str | None:
    """The gateway whose record lists this object (None for a whole gateway)."""
    for gateway, record in recorded.items():
        for key in ("namespace", "claim", "storageClass", "priorityClass"):
            value = record.get(key)
            if value and value["token"] == entry:
                return str(gateway)
    return None


KINDS = {
    "Namespace": ("v1", "Namespace"),
    "PersistentVolumeClaim": ("v1", "PersistentVolumeClaim"),
    "StorageClass": ("storage.k8s.io/v1", "StorageClass"),
    "PriorityClass": ("scheduling.k8s.io/v1", "PriorityClass"),
}


class ForbiddenReadError(Exception):
    """The cluster refused the removal guard's read; the message names the right and who lacks it."""


def _still_owned(entry: str, record: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether the cluster holds the object with this stack's ownership annotation. The record
    lists what the config described, written before the objects existed (a first ``up`` that the
    cluster guard refused records a namespace it never created): the cluster decides. When the
    cluster cannot be read, the refusal stands."""
    kind, _, rest = entry.partition("/")
    namespace, _, name = rest.rpartition("/")
    api_version, kind = KINDS[kind]
    access = {**(record.get("access") or {}), "kubeconfig": rpc.unwrap_rpc_secret(news.get("kubeconfig"))}
    try:
        client = cluster_guard._api_client(access)
        try:
            found = cluster_guard._read(client, api_version, kind, name, namespace or None)
        except ForbiddenError as error:
            label = "(the removal guard could not ask the cluster whether the stack still holds it)"
            reader = "the removal guard reads to know whether the stack still owns it"
            raise ForbiddenReadError(
                forbidden_message(label, error, who_am_i(client), str(news.get("owner")), reader)
            ) from None
        finally:
            client.close()
    except ForbiddenReadError:
        raise
    except Exception:  # unreachable, unreadable kubeconfig: keep the refusal
        return True
    annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
    # This instance's value, or the keyless one it wrote before it had a key: when in doubt, the
    # refusal stands (ownership.py).
    owner = str(news.get("owner"))
    return found is not None and annotations.get(OWNER_ANNOTATION) in (owner, keyless_owner(owner))


def _recorded(props: Mapping[str, Any]) -> dict[str, Any]:
    """What the guard keeps: the record only. The allowances are read by ``check`` from the new inputs
    and not kept, so adding or removing an entry is no change of the guard (no update step, which
    a token renewal's plan check would refuse)."""
    return {"gateways": props.get("gateways") or {}}


class RemovalGuard(pulumi.dynamic.Resource, module="apim-gateway", name="RemovalGuard"):
    """The stack's record of what it owns and could delete; refuses a change that deletes it unasked."""

    def __init__(
        self,
        gateways: Sequence[GatewayConfig],
        allow_deleting: Sequence[str] = (),
        retain: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
        kubeconfig: str | None = None,
        owner_key: str | None = None,
    ) -> None:
        props = {
            "gateways": {
                gateway.name: {RENDERED: True}
                if gateway.kubernetes.render_yaml_to_directory
                else record(gateway, retain)
                for gateway in gateways
            },
            "allow_deleting": list(allow_deleting),
            "owner": stack_owner(owner_key),
            # Read by check only, never kept (``_recorded``): a Pulumi secret like the provider's own copy.
            "kubeconfig": pulumi.Output.secret(kubeconfig) if kubeconfig is not None else None,
        }
        super().__init__(RemovalGuardProvider(), GUARD_NAME, props, opts)
