"""A live stack made before issue 23: what today's code changes in its Azure resources, and the
one-off migration that leaves no change on its role assignments.

``tests/fixtures/upgrade/before-issue-23.json`` holds the Azure inputs the program at commit
e952e8c registered for the stacks of ``tests/upgrade_snapshot.py`` (recorded under the mocks that
answer as ARM's examples do, so the system topic got ARM's "West Europe" and each role assignment
of a role defined at a resource group the resource-group-scoped role id). Today's code runs on the
same configurations, and the two are compared as pulumi-azure-native's diff does:

- a change of a path parameter (it names the resource) or of a property azure-native marks
  force-new replaces the resource (pulumi/pulumi-azure-native ``provider/pkg/provider/diff.go``,
  ``calculateDetailedDiff``, read at commit 03707ff7; ``provider/pkg/gen/replacement.go``,
  ``forceNewMap``, commit 1b7112af: RoleAssignment ``principalId`` and ``scope``; the 2022-04-01
  spec (``authorization-RoleAssignmentsCalls.json``, ``RoleAssignmentProperties``) gives
  ``roleDefinitionId`` no ``x-ms-mutability``, so it is not force-new). These are the provider's
  sources as stored, not necessarily the 3.29.0 tag. ``location`` is treated as force-new here too
  (the conservative reading) and compared the way ``applyAzureSpecificDiff`` does: case and spaces
  ignored;
- any other change is an update in place; each stack's are listed exactly in ``EXPECTED_UPDATES``;
- a property the resource's ``ignore_changes`` names is set back to its old input before the diff
  (Pulumi engine, ``processIgnoreChanges``; ``harness.engine_goal_inputs``). No Azure resource of
  the stack has one any more.

A resource whose type and name (its URN) disappear would be deleted; none may.

The role assignments' ``roleDefinitionId`` goes from the resource-group form to the subscription
form (an update in place, which ARM may refuse). ``pulumi refresh`` does not change that: azure-native's
``Read`` (``provider/pkg/provider/provider.go``, read at commit 006a62af) copies into the stored
inputs only what changed between the outputs stored at the last write and ARM's answer now
(``applyDiff``), simulated in ``azure_native_refreshed_inputs``. The migration is a rewrite of the
stored input (``components/azure/role_id_migration.py``), after which nothing changes.
"""

from __future__ import annotations

import copy
import json
import re
import runpy
from typing import Any

import pytest
from arm_examples import ARM_RESOURCES, example
from harness import ROOT, SUBSCRIPTION_ID, engine_goal_inputs, run_program
from offline import TENANT_ID
from upgrade_snapshot import SNAPSHOT, stacks

from components.azure import role_id_migration
from components.azure.identity import role_definition_id

ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SUBSCRIPTION_TOPIC = "azure-native:eventgrid:SystemTopicEventSubscription"
READER, VALIDATOR = "contoso-weu-gw-configuration-reader", "contoso-weu-gw-apim-validator"
FORCE_NEW = {ASSIGNMENT: {"principalId", "scope"}}
"""replacement.go ``forceNewMap`` entries for the types the stack registers."""
IN_PLACE = {
    (SUBSCRIPTION_TOPIC, "destination"): (
        "MonitorAlert -> StorageQueue: an update of the same subscription (its name, topic and "
        "resource group, the path, are unchanged); see docs/operations.md, 'Upgrading a stack with "
        "the token-expiry alert'"
    ),
    (ASSIGNMENT, "roleDefinitionId"): (
        "the same role (subscription, GUID) in the subscription-scoped form ARM reports, for roles "
        "defined at a resource group; removed by the one-off migration (role_id_migration, "
        "docs/operations.md, 'Upgrading a stack made before issue 23')"
    ),
}
EXPECTED_UPDATES: dict[str, set[tuple[str, str, str]]] = {
    "prod-workload-identity-alert": {
        (ASSIGNMENT, READER, "roleDefinitionId"),
        (ASSIGNMENT, VALIDATOR, "roleDefinitionId"),
        (SUBSCRIPTION_TOPIC, "token-expiry-alert-subscription", "destination"),
    },
    # Roles defined at the subscription: their id was the subscription form already.
    "prod-entra-subscription-roles": set(),
    "prod-token-hostnames": set(),
    "dev-token-alert": {(SUBSCRIPTION_TOPIC, "token-expiry-alert-subscription", "destination")},
}
"""Every in-place update the first ``pulumi up`` after the upgrade makes, by stack, without the migration."""
MIGRATED_UPDATES = {
    name: {change for change in changes if change[2] != "roleDefinitionId"}
    for name, changes in EXPECTED_UPDATES.items()
}
"""The same after the migration: no role assignment changes."""
RESOURCE_GROUP_FORM = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Authorization/roleDefinitions/[^/]+$"
)


