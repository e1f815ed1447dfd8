"""Migration from what exists (issue 24, item 1): the settings that name what a stack may take over,
the cluster guard's rule for them, and an existing APIM gateway imported and its token renewed.

On the real engine and API server: tests/integration/test_migration_on_cluster.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure_fakes import GENERATE_TOKEN, ExampleArm, client_factory
from harness import NOW, NS, SUBSCRIPTION_ID, refused, run_main, stack, stack_file_config

from components.azure.token import GatewayTokenProvider
from components.config import ConfigError, parse_stack_config
from components.kubernetes import cluster_guard
from components.kubernetes.adoption import check_adoption
from components.kubernetes.cluster_guard import OWNER_ANNOTATION, ClusterGuardProvider
from components.kubernetes.manifests import PATCH_FORCE_ANNOTATION

PORTAL_ADOPT = [
    {"kind": "Secret", "name": "contoso-dev-gw-token"},
    {"kind": "ConfigMap", "name": "contoso-dev-gw-env"},
    {"kind": "Service", "name": "contoso-dev-gw-live-traffic"},
    {"kind": "Service", "name": "contoso-dev-gw-instance-discovery"},
]
"""What the portal's YAML and its ``kubectl create secret`` left (docs/migration.md), for the dev stack's gateway."""


def adopting(adopt: list[dict[str, Any]], **gateway: Any) -> dict[str, Any]:
    return stack("dev", kubernetes={"adopt": adopt}, **gateway)


# --- kubernetes.adopt: only names the stack registers ------------------------------------------


def names_refused(raw: dict[str, Any]) -> str:
    """The error ``__main__`` raises, before registering anything, for entries naming no object of the gateway."""
    with pytest.raises(ConfigError) as caught:
        check_adoption(parse_stack_config(raw, (), now=NOW))
    return str(caught.value)


def test_an_entry_naming_an_object_the_stack_does_not_register_is_refused_with_the_allowed_names() -> None:
    message = names_refused(adopting([{"kind": "Service", "name": "contoso-dev-gw"}]))
    assert "kubernetes.adopt[0] = {kind: Service, name: 'contoso-dev-gw'}" in message
    assert "allowed names for Service: 'contoso-dev-gw-instance-discovery', 'contoso-dev-gw-live-traffic'" in message


def test_an_entry_in_another_namespace_a_namespaced_namespace_and_a_duplicate_are_refused() -> None:
    message = refused(
        adopting(
            [
                {"kind": "ConfigMap", "name": "contoso-dev-gw-env", "namespace": "elsewhere"},
                {"kind": "Namespace", "name": "contoso-dev-gw", "namespace": "x"},
                {"kind": "ConfigMap", "name": "contoso-dev-gw-env"},
                {"kind": "ConfigMap", "name": "contoso-dev-gw-env"},
            ]
        )
    )
    assert "adopt[0] = {kind: ConfigMap, name: 'contoso-dev-gw-env', namespace: 'elsewhere'}: the stack only" in message
    assert (
        "adopt[1] = {kind: Namespace, name: 'contoso-dev-gw', namespace: 'x'}: a Namespace has no namespace" in message
    )
    assert "adopt[3] = {kind: ConfigMap, name: 'contoso-dev-gw-env'}: listed twice" in message


def test_a_kind_the_stack_never_adopts_is_refused_by_the_schema() -> None:
    message = refused(adopting([{"kind": "PriorityClass", "name": "contoso-dev-gw"}]))
    assert "kubernetes.adopt" in message and "PriorityClass" in message


def test_render_mode_adopts_nothing() -> None:
    raw = stack("dev", kubernetes={"adopt": PORTAL_ADOPT[:1], "renderYamlToDirectory": "out"})
    assert "renderYamlToDirectory applies nothing to a cluster, so nothing can be adopted" in refused(raw)


def test_the_namespace_is_adoptable_only_when_the_stack_creates_it() -> None:
    raw = adopting([{"kind": "Namespace", "name": "default"}], namespace={"name": "default", "create": False})
    assert "allowed names for Namespace: none in this configuration" in names_refused(raw)
    check_adoption(parse_stack_config(adopting(PORTAL_ADOPT), (), now=NOW))  # the portal's names pass


def test_the_program_refuses_it_too() -> None:
    with pytest.raises(Exception, match="allowed names for Service"):
        run_main(adopting([{"kind": "Service", "name": "contoso-dev-gw"}]))


# --- what the program registers for the adopted objects ----------------------------------------


def annotations_by_object(raw: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """(kind, name) → annotations of every Kubernetes object the program registers."""
    return {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r.inputs["metadata"].get("annotations") or {}
        for r in run_main(raw).resources
        if r.type.startswith("kubernetes:") and "metadata" in r.inputs
    }


def forced(annotations: dict[tuple[str, str], dict[str, str]]) -> set[tuple[str, str]]:
    return {key for key, values in annotations.items() if values.get(PATCH_FORCE_ANNOTATION) == "true"}


def test_adopted_objects_are_applied_with_patch_force_and_the_owner_and_nothing_else_is() -> None:
    before = annotations_by_object(stack("dev"))
    after = annotations_by_object(adopting(PORTAL_ADOPT))
    # The Deployment is forced already (the autoscaler's fields, manifests/workload.py); the rest only when adopted.
    assert forced(after) - forced(before) == {(entry["kind"], entry["name"]) for entry in PORTAL_ADOPT}
    assert all(values[OWNER_ANNOTATION] == "apim-gateway/dev" for values in after.values())


def test_adopted_services_wait_for_the_deployment_and_the_guard_is_told_exactly_the_entries() -> None:
    recording = run_main(adopting(PORTAL_ADOPT[2:3]))
    deployment = recording.one("kubernetes:apps/v1:Deployment")
    traffic = recording.one("kubernetes:core/v1:Service", "contoso-dev-gw-traffic")
    discovery = recording.one("kubernetes:core/v1:Service", "contoso-dev-gw-discovery")
    deployment_urn = next(urn for urn in traffic.dependencies if urn.endswith("::contoso-dev-gw-deployment"))
    assert deployment_urn.endswith(deployment.name)
    assert not any(urn.endswith("::contoso-dev-gw-deployment") for urn in discovery.dependencies)
    guards = [r for r in recording.of_type(cluster_guard.GUARD_TYPE) if r.name == "contoso-dev-gw-cluster"]
    (guard_inputs,) = [r.inputs for r in guards]
    assert guard_inputs["adopt"] == [["Service", "contoso-dev-gw", "contoso-dev-gw-live-traffic"]]
    assert guard_inputs["deployment_selector"] == {
        "app.kubernetes.io/name": "azure-api-management-gateway",
        "app.kubernetes.io/instance": "contoso-dev-gw",
    }


def test_without_adopt_the_guard_inputs_are_as_before() -> None:
    recording = run_main(stack("dev"))
    (guard,) = [r for r in recording.of_type(cluster_guard.GUARD_TYPE) if r.name == "contoso-dev-gw-cluster"]
    assert "adopt" not in guard.inputs and "deployment_selector" not in guard.inputs


# --- the guard's rule -------------------------------------------------------------------------

OWNER = "apim-gateway/local"
SELECTOR = {"app.kubernetes.io/name": "azure-api-management-gateway", "app.kubernetes.io/instance": "gw"}


def guard_check(monkeypatch: pytest.MonkeyPatch, live: dict[tuple[str, str], dict[str, Any]], **news: Any) -> list[str]:
    """The guard's ``check`` against a cluster holding ``live`` ((kind, name) → object)."""

    class Client:
        def close(self) -> None:
            pass

    def read(
        _client: Any, _api: str, kind: str, name: str, _namespace: str | None, whole: bool = False
    ) -> dict[str, Any] | None:
        if kind == "Namespace" and name == "kube-system":
            return {"metadata": {"uid": "cluster-uid"}}
        found = live.get((kind, name))
        # As the API server answers the guard's metadata-only read: no spec unless asked for the whole.
        return found if found is None or whole else {"metadata": found.get("metadata") or {}}

    monkeypatch.setattr(cluster_guard, "_api_client", lambda _access: Client())
    monkeypatch.setattr(cluster_guard, "_read", read)
    inputs = {
        "gateway": "gw",
        "owner": OWNER,
        "access": {"kubeconfig_path": "kubeconfig"},
        "cluster_identifier": "apim-gateway",
        "objects": [
            ["v1", "ConfigMap", "default", "gw-env"],
            ["v1", "Service", "default", "gw-live-traffic"],
            ["apps/v1", "Deployment", "default", "gw"],
        ],
        **news,
    }
    result = ClusterGuardProvider().check({}, inputs)
    return [failure.reason for failure in result.failures or []]


