"""What pulumi-kubernetes sends to the API server for create, update and delete, for tests.

The provider plugin cannot be built here (docs/toolchain.md), so the lifecycle tests send
the same requests it sends, read from its source (github.com/pulumi/pulumi-kubernetes; the
mirror holds tags up to v4.32.0 and the main branch of July 2026, past the pinned SDK 4.34.2;
the files below are identical in both, line numbers too):

- Create (``provider/pkg/await/await.go`` Creation :153; :190 apply, :240-250 create): a plain
  create with field manager ``pulumi-kubernetes`` (client-side, so an existing object fails
  with AlreadyExists), except for Patch resources (or with ``upsertExistingObjects``), which are
  created with a server-side apply by the resource's field manager, creating or adopting it.
- Field manager (``provider/pkg/provider/provider.go`` fieldManagerName :2883): the
  ``pulumi.com/patchFieldManager`` annotation, else the one kept in state, else a new
  ``pulumi-kubernetes-<random>`` made in Check.
- Update (``await.go`` ssaUpdate :643): fixCSAFieldManagers (:858) first hands the fields of the
  ``pulumi-kubernetes`` create (operation Update) to the field manager; then
  handleSSAIgnoreFields (:716) applies ``ignore_changes``: a field managed only by others is dropped
  from the request, any other takes its live value; then a server-side apply, forced only with the
  ``pulumi.com/patchForce`` annotation or the provider's ``enablePatchForce`` (patchForce :1031).
- Delete (``await.go`` Deletion :933): a Patch resource releases its fields with an empty apply
  (``provider/pkg/ssa/actions.go`` Relinquish); anything else is deleted with foreground
  propagation (``provider/pkg/metadata/overrides.go`` DeletionPropagation :69, the default),
  waiting until it is gone.
  ``retain_on_delete`` resources are never sent to the provider on destroy (Pulumi engine
  pkg/v3@v3.259.0 ``resource/deploy/step.go`` :661, the old state's flag decides).
- Ignore changes (Pulumi engine, ``resource/deploy/step_generator.go`` processIgnoreChanges
  :3028): the new input at an ignored path takes the old input's value before the provider sees it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from components.offline import Registered, restore_integers
from scripts import local_demo

CREATE_FIELD_MANAGER = "pulumi-kubernetes"
FIELD_MANAGER = "pulumi-kubernetes-5f3c9a1e"
"""One ``pulumi-kubernetes-<random>`` name, as Check makes it."""
PATCH_FORCE = "pulumi.com/patchForce"
TAKEN_OVER = {
    ("kubectl", "Apply"),
    ("kubectl", "Update"),
    ("before-first-apply", "Update"),
    ("pulumi-kubernetes", "Update"),
    ("pulumi-kubernetes.exe", "Update"),
    ("pulumi-resource-kubernetes", "Update"),
}
"""The (manager, operation) pairs fixCSAFieldManagers hands to the provider's field manager."""


def is_patch(resource_type: str) -> bool:
    """``provider/pkg/kinds/util.go`` IsPatchResource: the type's name ends in ``Patch``."""
    return resource_type.endswith("Patch")


def as_object(resource: Registered) -> dict[str, Any]:
    return restore_integers(copy.deepcopy(resource.inputs))  # type: ignore[no-any-return]


