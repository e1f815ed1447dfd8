"""Issue 17, "Microsoft's contracts, second review": first deploys of token-free gateways,
sovereign clouds, CA trust, backup storage, the smaller points.

Each test names the source it rests on; docs/gateway-settings.md, docs/azure-identity.md and
docs/operations.md explain the choices and say what no source settles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import ENTRA_AUTH, NS, WORKLOAD_AUTH, Recording, run_main, stack

from components.kubernetes import manifests
from components.kubernetes.manifests.workload import PROVIDER_AWAIT_MINUTES, ROLE_PROPAGATION_MINUTES

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
TOKEN_TYPE = "pulumi-python:dynamic:Resource"


def with_client_secret(raw: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    raw[f"{NS}:entraClientSecrets"] = {raw[f"{NS}:gateways"][0]["name"]: "entra-client-secret-value"}
    return raw, (f"{NS}:entraClientSecrets",)


# -- 1. the Deployment waits for everything the gateway needs in Azure ---------------------------

AUTH_MODES: dict[str, dict[str, Any]] = {
    "token": {"mode": "token"},
    "entraApp": {**ENTRA_AUTH, "createApimValidatorRole": True},
    "workloadIdentity": {**WORKLOAD_AUTH, "createApimValidatorRole": True},
}


def azure_resources(recording: Recording) -> list[str]:
    """URN suffixes of every Azure-side resource: azure-native resources and the token."""
    return [
        resource.name
        for resource in recording.resources
        if resource.type.startswith("azure-native:")
        or (resource.type == TOKEN_TYPE and resource.name.endswith("-access-token"))
    ]


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_the_deployment_depends_on_every_azure_resource_in_every_auth_mode(mode: str) -> None:
    """Microsoft's articles order the token-free setup: custom roles, their assignments (to the
    gateway's identity and to the APIM instance's identity), then deploy the gateway ("Use Microsoft
    Entra authentication for the self-hosted gateway" and "Use Microsoft Entra workload identity
    authentication for the self-hosted gateway", azure-docs ``articles/api-management/
    self-hosted-gateway-enable-workload-identity.md``: steps 1-4 before "Deploy the self-hosted
    gateway"). Before issue 17 the Deployment waited only for its Kubernetes prerequisites in those
    modes, so a first ``pulumi up`` could start pods before the gateway resource, the federated
    credential or the role assignments existed."""
    raw = stack(
        auth=AUTH_MODES[mode],
        apis=["orders-api"],
        hostnames=[{"hostname": "api.contoso.com", "certificateId": "contoso-api"}],
        certificateAuthorities=[{"certificateId": "contoso-root"}],
    )
    keys: tuple[str, ...] = ()
    if mode == "entraApp":
        raw, keys = with_client_secret(raw)
    recording = run_main(raw, keys, stack="prod")
    deployment = recording.one(DEPLOYMENT)
    needed = azure_resources(recording)
    expected = {
        "token": {"gateway", "api-orders-api", "hostname-api-contoso-com", "ca-contoso-root", "access-token"},
        "entraApp": {"gateway", "configuration-reader", "apim-validator"},
        "workloadIdentity": {"gateway", "identity", "federation", "configuration-reader", "apim-validator"},
    }[mode]
    assert expected <= {name.removeprefix("contoso-weu-gw-") for name in needed}
    missing = [name for name in needed if not any(urn.endswith(f"::{name}") for urn in deployment.dependencies)]
    assert missing == [], f"the Deployment does not wait for {missing}"


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_the_deployment_wait_covers_role_propagation_and_the_startup_window(mode: str) -> None:
    """pulumi-kubernetes 4.25.0 (requirements.txt) waits 10 minutes for a Deployment unless the
    resource's ``customTimeouts`` say otherwise (``provider/pkg/await/await.go`` Creation/Update:
    ``timeout := 10 * time.Minute``, overridden by ``metadata.TimeoutDuration(c.Timeout, …)``,
    ``provider/pkg/metadata/overrides.go``; the provider passes ``req.Timeout`` through,
    ``provider/pkg/provider/provider.go`` Create). A role assignment can take up to 10 minutes to
    apply (Microsoft Learn, "Troubleshoot Azure RBAC", current text; earlier text: 30 minutes), and
    the startup probe gives a pod 5 minutes to load its configuration. In the token-free modes the
    wait is therefore 30 + 5 + 5 = 40 minutes; a token is valid as soon as it is generated."""
    raw = stack(auth=AUTH_MODES[mode])
    keys: tuple[str, ...] = ()
    if mode == "entraApp":
        raw, keys = with_client_secret(raw)
    deployment = run_main(raw, keys, stack="prod").one(DEPLOYMENT)
    minutes = 10 if mode == "token" else ROLE_PROPAGATION_MINUTES + 5 + 5
    assert deployment.custom_timeouts == {"create": f"{minutes}m", "update": f"{minutes}m", "delete": "10m"}
    assert minutes >= PROVIDER_AWAIT_MINUTES


def test_a_delete_waits_out_the_pods_grace_period() -> None:
    """The provider deletes with foreground propagation and waits 10 minutes unless ``customTimeouts``
    say otherwise (4.25.0 ``provider/pkg/await/await.go`` Deletion); the Deployment and a namespace the
    stack owns go only after their pods, which may take ``terminationGracePeriodSeconds``."""
    raw = stack("dev", terminationGracePeriodSeconds=3600, backup={"enabled": False})
    recording = run_main(raw, stack="dev")
    assert recording.one(DEPLOYMENT).custom_timeouts["delete"] == "65m"  # 60 minutes of grace + 5
    assert recording.one("kubernetes:core/v1:Namespace").custom_timeouts == {"delete": "65m"}
    short = run_main(stack("dev", terminationGracePeriodSeconds=60, backup={"enabled": False}), stack="dev")
    assert short.one(DEPLOYMENT).custom_timeouts["delete"] == "10m"  # never below the provider's default


def test_a_longer_startup_window_lengthens_the_wait() -> None:
    """The wait follows ``probes.startup``: 20 minutes of startup probes, then 5 of margin."""
    from harness import parse

    gateway = parse(stack(auth={"mode": "token"}, probes={"startup": {"periodSeconds": 10, "failureThreshold": 120}}))
    assert manifests.deployment_timeout_minutes(gateway) == 25


# -- 2. sovereign clouds: audience, authority and Application Insights from apim.cloud ----------

SOVEREIGN = {
    "usgovernment": (
        "https://azure-api.us/configuration",
        "https://login.microsoftonline.us",
        "https://dc.applicationinsights.us/v2/track",
    ),
    "china": (
        "https://azure-api.cn/configuration",
        "https://login.chinacloudapi.cn",
        "https://dc.applicationinsights.azure.cn/v2/track",
    ),
}


def cloud_stack(cloud: str, **gateway: Any) -> dict[str, Any]:
    raw = stack(**gateway)
    raw[f"{NS}:apim"] = {**raw[f"{NS}:apim"], "cloud": cloud}
    return raw


@pytest.mark.parametrize("cloud", sorted(SOVEREIGN))
@pytest.mark.parametrize("mode", ["entraApp", "workloadIdentity"])
def test_sovereign_clouds_get_their_audience_authority_and_application_insights_endpoint(
    cloud: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Microsoft Learn, "Reference: Self-hosted gateway container configuration settings",
    "Sovereign clouds": ``config.service.auth.tokenAudience`` is ``https://azure-api.us/configuration``
    (US Government) or ``https://azure-api.cn/configuration`` (China), and
    ``logs.applicationinsights.endpoint`` ``https://dc.applicationinsights.us/v2/track`` or
    ``https://dc.applicationinsights.azure.cn/v2/track``. The Entra authority is azure-identity's
    ``AzureAuthorityHosts`` for that cloud (the settings reference gives only the public default).
    Before issue 17 all three silently stayed public outside ``apim.cloud: public``."""
    audience, authority, insights = SOVEREIGN[cloud]
    monkeypatch.setenv("ARM_ENVIRONMENT", cloud)
    raw = cloud_stack(cloud, auth=AUTH_MODES[mode])
    keys: tuple[str, ...] = ()
    if mode == "entraApp":
        raw, keys = with_client_secret(raw)
    recording = run_main(raw, keys, stack="prod")
    settings = recording.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert settings["config.service.auth.tokenAudience"] == audience
    assert settings["logs.applicationinsights.endpoint"] == insights
    if mode == "entraApp":
        assert settings["config.service.auth.azureAd.authority"] == authority