def normalized_location(location: Any) -> Any:
    """diff.go ``normalizedLocation``: lowercase, spaces removed."""
    return location.replace(" ", "").lower() if isinstance(location, str) else location


def _today(stack: str, config: dict[str, Any], secret_keys: list[str]) -> dict[tuple[str, str], Any]:
    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    recording = run_program(program, config, tuple(secret_keys), stack)
    return {(r.type, r.name): r for r in recording.resources if r.type.startswith("azure-native:")}


def differences(resource_type: str, before: dict[str, Any], after: dict[str, Any], ignored: set[str]) -> dict[str, str]:
    """Changed top-level inputs -> "replace" or "update", as azure-native would class them, after
    the engine has set the ``ignored`` keys back to their old inputs."""
    after = engine_goal_inputs(after, before, sorted(ignored))
    replace_keys = (
        set(ARM_RESOURCES[resource_type].path_parameters) | FORCE_NEW.get(resource_type, set()) | {"location"}
    )
    found = {}
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if key == "location":
            old, new = normalized_location(old), normalized_location(new)
        if old != new:
            found[key] = "replace" if key in replace_keys else "update"
    return found


SNAPSHOT_STACKS: dict[str, list[dict[str, Any]]] = json.loads(SNAPSHOT.read_text())["stacks"]