def portal_object(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "gw"}}, "spec": spec}


def test_the_guard_lets_through_exactly_the_listed_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    live = {("ConfigMap", "gw-env"): portal_object(), ("Service", "gw-live-traffic"): portal_object()}
    unlisted = guard_check(monkeypatch, live)
    assert len(unlisted) == 2 and all("list it in kubernetes.adopt" in reason for reason in unlisted)
    one_listed = guard_check(
        monkeypatch, live, adopt=[["ConfigMap", "default", "gw-env"]], deployment_selector=SELECTOR
    )
    (reason,) = one_listed
    assert "Service default/gw-live-traffic already exists and was not created by this stack" in reason
    both = [["ConfigMap", "default", "gw-env"], ["Service", "default", "gw-live-traffic"]]
    assert guard_check(monkeypatch, live, adopt=both, deployment_selector=SELECTOR) == []


def test_an_entry_for_an_object_not_registered_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    (reason,) = guard_check(
        monkeypatch, {}, adopt=[["PodDisruptionBudget", "default", "gw"]], deployment_selector=SELECTOR
    )
    assert "names PodDisruptionBudget default/gw, which this configuration does not register" in reason


def test_an_adopted_deployment_with_another_selector_is_refused_naming_the_cut_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    portal = {("Deployment", "gw"): portal_object(selector={"matchLabels": {"app": "gw"}})}
    adopt = [["Deployment", "default", "gw"]]
    (reason,) = guard_check(monkeypatch, portal, adopt=adopt, deployment_selector=SELECTOR)
    assert "selects its pods with {'matchLabels': {'app': 'gw'}}" in reason
    assert "kubectl delete deployment gw -n default --cascade=orphan" in reason
    same = {("Deployment", "gw"): portal_object(selector={"matchLabels": SELECTOR})}
    assert guard_check(monkeypatch, same, adopt=adopt, deployment_selector=SELECTOR) == []