def test_the_stack_authority_hosts_match_its_own_sign_in() -> None:
    """One table of Entra hosts: the gateway's (settings) and the token resource's (azure_credentials)."""
    from components.azure.credentials import AZURE_CLOUDS
    from components.kubernetes.settings import CLOUD_SETTINGS

    for cloud, settings in CLOUD_SETTINGS.items():
        assert settings.authority == f"https://{AZURE_CLOUDS[cloud].authority}"


def test_the_public_cloud_configmap_is_unchanged() -> None:
    """Public defaults are the gateway's own: nothing new is written, so no public pod rolls."""
    from harness import parse

    from components.kubernetes.settings import gateway_settings

    gateway = parse(stack(auth=WORKLOAD_AUTH))
    settings = gateway_settings(gateway, "config.apis.contoso.com")
    assert "config.service.auth.tokenAudience" not in settings
    assert "logs.applicationinsights.endpoint" not in settings
    entra = parse(*with_client_secret(stack(auth=ENTRA_AUTH)))
    assert gateway_settings(entra, "x")["config.service.auth.azureAd.authority"] == "https://login.microsoftonline.com"


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("tokenAudience", "https://azure-api.net/configuration", "auth.tokenAudience"),
        ("authority", "https://login.microsoftonline.com", "auth.authority"),
    ],
)
def test_another_clouds_audience_or_authority_is_refused(setting: str, value: str, named: str) -> None:
    """A value of the public cloud in a China stack could never sign in: refused, naming the key."""
    from harness import refused

    auth = {**ENTRA_AUTH, setting: value}
    message = refused(cloud_stack("china", auth=auth))
    assert f"apim-gateway:gateways[0](contoso-weu-gw).{named} = '{value}'" in message
    assert "apim.cloud is 'china'" in message