def upgrade_changes(name: str, stored: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    """(type, name, input) -> "replace" / "update": what today's code changes in a stack that stores
    ``stored`` (type, name, inputs of each Azure resource). Fails if a resource would be deleted."""
    stack, config, secret_keys = stacks()[name]
    today = _today(stack, config, secret_keys)
    found = {}
    for resource in stored:
        key = (resource["type"], resource["name"])
        assert key in today, f"{key} would be deleted"
        current = today[key]
        changed = differences(resource["type"], resource["inputs"], current.inputs, set(current.ignore_changes))
        found.update({(*key, prop): kind for prop, kind in changed.items()})
    return found


def export_of(name: str) -> dict[str, Any]:
    """What ``pulumi stack export`` holds for the snapshot's stack (its Azure resources): each
    resource's stored inputs, and the outputs ARM answered with (the mocks' answer, from Microsoft's
    examples)."""
    resources = [
        {
            "urn": f"urn:pulumi:{stacks()[name][0]}::apim-gateway::{r['type']}::{r['name']}",
            "type": r["type"],
            "inputs": copy.deepcopy(r["inputs"]),
            "outputs": ARM_RESOURCES[r["type"]].outputs(r["inputs"], SUBSCRIPTION_ID, TENANT_ID)[1],
        }
        for r in SNAPSHOT_STACKS[name]
    ]
    return {"version": 3, "deployment": {"manifest": {}, "resources": resources}}


def test_the_snapshot_covers_the_stacks_and_the_changed_resources() -> None:
    assert set(SNAPSHOT_STACKS) == set(stacks()) == set(EXPECTED_UPDATES)
    recorded = {(r["type"], r["name"]) for resources in SNAPSHOT_STACKS.values() for r in resources}
    for needed in (
        (ASSIGNMENT, READER),
        (ASSIGNMENT, VALIDATOR),
        ("azure-native:eventgrid:SystemTopic", "token-expiry-alert-system-topic"),
        (SUBSCRIPTION_TOPIC, "token-expiry-alert-subscription"),
    ):
        assert needed in recorded
    # What a live stack holds: the display-name location and the resource-group-scoped role id.
    topic = next(r for r in SNAPSHOT_STACKS["prod-workload-identity-alert"] if r["type"].endswith(":SystemTopic"))
    assert topic["inputs"]["location"] == "West Europe"
    reader = _stored("prod-workload-identity-alert", READER)
    assert RESOURCE_GROUP_FORM.match(reader["roleDefinitionId"])
    assert (
        "/resourceGroups/rg-apim-prod/providers/Microsoft.Authorization/roleDefinitions/" in reader["roleDefinitionId"]
    )


def _stored(name: str, assignment: str) -> dict[str, Any]:
    return next(r["inputs"] for r in SNAPSHOT_STACKS[name] if r["name"] == assignment and r["type"] == ASSIGNMENT)


@pytest.mark.parametrize("name", sorted(stacks()))
def test_an_old_stack_sees_exactly_the_listed_updates_and_nothing_replaced_or_deleted(name: str) -> None:
    changes = upgrade_changes(name, SNAPSHOT_STACKS[name])
    assert sorted(k for k, kind in changes.items() if kind == "replace") == []
    assert set(changes) == EXPECTED_UPDATES[name]
    assert all((resource_type, prop) in IN_PLACE for resource_type, _, prop in changes)


def test_the_role_id_changes_from_the_resource_group_form_to_the_subscription_form_of_the_same_role() -> None:
    """The one change on the assignments, value by value: only ``/resourceGroups/<rg>`` goes."""
    stack, config, secret_keys = stacks()["prod-workload-identity-alert"]
    today = _today(stack, config, secret_keys)
    for assignment in (READER, VALIDATOR):
        before = _stored("prod-workload-identity-alert", assignment)
        after = today[(ASSIGNMENT, assignment)]
        assert after.ignore_changes == ()
        old, new = before["roleDefinitionId"], after.inputs["roleDefinitionId"]
        assert RESOURCE_GROUP_FORM.match(old)
        guid = old.rsplit("/", 1)[1]
        assert new == role_definition_id(f"/subscriptions/{SUBSCRIPTION_ID}", guid)
        assert new == old.replace("/resourceGroups/rg-apim-prod", "")
        assert role_id_migration.subscription_form(old) == new
        assert differences(ASSIGNMENT, before, after.inputs, set()) == {"roleDefinitionId": "update"}


@pytest.mark.parametrize("name", sorted(stacks()))
def test_after_the_migration_no_role_assignment_changes(name: str) -> None:
    """docs/operations.md: ``pulumi stack export``, ``python -m components.azure.role_id_migration``,
    ``pulumi stack import``. It rewrites exactly the assignments listed in ``EXPECTED_UPDATES``, only
    their ``roleDefinitionId``, and today's code then changes none of them."""
    exported = export_of(name)
    migrated, rewritten = role_id_migration.migrate(exported)
    assert sorted(rewritten) == sorted(
        f"urn:pulumi:{stacks()[name][0]}::apim-gateway::{t}::{n}"
        for t, n, prop in EXPECTED_UPDATES[name]
        if prop == "roleDefinitionId"
    )
    before_resources = exported["deployment"]["resources"]
    after_resources = migrated["deployment"]["resources"]
    for before, after in zip(before_resources, after_resources, strict=True):
        if before["urn"] in rewritten:
            assert {k: v for k, v in after["inputs"].items() if k != "roleDefinitionId"} == {
                k: v for k, v in before["inputs"].items() if k != "roleDefinitionId"
            }
            assert after["outputs"] == before["outputs"]  # ARM's answer is left as it was
        else:
            assert after == before
    stored = [{"type": r["type"], "name": r["urn"].rsplit("::", 1)[1], "inputs": r["inputs"]} for r in after_resources]
    changes = upgrade_changes(name, stored)
    assert set(changes) == MIGRATED_UPDATES[name]
    assert role_id_migration.migrate(migrated)[1] == []  # once is enough; a second run rewrites nothing


def azure_native_refreshed_inputs(
    inputs: dict[str, Any], old_outputs: dict[str, Any], new_outputs: dict[str, Any]
) -> dict[str, Any]:
    """The inputs ``pulumi refresh`` stores for a resource with stored inputs: azure-native's
    ``Read`` projects the outputs stored at the last write and ARM's answer now onto the input
    properties, diffs the two projections and applies only that diff to the stored inputs
    (provider.go ``Read``, steps 2-5; diff.go ``applyDiff``). Top-level string properties, as here."""
    keys = set(inputs) | {"description", "condition", "conditionVersion", "delegatedManagedIdentityResourceId"}
    old = {k: v for k, v in old_outputs.items() if k in keys}
    new = {k: v for k, v in new_outputs.items() if k in keys}
    refreshed = {k: v for k, v in inputs.items() if not (k in old and k not in new)}
    refreshed.update({k: v for k, v in new.items() if old.get(k) != v})
    return refreshed


def _reported_forms(old: str) -> dict[str, str]:
    """Forms ARM may report an assignment's role in: as sent (the mocks echo the request), the
    subscription form, and the form of Microsoft's ``RoleAssignments_Create*.json`` responses."""
    guid = old.rsplit("/", 1)[1]
    forms = {
        "as sent": old,
        "subscription": role_definition_id(f"/subscriptions/{SUBSCRIPTION_ID}", guid),
    }
    for fixture in ("ForResource", "ForResourceGroup", "ForSubscription"):
        document = example(f"authorization/RoleAssignments_Create{fixture}.json")
        for status in ("200", "201"):
            reported = document["responses"][status]["body"]["properties"]["roleDefinitionId"]
            assert reported.startswith("/providers/Microsoft.Authorization/roleDefinitions/")
            forms[f"example {fixture}"] = reported.rsplit("/", 1)[0] + "/" + guid
    return forms


@pytest.mark.parametrize("assignment", [READER, VALIDATOR])
def test_a_refresh_is_not_the_migration(assignment: str) -> None:
    """Whatever form ARM reports the role in, it reports the same at the last write and at the
    refresh, so azure-native's ``Read`` leaves the stored resource-group form as it is and the
    first ``up`` still updates the assignment. Even a refresh that copied ARM's form into the
    input would not do with the form Microsoft's examples report (``/providers/...``): only the
    state rewrite makes the stored input what the program sends."""
    stack, config, secret_keys = stacks()["prod-workload-identity-alert"]
    sent = _today(stack, config, secret_keys)[(ASSIGNMENT, assignment)].inputs
    stored = _stored("prod-workload-identity-alert", assignment)
    at_write = ARM_RESOURCES[ASSIGNMENT].outputs(stored, SUBSCRIPTION_ID, TENANT_ID)[1]
    for form, reported in _reported_forms(stored["roleDefinitionId"]).items():
        outputs = {**at_write, "roleDefinitionId": reported}
        refreshed = azure_native_refreshed_inputs(stored, outputs, copy.deepcopy(outputs))
        assert refreshed == stored, form
        assert differences(ASSIGNMENT, refreshed, sent, set()) == {"roleDefinitionId": "update"}, form
        if form.startswith("example"):
            copied = {**stored, "roleDefinitionId": reported}
            assert differences(ASSIGNMENT, copied, sent, set()) == {"roleDefinitionId": "update"}, form
    # A test of the simulation: a role id that did change in ARM's answer is copied into the input.
    moved = {**at_write, "roleDefinitionId": sent["roleDefinitionId"]}
    assert azure_native_refreshed_inputs(stored, at_write, moved)["roleDefinitionId"] == sent["roleDefinitionId"]


def test_the_migration_touches_only_the_stacks_own_roles_in_the_resource_group_form() -> None:
    """A role given with ``auth.roleDefinitionId`` (no RoleDefinition in the state) is sent as
    configured, so its stored id must stay; nor is any other resource or a secret value touched."""
    exported = export_of("prod-workload-identity-alert")
    resources = exported["deployment"]["resources"]
    foreign = "/subscriptions/s/resourceGroups/other/providers/Microsoft.Authorization/roleDefinitions/44444444"
    resources.append({"urn": "urn:given", "type": ASSIGNMENT, "inputs": {"roleDefinitionId": foreign}})
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "x"}
    resources.append({"urn": "urn:secret", "type": ASSIGNMENT, "inputs": {"roleDefinitionId": secret}})
    migrated, rewritten = role_id_migration.migrate(exported)
    assert len(rewritten) == 2 and "urn:given" not in rewritten and "urn:secret" not in rewritten
    assert migrated["deployment"]["resources"][-2:] == resources[-2:]
    assert role_id_migration.subscription_form(foreign.replace("/resourceGroups/other", "")) is None
    definitions = [r for r in migrated["deployment"]["resources"] if r["type"].endswith(":RoleDefinition")]
    assert definitions == [r for r in resources if r["type"].endswith(":RoleDefinition")]


