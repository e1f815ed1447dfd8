"""The renewal identity's Kubernetes Role (docs/delivery.md, "The renewal Role"; issue 16, item 3).

The renewal must be able to change the gateway's token Secret and roll its Deployment, and
nothing else: ``get`` / ``patch`` on ``secrets`` and ``deployments`` are limited by
``resourceNames`` to the two objects the component names (``components/kubernetes/manifests/common.py``
``object_names``), so the identity can neither read another Secret nor change another
Deployment's image. ``resourceNames`` cannot limit ``create`` or ``deletecollection``, and limits
``list`` / ``watch`` only for requests with a ``metadata.name`` field selector (Kubernetes docs,
"Using RBAC Authorization", "Referring to resources"): no rule may grant those verbs on the two
kinds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from harness import stack_file_config

from components import parse_stack_config
from components.kubernetes import manifests

ROOT = Path(__file__).resolve().parents[2]
GUARDED = {"secrets", "deployments"}
ALLOWED_ON_GUARDED = {"get", "patch"}


def documented_role() -> dict[str, Any]:
    text = (ROOT / "docs" / "delivery.md").read_text()
    section = text[text.index("### The renewal Role") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no YAML block under 'The renewal Role'"
    role: dict[str, Any] = yaml.safe_load(block.group(1))
    return role


def role_problems(role: dict[str, Any], secret: str, deployment: str, namespace: str) -> list[str]:
    """Why the Role grants more than the renewal of one gateway needs."""
    wanted = {"secrets": secret, "deployments": deployment}
    problems = []
    if role.get("kind") != "Role" or role.get("metadata", {}).get("namespace") != namespace:
        problems.append(f"not a Role in namespace {namespace}")
    for index, rule in enumerate(role.get("rules") or []):
        resources = set(rule.get("resources") or [])
        verbs = set(rule.get("verbs") or [])
        if "*" in resources or "*" in verbs:
            problems.append(f"rule {index}: wildcard")
        for kind in sorted(resources & GUARDED):
            if rule.get("resourceNames") != [wanted[kind]]:
                problems.append(f"rule {index}: {kind} not limited by resourceNames to {wanted[kind]}")
            if verbs - ALLOWED_ON_GUARDED:
                problems.append(f"rule {index}: {', '.join(sorted(verbs - ALLOWED_ON_GUARDED))} on {kind}")
    return problems


def test_the_documented_role_is_limited_to_the_gateways_secret_and_deployment() -> None:
    gateway = parse_stack_config(stack_file_config("prod")).gateways[0]
    names = manifests.object_names(gateway)
    assert role_problems(documented_role(), names.token_secret, names.deployment, names.namespace) == []


def test_the_role_check_fails_on_the_former_rights() -> None:
    """The rights the table gave before: get/patch on every Secret and Deployment."""
    former = {
        "kind": "Role",
        "metadata": {"namespace": "contoso-weu-gw"},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch", "list"]},
        ],
    }
    assert role_problems(former, "contoso-weu-gw-token", "contoso-weu-gw", "contoso-weu-gw") == [
        "rule 0: secrets not limited by resourceNames to contoso-weu-gw-token",
        "rule 1: deployments not limited by resourceNames to contoso-weu-gw",
        "rule 1: list on deployments",
    ]
