"""A live stack made before issue 23 sees no Azure resource replaced by today's code.

``tests/fixtures/upgrade/before-issue-23.json`` holds the Azure inputs the program at commit
e952e8c registered for the stacks of ``tests/upgrade_snapshot.py`` (recorded under the mocks that
answer as ARM's examples do, so the system topic got ARM's "West Europe" and each role assignment
the resource-group-scoped role id, as in a live stack). Today's code runs on the same
configurations, and the two are compared as pulumi-azure-native's diff does:

- a change of a path parameter (it names the resource) or of a property azure-native marks
  force-new replaces the resource (pulumi/pulumi-azure-native ``provider/pkg/provider/diff.go``,
  ``calculateDetailedDiff``, read at commit 03707ff7; ``provider/pkg/gen/replacement.go``,
  ``forceNewMap``, commit 1b7112af: RoleAssignment ``principalId`` and ``scope``; the 2022-04-01
  spec gives ``roleDefinitionId`` no ``x-ms-mutability``, so it is not force-new). These are the
  provider's sources as stored, not necessarily the 3.29.0 tag. ``location`` is treated as force-new here too (the conservative
  reading) and compared the way ``applyAzureSpecificDiff`` does: case and spaces ignored;
- any other change is an update in place, and only the ones listed in ``IN_PLACE`` (with why) are
  allowed;
- a property the resource's ``ignore_changes`` names is never diffed (Pulumi engine).

A resource whose type and name (its URN) disappear would be deleted; none may.
"""

from __future__ import annotations

import json
import runpy
from typing import Any

import pytest
from arm_examples import ARM_RESOURCES
from harness import ROOT, run_program
from upgrade_snapshot import SNAPSHOT, stacks

FORCE_NEW = {"azure-native:authorization:RoleAssignment": {"principalId", "scope"}}
"""replacement.go ``forceNewMap`` entries for the types the stack registers."""
IN_PLACE = {
    ("azure-native:eventgrid:SystemTopicEventSubscription", "destination"): (
        "MonitorAlert -> StorageQueue: an update of the same subscription (its name, topic and "
        "resource group, the path, are unchanged); see docs/operations.md, 'Upgrading a stack with "
        "the token-expiry alert'"
    ),
}


def normalized_location(location: Any) -> Any:
    """diff.go ``normalizedLocation``: lowercase, spaces removed."""
    return location.replace(" ", "").lower() if isinstance(location, str) else location


def _today(stack: str, config: dict[str, Any], secret_keys: list[str]) -> dict[tuple[str, str], Any]:
    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    recording = run_program(program, config, tuple(secret_keys), stack)
    return {(r.type, r.name): r for r in recording.resources if r.type.startswith("azure-native:")}


def differences(resource_type: str, before: dict[str, Any], after: dict[str, Any], ignored: set[str]) -> dict[str, str]:
    """Changed top-level inputs -> "replace" or "update", as azure-native would class them."""
    replace_keys = (
        set(ARM_RESOURCES[resource_type].path_parameters) | FORCE_NEW.get(resource_type, set()) | {"location"}
    )
    found = {}
    for key in set(before) | set(after):
        if key in ignored:
            continue
        old, new = before.get(key), after.get(key)
        if key == "location":
            old, new = normalized_location(old), normalized_location(new)
        if old != new:
            found[key] = "replace" if key in replace_keys else "update"
    return found


SNAPSHOT_STACKS: dict[str, list[dict[str, Any]]] = json.loads(SNAPSHOT.read_text())["stacks"]


def test_the_snapshot_covers_the_stacks_and_the_changed_resources() -> None:
    assert set(SNAPSHOT_STACKS) == set(stacks())
    recorded = {(r["type"], r["name"]) for resources in SNAPSHOT_STACKS.values() for r in resources}
    for needed in (
        ("azure-native:authorization:RoleAssignment", "contoso-weu-gw-configuration-reader"),
        ("azure-native:authorization:RoleAssignment", "contoso-weu-gw-apim-validator"),
        ("azure-native:eventgrid:SystemTopic", "token-expiry-alert-system-topic"),
        ("azure-native:eventgrid:SystemTopicEventSubscription", "token-expiry-alert-subscription"),
    ):
        assert needed in recorded
    # What a live stack holds: the display-name location and the resource-group-scoped role id.
    topic = next(r for r in SNAPSHOT_STACKS["prod-workload-identity-alert"] if r["type"].endswith(":SystemTopic"))
    assert topic["inputs"]["location"] == "West Europe"
    reader = next(
        r
        for r in SNAPSHOT_STACKS["prod-workload-identity-alert"]
        if r["name"] == "contoso-weu-gw-configuration-reader" and r["type"].endswith("RoleAssignment")
    )
    assert (
        "/resourceGroups/rg-apim-prod/providers/Microsoft.Authorization/roleDefinitions/"
        in reader["inputs"]["roleDefinitionId"]
    )


@pytest.mark.parametrize("name", sorted(stacks()))
def test_no_azure_resource_of_a_live_stack_is_replaced_or_deleted(name: str) -> None:
    stack, config, secret_keys = stacks()[name]
    today = _today(stack, config, secret_keys)
    for resource in SNAPSHOT_STACKS[name]:
        key = (resource["type"], resource["name"])
        assert key in today, f"{key} would be deleted"
        current = today[key]
        changed = differences(resource["type"], resource["inputs"], current.inputs, set(current.ignore_changes))
        replaced = sorted(k for k, kind in changed.items() if kind == "replace")
        assert replaced == [], f"{key}: {replaced} force a replacement"
        unexpected = sorted(k for k in changed if (resource["type"], k) not in IN_PLACE)
        assert unexpected == [], f"{key}: {unexpected} change in place without a reason in IN_PLACE"


def test_the_fixes_are_in_the_new_inputs_and_still_no_replacement() -> None:
    """Not vacuous: the location and the role id did change; the diff rules above absorb them."""
    stack, config, secret_keys = stacks()["prod-workload-identity-alert"]
    today = _today(stack, config, secret_keys)
    topic = today[("azure-native:eventgrid:SystemTopic", "token-expiry-alert-system-topic")]
    assert topic.inputs["location"] == "westeurope"
    reader = today[("azure-native:authorization:RoleAssignment", "contoso-weu-gw-configuration-reader")]
    assert reader.inputs["roleDefinitionId"].startswith(
        "/subscriptions/00000000-0000-0000-0000-000000000001/providers/"
    )
    assert "roleDefinitionId" in reader.ignore_changes
    before = next(
        r["inputs"]
        for r in SNAPSHOT_STACKS["prod-workload-identity-alert"]
        if r["name"] == "contoso-weu-gw-configuration-reader" and r["type"].endswith("RoleAssignment")
    )
    # Without ignore_changes the role id would be an update of an existing assignment.
    assert differences(reader.type, before, reader.inputs, set()) == {"roleDefinitionId": "update"}
    # A changed principal would be a replacement: the rule can fail.
    assert differences(
        reader.type, before, {**reader.inputs, "principalId": "another"}, set(reader.ignore_changes)
    ) == {"principalId": "replace"}
    assert differences(topic.type, {"location": "West Europe"}, {"location": "northeurope"}, set()) == {
        "location": "replace"
    }
