"""One-off migration of a stack deployed before issue 23: the role assignments' stored role id.

Before issue 23 each role assignment named a custom role the stack defines at a resource group by
the role's resource-group-scoped id (``/subscriptions/<sub>/resourceGroups/<rg>/providers/
Microsoft.Authorization/roleDefinitions/<guid>``); now it sends the subscription-scoped id
(``identity.role_definition_id``): the same role (same subscription, same GUID), spelt another way.

Left alone, the first ``pulumi up`` after the upgrade updates each such assignment in place
(``roleDefinitionId`` is not force-new in azure-native: ``provider/pkg/gen/replacement.go``
``forceNewMap`` lists ``principalId`` and ``scope`` for ``RoleAssignment``, and the 2022-04-01
spec gives ``roleDefinitionId`` no ``x-ms-mutability``), a PUT of an existing assignment that ARM
may refuse (``RoleAssignmentUpdateNotPermitted``; not verified without Azure). ``pulumi refresh``
does not migrate it: azure-native's ``Read`` copies into the stored inputs only what changed in
ARM's answer since the last write (``provider/pkg/provider/provider.go`` ``Read``: "we compare old
outputs to new outputs, and if properties changed ... copy them to new inputs", ``applyDiff``), and
ARM's answer about an unchanged assignment has not changed.

So this rewrites, in a ``pulumi stack export``, the stored input ``roleDefinitionId`` of each role
assignment whose role the same stack defines (a ``RoleDefinition`` of the export with that GUID)
from the resource-group form to the subscription form, and nothing else; no call to Azure is made::

    pulumi stack export --file state-before.json
    python -m components.azure.role_id_migration < state-before.json > state-after.json
    pulumi stack import --file state-after.json
    pulumi preview --diff        # no change on the role assignments

It lists each rewritten URN on stderr; a stack that stored the subscription form already (ARM's
answer to the role's PUT named it so) has nothing to rewrite. A role given with
``auth.roleDefinitionId`` is never touched: the program sends it as configured.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

ASSIGNMENT_TYPE = "azure-native:authorization:RoleAssignment"
DEFINITION_TYPE = "azure-native:authorization:RoleDefinition"
_RESOURCE_GROUP_FORM = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/[^/]+"
    r"/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[^/]+)$",
    re.IGNORECASE,
)


def subscription_form(role_id: str) -> str | None:
    """The subscription-scoped id of a role id in the resource-group form; ``None`` for any other."""
    match = _RESOURCE_GROUP_FORM.match(role_id)
    if match is None:
        return None
    return f"/subscriptions/{match['subscription']}/providers/Microsoft.Authorization/roleDefinitions/{match['guid']}"


def _defined_roles(resources: list[dict[str, Any]]) -> set[str]:
    """GUIDs of the role definitions the stack itself manages."""
    return {
        str(r["inputs"]["roleDefinitionId"]).lower()
        for r in resources
        if r.get("type") == DEFINITION_TYPE and isinstance((r.get("inputs") or {}).get("roleDefinitionId"), str)
    }


def migrate(exported: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of a ``pulumi stack export`` with the role assignments' stored role ids in the
    subscription form, and the URNs rewritten."""
    migrated: dict[str, Any] = copy.deepcopy(dict(exported))
    resources: list[dict[str, Any]] = (migrated.get("deployment") or {}).get("resources") or []
    defined = _defined_roles(resources)
    rewritten = []
    for resource in resources:
        inputs = resource.get("inputs") or {}
        stored = inputs.get("roleDefinitionId")
        if resource.get("type") != ASSIGNMENT_TYPE or not isinstance(stored, str):
            continue
        new = subscription_form(stored)
        if new is None or new.rsplit("/", 1)[1].lower() not in defined:
            continue
        inputs["roleDefinitionId"] = new
        rewritten.append(str(resource.get("urn")))
    return migrated, rewritten


def main() -> None:
    """``python -m components.azure.role_id_migration < export.json > migrated.json``."""
    import json
    import sys

    migrated, rewritten = migrate(json.load(sys.stdin))
    json.dump(migrated, sys.stdout, indent=4)
    sys.stdout.write("\n")
    for urn in rewritten:
        print(f"rewritten: {urn}", file=sys.stderr)
    if not rewritten:
        print("nothing to rewrite: no role assignment stores the resource-group form", file=sys.stderr)


if __name__ == "__main__":
    main()
