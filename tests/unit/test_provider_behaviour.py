"""What the real pulumi-kubernetes provider does with what the program registers.

Sources: pulumi-kubernetes v4.25.0 (tag ``v4.25.0``, commit f47bc2d6f199, the release
requirements.txt pins and scripts/toolchain.sh builds), cited as ``provider.go:<line>`` under
``provider/pkg/``; the Python SDK pinned in requirements.txt (``pulumi_kubernetes/provider.py``,
4.25.0). The same plugin runs for real in tests/integration. See docs/provider-behaviour.md.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from harness import Recording, run_main, run_program, stack_file_config
from offline import OfflineMocks
from pulumi.dynamic import CheckResult

from components import SelfHostedGateway, SelfHostedGatewayArgs, parse_stack_config
from components.config import ConfigError, rules
from components.kubernetes import manifests
from components.kubernetes.cluster_guard import GUARD_TYPE as CLUSTER_GUARD_TYPE
from components.kubernetes.cluster_guard import PLURALS
from components.kubernetes.delivery_guard import APPLY, GUARD_TYPE, RENDER, DeliveryModeGuardProvider

NS = "apim-gateway"
PROVIDER = "pulumi:providers:kubernetes"
EXISTING_TOKEN = "contoso-dev-gw&203001010000&c2VjcmV0LXNpZ25hdHVyZQ=="


def provider_inputs(recording: Recording) -> dict[str, Any]:
    return recording.one(PROVIDER).inputs


# -- 1. the provider gets the kubeconfig pinned, never its location ----------------------


def write_kubeconfig(directory: Path, server: str, current: str = "aks-contoso-dev") -> Path:
    """A kubeconfig with a CA file beside it (a relative reference) and two contexts."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_text(f"CA of {server}\n")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "dev", "cluster": {"server": server, "certificate-authority": "ca.crt"}},
            {"name": "other", "cluster": {"server": "https://other.example.invalid"}},
        ],
        "users": [{"name": "dev", "user": {"token": "dev-user-token"}}],
        "contexts": [
            {"name": "aks-contoso-dev", "context": {"cluster": "dev", "user": "dev"}},
            {"name": "other", "context": {"cluster": "other", "user": "dev"}},
        ],
    }
    path = directory / "config"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_provider_gets_the_pinned_kubeconfig_not_its_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``refresh`` and ``destroy`` configure the provider with its stored inputs (pulumi v3.259.0
    ``registry.go``:788-868 ``Same``); with ``""`` the provider would load whatever kubeconfig is
    current then (``provider.go``:758-792). So the content is stored, a secret, pinned to the
    stack's context with its files embedded: a file moved with the same content changes nothing,
    and no runner's path is in state (the SDK would store ``KUBECONFIG``, SDK ``provider.py``:473-474)."""
    runs = []
    for directory in (tmp_path / "home-runner-a", tmp_path / "Users-dev"):
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(directory, "https://dev.example.invalid")))
        recording = run_main(stack_file_config("dev"))
        runs.append(provider_inputs(recording))
        assert "kubeconfig" in recording.one(PROVIDER).secret_paths
    assert runs[0] == runs[1]
    pinned = json.loads(runs[0]["kubeconfig"])
    assert [c["name"] for c in pinned["contexts"]] == ["aks-contoso-dev"]
    assert pinned["current-context"] == "aks-contoso-dev"
    (cluster,) = pinned["clusters"]
    assert cluster["cluster"] == {
        "server": "https://dev.example.invalid",
        "certificate-authority-data": base64.b64encode(b"CA of https://dev.example.invalid\n").decode(),
    }
    assert str(tmp_path) not in json.dumps(runs[0])


