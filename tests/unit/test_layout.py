"""The layout shows the design, and stacks deployed before the layout move keep working.

- ``components/azure/`` imports nothing of ``components/kubernetes/`` and neither imports
  ``components/package/``; what both need lives with the component (``args.py``), whose run-time
  imports name neither side.
- No function of the product over 60 lines (docstring aside): registration reads like the chart,
  one small function per object.
- Dynamic providers pickled before the move (``tests/unit/fixtures/pre-move-providers.json``, made
  by that commit's code) still load through the shims at the old paths, are recognised as such, and
  are re-recorded by a one-off update that changes nothing else (``components/moved_providers.py``).
  The same on the real engine, from a state the pre-move commit deployed:
  ``tests/integration/test_layout_move.py``.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components import moved_providers
from components.azure.token import GatewayKeyRegenerationProvider, GatewayTokenProvider
from components.kubernetes.cluster_guard import ClusterGuardProvider
from components.kubernetes.delivery_guard import DeliveryModeGuardProvider
from components.kubernetes.rollout import KEY_PROPERTY, RolloutKeyProvider

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "components"
PRE_MOVE = json.loads((Path(__file__).parent / "fixtures" / "pre-move-providers.json").read_text())
NEW_CLASSES: dict[str, type] = {
    "components.cluster_guard.ClusterGuardProvider": ClusterGuardProvider,
    "components.delivery_guard.DeliveryModeGuardProvider": DeliveryModeGuardProvider,
    "components.rollout.RolloutKeyProvider": RolloutKeyProvider,
    "components.token.GatewayTokenProvider": GatewayTokenProvider,
    "components.token.GatewayKeyRegenerationProvider": GatewayKeyRegenerationProvider,
}
MAX_FUNCTION_LINES = 60
GENERATED = {COMPONENTS / "package" / "types.py"}


def _runtime_imports(path: Path) -> set[str]:
    """The ``components.*`` modules a module imports at run time (``if TYPE_CHECKING:`` blocks aside),
    relative imports resolved against its package."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    type_checking = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [f"{module}.{alias.name}" for alias in node.names]
            found.update(name for name in [module, *names] if name.startswith("components"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("components"))
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((COMPONENTS / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("side", "forbidden"),
    [
        ("azure", ("components.kubernetes", "components.package")),
        ("kubernetes", ("components.azure", "components.package")),
        ("config", ("components.azure", "components.kubernetes", "components.package")),
    ],
)
def test_each_side_imports_nothing_of_the_other_side_or_the_package(side: str, forbidden: tuple[str, ...]) -> None:
    crossings = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(side)
        for module in _runtime_imports(path)
        if module.startswith(forbidden)
    }
    assert not crossings


def test_what_both_sides_share_lives_with_the_component_and_names_neither_side() -> None:
    imports = _runtime_imports(COMPONENTS / "args.py")
    assert not {m for m in imports if m.startswith(("components.azure", "components.kubernetes"))}
    # ...while the type checker still sees the Azure side's types it names.
    assert "from .azure.token import" in (COMPONENTS / "args.py").read_text()


def test_the_import_checker_sees_a_crossing() -> None:
    """A test of the test: a relative import from the Kubernetes side into the Azure side is found."""
    probe = COMPONENTS / "kubernetes" / "_probe_crossing.py"
    probe.write_text("from ..azure.token import GatewayToken\n")
    try:
        assert "components.azure.token" in _runtime_imports(probe)
    finally:
        probe.unlink()


def _long_functions() -> list[str]:
    found = []
    for path in sorted(COMPONENTS.rglob("*.py")):
        if path in GENERATED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                length -= (first.end_lineno or first.lineno) - first.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_of_the_product_is_over_60_lines() -> None:
    assert _long_functions() == []


def test_each_kubernetes_object_has_its_own_registration_function() -> None:
    """``kubernetes/side.py`` only orders: it constructs no Kubernetes resource itself."""
    side = ast.parse((COMPONENTS / "kubernetes" / "side.py").read_text())
    constructed = {
        ast.unparse(node.func)
        for node in ast.walk(side)
        if isinstance(node, ast.Call) and "k8s." in ast.unparse(node.func)
    }
    assert constructed == set()
    objects = ast.parse((COMPONENTS / "kubernetes" / "objects.py").read_text())
    registered = {
        node.name for node in objects.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }
    assert registered == {
        "namespace",
        "secret",
        "existing_secret",
        "service_account",
        "priority_class",
        "settings_config_map",
        "backup_storage",
        "deployment",
        "service",
        "disruption_budget",
        "autoscaler",
        "network_policy",
    }


# -- providers pickled before the move ----------------------------------------------------------


@pytest.mark.parametrize("old_path", sorted(NEW_CLASSES))
def test_a_provider_pickled_before_the_move_loads_through_its_shim(old_path: str) -> None:
    """What ``pulumi destroy`` and ``refresh`` of a pre-move stack do first: the host unpickles the
    stored provider (``pulumi/dynamic/__main__.py`` ``get_provider``: ``dill.loads``)."""
    provider = dill.loads(base64.b64decode(PRE_MOVE[old_path]))  # noqa: S301 - the project's own fixture
    assert type(provider) is NEW_CLASSES[old_path]
    assert moved_providers.stored_at_old_path({moved_providers.PROVIDER_KEY: PRE_MOVE[old_path]})


@pytest.mark.parametrize("provider_class", sorted(set(NEW_CLASSES.values()), key=str))
def test_a_provider_pickled_now_names_its_new_path_only(provider_class: type) -> None:
    pickled = serialize_provider(provider_class())
    assert not moved_providers.stored_at_old_path({moved_providers.PROVIDER_KEY: pickled})
    assert provider_class.__module__.encode() in base64.b64decode(pickled)


def test_the_fixture_was_pickled_at_the_old_paths() -> None:
    """A test of the fixture: each pickle names the module path it is filed under."""
    for old_path in NEW_CLASSES:
        module = old_path.rsplit(".", 1)[0]
        assert module in moved_providers.MOVED_MODULES
        assert module.encode() in base64.b64decode(PRE_MOVE[old_path])


def _old(old_path: str, **outputs: Any) -> dict[str, Any]:
    return {**outputs, moved_providers.PROVIDER_KEY: PRE_MOVE[old_path]}


def _new(provider: Any, **inputs: Any) -> dict[str, Any]:
    return {**inputs, moved_providers.PROVIDER_KEY: serialize_provider(provider)}


def test_the_guards_report_a_change_only_to_re_record_an_old_provider() -> None:
    guard = {
        "gateway": "gw",
        "owner": "p/s",
        "cluster": "uid",
        "cluster_identifier": "id",
        "objects": [],
        "endpoint": "e",
    }
    provider = ClusterGuardProvider()
    old = _old("components.cluster_guard.ClusterGuardProvider", **guard)
    assert provider.diff("id", old, _new(provider, **guard)).changes is True
    assert provider.diff("id", _new(provider, **guard), _new(provider, **guard)).changes is False
    assert provider.update("id", old, _new(provider, **guard)).outs == guard

    mode = {"gateway": "gw", "mode": "apply", "directory": None}
    delivery = DeliveryModeGuardProvider()
    old = _old("components.delivery_guard.DeliveryModeGuardProvider", **mode)
    assert delivery.diff("id", old, _new(delivery, **mode)).changes is True
    assert delivery.diff("id", _new(delivery, **mode), _new(delivery, **mode)).changes is False


def test_re_recording_keeps_the_rollout_key() -> None:
    provider = RolloutKeyProvider()
    old = _old("components.rollout.RolloutKeyProvider", **{KEY_PROPERTY: "aa" * 32})
    news = _new(provider, **{KEY_PROPERTY: "aa" * 32})
    assert provider.diff("rollout-key", old, news).changes is True
    assert provider.update("rollout-key", old, news).outs == {KEY_PROPERTY: "aa" * 32}
    assert provider.diff("rollout-key", _new(provider, **{KEY_PROPERTY: "aa" * 32}), news).changes is False


def _refuse(_subscription_id: str) -> Any:
    raise AssertionError("re-recording a provider must not call Azure")


TOKEN = {
    "subscription_id": "00000000-0000-0000-0000-000000000000",
    "resource_group_name": "rg",
    "service_name": "apim",
    "gateway_id": "gw",
    "key_type": "primary",
    "expires_on": "2026-12-30T00:00:00Z",
}


@pytest.mark.parametrize(
    ("old_path", "provider_class"),
    [
        ("components.token.GatewayTokenProvider", GatewayTokenProvider),
        ("components.token.GatewayKeyRegenerationProvider", GatewayKeyRegenerationProvider),
    ],
)
def test_re_recording_the_token_providers_calls_no_azure_operation(old_path: str, provider_class: type) -> None:
    """No new token and, above all, no regenerated key (which would revoke the pods' token)."""
    provider = provider_class(client_factory=_refuse)
    outputs = {**TOKEN, "value": "GatewayKey gw&202612300000&sig=="}
    old = _old(old_path, **outputs)
    news = _new(provider_class(), **TOKEN, value=None)
    assert provider.diff("id", old, news).changes is True
    assert provider.update("id", old, news).outs == outputs
    # A real change still calls the operation.
    with pytest.raises(AssertionError, match="must not call Azure"):
        provider.update("id", old, {**news, "key_type": "secondary"})


def test_the_export_check_lists_what_still_needs_the_shims() -> None:
    exported = {
        "deployment": {
            "resources": [
                {"urn": "urn:old", "outputs": _old("components.rollout.RolloutKeyProvider", rollout_key="k")},
                {"urn": "urn:new", "outputs": _new(RolloutKeyProvider(), rollout_key="k")},
                {"urn": "urn:plain", "outputs": {"name": "x"}},
                # As ``pulumi stack export --show-secrets`` writes the secret the engine stores.
                {
                    "urn": "urn:old-secret",
                    "outputs": {
                        moved_providers.PROVIDER_KEY: {
                            moved_providers.SECRET_SIGNATURE: "1b47061264138c4ac30d75fd1eb44270",
                            "plaintext": json.dumps(PRE_MOVE["components.cluster_guard.ClusterGuardProvider"]),
                        }
                    },
                },
            ]
        }
    }
    assert moved_providers.stored_at_old_paths(exported) == ["urn:old", "urn:old-secret"]
