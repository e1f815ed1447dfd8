"""The invariant every stack configuration must satisfy, and the Azure constraints it checks.

Either ``parse_stack_config`` refuses the configuration, in which case the program fails with
that one ``ConfigError`` message (each line naming an ``apim-gateway:`` key) and registers
nothing; or the program registers resources whose Kubernetes objects pass strict schema
validation, are each created once per cluster, and whose Azure inputs satisfy the documented
Azure Resource Manager constraints below.
"""

from __future__ import annotations

import re
import runpy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import kubernetes_validate
import pytest
from harness import ROOT, Recording, run_program
from offline import restore_integers
from stack_strategies import DrawnStack

from components.config import ConfigError, parse_stack_config

PROPERTY_SUMMARY = pytest.StashKey[list[str]]()
"""Lines the property tests add to the terminal summary (``tests/unit/conftest.py``)."""

KUBERNETES_VERSION = "1.34.0"
K8S_KINDS = {
    "kubernetes:core/v1:Namespace": ("v1", "Namespace"),
    "kubernetes:core/v1:Secret": ("v1", "Secret"),
    "kubernetes:core/v1:ConfigMap": ("v1", "ConfigMap"),
    "kubernetes:core/v1:Service": ("v1", "Service"),
    "kubernetes:core/v1:ServiceAccount": ("v1", "ServiceAccount"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("v1", "PersistentVolumeClaim"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("autoscaling/v2", "HorizontalPodAutoscaler"),
}

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_APIM_ENTITY_ID = re.compile(r"^[^*#&+:<>?]{1,80}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_SERVICE_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$")
_IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
_FEDERATED_CREDENTIAL_NAME = re.compile(r"^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$")


def arm_problems(resource_type: str, inputs: dict[str, Any]) -> list[str]:
    """Documented Azure Resource Manager constraints on the inputs of one Azure resource.

    Sources:
    - azure-rest-api-specs, specification/apimanagement/resource-manager/Microsoft.ApiManagement/
      stable/2024-05-01/apimanagement.json, "parameters": GatewayIdParameter (1-80 characters,
      "Must not have value 'managed'"), GatewayHostnameConfigurationIdParameter (hcId, 1-80,
      unique per gateway), ApiIdParameter (1-80), CertificateIdParameter (1-80, ^[^*#&+:<>?]+$),
      ServiceNameParameter (1-50, ^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$);
    - common-types/resource-management/v5/types.json, ResourceGroupNameParameter (1-90,
      ^[-\\w\\._\\(\\)]+$) and Microsoft Learn, "Naming rules and restrictions for Azure resources"
      (resource groups: can't end with a period; Microsoft.Authorization roleAssignments and
      roleDefinitions: a GUID; Microsoft.ManagedIdentity userAssignedIdentities: 3-128
      alphanumerics, hyphens and underscores, starting with a letter or number);
    - specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json
      (the API version pulumi-azure-native 3.29.0 uses for managedidentity; commit 16c9ca76),
      FederatedIdentityCredentialResourceNameParameter: ^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$; the
      same pattern azure-mgmt-msi 7.0.0 ``v2023_01_31`` validates (tests/unit/test_azure_review_fixes.py).
    """
    problems = []

    def check(key: str, ok: bool) -> None:
        if key in inputs and not ok:
            problems.append(f"{resource_type}.{key} = {inputs[key]!r}")

    group = str(inputs.get("resourceGroupName", ""))
    check("resourceGroupName", bool(_RESOURCE_GROUP.match(group)) and not group.endswith("."))
    check("serviceName", bool(_SERVICE_NAME.match(str(inputs.get("serviceName", "")))))
    gateway_id = str(inputs.get("gatewayId", ""))
    check("gatewayId", 1 <= len(gateway_id) <= 80 and gateway_id.lower() != "managed")
    check("hcId", 1 <= len(str(inputs.get("hcId", ""))) <= 80)
    check("apiId", 1 <= len(str(inputs.get("apiId", ""))) <= 80)
    if resource_type.endswith("GatewayCertificateAuthority"):
        check("certificateId", bool(_APIM_ENTITY_ID.match(str(inputs.get("certificateId", "")))))
    if resource_type.endswith("RoleDefinition"):
        check("roleDefinitionId", bool(_GUID.match(str(inputs.get("roleDefinitionId", "")))))
    check("roleAssignmentName", bool(_GUID.match(str(inputs.get("roleAssignmentName", "")))))
    if resource_type.endswith("UserAssignedIdentity"):
        check("resourceName", bool(_IDENTITY_NAME.match(str(inputs.get("resourceName", "")))))
    check(
        "federatedIdentityCredentialResourceName",
        bool(_FEDERATED_CREDENTIAL_NAME.match(str(inputs.get("federatedIdentityCredentialResourceName", "")))),
    )
    return problems


def kubernetes_object(resource_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    api_version, kind = K8S_KINDS[resource_type]
    return {"apiVersion": api_version, "kind": kind, **restore_integers(inputs)}


@dataclass
class Outcome:
    refused: bool
    problems: tuple[str, ...]
    recording: Recording
    objects: list[dict[str, Any]] = field(default_factory=list)


def run_stack(stack: DrawnStack) -> Outcome:
    """Run the program on the drawn stack and check the invariant; AssertionError on a violation."""
    try:
        parse_stack_config(stack.config, stack.secret_keys)
    except ConfigError as error:
        expected: ConfigError | None = error
    else:
        expected = None

    recording = Recording()

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    try:
        run_program(program, stack.config, stack.secret_keys, stack.environment, recording=recording)
    except Exception as failure:
        assert expected is not None, f"accepted config failed in the program: {failure!r}"
        assert str(expected) in str(failure), f"the program failed otherwise than the config check: {failure!r}"
        assert recording.resources == [], "a refused config registered resources"
        assert all(problem.startswith("apim-gateway:") for problem in expected.problems), expected.problems
        return Outcome(refused=True, problems=expected.problems, recording=recording)
    assert expected is None, f"the program ran although the config check refuses it: {expected}"
    return Outcome(refused=False, problems=(), recording=recording, objects=check_deployed(recording))


def check_deployed(recording: Recording) -> list[dict[str, Any]]:
    """Every registered resource is unique, every Kubernetes object valid, every Azure input within ARM's rules."""
    urns = Counter((r.type, r.parent, r.name) for r in recording.resources)
    duplicates = [key for key, count in urns.items() if count > 1]
    assert not duplicates, f"resources registered twice (same URN): {duplicates}"

    clusters = {
        r.name: (r.inputs.get("kubeconfig"), r.inputs.get("context"), r.inputs.get("renderYamlToDirectory"))
        for r in recording.of_type("pulumi:providers:kubernetes")
    }
    objects = []
    identities: Counter[tuple[Any, ...]] = Counter()
    for resource in recording.resources:
        if resource.type in K8S_KINDS:
            obj = kubernetes_object(resource.type, resource.inputs)
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            cluster = next((c for name, c in clusters.items() if f"::{name}::" in resource.provider), resource.provider)
            metadata = obj["metadata"]
            identities[(str(cluster), obj["kind"], metadata.get("namespace"), metadata["name"])] += 1
            objects.append(obj)
        elif resource.type.startswith("azure-native:"):
            problems = arm_problems(resource.type, resource.inputs)
            assert not problems, f"inputs Azure Resource Manager refuses: {problems}"
    clashes = [key for key, count in identities.items() if count > 1]
    assert not clashes, f"one Kubernetes object created twice on one cluster: {clashes}"
    return objects


def problem_key(problem: str) -> str:
    """``apim-gateway:gateways[0](gw).resources = ...`` → ``gateways[].resources``: for counting."""
    key = problem.split(" ", 1)[0].rstrip(":")
    key = re.sub(r"\[\d+\](\([^)]*\))?", "[]", key.removeprefix("apim-gateway:"))
    key = re.sub(r"gateways\([^)]*\)", "gateways[]", key)
    return re.sub(r"(gatewayTokens|entraClientSecrets)\..*", r"\1.<gateway>", key)