# -- 3. certificateAuthorities turn certificates.local.ca.enabled on ----------------------------


def test_certificate_authorities_turn_the_local_ca_setting_on() -> None:
    """azure-docs issue 116325 (Microsoft's workaround for CAs that are not installed in the
    container): assign the chain's certificates to the gateway as certificate authorities, then set
    ``certificates.local.ca.enabled: "true"``. The settings reference requires root or UID 1001 for
    it; the pods run as 1001. Before issue 17 the stack created the entities and never set the flag."""
    from harness import parse

    from components.kubernetes.settings import gateway_settings

    gateway = parse(stack(certificateAuthorities=[{"certificateId": "contoso-root"}]))
    assert gateway_settings(gateway, "x")["certificates.local.ca.enabled"] == "true"
    assert manifests.GATEWAY_UID == 1001
    pod = manifests.deployment(gateway, "s", "c")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == pod["containers"][0]["securityContext"]["runAsUser"] == 1001
    assert "certificates.local.ca.enabled" not in gateway_settings(parse(stack()), "x")


def test_turning_the_local_ca_setting_off_beside_certificate_authorities_is_refused() -> None:
    from harness import refused

    message = refused(
        stack(
            certificateAuthorities=[{"certificateId": "contoso-root"}],
            extraSettings={"certificates.local.ca.enabled": "false"},
        )
    )
    assert "apim-gateway:gateways[0](contoso-weu-gw).extraSettings = [['certificates.local.ca.enabled']" in message
    assert "certificateAuthorities" in message and "'false'" not in message


# -- 5. the backup share belongs to the gateway's group -----------------------------------------

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"


def test_prod_creates_a_backup_storage_class_owned_by_the_gateway_group() -> None:
    """Microsoft's production guidance: the backup volume at ``/apim/config`` must be writable by
    group 1001. AKS's and the driver's Azure Files classes mount SMB shares as root (``uid=0,gid=0``,
    kubernetes-sigs/azurefile-csi-driver ``deploy/example/storageclass-azurefile-secret.yaml``), and the
    pod's ``fsGroup`` is not applied to a ReadWriteMany share (``fsGroupPolicy:
    ReadWriteOnceWithFSType``, azurefile-csi-driver PR 1017), so writes worked only through mode 0777.
    The stack now creates Microsoft's SMB class (Microsoft Learn, "Use mountOptions settings in Azure
    Files") with ``uid=1001,gid=1001`` and modes 0770, and prod's example uses it."""
    import kubernetes_validate

    recording = run_main(stack(), stack="prod")
    created = recording.one(STORAGE_CLASS)
    assert created.inputs["metadata"]["name"] == "apim-gateway-backup"
    assert created.inputs["provisioner"] == "file.csi.azure.com"
    options = created.inputs["mountOptions"]
    assert {"uid=1001", "gid=1001", "dir_mode=0770", "file_mode=0770"} <= set(options)
    assert not [option for option in options if option in ("uid=0", "gid=0") or option.endswith("=0777")]
    claim = recording.one("kubernetes:core/v1:PersistentVolumeClaimPatch")  # keepOnDestroy
    assert claim.inputs["spec"]["storageClassName"] == "apim-gateway-backup"
    assert any(urn.endswith("::contoso-weu-gw-backup-storage-class") for urn in claim.dependencies)
    from harness import parse

    storage_class = manifests.backup_storage_class(parse(stack()))
    assert storage_class is not None
    kubernetes_validate.validate(storage_class, "1.34.0", strict=True)


