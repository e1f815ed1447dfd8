"""Issue 17, "Microsoft's contracts, second review": first deploys of token-free gateways,
sovereign clouds, CA trust, backup storage, the smaller points.

Each test names the source it rests on; docs/gateway-settings.md, docs/azure-identity.md and
docs/operations.md explain the choices and say what no source settles.
"""

from __future__ import annotations

from typing import Any

import pytest
from harness import ENTRA_AUTH, NS, WORKLOAD_AUTH, Recording, run_main, stack

from components import manifests
from components.manifests.workload import PROVIDER_AWAIT_MINUTES, ROLE_PROPAGATION_MINUTES

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
    assert deployment.custom_timeouts == {"create": f"{minutes}m", "update": f"{minutes}m"}
    assert minutes >= PROVIDER_AWAIT_MINUTES


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
    from components.azure_credentials import AZURE_CLOUDS
    from components.settings import CLOUD_SETTINGS

    for cloud, settings in CLOUD_SETTINGS.items():
        assert settings.authority == f"https://{AZURE_CLOUDS[cloud].authority}"


def test_the_public_cloud_configmap_is_unchanged() -> None:
    """Public defaults are the gateway's own: nothing new is written, so no public pod rolls."""
    from harness import parse

    from components.settings import gateway_settings

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

    from components.settings import gateway_settings

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