def _merge_fields(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        into[key] = _merge_fields(into.get(key, {}), value) if isinstance(value, dict) else value
    return into


def _field_path(path: str) -> list[str]:
    return path.split(".")


def _nested(obj: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return False, None
        obj = obj[key]
    return True, obj


def _owns(fields: dict[str, Any], path: list[str]) -> bool:
    for key in path:
        fields = fields.get(f"f:{key}")  # type: ignore[assignment]
        if fields is None:
            return False
    return True


class ProviderModel:
    """Sends what pulumi-kubernetes sends, with one field manager (one resource's state)."""

    def __init__(self, cluster: local_demo.Cluster, field_manager: str = FIELD_MANAGER) -> None:
        self.cluster = cluster
        self.field_manager = field_manager

    def _resource(self, obj: dict[str, Any]) -> Any:
        return self.cluster.resource(obj["apiVersion"], obj["kind"])

    def create(self, resource_type: str, obj: dict[str, Any]) -> Any:
        metadata = obj["metadata"]
        if is_patch(resource_type):
            return self._apply(obj, force=self._forced(obj))
        return self._resource(obj).create(
            body=obj, namespace=metadata.get("namespace"), field_manager=CREATE_FIELD_MANAGER
        )

    def update(
        self, obj: dict[str, Any], old_inputs: dict[str, Any] | None = None, ignore_changes: tuple[str, ...] = ()
    ) -> Any:
        obj = copy.deepcopy(obj)
        for path in ignore_changes:  # the engine: ignored paths keep the old input
            found, old = _nested(old_inputs or {}, _field_path(path))
            parent = _nested(obj, _field_path(path)[:-1])[1]
            if found:
                parent[_field_path(path)[-1]] = old
            elif isinstance(parent, dict):
                parent.pop(_field_path(path)[-1], None)
        live = self._take_over_create_fields(obj)
        self._ignore_fields(obj, live, ignore_changes)
        return self._apply(obj, force=self._forced(obj))

    def delete(self, resource: Registered, timeout: float = 120) -> None:
        if resource.retain_on_delete:
            return
        obj = as_object(resource)
        metadata = obj["metadata"]
        if is_patch(resource.type):  # Relinquish: an apply of the identity alone
            identity = {key: metadata[key] for key in ("name", "namespace") if key in metadata}
            self._apply({"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": identity}, force=False)
            return
        self._resource(obj).delete(
            name=metadata["name"], namespace=metadata.get("namespace"), propagation_policy="Foreground"
        )
        local_demo.wait_for(
            f"{obj['kind']} {metadata['name']} was not deleted",
            lambda: not self.exists(obj),
            timeout=timeout,
        )

    def exists(self, obj: dict[str, Any]) -> bool:
        from kubernetes.dynamic.exceptions import NotFoundError

        metadata = obj["metadata"]
        try:
            self._resource(obj).get(name=metadata["name"], namespace=metadata.get("namespace"))
        except NotFoundError:
            return False
        return True

    # -- internals ------------------------------------------------------------------

    def _forced(self, obj: dict[str, Any]) -> bool:
        return str(obj["metadata"].get("annotations", {}).get(PATCH_FORCE, "")).lower() == "true"

    def _apply(self, obj: dict[str, Any], force: bool) -> Any:
        metadata = obj["metadata"]
        return self._resource(obj).server_side_apply(
            body=obj,
            name=metadata["name"],
            namespace=metadata.get("namespace"),
            field_manager=self.field_manager,
            force_conflicts=force,
        )

    def _take_over_create_fields(self, obj: dict[str, Any]) -> dict[str, Any]:
        """fixCSAFieldManagers: the create's (and kubectl's) fields become the field manager's."""
        metadata = obj["metadata"]
        live = self._resource(obj).get(name=metadata["name"], namespace=metadata.get("namespace")).to_dict()
        entries = live["metadata"].get("managedFields") or []
        taken = [e for e in entries if (e["manager"], e["operation"]) in TAKEN_OVER and not e.get("subresource")]
        if not taken:
            return live  # type: ignore[no-any-return]
        kept = [e for e in entries if e not in taken]
        ours = next((e for e in kept if e["manager"] == self.field_manager and e["operation"] == "Apply"), None)
        if ours is None:
            ours = {
                "manager": self.field_manager,
                "operation": "Apply",
                "apiVersion": obj["apiVersion"],
                "fieldsType": "FieldsV1",
                "fieldsV1": {},
            }
            kept.append(ours)
        for entry in taken:
            _merge_fields(ours["fieldsV1"], entry.get("fieldsV1") or {})
        patch = [{"op": "replace", "path": "/metadata/managedFields", "value": kept}]
        patched = self._resource(obj).patch(
            body=json.loads(json.dumps(patch)),
            name=metadata["name"],
            namespace=metadata.get("namespace"),
            content_type="application/json-patch+json",
        )
        result: dict[str, Any] = patched.to_dict()
        return result

    def _ignore_fields(self, obj: dict[str, Any], live: dict[str, Any], ignore_changes: tuple[str, ...]) -> None:
        """handleSSAIgnoreFields: drop what only others manage, else send the live value."""
        ours: dict[str, Any] = {}
        theirs: dict[str, Any] = {}
        for entry in live["metadata"].get("managedFields") or []:
            _merge_fields(ours if entry["manager"] == self.field_manager else theirs, entry.get("fieldsV1") or {})
        for path in ignore_changes:
            keys = _field_path(path)
            parent = _nested(obj, keys[:-1])[1]
            if not isinstance(parent, dict):
                continue
            if _owns(theirs, keys) and not _owns(ours, keys):
                parent.pop(keys[-1], None)
                continue
            found, value = _nested(live, keys)
            if found:
                parent[keys[-1]] = value
