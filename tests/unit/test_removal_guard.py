"""The removal guard's rules (components/kubernetes/removal_guard.py): which config changes would
delete an owned namespace, claim, class or gateway, and what lets one through. The same rules
on the real engine: tests/integration/test_removal_guard_engine.py."""

from __future__ import annotations

from typing import Any

import pytest
from harness import NOW, NS, refused, run_main

from components.config import ConfigError, parse_stack_config
from components.kubernetes.removal_guard import RemovalGuardProvider, check_allowances, record, refusals

LOCAL: dict[str, Any] = {
    f"{NS}:environment": "dev",
    f"{NS}:apim": {"mode": "existing", "serviceName": "local-apim"},
}
CLAIM = "PersistentVolumeClaim/gw/gw-config-backup-4d7e0dd8"
"""The claim's name follows its class and access mode (local-static, ReadWriteOnce)."""


def token_of(name: str) -> str:
    return f"GatewayKey {name}&203001010000&c2lnbmF0dXJl"


def gateway(**settings: Any) -> dict[str, Any]:
    return {"name": settings.pop("name", "gw"), "locationData": {"name": "here"}, **settings}


def records(*gateways: dict[str, Any], retain: tuple[str, ...] = ()) -> dict[str, Any]:
    config = parse_stack_config(
        {
            **LOCAL,
            f"{NS}:gateways": list(gateways),
            f"{NS}:gatewayTokens": {g["name"]: token_of(g["name"]) for g in gateways},
        },
        secret_keys=[f"{NS}:gatewayTokens"],
        now=NOW,
    )
    return {g.name: record(g, retain) for g in config.gateways}


def refused_tokens(old: dict[str, Any], new: dict[str, Any], allowed: tuple[str, ...] = ()) -> list[str]:
    return [entry for entry, _ in refusals(old, new, allowed)]


def message(old: dict[str, Any], new: dict[str, Any]) -> str:
    ((_, text),) = refusals(old, new, ())
    return text


BACKUP = {"enabled": True, "storageClassName": "local-static", "accessMode": "ReadWriteOnce"}


@pytest.mark.parametrize(
    ("before", "after", "entry", "setting"),
    [
        ({}, {"namespace": {"create": False}}, "Namespace/gw", "namespace.create: true → false"),
        ({}, {"namespace": {"name": "other"}}, "Namespace/gw", "namespace.name: 'gw' → 'other'"),
        (
            {"backup": {**BACKUP, "keepOnDestroy": False}},
            {"backup": {"enabled": False}},
            CLAIM,
            "backup.enabled: true → false",
        ),
        (
            {"backup": {**BACKUP, "keepOnDestroy": False}},
            {"backup": {**BACKUP, "keepOnDestroy": False, "accessMode": "ReadWriteMany"}},
            CLAIM,
            "backup.accessMode: 'ReadWriteOnce' → 'ReadWriteMany'",
        ),
        (
            {"backup": {**BACKUP, "createStorageClass": True}},
            {"backup": {**BACKUP, "createStorageClass": False}},
            "StorageClass/local-static",
            "backup.createStorageClass: true → false",
        ),
        (
            {"scheduling": {"priorityClass": {"name": "gw-priority", "create": True}}},
            {"scheduling": {"priorityClass": {"name": "gw-priority", "create": False}}},
            "PriorityClass/gw-priority",
            "scheduling.priorityClass.create: true → false",
        ),
    ],
    ids=["namespace-create", "namespace-name", "backup-enabled", "claim-access-mode", "storage-class", "priority"],
)
def test_a_change_that_stops_creating_an_owned_object_is_refused_naming_setting_values_and_paths(
    before: dict[str, Any], after: dict[str, Any], entry: str, setting: str
) -> None:
    old, new = records(gateway(**before)), records(gateway(**after))
    text = message(old, new)
    assert text.startswith(f"apim-gateway:gateways(gw).{setting} would delete {entry}")
    assert f"add '{entry}' to apim-gateway:allowDeleting" in text  # the way to delete it anyway
    assert "To keep it, " in text  # and the way to keep it
    assert refusals(old, new, (entry,)) == []


def test_the_keep_path_of_a_message_lets_the_change_through() -> None:
    """What the namespace message says: retain first (setting unchanged), then change."""
    old = records(gateway())
    retained = records(gateway(), retain=("Namespace/gw",))
    assert refusals(old, retained, ()) == []  # step 1 deletes nothing
    assert refusals(retained, records(gateway(namespace={"create": False})), ()) == []  # step 2 only forgets
    for kind, before, after in (
        ("PriorityClass/p", {"scheduling": {"priorityClass": {"name": "p", "create": True}}}, {}),
        ("StorageClass/local-static", {"backup": {**BACKUP, "createStorageClass": True}}, {"backup": BACKUP}),
    ):
        assert refused_tokens(records(gateway(**before)), records(gateway(**after))) == [kind]
        assert refusals(records(gateway(**before), retain=(kind,)), records(gateway(**after)), ()) == []


