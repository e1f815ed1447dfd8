"""docs/diagram.md names every resource the component registers, in every auth mode.

Runs the program under mocks (``tests/offline.py``) with the richest configurations: token
mode with APIs, hostnames, CA entries, backup, autoscaler and key rotation; an Entra ID
application with a client secret; workload identity with the APIM validator role.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from harness import ENTRA_AUTH, ROOT, WORKLOAD_AUTH, run_main, stack_file_config

NS = "apim-gateway"
DIAGRAM = (ROOT / "docs" / "diagram.md").read_text()
PER_ITEM = re.compile(r"-(api|hostname|ca)-(?!bundle$).+$")  # gw-ca-bundle is the CA Secret


def _stack(**gateway: Any) -> dict[str, Any]:
    raw = stack_file_config("prod")
    raw[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    return raw


def _names(raw: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> set[str]:
    """Registered resource names, with the gateway's name as `gw` and per-item names as `-*`."""
    gateway = raw[f"{NS}:gateways"][0]["name"]
    names = set()
    for resource in run_main(raw, secret_keys, stack="prod").resources:
        if resource.name.startswith(f"{gateway}-"):
            names.add(PER_ITEM.sub(r"-\1-*", "gw" + resource.name.removeprefix(gateway)))
    return names


def test_the_diagram_is_a_mermaid_flowchart() -> None:
    assert "```mermaid\nflowchart TD\n" in DIAGRAM


def test_every_registered_resource_is_in_the_diagram() -> None:
    token_mode = _names(
        _stack(
            hostnames=[{"hostname": "api.contoso.com"}],
            certificateAuthorities=[{"certificateId": "root-ca"}],
            autoscaling={"enabled": True, "minReplicas": 3},
            token={"regenerateRetiredKey": True},
            auth={"mode": "token"},  # the prod example uses workload identity
        )
    )
    entra = _stack(auth=ENTRA_AUTH)
    entra[f"{NS}:entraClientSecrets"] = {entra[f"{NS}:gateways"][0]["name"]: "client-secret-value"}
    entra_mode = _names(entra, (f"{NS}:entraClientSecrets",))
    workload_mode = _names(_stack(auth={**WORKLOAD_AUTH, "createApimValidatorRole": True}))
    registered = token_mode | entra_mode | workload_mode
    # The runs cover what the diagram shows as optional, so this is not vacuous.
    for name in (
        "gw-api-*",
        "gw-hostname-*",
        "gw-ca-*",
        "gw-ca-bundle",
        "gw-priority-class",
        "gw-access-token",
        "gw-retired-key",
        "gw-autoscaler",
    ):
        assert name in token_mode
    assert {"gw-entra-secret", "gw-configuration-reader"} <= entra_mode
    assert {"gw-identity", "gw-federation", "gw-service-account", "gw-apim-validator"} <= workload_mode
    missing = sorted(name for name in registered if name not in DIAGRAM)
    assert missing == [], "docs/diagram.md does not name these resources"