def test_another_cluster_behind_the_same_context_is_new_content(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the cluster's identity pins: another server behind the same context name is another
    input (a provider update under a constant ``clusterIdentifier``, ``provider.go``:408-424, which
    the cluster guard refuses), never silently the same one."""
    kubeconfigs = [write_kubeconfig(tmp_path / name, f"https://{name}.example.invalid") for name in ("a", "b")]
    runs = []
    for path in kubeconfigs:
        monkeypatch.setenv("KUBECONFIG", str(path))
        runs.append(provider_inputs(run_main(stack_file_config("dev"))))
    assert runs[0]["kubeconfig"] != runs[1]["kubeconfig"]
    assert runs[0]["clusterIdentifier"] == runs[1]["clusterIdentifier"] == "apim-gateway"


def test_an_explicit_kubeconfig_path_is_read_whatever_kubeconfig_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``kubeconfigPath`` wins over ``KUBECONFIG``; it is read by the program (``~`` expanded, as the
    provider does, ``util.go``:143-155) and pinned like the ambient kubeconfig."""
    monkeypatch.setenv("HOME", str(tmp_path))
    write_kubeconfig(tmp_path / ".kube", "https://aks-dev.example.invalid").rename(tmp_path / ".kube" / "aks-dev.yaml")
    runs = []
    for ambient in ("a", "b"):
        monkeypatch.setenv(
            "KUBECONFIG", str(write_kubeconfig(tmp_path / ambient, f"https://{ambient}.example.invalid"))
        )
        config = stack_file_config("dev")
        config[f"{NS}:gateways"][0]["kubernetes"] = {"kubeconfigPath": "~/.kube/aks-dev.yaml"}
        runs.append(provider_inputs(run_main(config)))
    assert runs[0] == runs[1]
    assert json.loads(runs[0]["kubeconfig"])["clusters"][0]["cluster"]["server"] == "https://aks-dev.example.invalid"


def test_cluster_identifier_is_stable_and_configurable() -> None:
    """While ``clusterIdentifier`` is present and unchanged, ``DiffConfig`` drops every
    replacement (``provider.go``:415-424): a CA rotation or a new server FQDN in the kubeconfig
    is a provider update, not a replacement of every object. Adding it to a stack that had none
    is not a replacement either (``provider.go``:408-414 replaces only on ``Updated``)."""
    dev = provider_inputs(run_main(stack_file_config("dev")))
    assert dev["clusterIdentifier"] == "apim-gateway"  # a constant by default
    config = stack_file_config("dev")
    # A renamed context changes nothing: a changed identifier would replace every object
    # create-before-delete (engine step_generator.go); in 4.25 each create adopts the existing
    # object (await/await.go:187-212) and the old resource's delete then removes it.
    config[f"{NS}:gateways"][0]["kubernetes"] = {"context": "aks-contoso-dev-renamed"}
    assert provider_inputs(run_main(config))["clusterIdentifier"] == "apim-gateway"
    config[f"{NS}:gateways"][0]["kubernetes"] = {"clusterIdentifier": "aks-dev-westeurope-2026"}
    assert provider_inputs(run_main(config))["clusterIdentifier"] == "aks-dev-westeurope-2026"


RUNNER_VARIABLES = {
    # Every PULUMI_K8S_* variable the pinned SDK reads when an input is unset (pulumi_kubernetes
    # 4.25.0 provider.py, Provider._internal_init), each set against the stack's choice.
    # Left unset on purpose, and hidden from the SDK (components/kubernetes/provider.py): the
    # provider reads the variable itself when the input is absent (provider.go:538-552).
    "PULUMI_K8S_DELETE_UNREACHABLE": ("deleteUnreachable", "true", None),
    "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE": ("enableConfigMapMutable", "false", "true"),
    "PULUMI_K8S_ENABLE_SECRET_MUTABLE": ("enableSecretMutable", "false", "true"),
    "PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": ("enableServerSideApply", "false", "true"),
    "PULUMI_K8S_SKIP_UPDATE_UNREACHABLE": ("skipUpdateUnreachable", "true", "false"),
    "PULUMI_K8S_SUPPRESS_DEPRECATION_WARNINGS": ("suppressDeprecationWarnings", "true", "false"),
    "PULUMI_K8S_SUPPRESS_HELM_HOOK_WARNINGS": ("suppressHelmHookWarnings", "true", "false"),
}


def test_the_sdk_reads_exactly_these_runner_variables() -> None:
    """The list above is the SDK's whole list: a new fallback in a new SDK release fails here."""
    import inspect

    import pulumi_kubernetes.provider as provider_module

    source = inspect.getsource(provider_module.Provider._internal_init)
    assert sorted(set(re.findall(r"get_env_bool\('(PULUMI_K8S_[A-Z_]+)'\)", source))) == sorted(RUNNER_VARIABLES)


def test_provider_options_do_not_come_from_the_runners_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A runner with every ``PULUMI_K8S_*`` variable set against the stack registers the same
    provider as one with none: each input is passed explicitly. (Server-side apply off would fail
    every Patch resource, ``provider.go``:1105-1108 in Check; ``enablePatchForce`` does not exist in 4.25.)"""
    clean = provider_inputs(run_main(stack_file_config("dev")))
    for variable, (_, against, _) in RUNNER_VARIABLES.items():
        monkeypatch.setenv(variable, against)
    polluted = provider_inputs(run_main(stack_file_config("dev")))
    assert polluted == clean
    assert {key: polluted.get(key) for key, _, _ in RUNNER_VARIABLES.values()} == {
        key: wanted for key, _, wanted in RUNNER_VARIABLES.values()
    }
    assert "upsertExistingObjects" not in polluted  # 4.25.0 has none, and the program sets none
    assert "deleteUnreachable" not in polluted
    assert os.environ["PULUMI_K8S_DELETE_UNREACHABLE"] == "true"  # hidden only while registering


# -- 2. renewals and setting changes update in place --------------------------------------


def test_secrets_and_config_maps_update_in_place() -> None:
    """Without ``enableSecretMutable``/``enableConfigMapMutable`` a change of a Secret's
    ``stringData``/``data`` or a ConfigMap's ``data`` is a replacement (``diff.go``:22-37), and a
    named object is replaced delete-first (``provider.go``:1508-1521): a pod starting in that gap
    cannot start. Set explicitly, so neither the SDK's nor the provider's environment fallback
    (``PULUMI_K8S_ENABLE_SECRET_MUTABLE``, ``provider.go``:602-616) decides."""
    inputs = provider_inputs(run_main(stack_file_config("prod"), stack="prod"))
    assert inputs["enableSecretMutable"] == "true"
    assert inputs["enableConfigMapMutable"] == "true"


def test_renewal_changes_secret_data_and_pod_template_but_no_names() -> None:
    """What ``pulumi preview`` shows for a renewal: the token updated, the Secret updated in place
    (same name, new ``stringData``), the Deployment updated (the credentials digest: a rollout)."""
    config = stack_file_config("dev")
    config[f"{NS}:apim"] = {"mode": "existing", "serviceName": "contoso-apim-dev"}
    runs = []
    for token in (EXISTING_TOKEN, "contoso-dev-gw&203002010000&b3RoZXItc2lnbmF0dXJl"):
        config[f"{NS}:gatewayTokens"] = {"contoso-dev-gw": token}
        runs.append(run_main(config, (f"{NS}:gatewayTokens",)))
    secrets = [r.one("kubernetes:core/v1:Secret").inputs for r in runs]
    assert secrets[0]["metadata"] == secrets[1]["metadata"]
    assert secrets[0]["stringData"] != secrets[1]["stringData"]
    deployments = [r.one("kubernetes:apps/v1:Deployment").inputs for r in runs]
    assert deployments[0]["metadata"] == deployments[1]["metadata"]
    assert deployments[0]["spec"]["template"] != deployments[1]["spec"]["template"]


def test_a_provider_passed_in_without_the_flags_is_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    """The component cannot read another provider's inputs; it warns unless told they are set."""
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    gateway = parse_stack_config(stack_file_config("dev")).gateways[0]

    def program(updates_in_place: bool) -> None:
        import pulumi_kubernetes as k8s

        SelfHostedGateway(
            "gw",
            SelfHostedGatewayArgs(
                gateway=gateway,
                apim_resource_group_name="rg",
                apim_service_name="svc",
                kubernetes_provider=k8s.Provider("theirs", kubeconfig=""),
                kubernetes_provider_updates_in_place=updates_in_place,
            ),
        )

    recording = run_program(lambda: program(False))
    assert not recording.of_type(GUARD_TYPE)  # their provider, their delivery mode
    assert any("enableSecretMutable" in warning for warning in warnings)
    warnings.clear()
    run_program(lambda: program(True))
    assert warnings == []


# -- 5. render mode ----------------------------------------------------------------------


def test_delivery_mode_switch_is_refused_with_the_safe_path() -> None:
    """A switch of ``renderYamlToDirectory`` replaces the provider (``provider.go``:454-458) and so
    every object; with an unchanged ``clusterIdentifier`` nothing is replaced (``provider.go``:
    415-424) and the live objects stay under a provider that only writes files. The guard's
    ``check`` refuses both directions and names the safe path."""
    provider = DeliveryModeGuardProvider()
    for old, new in ((APPLY, RENDER), (RENDER, APPLY)):
        result: CheckResult = provider.check({"gateway": "gw", "mode": old}, {"gateway": "gw", "mode": new})
        assert len(result.failures) == 1
        reason = result.failures[0].reason
        assert "renderYamlToDirectory" in reason and "pulumi destroy" in reason and "new stack" in reason
        with pytest.raises(ValueError, match="pulumi destroy"):
            provider.diff("id", {"gateway": "gw", "mode": old}, {"gateway": "gw", "mode": new})
    assert provider.check({}, {"gateway": "gw", "mode": RENDER}).failures == []  # first deploy
    assert provider.check({"gateway": "gw", "mode": RENDER}, {"gateway": "gw", "mode": RENDER}).failures == []


def test_a_change_of_the_render_directory_alone_is_refused() -> None:
    """With the same ``clusterIdentifier`` a new directory is a provider update that renders nothing
    there (seen with the real plugin: tests/integration/test_delivery_mode_engine.py)."""
    provider = DeliveryModeGuardProvider()
    old = {"gateway": "gw", "mode": RENDER, "directory": "rendered/a"}
    (failure,) = provider.check(old, {**old, "directory": "rendered/b"}).failures
    assert "'rendered/a' to 'rendered/b'" in failure.reason and "pulumi destroy" in failure.reason
    assert provider.check(old, dict(old)).failures == []
    # A guard recorded before it kept the directory: nothing to compare with, so nothing refused.
    assert provider.check({"gateway": "gw", "mode": RENDER}, {**old, "directory": "rendered/b"}).failures == []


def test_the_guard_is_registered_before_the_provider_which_depends_on_it() -> None:
    recording = run_main(stack_file_config("dev"))
    names = [resource.type for resource in recording.resources]
    assert names.index(GUARD_TYPE) < names.index(PROVIDER)
    guard = recording.one(GUARD_TYPE)
    assert (guard.inputs["gateway"], guard.inputs["mode"]) == ("contoso-dev-gw", APPLY)
    assert any(urn.endswith("::contoso-dev-gw-delivery-mode") for urn in recording.one(PROVIDER).dependencies)


def test_the_cluster_guard_lists_every_object_the_stack_creates_and_guards_the_provider() -> None:
    """The guard must know each object before the provider (which depends on it) exists, and must
    know the API path of each kind it reads (components/kubernetes/cluster_guard.py PLURALS)."""
    recording = run_main(stack_file_config("prod"), stack="prod")
    guard = recording.one(CLUSTER_GUARD_TYPE)
    listed = sorted((kind, namespace, name) for _, kind, namespace, name in guard.inputs["objects"])
    created = sorted(
        (r.inputs["kind"], r.inputs["metadata"].get("namespace", ""), r.inputs["metadata"]["name"])
        for r in recording.resources
        if r.type.startswith("kubernetes:") and "kind" in r.inputs
    )
    assert listed == created and len(created) >= 8
    assert {kind for kind, _, _ in listed} <= set(PLURALS)
    assert guard.inputs["owner"] == "apim-gateway/prod"
    assert any(urn.endswith("::contoso-weu-gw-cluster") for urn in recording.one(PROVIDER).dependencies)
    # Render mode reaches no cluster: no guard to read one.
    rendered = render_config(kubernetes={"renderYamlToDirectory": "rendered", "renderSecrets": True})
    assert not run_main(rendered).of_type(CLUSTER_GUARD_TYPE)


def test_the_cluster_guard_refuses_a_new_cluster_identifier_before_reading_any_cluster() -> None:
    from components.kubernetes.cluster_guard import ClusterGuardProvider

    olds = {"gateway": "gw", "cluster_identifier": "apim-gateway", "access": {}}
    news = {**olds, "cluster_identifier": "aks-2"}
    (failure,) = ClusterGuardProvider().check(olds, news).failures
    assert failure.property == "cluster_identifier"
    assert "from 'apim-gateway' to 'aks-2'" in failure.reason and "pulumi destroy" in failure.reason


def render_config(**gateway: Any) -> dict[str, Any]:
    config = stack_file_config("dev")
    config.pop(f"{NS}:defaults")
    config[f"{NS}:gateways"][0].update(gateway)
    return config


def test_render_mode_with_a_generated_token_and_no_rendered_secret_is_refused() -> None:
    """The stack generates the token (apim.mode managed, auth.mode token), and without
    ``renderSecrets`` it is rendered nowhere: the pods would never get it."""
    config = render_config(kubernetes={"renderYamlToDirectory": "rendered"})
    with pytest.raises(pulumi.RunError) as raised:
        run_main(config)
    message = str(raised.value)
    assert message.count("\n  - ") == 1
    assert "apim-gateway:gateways(contoso-dev-gw).kubernetes.renderYamlToDirectory = 'rendered'" in message
    assert "renderSecrets" in message
    config = render_config(kubernetes={"renderYamlToDirectory": "rendered", "renderSecrets": True})
    assert run_main(config).of_type("kubernetes:core/v1:Secret")


def test_render_mode_with_key_regeneration_is_refused() -> None:
    """Regeneration runs when ``pulumi up`` renders the files, before any GitOps rollout."""
    config = render_config(
        kubernetes={"renderYamlToDirectory": "rendered", "renderSecrets": True},
        token={"regenerateRetiredKey": True, "keyType": "secondary"},
    )
    with pytest.raises(ConfigError, match=r"gateways\[0\]\(contoso-dev-gw\)\.kubernetes\.renderYamlToDirectory"):
        parse_stack_config(config)


def test_render_mode_refuses_what_the_provider_refuses() -> None:
    """``CheckConfig`` rejects ``context`` and a kubeconfig with ``renderYamlToDirectory``
    (``provider.go``:345-373); say so before anything is registered."""
    config = stack_file_config("dev")  # defaults set kubernetes.context
    config[f"{NS}:gateways"][0]["kubernetes"] = {"renderYamlToDirectory": "rendered", "renderSecrets": True}
    with pytest.raises(ConfigError, match=r"refuses kubernetes\.context in render mode"):
        parse_stack_config(config)


# -- 7. literal gateway id, load balancer IP, version labels ------------------------------


def test_gateway_id_is_known_in_the_preview_of_a_gateway_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the preview of an update to the gateway resource its ``name`` output is unknown; a token
    keyed on it would show a new token, a Secret update and a rollout that ``up`` does not do.
    The literal ``gateway.name`` is known, and ``depends_on`` keeps the ordering."""
    original = OfflineMocks.new_resource

    def unknown_gateway_name(self: OfflineMocks, args: pulumi.runtime.MockResourceArgs) -> Any:
        resource_id, state = original(self, args)
        if args.typ == "azure-native:apimanagement:Gateway":
            state = {key: value for key, value in state.items() if key != "name"}  # as in preview
        return resource_id, state

    monkeypatch.setattr(OfflineMocks, "new_resource", unknown_gateway_name)
    config = stack_file_config("prod")
    config[f"{NS}:gateways"][0].update(
        hostnames=[{"hostname": "api.contoso.com", "certificateId": "contoso-api"}],
        certificateAuthorities=[{"certificateId": "contoso-root"}],
        auth={"mode": "token"},  # the prod example uses workload identity
    )
    recording = run_program(lambda: run_main_program(), config, stack="prod", preview=True)
    token = recording.one("pulumi-python:dynamic:Resource", "contoso-weu-gw-access-token")
    assert token.inputs["gateway_id"] == "contoso-weu-gw"
    children = [
        token,
        *recording.of_type("azure-native:apimanagement:GatewayApiEntityTag"),
        recording.one("azure-native:apimanagement:GatewayHostnameConfiguration"),
        recording.one("azure-native:apimanagement:GatewayCertificateAuthority"),
    ]
    for child in children:
        assert child.inputs["gatewayId" if child is not token else "gateway_id"] == "contoso-weu-gw", child.name
        assert any(urn.endswith("::contoso-weu-gw-gateway") for urn in child.dependencies), child.name


def run_main_program() -> None:
    import runpy

    from harness import ROOT

    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def test_load_balancer_ip_is_the_aks_annotation_not_the_deprecated_field() -> None:
    """``spec.loadBalancerIP`` is deprecated since Kubernetes 1.24; AKS reads
    ``service.beta.kubernetes.io/azure-load-balancer-ipv4`` (Microsoft Learn, "Use a static public
    IP address and DNS label with the AKS load balancer", learn.microsoft.com/azure/aks/static-ip;
    "Use a public standard load balancer in AKS", learn.microsoft.com/azure/aks/load-balancer-standard)."""
    gateway = parse_stack_config(stack_file_config("prod")).gateways[0]
    assert gateway.service.load_balancer_ip == "10.20.0.50"
    traffic = manifests.traffic_service(gateway)
    assert "loadBalancerIP" not in traffic["spec"]
    assert traffic["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == "10.20.0.50"
    # An IPv6 address goes into AKS's IPv6 annotation (same article).
    ipv6 = gateway.model_copy(update={"service": gateway.service.model_copy(update={"load_balancer_ip": "fd00::10"})})
    annotations = manifests.traffic_service(ipv6)["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-ipv6"] == "fd00::10"
    assert "service.beta.kubernetes.io/azure-load-balancer-ipv4" not in annotations


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (
            {"loadBalancerIP": "fd00::10", "annotations": {rules.AZURE_LOAD_BALANCER_IPV6: "fd00::11"}},
            "set one of them",
        ),
        (
            {"loadBalancerIP": "10.20.0.50", "annotations": {manifests.AZURE_LOAD_BALANCER_IPV4: "10.20.0.51"}},
            "set one of them",
        ),
    ],
)
def test_load_balancer_ip_that_the_annotation_cannot_carry_is_refused(service: dict[str, Any], message: str) -> None:
    config = stack_file_config("prod")
    config[f"{NS}:gateways"][0]["service"] = service
    with pytest.raises(ConfigError, match=rf"gateways\[0\]\(contoso-weu-gw\)\.service\.loadBalancerIP = .*{message}"):
        parse_stack_config(config)


def test_version_label_only_where_an_update_awaits_nothing_costly() -> None:
    """Updates run the same awaiters as creates (``await/await.go``:451-474). A Service update
    waits until its endpoints settle on ready pods and, for a LoadBalancer, an address
    (``await/service.go``:121-130), so a label that changes with the image tag is kept off the
    Services. ConfigMap, PodDisruptionBudget (policy/v1), HPA (autoscaling/v2) and NetworkPolicy
    have no awaiter (``await/awaiters.go``:181-240: listed without one, or not listed), and the
    Deployment rolls out on a new image anyway: they keep it."""
    gateway = parse_stack_config(stack_file_config("prod")).gateways[0]
    upgraded = gateway.model_copy(update={"image": gateway.image.model_copy(update={"tag": "2.12.3"})})
    for build in (manifests.traffic_service, manifests.discovery_service):
        assert build(gateway)["metadata"]["labels"] == build(upgraded)["metadata"]["labels"]
        assert manifests.VERSION_LABEL not in build(gateway)["metadata"]["labels"]
    config_map = manifests.settings_config_map(gateway, {})
    assert config_map["metadata"]["labels"][manifests.VERSION_LABEL] == gateway.image.tag


def test_a_cluster_identifier_change_in_render_mode_is_refused() -> None:
    """In render mode no cluster guard exists, and a new ``clusterIdentifier`` replaces the provider
    (``provider.go`` DiffConfig :412-414) and every rendered object create-before-delete: the
    delete of the old object removes the file the new one just wrote (same path)."""
    provider = DeliveryModeGuardProvider()
    old = {"gateway": "gw", "mode": RENDER, "directory": "rendered", "cluster_identifier": "apim-gateway"}
    (failure,) = provider.check(old, {**old, "cluster_identifier": "other"}).failures
    assert failure.property == "cluster_identifier"
    assert "from 'apim-gateway' to 'other'" in failure.reason and "left empty" in failure.reason
    assert provider.check(old, dict(old)).failures == []
    # Recorded in render mode only: an apply-mode guard's inputs are as before (no update on upgrade).
    applied = run_main(stack_file_config("dev")).one(GUARD_TYPE)
    assert "cluster_identifier" not in applied.inputs
    rendered = run_main(render_config(kubernetes={"renderYamlToDirectory": "rendered", "renderSecrets": True}))
    assert rendered.one(GUARD_TYPE).inputs["cluster_identifier"] == "apim-gateway"


def test_rendered_objects_carry_no_ownership_annotation() -> None:
    """An apply-mode stack adopts only objects with its ownership annotation: a rendered file that a
    GitOps tool applies must not carry it, or a later apply-mode stack would take the object over."""
    from components.kubernetes.cluster_guard import OWNER_ANNOTATION

    rendered = run_main(render_config(kubernetes={"renderYamlToDirectory": "rendered", "renderSecrets": True}))
    objects = [r for r in rendered.resources if r.type.startswith("kubernetes:") and "metadata" in r.inputs]
    assert len(objects) >= 6
    assert [r.name for r in objects if OWNER_ANNOTATION in (r.inputs["metadata"].get("annotations") or {})] == []
    applied = run_main(stack_file_config("dev")).one("kubernetes:apps/v1:Deployment")
    assert applied.inputs["metadata"]["annotations"][OWNER_ANNOTATION] == "apim-gateway/dev"


def test_the_cluster_guard_reads_every_object_every_run_and_keeps_its_identity_on_a_404(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An object is the stack's because the cluster says so: one the guard recorded on an earlier run
    (before it existed) but that now exists without the annotation is refused. A 404 on kube-system
    keeps the recorded identity instead of erasing it."""
    from components.kubernetes import cluster_guard

    live: dict[tuple[str, str], dict[str, Any]] = {
        ("Secret", "gw-token"): {"metadata": {"annotations": {}}},
    }

    class Client:
        def close(self) -> None:
            pass

    monkeypatch.setattr(cluster_guard, "_api_client", lambda access: Client())
    monkeypatch.setattr(
        cluster_guard, "_read", lambda client, api_version, kind, name, namespace: live.get((kind, name))
    )
    from components.kubernetes.ownership import owner_for

    obj = ["v1", "Secret", "gw", "gw-token"]
    # A keyed owner: the annotation alone decides (a keyless one also needs kube-system's uid to
    # match the record, which a 404 cannot give: test_ownership_key.py).
    owner = owner_for("p/s", "k" * 32)
    olds = {"gateway": "gw", "cluster": "uid-1", "cluster_identifier": "c", "objects": [obj], "owner": owner}
    news = {**olds, "cluster": None, "access": {"kubeconfig": None, "kubeconfig_path": None, "context": None}}
    result = cluster_guard.ClusterGuardProvider().check(olds, news)
    assert [f.property for f in result.failures] == ["objects"]  # recorded before, refused now
    assert result.inputs["cluster"] == "uid-1"  # kube-system answered 404: the record stays
    live[("Secret", "gw-token")] = {"metadata": {"annotations": {cluster_guard.OWNER_ANNOTATION: owner}}}
    assert cluster_guard.ClusterGuardProvider().check(olds, news).failures == []