def test_a_removed_gateway_is_refused_unless_allowed() -> None:
    old = records(gateway(), gateway(name="second"))
    new = records(gateway())
    (text,) = [text for _, text in refusals(old, new, ())]
    assert "apim-gateway:gateways: gateway 'second' is no longer in the list" in text
    assert "Namespace/second" in text and "restore the name" in text
    assert "add 'gateway/second' to apim-gateway:allowDeleting" in text
    assert refusals(old, new, ("gateway/second",)) == []
    # A rename is a removal too.
    assert refused_tokens(old, records(gateway(), gateway(name="renamed"))) == ["gateway/second"]


def test_changes_that_delete_nothing_pass() -> None:
    kept = {**BACKUP, "keepOnDestroy": True}
    cases = [
        (gateway(replicas=1), gateway(replicas=2)),
        # keepOnDestroy switched either way: the same objects under their other type (aliases), nothing goes
        (gateway(backup=kept), gateway(backup={**kept, "keepOnDestroy": False})),
        (gateway(backup={**kept, "keepOnDestroy": False}), gateway(backup=kept)),
        # a kept claim (and namespace) that go are not deleted
        (gateway(backup=kept), gateway(backup=kept, namespace={"name": "other"})),
        # an existing namespace was never owned
        (gateway(namespace={"create": False}), gateway(namespace={"create": False, "name": "other"})),
        (gateway(backup={"enabled": False}), gateway(backup=BACKUP)),
    ]
    for before, after in cases:
        assert refusals(records(before), records(after), ()) == [], (before, after)


def test_a_kept_claim_left_in_a_namespace_that_is_no_longer_kept_is_refused() -> None:
    """backup.enabled true → false with keepOnDestroy: the claim is kept (not deleted) but its
    namespace becomes a plain resource, so the next destroy would delete both."""
    old = records(gateway(backup={**BACKUP, "keepOnDestroy": True}))
    new = records(gateway(backup={"enabled": False}))
    (text,) = [text for _, text in refusals(old, new, ())]
    assert text.startswith("apim-gateway:gateways(gw).backup.enabled: true → false: the kept claim")
    assert "the next 'pulumi destroy' would delete it" in text
    assert refusals(old, records(gateway(backup={"enabled": False}), retain=("Namespace/gw",)), ()) == []


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], dict[str, Any]]:
    """The cluster the guard asks, as (kind, name) → object; ``None`` as a value: unreadable."""
    from components.kubernetes import cluster_guard

    objects: dict[tuple[str, str], Any] = {}

    class Client:
        def close(self) -> None:
            pass

    def read(client: Any, api_version: str, kind: str, name: str, namespace: str | None) -> Any:
        if objects.get((kind, name), {}) is None:
            raise ConnectionError("unreachable")
        return objects.get((kind, name))

    monkeypatch.setattr(cluster_guard, "_api_client", lambda access: Client())
    monkeypatch.setattr(cluster_guard, "_read", read)
    return objects


OURS = {"metadata": {"annotations": {"apim-gateway/stack": "apim-gateway/local"}}}


def test_the_cluster_decides_whether_a_recorded_object_is_the_stacks(live: dict[tuple[str, str], Any]) -> None:
    """The record lists what the config described before the objects existed: a first ``up`` that the
    cluster guard refused (an existing namespace of someone else's) had recorded that namespace, and
    the next ``namespace.create: false`` was refused (found on the real engine). Only an object that
    exists with this stack's annotation is refused; one the cluster cannot confirm stays refused."""
    provider = RemovalGuardProvider()
    old, new = records(gateway()), records(gateway(namespace={"create": False}))
    news = {"gateways": new, "allow_deleting": [], "owner": "apim-gateway/local"}
    assert provider.check({"gateways": old}, news).failures == []  # absent: nothing to lose
    live[("Namespace", "gw")] = {"metadata": {"annotations": {}}}
    assert provider.check({"gateways": old}, news).failures == []  # someone else's: never the stack's
    live[("Namespace", "gw")] = OURS
    assert len(provider.check({"gateways": old}, news).failures) == 1
    live[("Namespace", "gw")] = None
    assert len(provider.check({"gateways": old}, news).failures) == 1  # unreadable: the refusal stands