def test_the_migration_runs_as_documented(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m components.azure.role_id_migration < state-before.json > state-after.json``."""
    import io

    exported = export_of("prod-workload-identity-alert")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(exported)))
    role_id_migration.main()
    out, err = capsys.readouterr()
    assert json.loads(out) == role_id_migration.migrate(exported)[0]
    assert err.count("rewritten: urn:pulumi:prod::apim-gateway::azure-native:authorization:RoleAssignment::") == 2
    operations = " ".join((ROOT / "docs" / "operations.md").read_text().split())
    assert "python -m components.azure.role_id_migration < state-before.json > state-after.json" in operations


def test_the_other_fixes_are_in_the_new_inputs_and_still_no_replacement() -> None:
    """Not vacuous: the location did change and the diff rules absorb it; a changed principal or
    location would be a replacement, so the rules can fail."""
    stack, config, secret_keys = stacks()["prod-workload-identity-alert"]
    today = _today(stack, config, secret_keys)
    topic = today[("azure-native:eventgrid:SystemTopic", "token-expiry-alert-system-topic")]
    assert topic.inputs["location"] == "westeurope"
    reader = today[(ASSIGNMENT, READER)]
    before = _stored("prod-workload-identity-alert", READER)
    assert differences(reader.type, before, {**reader.inputs, "principalId": "another"}, set()) == {
        "principalId": "replace",
        "roleDefinitionId": "update",
    }
    assert differences(topic.type, {"location": "West Europe"}, {"location": "northeurope"}, set()) == {
        "location": "replace"
    }