@pytest.mark.parametrize(
    ("backup", "expected"),
    [
        (
            {"createStorageClass": True, "storageClassName": "azurefile-csi"},
            "backup.storageClassName = 'azurefile-csi': AKS installs a class of that name",
        ),
        ({"createStorageClass": True, "storageClassName": None}, "set backup.storageClassName"),
        ({"createStorageClass": True, "enabled": False}, "only the claim the stack creates uses it"),
        ({"createStorageClass": True, "storageClassName": "Backup_Class"}, "must be a lowercase DNS subdomain"),
    ],
)
def test_a_storage_class_the_stack_cannot_create_is_refused(backup: dict[str, Any], expected: str) -> None:
    """One message naming the key, its value and what is allowed, before anything is registered."""
    from harness import refused

    raw = stack()
    raw[f"{NS}:gateways"][0]["backup"] = {**raw[f"{NS}:gateways"][0]["backup"], **backup}
    message = refused(raw)
    assert message.count("\n  - ") == 1
    assert "apim-gateway:gateways[0](contoso-weu-gw).backup." in message and expected in message


def test_two_gateways_cannot_create_one_storage_class() -> None:
    from harness import refused

    raw = stack()
    second = {**raw[f"{NS}:gateways"][0], "name": "contoso-neu-gw"}
    second.pop("priorityClass", None)
    second["scheduling"] = {**second["scheduling"], "priorityClass": {"name": "apim-gateway-critical"}}
    raw[f"{NS}:gateways"].append(second)
    assert "StorageClass 'apim-gateway-backup' is cluster-wide and already created by" in refused(raw)


# -- 6 and 7. what the docs and the code say about Microsoft's sources --------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs"
COMPONENTS = Path(__file__).resolve().parents[2] / "components"


def test_workload_identity_docs_say_which_principal_microsoft_documents() -> None:
    """The gateway article registers an Entra app (azure-docs ``self-hosted-gateway-enable-workload-
    identity.md``, step 1); AKS's workload identity docs also federate user-assigned managed identities."""
    text = (DOCS / "azure-identity.md").read_text()
    assert "registers a Microsoft Entra\napp" in text or "registers a Microsoft Entra app" in text
    assert "user-assigned managed\n  identity" in text or "user-assigned managed identity" in text
    assert "No Microsoft source states explicitly that the gateway supports a managed identity" in text


def test_the_replica_floor_is_attributed_to_the_guidance_it_comes_from() -> None:
    """Production guidance, "Number of replicas": now "three" (older text: "two"). Prod defaults to
    three; the floor of two is the project's judgement and says so."""
    from components.config import ENVIRONMENT_DEFAULTS, PRODUCTION_MIN_REPLICAS

    assert ENVIRONMENT_DEFAULTS["prod"]["replicas"] == 3
    assert PRODUCTION_MIN_REPLICAS == 2
    rules = (COMPONENTS / "config" / "rules.py").read_text()
    assert "never fewer than two gateway replicas" not in rules
    assert "suitable for production is two" in rules and "three" in rules


def test_the_readiness_note_and_the_image_default_name_their_sources() -> None:
    """The workload identity article's YAML probes ``/internal-status-0123456789abcdef``; 2.12.1
    has open high findings (Azure/api-management-self-hosted-gateway issue 417)."""
    settings = (DOCS / "gateway-settings.md").read_text()
    assert (
        "no source\nsays the gateway serves it" not in settings
        and "no source says the gateway serves it" not in settings
    )
    assert "`/internal-status-0123456789abcdef` on the gateway's `http` port" in settings
    assert "issue 417" in settings and "imagetools inspect" in settings
    assert "issue 417" in (COMPONENTS / "config" / "fields.py").read_text()
