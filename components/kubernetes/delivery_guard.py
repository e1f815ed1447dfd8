"""A guard that refuses to switch a live stack between applying and rendering manifests.

``kubernetes.renderYamlToDirectory`` is an input of the Kubernetes provider. Switching it on
a live stack is never what it looks like (pulumi-kubernetes v4.25.0, tag commit f47bc2d6f199,
``provider/pkg/provider/provider.go`` ``DiffConfig``, lines 379-491):

- without ``clusterIdentifier`` the provider is replaced (``case "renderYamlToDirectory"``,
  lines 454-458), so the engine replaces every object on it: going to render mode, the old
  provider deletes the live gateway from the cluster while the new one writes files (``Delete``
  in render mode only removes a file, lines 2253-2266);
- with a ``clusterIdentifier`` that stays the same (what this project sets), ``DiffConfig``
  drops every replacement (lines 415-424), the provider is updated in place, and no object
  shows a change: nothing is rendered, and the live objects stay in state, managed by a
  provider that now only writes files.

Neither is a safe switch, so this dynamic resource, registered before the provider, records
how the stack delivers its manifests and fails ``check`` (and so ``pulumi preview``) when that
changes, naming the safe path. A change of the render directory alone is refused as well: it is
a provider update under the same ``clusterIdentifier``, no object shows a change, and nothing is
written to the new directory (seen with the real plugin 4.25.0, tests/integration/test_delivery_mode_engine.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..moved_providers import PROVIDER_KEY, stored_at_old_path

APPLY = "apply"
RENDER = "render"


def delivery_mode(render_yaml_to_directory: str | None) -> str:
    """``render`` when manifests are written to files, ``apply`` when they go to the cluster."""
    return RENDER if render_yaml_to_directory else APPLY


def switch_refusal(gateway: str, old: str, new: str) -> str:
    """The message that stops a delivery-mode switch, naming the safe paths."""
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.renderYamlToDirectory: this change would switch the "
        f"stack from {old!r} to {new!r} delivery. "
        "The Kubernetes provider cannot switch a live stack safely (it would delete the live "
        "gateway, or keep it in state under a provider that only writes files). Safe paths: run "
        "'pulumi destroy' with the current setting first and then 'pulumi up' with the new one, or use "
        "a new stack for the new delivery mode."
    )


def identifier_refusal(gateway: str, directory: str, old: str, new: str) -> str:
    """The message that stops a ``clusterIdentifier`` change in render mode."""
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.clusterIdentifier: changing it from {old!r} to {new!r} "
        f"replaces the Kubernetes provider and with it every rendered object, create-before-delete: each file "
        f"under {directory!r} is written again and then deleted as the old object (same path), so the "
        "directory would be left empty. Keep the identifier; to change it, run 'pulumi destroy' first and "
        "then 'pulumi up', or use a new stack."
    )


def directory_refusal(gateway: str, old: str, new: str) -> str:
    """The message that stops a change of the render directory."""
    return (
        f"apim-gateway:gateways({gateway}).kubernetes.renderYamlToDirectory: changing the directory from "
        f"{old!r} to {new!r} would render nothing there (the provider is only updated, and no object "
        "changes). Safe paths: run 'pulumi destroy' with the current directory first and then 'pulumi up' "
        "with the new one, or use a new stack."
    )


class DeliveryModeGuardProvider(ResourceProvider):
    """Fails ``check`` and ``diff`` when the recorded delivery mode or render directory changes."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        old = _olds.get("mode") if _olds else None
        new = news.get("mode")
        gateway = str(news.get("gateway"))
        if old and new and old != new:
            return CheckResult(news, [CheckFailure("mode", switch_refusal(gateway, old, new))])
        # A guard recorded before the directory was: no directory to compare with yet.
        old_directory = _olds.get("directory") if _olds else None
        new_directory = news.get("directory")
        if old == RENDER and old_directory and new_directory and old_directory != new_directory:
            return CheckResult(
                news, [CheckFailure("directory", directory_refusal(gateway, old_directory, new_directory))]
            )
        # Recorded in render mode only (the cluster guard refuses it in apply mode).
        old_identifier = _olds.get("cluster_identifier") if _olds else None
        new_identifier = news.get("cluster_identifier")
        if old == RENDER and old_identifier and new_identifier and old_identifier != new_identifier:
            refusal = identifier_refusal(gateway, str(new_directory), old_identifier, new_identifier)
            return CheckResult(news, [CheckFailure("cluster_identifier", refusal)])
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['gateway']}-delivery-mode", outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if olds.get("mode") != news.get("mode"):
            # Second line of defence, should an engine skip check for an unchanged program.
            raise ValueError(switch_refusal(str(news.get("gateway")), str(olds.get("mode")), str(news.get("mode"))))
        changes = _recorded(olds) != _recorded(news) or stored_at_old_path(olds)
        return DiffResult(changes=changes, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=dict(news))


def _recorded(props: dict[str, Any]) -> dict[str, Any]:
    """The guard's own properties, without the stored provider (which the host adds to the outputs)."""
    return {key: value for key, value in props.items() if key != PROVIDER_KEY}


GUARD_TYPE = "pulumi-python:dynamic/apim-gateway:DeliveryModeGuard"


class DeliveryModeGuard(pulumi.dynamic.Resource, module="apim-gateway", name="DeliveryModeGuard"):
    """Records whether a gateway's manifests are applied or rendered; refuses a switch."""

    mode: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        gateway: str,
        mode: str,
        directory: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
        cluster_identifier: str | None = None,
    ) -> None:
        props: dict[str, Any] = {"gateway": gateway, "mode": mode, "directory": directory}
        if mode == RENDER and cluster_identifier:
            # Only in render mode: an apply-mode guard keeps its recorded properties (no update).
            props["cluster_identifier"] = cluster_identifier
        super().__init__(DeliveryModeGuardProvider(), name, props, opts)
