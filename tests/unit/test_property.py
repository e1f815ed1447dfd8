"""Property-based: every stack configuration is either refused up front, with the one message,
or deploys objects the Kubernetes schema and Azure Resource Manager accept.

Profiles (``APIMGW_HYPOTHESIS_PROFILE``): ``ci`` (default; a fixed number of examples, derandomized
so every CI run tries the same configurations) and ``long`` (many more, random, for a run on
demand: ``APIMGW_HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/unit/test_property.py``).
The counts of one run are printed at the end of the module (see docs/validation.md).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from stack_invariants import PROPERTY_SUMMARY, arm_problems, problem_key, run_stack
from stack_strategies import DrawnStack, stacks

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("APIMGW_HYPOTHESIS_EXAMPLES", "150")),
    deadline=timedelta(seconds=30),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("APIMGW_HYPOTHESIS_EXAMPLES", "2000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("APIMGW_HYPOTHESIS_PROFILE", "ci"))

OUTCOMES: Counter[str] = Counter()
REFUSED_KEYS: Counter[str] = Counter()
SHAPES: Counter[str] = Counter()
AZURE_CHECKED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Adds this module's counts to the terminal summary (``tests/unit/conftest.py``)."""
    yield
    if not OUTCOMES:
        return
    total = sum(OUTCOMES.values())
    request.config.stash.setdefault(PROPERTY_SUMMARY, []).extend(
        [
            f"{total} configurations tried (at most {PROFILE.max_examples}): "
            f"{OUTCOMES['refused']} refused, {OUTCOMES['deployed']} deployed",
            "drawn: " + ", ".join(f"{shape} {count}" for shape, count in sorted(SHAPES.items())),
            "Azure resources of deployed stacks checked against ARM's rules: "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(AZURE_CHECKED.items())),
            "most refused keys: " + ", ".join(f"{key} {count}" for key, count in REFUSED_KEYS.most_common(15)),
        ]
    )


def shape_of(stack: DrawnStack) -> list[str]:
    gateways = stack.config["apim-gateway:gateways"]
    modes = {entry.get("auth", {}).get("mode", "token") for entry in gateways}
    return [
        stack.environment,
        "fleet" if len(gateways) > 1 else "one gateway",
        f"apim {stack.config['apim-gateway:apim']['mode']}",
        *sorted(f"auth {mode}" for mode in modes),
    ]


@settings(PROFILE)
@given(stacks())
def test_every_config_is_refused_up_front_or_deploys_valid_objects(stack: DrawnStack) -> None:
    """The invariant of ``tests/stack_invariants.py`` (sources of each Azure constraint cited
    there; Kubernetes objects checked with kubernetes-validate's strict schema of 1.34)."""
    outcome = run_stack(stack)
    OUTCOMES["refused" if outcome.refused else "deployed"] += 1
    SHAPES.update(shape_of(stack))
    REFUSED_KEYS.update({problem_key(problem) for problem in outcome.problems})
    AZURE_CHECKED.update(
        r.type.rsplit(":", 1)[-1] for r in outcome.recording.resources if r.type.startswith("azure-native:")
    )


@pytest.mark.parametrize(
    ("resource_type", "inputs"),
    [
        ("azure-native:apimanagement:Gateway", {"gatewayId": "managed", "resourceGroupName": "rg"}),
        ("azure-native:apimanagement:Gateway", {"gatewayId": "gw", "resourceGroupName": "rg."}),
        ("azure-native:apimanagement:Gateway", {"gatewayId": "gw", "serviceName": "9apim"}),
        ("azure-native:apimanagement:GatewayHostnameConfiguration", {"hcId": "h" * 81}),
        ("azure-native:apimanagement:GatewayApiEntityTag", {"apiId": ""}),
        ("azure-native:apimanagement:GatewayCertificateAuthority", {"certificateId": "root#ca"}),
        ("azure-native:authorization:RoleDefinition", {"roleDefinitionId": "configuration-reader"}),
        ("azure-native:authorization:RoleAssignment", {"roleAssignmentName": "reader-assignment"}),
        ("azure-native:managedidentity:UserAssignedIdentity", {"resourceName": "id"}),
        (
            "azure-native:managedidentity:FederatedIdentityCredential",
            {"federatedIdentityCredentialResourceName": "-gw"},
        ),
    ],
)
def test_the_arm_oracle_refuses_what_arm_documents_as_invalid(resource_type: str, inputs: dict[str, str]) -> None:
    """Sources in ``stack_invariants.arm_problems``; a valid neighbour passes."""
    assert arm_problems(resource_type, inputs)
    valid = {
        "gatewayId": "gw",
        "resourceGroupName": "rg_(prod).apim",
        "serviceName": "apim",
        "hcId": "h" * 80,
        "apiId": "a" * 80,
        "certificateId": "root.ca",
        "roleDefinitionId": "6f1c2b9e-3f5c-4a51-9a55-8d7c1a0f4b21",
        "roleAssignmentName": "6f1c2b9e-3f5c-4a51-9a55-8d7c1a0f4b21",
        "resourceName": "id-gw",
        "federatedIdentityCredentialResourceName": "gw-gw_ns",
    }
    assert arm_problems(resource_type, {key: valid[key] for key in inputs}) == []
