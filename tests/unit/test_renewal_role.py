"""The renewal identity's Kubernetes Role (docs/delivery.md, "The renewal Role"; issue 16, item 3;
issue 21, item 2).

The renewal must be able to change the gateway's token Secret and roll its Deployment, and write
nothing else: ``patch`` is limited by ``resourceNames`` to the two objects the component names
(``components/kubernetes/manifests/common.py`` ``object_names``), so the identity can neither change
another Secret nor another Deployment's image; ``get`` is limited by name to what the guards read.
``resourceNames`` cannot limit ``create`` or ``deletecollection``, and limits ``list`` / ``watch``
only for requests with a ``metadata.name`` field selector (Kubernetes docs, "Using RBAC
Authorization", "Referring to resources"): no rule may grant those verbs on Secrets. The rollout's
wait needs ``list`` / ``watch`` on Deployments (pulumi-kubernetes v4.25.0
``provider/pkg/await/deployment.go`` line 163: an informer on the namespace's Deployments; without
it the renewal's targeted ``up`` did not finish, docs/delivery.md), which holds no credential.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from components.kubernetes import manifests, rbac

ROOT = Path(__file__).resolve().parents[2]
NAMED_VERBS = {"get", "patch", "update", "delete"}
NEVER_ON_SECRETS = {"list", "watch", "create", "deletecollection", "update", "delete"}
NEVER_ON_DEPLOYMENTS = {"create", "deletecollection", "update", "delete"}


def documented_role() -> dict[str, Any]:
    text = (ROOT / "docs" / "delivery.md").read_text()
    section = text[text.index("### The renewal Role") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no YAML block under 'The renewal Role'"
    role: dict[str, Any] = yaml.safe_load(block.group(1))
    return role


def generated_role(stack: str) -> dict[str, Any]:
    config, owner = rbac.load_stack(stack, ROOT)
    documents = rbac.stack_manifests(config, owner, "renewal", rbac.parse_subject("User:renewal"))
    (role,) = [doc for doc in documents if doc["kind"] == "Role"]
    return role


def role_problems(role: dict[str, Any], secret: str, deployment: str, namespace: str) -> list[str]:
    """Why the Role grants more than the renewal of one gateway needs."""
    wanted = {"secrets": secret, "deployments": deployment}
    never = {"secrets": NEVER_ON_SECRETS, "deployments": NEVER_ON_DEPLOYMENTS}
    problems = []
    if role.get("kind") != "Role" or role.get("metadata", {}).get("namespace") != namespace:
        problems.append(f"not a Role in namespace {namespace}")
    for index, rule in enumerate(role.get("rules") or []):
        resources = set(rule.get("resources") or [])
        verbs = set(rule.get("verbs") or [])
        if "*" in resources or "*" in verbs:
            problems.append(f"rule {index}: wildcard")
        for kind in sorted(resources & set(wanted)):
            if verbs & NAMED_VERBS and not rule.get("resourceNames"):
                problems.append(f"rule {index}: {kind} not limited by resourceNames to {wanted[kind]}")
            if "patch" in verbs and rule.get("resourceNames") != [wanted[kind]]:
                problems.append(f"rule {index}: patch on {kind} other than {wanted[kind]}")
            if verbs & never[kind]:
                problems.append(f"rule {index}: {', '.join(sorted(verbs & never[kind]))} on {kind}")
    return problems


def test_the_documented_role_is_what_the_program_prints_for_prod() -> None:
    assert documented_role() == generated_role("prod")


def test_the_shipped_role_is_limited_to_the_gateways_secret_and_deployment() -> None:
    for stack in ("prod", "dev", "local"):
        config, _ = rbac.load_stack(stack, ROOT)
        names = manifests.object_names(config.gateways[0])
        role = generated_role(stack)
        assert role_problems(role, names.token_secret, names.deployment, names.namespace) == [], stack


def test_the_role_check_fails_on_the_former_rights() -> None:
    """The rights the table gave before issue 16: get/patch on every Secret and Deployment."""
    former = {
        "kind": "Role",
        "metadata": {"namespace": "contoso-weu-gw"},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch", "list"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
        ],
    }
    assert role_problems(former, "contoso-weu-gw-token", "contoso-weu-gw", "contoso-weu-gw") == [
        "rule 0: secrets not limited by resourceNames to contoso-weu-gw-token",
        "rule 0: patch on secrets other than contoso-weu-gw-token",
        "rule 1: deployments not limited by resourceNames to contoso-weu-gw",
        "rule 1: patch on deployments other than contoso-weu-gw",
        "rule 2: list on secrets",
    ]