def test_the_provider_fails_check_only_against_a_record(live: dict[tuple[str, str], Any]) -> None:
    live[("Namespace", "gw")] = OURS
    provider = RemovalGuardProvider()
    old, new = records(gateway()), records(gateway(namespace={"create": False}))
    owner = {"owner": "apim-gateway/local"}
    assert provider.check({}, {"gateways": new, "allow_deleting": [], **owner}).failures == []  # first run
    failures = provider.check({"gateways": old}, {"gateways": new, "allow_deleting": [], **owner}).failures
    assert [failure.property for failure in failures] == ["allow_deleting"]  # the engine prints its (short) value
    allowed = {"gateways": new, "allow_deleting": ["Namespace/gw"], **owner}
    assert provider.check({"gateways": old}, allowed).failures == []
    assert provider.diff("removal-guard", {"gateways": old}, {"gateways": old}).changes is False
    assert provider.diff("removal-guard", {"gateways": old}, {"gateways": new}).changes is True
    # The allowances are not recorded: removing them after the deleting run is no change.
    allowed = {"gateways": new, "allow_deleting": ["Namespace/gw"]}
    recorded = provider.create(allowed).outs or {}
    assert "allow_deleting" not in recorded
    assert provider.diff("removal-guard", recorded, {"gateways": new}).changes is False


def test_an_allowance_for_what_the_config_still_owns_is_refused() -> None:
    raw = {
        **LOCAL,
        f"{NS}:gateways": [gateway()],
        f"{NS}:gatewayTokens": {"gw": token_of("gw")},
        f"{NS}:allowDeleting": ["Namespace/gw", "gateway/old"],
    }
    config = parse_stack_config(raw, secret_keys=[f"{NS}:gatewayTokens"], now=NOW)
    with pytest.raises(ConfigError) as caught:
        check_allowances(config)
    assert "apim-gateway:allowDeleting[0] = 'Namespace/gw': gateway 'gw' still owns it" in str(caught.value)
    assert "allowDeleting[1]" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("allowDeleting", ["Deployment/gw"], "apim-gateway:allowDeleting[0] = 'Deployment/gw': allowed forms are"),
        ("allowDeleting", ["PersistentVolumeClaim/gw"], "allowDeleting[0] = 'PersistentVolumeClaim/gw'"),
        ("retain", ["PersistentVolumeClaim/gw/claim"], "retain[0] = 'PersistentVolumeClaim/gw/claim': allowed"),
        ("retain", "Namespace/gw", "apim-gateway:retain = 'Namespace/gw': must be a list"),
    ],
)
def test_malformed_entries_are_refused(key: str, value: Any, expected: str) -> None:
    raw = {**LOCAL, f"{NS}:gateways": [gateway()], f"{NS}:gatewayTokens": {"gw": token_of("gw")}, f"{NS}:{key}": value}
    assert expected in refused(raw, (f"{NS}:gatewayTokens",))


def test_retain_registers_the_objects_with_retain_on_delete() -> None:
    raw = {
        **LOCAL,
        f"{NS}:gateways": [gateway(scheduling={"priorityClass": {"name": "p", "create": True}})],
        f"{NS}:gatewayTokens": {"gw": token_of("gw")},
        f"{NS}:retain": ["Namespace/gw", "PriorityClass/p"],
    }
    recording = run_main(raw, (f"{NS}:gatewayTokens",))
    namespace = recording.one("kubernetes:core/v1:NamespacePatch")  # kept like a namespace with a kept claim
    assert namespace.retain_on_delete
    assert recording.one("kubernetes:scheduling.k8s.io/v1:PriorityClass").retain_on_delete
    guard = recording.one("pulumi-python:dynamic/apim-gateway:RemovalGuard")
    assert guard.inputs["gateways"]["gw"]["namespace"] == {"token": "Namespace/gw", "kept": True}
    without = run_main({**raw, f"{NS}:retain": []}, (f"{NS}:gatewayTokens",))
    assert not without.one("kubernetes:scheduling.k8s.io/v1:PriorityClass").retain_on_delete
    assert not without.one("kubernetes:core/v1:Namespace").retain_on_delete


def test_every_gateway_waits_for_the_guard() -> None:
    """A refusal must come before anything changes: the component (and so every child, registered
    only after its parent) depends on the guard."""
    raw = {**LOCAL, f"{NS}:gateways": [gateway()], f"{NS}:gatewayTokens": {"gw": token_of("gw")}}
    recording = run_main(raw, (f"{NS}:gatewayTokens",))
    component = recording.one("apim-gateway:index:SelfHostedGateway")
    assert any(urn.endswith("::removal-guard") for urn in component.dependencies)


def test_a_switch_to_render_mode_is_left_to_the_delivery_mode_guard() -> None:
    """Found on the real engine: a gateway switched to render mode was not recorded and looked removed,
    so this guard refused the switch with the wrong message before the delivery-mode guard could."""
    old = records(gateway())
    rendered = {"gw": {"rendered": True}}
    assert refusals(old, rendered, ()) == []
    assert refusals(rendered, old, ()) == []
    assert refused_tokens(rendered, {}) == []  # a rendered gateway removed: nothing live to lose