# --- an existing APIM gateway, managed from now on ---------------------------------------------

PROD_GATEWAY = "contoso-weu-gw"
ARM_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-apim-prod/providers/Microsoft.ApiManagement/service/"
    f"contoso-apim-prod/gateways/{PROD_GATEWAY}"
)


def test_adopt_gateway_resource_id_must_name_this_gateway_in_managed_mode() -> None:
    wrong = stack("prod", adoptGatewayResourceId=ARM_ID.replace(PROD_GATEWAY, "other-gw"))
    message = refused(wrong)
    assert f"adoptGatewayResourceId = {ARM_ID.replace(PROD_GATEWAY, 'other-gw')!r}" in message
    assert f"service/contoso-apim-prod/gateways/{PROD_GATEWAY}" in message
    existing = stack_file_config("local")
    existing[f"{NS}:gateways"][0]["adoptGatewayResourceId"] = ARM_ID
    assert "only apim.mode 'managed' creates (and so can import) the gateway resource" in refused(existing)


def test_an_existing_gateway_is_imported_once_and_its_token_generated_for_it() -> None:
    # The prod example uses workload identity; the token mode is the one with a token to renew.
    recording = run_main(stack("prod", adoptGatewayResourceId=ARM_ID, auth={"mode": "token"}), stack="prod")
    (gateway,) = recording.of_type("azure-native:apimanagement:Gateway")
    assert gateway.import_id == ARM_ID  # read, not created: the engine imports it (see gateway.py _adopting)
    assert gateway.inputs["gatewayId"] == PROD_GATEWAY
    others = [r for r in recording.resources if r.type.startswith("azure-native:") and r is not gateway]
    assert all(r.import_id == "" for r in others)  # nothing else is taken over
    token = recording.one("pulumi-python:dynamic:Resource", f"{PROD_GATEWAY}-access-token")
    assert any(urn.endswith(f"::{PROD_GATEWAY}-gateway") for urn in token.dependencies)

    # The token resource's own provider, on Microsoft's example of the operation: it asks ARM for a
    # token of exactly this gateway (the renewal re-runs the same create for each new window).
    arm = ExampleArm(GENERATE_TOKEN)
    props = {key: value for key, value in token.inputs.items() if not key.startswith("__")}
    result = GatewayTokenProvider(client_factory=client_factory(arm)).create(props)
    assert arm.mismatches == []
    (request,) = arm.requests
    assert request.url is not None
    assert f"/service/contoso-apim-prod/gateways/{PROD_GATEWAY}/generateToken" in request.url
    assert set(json.loads(request.body or b"{}")) == {"keyType", "expiry"}
    assert result.outs is not None and result.outs["value"].startswith(f"GatewayKey {PROD_GATEWAY}&")


def test_without_the_setting_the_gateway_is_created_as_before() -> None:
    recording = run_main(stack("prod"), stack="prod")
    (gateway,) = recording.of_type("azure-native:apimanagement:Gateway")
    assert gateway.import_id == ""
