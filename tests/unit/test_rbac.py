"""The shipped RBAC (``components/kubernetes/rbac.py``) names exactly what each stack's program
registers, and grants each identity only what docs/delivery.md ("Kubernetes rights") says.

The program is recorded under Pulumi's mocks (``harness.run_main``) for every stack file; the
objects it registers must be the ones ``owned_objects`` derives from the config alone, so the
``resourceNames`` of every Role match the stack. Kubernetes RBAC cannot limit ``create``,
``deletecollection``, ``list`` or ``watch`` by ``resourceNames`` (Kubernetes docs, "Using RBAC
Authorization", "Referring to resources"): a rule naming objects must hold no such verb, or it
would silently grant nothing (create) or need a field selector (list, watch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cluster_client import kubernetes_objects, stack_config
from harness import ROOT, run_main

from components.kubernetes import rbac

STACKS = ("local", "dev", "prod")
WRITES = {"create", "patch", "update", "delete", "deletecollection", "bind", "escalate", "impersonate", "*"}


def shipped(stack: str, identity: str) -> list[dict[str, Any]]:
    config, owner = rbac.load_stack(stack, ROOT)
    subject = rbac.parse_subject("ServiceAccount:ci:job")
    return rbac.stack_manifests(config, owner, identity, subject)


def rules_of(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for doc in documents if doc["kind"] in ("Role", "ClusterRole") for rule in doc["rules"]]


@pytest.mark.parametrize("stack", STACKS)
def test_the_objects_named_are_exactly_those_the_program_registers(stack: str) -> None:
    config, _ = rbac.load_stack(stack, ROOT)
    recorded = kubernetes_objects(run_main(*stack_config(stack), stack=stack))
    assert sorted({rbac.ref(obj) for obj in recorded}) == rbac.owned_objects(config.gateways[0])


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("identity", rbac.IDENTITIES)
def test_no_rule_holds_a_wildcard_or_a_verb_resource_names_cannot_limit_beside_names(stack: str, identity: str) -> None:
    for rule in rules_of(shipped(stack, identity)):
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        if "resourceNames" in rule:
            assert not {"create", "list", "watch", "deletecollection"} & set(rule["verbs"]), rule


@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_identity_reads_named_objects_only_and_writes_nothing(stack: str) -> None:
    for rule in rules_of(shipped(stack, "preview")):
        assert rule["verbs"] == ["get"] and rule["resourceNames"], rule


@pytest.mark.parametrize("stack", STACKS)
def test_the_renewal_identity_writes_only_the_token_secret_and_the_deployment(stack: str) -> None:
    config, _ = rbac.load_stack(stack, ROOT)
    gateway = config.gateways[0]
    writes = {
        (resource, name)
        for rule in rules_of(shipped(stack, "renewal"))
        if WRITES & set(rule["verbs"])
        for resource in rule["resources"]
        for name in rule.get("resourceNames") or ["<any>"]
    }
    assert writes == {("secrets", f"{gateway.name}-token"), ("deployments", gateway.name)}
    assert all(set(rule["verbs"]) <= {"get", "patch", "list", "watch"} for rule in rules_of(shipped(stack, "renewal")))


def test_the_deploy_identity_gets_the_owned_namespace_and_create_only_where_it_must() -> None:
    documents = shipped("prod", "deploy")
    namespace = documents[0]
    assert namespace == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "contoso-weu-gw", "annotations": {"apim-gateway/stack": "apim-gateway/prod"}},
    }
    creates = {resource for rule in rules_of(documents) if "create" in rule["verbs"] for resource in rule["resources"]}
    assert "namespaces" not in creates  # the namespace comes with the bindings
    assert {"storageclasses", "priorityclasses", "deployments", "secrets"} <= creates
    (cluster_role,) = [doc for doc in documents if doc["kind"] == "ClusterRole"]
    named = {(r["resources"][0], n) for r in cluster_role["rules"] for n in r.get("resourceNames", [])}
    assert ("namespaces", "kube-system") in named and ("storageclasses", "apim-gateway-backup") in named


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("ServiceAccount:ci:pr", {"kind": "ServiceAccount", "name": "pr", "namespace": "ci"}),
        ("User:0000-1111", {"kind": "User", "name": "0000-1111", "apiGroup": "rbac.authorization.k8s.io"}),
    ],
)
def test_subjects(text: str, wanted: dict[str, str]) -> None:
    assert rbac.parse_subject(text) == wanted


def test_a_bad_subject_is_one_error_naming_the_value_and_what_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code = rbac.main(
        ["--stack", "dev", "--identity", "preview", "--subject", "ServiceAccount:pr", "--project-dir", str(ROOT)]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "python -m components.kubernetes.rbac: --subject 'ServiceAccount:pr': expected "
        "ServiceAccount:<namespace>:<name>, User:<name> or Group:<name> (for AKS with Entra ID: "
        "User:<object id> or Group:<object id>)\n"
    )


def test_two_gateways_in_one_namespace_get_roles_of_their_own() -> None:
    """``kubectl apply`` of a second Role of the same name would replace the first one's rules."""
    config, owner = rbac.load_stack("prod", ROOT)
    shared = config.gateways[0].namespace.model_copy(update={"name": "gateways", "create": False})
    first = config.gateways[0].model_copy(update={"namespace": shared})
    second = first.model_copy(update={"name": "contoso-weu-gw2"})
    assert first.namespace_name == second.namespace_name == "gateways"
    subject = rbac.parse_subject("User:x")
    documents: list[dict[str, Any]] = [
        doc for gateway in (first, second) for doc in rbac.gateway_manifests(gateway, owner, "preview", subject)
    ]
    names = [(doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"]) for doc in documents]
    assert len(names) == len(set(names)) == 8


def test_a_keyed_stacks_namespace_carries_the_instances_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deploy identity's Namespace is what the stack takes for its own, so it needs the stack
    instance's value (ownership.py); the other identities print no owned object and need no key."""
    import yaml

    from components.kubernetes.ownership import OWNER_ANNOTATION, owner_for

    (tmp_path / "Pulumi.yaml").write_text("name: apim-gateway\nruntime: python\n")
    document = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    document["config"]["apim-gateway:ownerKey"] = {"secure": "v1:bm90LWRlY3J5cHRlZC1oZXJl"}
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.delenv(rbac.OWNER_KEY_VARIABLE, raising=False)
    arguments = ["--stack", "local", "--subject", "User:ci", "--project-dir", str(tmp_path)]
    assert rbac.main([*arguments, "--identity", "deploy"]) == 2
    assert (
        f'{rbac.OWNER_KEY_VARIABLE}="$(pulumi config get apim-gateway:ownerKey --stack local)"'
        in capsys.readouterr().err
    )
    assert rbac.main([*arguments, "--identity", "preview"]) == 0
    capsys.readouterr()
    monkeypatch.setenv(rbac.OWNER_KEY_VARIABLE, "k" * 64)
    assert rbac.main([*arguments, "--identity", "deploy"]) == 0
    (namespace,) = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d["kind"] == "Namespace"]
    assert namespace["metadata"]["annotations"][OWNER_ANNOTATION] == owner_for("apim-gateway/local", "k" * 64)
