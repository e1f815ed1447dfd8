"""The gateway and its objects against Microsoft's contracts: custom CA trust, image, local
logs, sovereign clouds, instance discovery, hostname certificates, readiness path, priority class.

Each test names the source it rests on; docs/gateway-settings.md explains the choices.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from certificates import self_signed
from cryptography import x509
from harness import ENTRA_AUTH, NOW, NS, WORKLOAD_AUTH, parse, refused, run_main, stack, stack_file_config

from components.config import ConfigError, GatewayConfig, ImageSettings, parse_stack_config
from components.config.azure import certificate_resource_id
from components.kubernetes import manifests
from components.kubernetes.settings import configuration_endpoint, gateway_settings

KUBERNETES_VERSION = "1.34.0"


def certificate(name: str, ca: bool) -> tuple[str, str]:
    """A self-signed certificate (PEM) and its private key (PEM), valid for a year from NOW."""
    return self_signed(name, ca=ca, not_before=NOW)


CA_PEM, CA_KEY_PEM = certificate("Test Root CA", ca=True)
SECOND_CA_PEM, _ = certificate("Test Second CA", ca=True)
LEAF_PEM, _ = certificate("config.apis.contoso.com", ca=False)


def container_of(gateway: GatewayConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = manifests.deployment(gateway, "s", "c")["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


GW = "apim-gateway:gateways[0](contoso-weu-gw)"


# -- 1. custom CA: created by the stack, trusted beside the public roots ------------------------


def test_the_pod_trust_store_holds_the_company_ca_and_the_public_roots() -> None:
    """.NET on Linux builds its root store from the file ``SSL_CERT_FILE`` plus every file of each
    ``SSL_CERT_DIR`` directory (dotnet/runtime ``src/native/libs/System.Security.Cryptography.Native/
    pal_x509_root.c`` reads both variables; ``OpenSslCachedSystemStoreProvider.cs`` ``LoadMachineStores``
    processes the file, then each directory). So the bundle must be reachable at ``SSL_CERT_FILE``
    and the system directory must still be named by ``SSL_CERT_DIR`` and not hidden by a mount.
    The old mount at ``/usr/local/share/ca-certificates/apim`` is only read by
    ``update-ca-certificates`` (no Microsoft source names it) and is gone."""
    gateway = parse(stack(customCa={"certificates": CA_PEM}))
    pod, container = container_of(gateway)
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    bundle_path = Path(env["SSL_CERT_FILE"])
    mount = next(m for m in container["volumeMounts"] if Path(m["mountPath"]) == bundle_path.parent)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    (item,) = volume["secret"]["items"]
    assert item["path"] == bundle_path.name
    secret = manifests.ca_bundle_secret(gateway)
    assert secret is not None and secret["metadata"]["name"] == volume["secret"]["secretName"]
    assert secret["metadata"]["namespace"] == "contoso-weu-gw"
    assert x509.load_pem_x509_certificate(secret["stringData"][item["key"]].encode()).subject.rfc4514_string() == (
        "CN=Test Root CA"
    )
    system = Path(env["SSL_CERT_DIR"])
    assert system == Path("/etc/ssl/certs")
    for other in container["volumeMounts"]:
        mounted = Path(other["mountPath"])
        assert not (system == mounted or system.is_relative_to(mounted) or mounted.is_relative_to(system))
    assert "certificates.local.ca.enabled" not in gateway_settings(gateway, "config.apis.contoso.com")
    assert "ca-certificates" not in str(manifests.deployment(gateway, "s", "c"))
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    kubernetes_validate.validate(manifests.deployment(gateway, "s", "c"), KUBERNETES_VERSION, strict=True)


def test_a_first_prod_run_creates_every_volume_source_its_pods_mount() -> None:
    """Issue 8 item 4: a first ``pulumi up`` on an empty cluster must succeed, so every Secret the
    prod pods mount is created by the same run (pulumi-kubernetes waits for a Deployment to become
    Available, and a pod whose Secret volume is missing never starts)."""
    recording = run_main(stack_file_config("prod"), stack="prod")
    secrets = {r.inputs["metadata"]["name"] for r in recording.of_type("kubernetes:core/v1:Secret")}
    claims = {
        r.inputs["metadata"]["name"]
        for kind in ("PersistentVolumeClaim", "PersistentVolumeClaimPatch")  # Patch: keepOnDestroy
        for r in recording.of_type(f"kubernetes:core/v1:{kind}")
    }
    pod = recording.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    for volume in pod["volumes"]:
        if "secret" in volume:
            assert volume["secret"]["secretName"] in secrets, volume
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in claims, volume
    names = [r.name for r in recording.resources]
    assert names.index("contoso-weu-gw-ca-bundle") < names.index("contoso-weu-gw-deployment")
    bundle = recording.one("kubernetes:core/v1:Secret", "contoso-weu-gw-ca-bundle")
    assert "BEGIN CERTIFICATE" in bundle.inputs["stringData"]["ca-bundle.crt"]


def test_a_new_bundle_is_a_new_secret_and_a_new_pod_template() -> None:
    """The bundle Secret is named after its content: a CA change creates a new Secret (so no
    delete-first replacement of a mounted Secret) and changes the pod template, which rolls the pods."""
    first = parse(stack(customCa={"certificates": CA_PEM}))
    second = parse(stack(customCa={"certificates": CA_PEM + SECOND_CA_PEM}))
    assert manifests.object_names(first).ca_secret != manifests.object_names(second).ca_secret
    assert manifests.deployment(first, "s", "c") != manifests.deployment(second, "s", "c")


def test_the_bundle_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "company-ca.pem"
    path.write_text(CA_PEM + SECOND_CA_PEM)
    gateway = parse(stack(customCa={"certificatesFile": str(path)}))
    assert gateway.custom_ca.bundle is not None and gateway.custom_ca.bundle.count("BEGIN CERTIFICATE") == 2
    message = refused(stack(customCa={"certificatesFile": str(tmp_path / "missing.pem")}))
    assert f"{GW}.customCa.certificatesFile = " in message and "cannot be read" in message


@pytest.mark.parametrize(
    ("certificates", "complaint"),
    [
        ("not a certificate", "is not PEM"),
        (CA_PEM + CA_KEY_PEM, "'PRIVATE KEY' block: only CERTIFICATE blocks belong here"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid X.509 certificate"),
        (LEAF_PEM, "is not a CA certificate"),
    ],
)
def test_the_bundle_must_be_pem_ca_certificates(certificates: str, complaint: str) -> None:
    message = refused(stack(customCa={"certificates": certificates}))
    assert f"{GW}.customCa.certificates = [PEM text]: " in message and complaint in message


def test_a_pasted_private_key_is_refused_without_being_repeated() -> None:
    message = refused(stack(customCa={"certificates": CA_KEY_PEM}))
    assert "'PRIVATE KEY' block: only CERTIFICATE blocks belong here (never a private key)" in message
    key_body = CA_KEY_PEM.splitlines()[1]
    assert key_body[:20] not in message


def test_an_existing_secret_only_in_a_namespace_the_stack_does_not_create() -> None:
    """A namespace the stack creates holds no Secret before the first run: the pods could never
    mount it and the Deployment wait would time out (issue 8 item 4)."""
    message = refused(stack(customCa={"secretName": "contoso-root-ca"}))
    assert f"{GW}.customCa.secretName = 'contoso-root-ca': the stack creates the namespace" in message
    gateway = parse(
        stack(customCa={"secretName": "contoso-root-ca", "secretKey": "root.pem"}, namespace={"create": False})
    )
    assert manifests.ca_bundle_secret(gateway) is None
    pod, _ = container_of(gateway)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "custom-ca"]
    assert volume["secret"] == {
        "secretName": "contoso-root-ca",
        "items": [{"key": "root.pem", "path": "ca-bundle.crt"}],
    }
    both = refused(stack(customCa={"certificates": CA_PEM, "secretName": "x"}, namespace={"create": False}))
    assert "set only one of certificates, certificatesFile and secretName" in both


def test_no_custom_ca_no_trust_store_variables() -> None:
    gateway = parse(stack(customCa={}))
    _, container = container_of(gateway)
    assert not [entry for entry in container["env"] if entry["name"].startswith("SSL_CERT_")]
    assert manifests.ca_bundle_secret(gateway) is None


def test_the_trust_variables_belong_to_the_stack_and_the_local_ca_setting_to_the_user() -> None:
    """``SSL_CERT_FILE``/``SSL_CERT_DIR`` are set by the stack (an extra setting would fight them);
    ``certificates.local.ca.enabled`` is no longer implied by ``customCa`` (azure-docs issue 116325
    ties it to APIM-assigned CAs), so a stack that wants it passes it through."""
    assert "setting 'SSL_CERT_DIR' is set by the stack itself" in refused(stack(extraSettings={"SSL_CERT_DIR": "/x"}))
    gateway = parse(stack(extraSettings={"certificates.local.ca.enabled": "true"}))
    assert gateway_settings(gateway, "x")["certificates.local.ca.enabled"] == "true"


# -- 4. image -----------------------------------------------------------------------------------


def test_the_default_image_is_the_newest_confirmed_patch_release() -> None:
    """2.11.1 (chart 1.15.1, the chart repository's newest tag ``Container-v2.11.1``) has published
    CVEs fixed in ``Container-v2.11.2`` (Azure/api-management-self-hosted-gateway issue 403, maintainer
    comment 2026-08-20); ``Container-v2.12.1`` fixes the high vulnerabilities of 2.12.0 (issue 411,
    maintainer comment 2026-09-11). No release page of a newer tag was available to read."""
    assert ImageSettings().tag == "2.12.1"
    assert parse(stack(image={})).image.reference == "mcr.microsoft.com/azure-api-management/gateway:2.12.1"


@pytest.mark.parametrize(
    ("auth", "tag", "allowed"),
    [
        ({"mode": "workloadIdentity", **{k: v for k, v in WORKLOAD_AUTH.items() if k != "mode"}}, "2.10.1", False),
        ({"mode": "workloadIdentity", **{k: v for k, v in WORKLOAD_AUTH.items() if k != "mode"}}, "2.11.0", True),
        ({**ENTRA_AUTH, "clientCertificateSecretName": "gw-entra-cert"}, "2.2.9", False),
        ({**ENTRA_AUTH, "clientCertificateSecretName": "gw-entra-cert"}, "2.3.0", True),
    ],
)
def test_auth_modes_keep_their_minimum_gateway_versions(auth: dict[str, Any], tag: str, allowed: bool) -> None:
    """Settings reference: workload identity from gateway 2.11 (facts sheet; ``config.service.auth``),
    Entra ID app settings ``config.service.auth.azureAd.*`` "v2.3+"."""
    raw = stack(auth=auth, image={"tag": tag}, namespace={"create": False})  # the certificate's Secret exists
    if allowed:
        assert parse(raw).image.tag == tag
    else:
        minimum = "2.11.0" if auth["mode"] == "workloadIdentity" else "2.3.0"
        assert f"auth.mode {auth['mode']!r} needs gateway {minimum} or newer" in refused(raw)


def test_an_image_digest_pins_the_pod_image() -> None:
    """A digest reference ``name:tag@sha256:…`` runs the image with that digest (OCI distribution
    references; the policy pack splits ``@digest`` the same way). Optional in prod: see docs."""
    digest = "sha256:" + "ab" * 32
    gateway = parse(stack(image={"tag": "2.12.1", "digest": digest}))
    _, container = container_of(gateway)
    assert container["image"] == f"mcr.microsoft.com/azure-api-management/gateway:2.12.1@{digest}"
    assert f"{GW}.image.digest = 'sha256:abc': must be an image digest" in refused(
        stack(image={"digest": "sha256:abc"})
    )
    # A digest pins even a moving tag, so prod accepts it.
    assert parse(stack(image={"tag": "v2", "digest": digest})).image.tag == "v2"
    assert "prod needs a pinned major.minor.patch tag" in refused(stack(image={"tag": "v2"}))


# -- 5. local logs ------------------------------------------------------------------------------


@pytest.mark.parametrize("sink", ["localsyslog", "journal"])
def test_host_socket_log_sinks_are_refused(sink: str) -> None:
    """The chart mounts the node's ``/dev/log`` for localsyslog with a hostPath volume
    (helm-charts/azure-api-management-gateway/templates/deployment.yaml lines 189-193 at chart 1.15.1:
    ``hostPath: {path: /dev/log, type: Socket}``); the Pod Security Standards forbid hostPath
    volumes from the baseline level up, and the stack's namespace enforces ``restricted``."""
    message = refused(stack(logs={"local": sink, "localEndpoint": "/dev/log"}))
    assert f"{GW}.logs = " in message and f"local '{sink}' writes to a socket of the node" in message
    assert "restricted Pod Security Standard, which forbids hostPath" in message


@pytest.mark.parametrize("endpoint", ["127.0.0.1:514", "localhost:514", "[::1]:514", "udp://127.0.0.1:8888"])
def test_a_local_sink_on_the_pods_own_loopback_is_refused(endpoint: str) -> None:
    """The pod runs the gateway container only: nothing listens on its loopback."""
    message = refused(stack(logs={"local": "rfc5424", "localEndpoint": endpoint}))
    assert "is the pod's own loopback, where nothing listens" in message


def test_network_log_sinks_need_a_collector_endpoint() -> None:
    """``json``'s default endpoint is ``127.0.0.1:8888`` (chart 1.15.1 ``values.yaml`` line 122,
    ``observability.logs.local.json.endpoint``), the pod's loopback again, so it is required."""
    assert "local 'json' requires localEndpoint" in refused(stack(logs={"local": "json"}))
    gateway = parse(stack(logs={"local": "rfc5424", "localEndpoint": "syslog.logging.svc.cluster.local:514"}))
    settings = gateway_settings(gateway, "config.apis.contoso.com")
    assert settings["telemetry.logs.local.rfc5424.endpoint"] == "syslog.logging.svc.cluster.local:514"


def test_the_prod_example_sends_no_log_to_its_own_loopback() -> None:
    settings = gateway_settings(parse(stack_file_config("prod")), "config.apis.contoso.com")
    assert not [value for key, value in settings.items() if key.startswith("telemetry.logs.local.") and "127." in value]


# -- 7. sovereign clouds, instance discovery, certificates, readiness, priority ------------------


def test_sovereign_clouds_need_an_explicit_configuration_endpoint() -> None:
    """``<apim>.configuration.azure-api.net`` is the public cloud's form (portal deployment YAML,
    settings reference ``config.service.endpoint``); no Microsoft source read gives the US Government
    or China suffix, so outside ``public`` the endpoint is required rather than guessed."""
    raw = stack_file_config("dev")
    raw[f"{NS}:apim"] = {**raw[f"{NS}:apim"], "cloud": "usgovernment"}
    message = refused(raw)
    assert "apim-gateway:gateways[0](contoso-dev-gw).configurationEndpoint: required setting is missing" in message
    raw[f"{NS}:gateways"][0]["configurationEndpoint"] = "contoso-apim-gov.configuration.azure-api.us"
    gateway = parse(raw)
    assert configuration_endpoint(gateway, "contoso-apim-gov", "usgovernment") == (
        "contoso-apim-gov.configuration.azure-api.us"
    )
    dev = parse(stack_file_config("dev"))
    assert configuration_endpoint(dev, "Contoso-APIM-Dev") == "contoso-apim-dev.configuration.azure-api.net"
    with pytest.raises(ValueError, match="cloud 'china' needs configurationEndpoint"):
        configuration_endpoint(dev, "contoso-apim-dev", "china")
    assert run_main(stack_file_config("dev")).one("apim-gateway:index:SelfHostedGateway")


def test_the_cloud_must_match_arm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """token.py and the azure-native provider pick the cloud from ``ARM_ENVIRONMENT``; the
    configuration endpoint follows ``apim.cloud``: the two must agree."""
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(stack_file_config("dev"), now=NOW, arm_environment="usgovernment")
    assert "apim-gateway:apim.cloud = 'public': ARM_ENVIRONMENT is 'usgovernment'" in str(caught.value)
    assert parse_stack_config(stack_file_config("dev"), now=NOW, arm_environment="PUBLIC").apim.cloud == "public"
    monkeypatch.setenv("ARM_ENVIRONMENT", "china")
    with pytest.raises(Exception, match="ARM_ENVIRONMENT is 'china'"):
        run_main(stack_file_config("dev"))


def test_neighborhood_host_is_the_discovery_services_full_name() -> None:
    """Kubernetes "DNS for Services and Pods": a Service is ``<svc>.<ns>.svc.<cluster domain>``;
    the short name resolves only through the search list that ``ClusterFirst`` adds, and
    ``Default`` gives the pod the node's resolver, which knows no cluster Service."""
    gateway = parse(stack(namespace={"name": "apim"}, kubernetes={"clusterDomain": "corp.internal"}))
    settings = gateway_settings(gateway, "config.apis.contoso.com")
    assert settings["neighborhood.host"] == "contoso-weu-gw-instance-discovery.apim.svc.corp.internal"
    assert manifests.discovery_service(gateway)["metadata"] == {
        **manifests.discovery_service(gateway)["metadata"],
        "name": "contoso-weu-gw-instance-discovery",
        "namespace": "apim",
    }
    assert f"{GW}.dns = " in refused(stack(dns={"policy": "Default"}))
    custom = parse(stack(dns={"policy": "None", "nameservers": ["10.0.0.10"], "searches": []}))
    assert gateway_settings(custom, "x")["neighborhood.host"].endswith(".svc.cluster.local")


def test_hostname_certificate_ids_take_the_form_arm_expects() -> None:
    """REST spec example ``ApiManagementCreateGatewayHostnameConfiguration.json`` (2024-05-01):
    ``certificateId`` is ``/subscriptions/…/providers/Microsoft.ApiManagement/service/<service>/
    certificates/<name>``; certificate names follow the path pattern ``^[^*#&+:<>?]+$``."""
    full = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim-prod/providers/"
        "Microsoft.ApiManagement/service/contoso-apim-prod/certificates/contoso-wildcard"
    )
    assert (
        certificate_resource_id(
            "contoso-wildcard", "00000000-0000-0000-0000-000000000001", "rg-apim-prod", "contoso-apim-prod"
        )
        == full
    )
    assert certificate_resource_id(full, "other", "other", "other") == full
    assert (
        parse(stack(hostnames=[{"hostname": "api.contoso.com", "certificateId": full}])).hostnames[0].certificate_id
        == full
    )
    bad = refused(stack(hostnames=[{"hostname": "api.contoso.com", "certificateId": "certificates/x?y"}]))
    assert f"{GW}.hostnames[0].certificateId = 'certificates/x?y': must be an APIM certificate name" in bad
    elsewhere = full.replace("contoso-apim-prod/", "another-apim/")
    message = refused(stack(hostnames=[{"hostname": "api.contoso.com", "certificateId": elsewhere}]))
    assert "names a certificate of service 'another-apim'" in message


def test_probes_use_the_gateways_health_endpoint() -> None:
    """Chart 1.15.1 ``values.yaml`` lines 225-240, ``probes.{readiness,liveness,startup}.httpGet.path:
    /status-0123456789abcdef``; Microsoft's Application Gateway integration article (step 6) calls
    ``/status-0123456789abcdef`` "a default health endpoint hosted on all the API Management services"
    and probes the developer portal on ``/internal-status-0123456789abcdef``, the path one docs YAML
    copied. (This was already the stack's choice; the test pins the reason.)"""
    _, container = container_of(parse(stack_file_config("prod")))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/status-0123456789abcdef"


def test_the_pods_use_a_priority_class_of_the_project() -> None:
    """Kubernetes ``pkg/apis/scheduling/types.go``: ``SystemPriorityClassPrefix = "system-"`` is
    reserved, ``system-cluster-critical``/``system-node-critical`` are for critical add-ons, and
    ``HighestUserDefinablePriority = 1000000000``."""
    gateway = parse(stack_file_config("prod"))
    pod, _ = container_of(gateway)
    created = manifests.priority_class(gateway)
    assert created is not None and pod["priorityClassName"] == created["metadata"]["name"] == "apim-gateway-critical"
    assert created["value"] == 1_000_000 and created["globalDefault"] is False
    kubernetes_validate.validate(created, KUBERNETES_VERSION, strict=True)
    refusal = refused(stack(scheduling={"priorityClass": {"name": "system-cluster-critical"}}))
    assert f"{GW}.scheduling.priorityClass.name = 'system-cluster-critical': 'system-' priority classes" in refusal
    too_high = refused(stack(scheduling={"priorityClass": {"name": "gw", "create": True, "value": 2_000_000_000}}))
    assert f"{GW}.scheduling.priorityClass.value = 2000000000" in too_high
    existing = parse(stack(scheduling={"priorityClass": {"name": "platform-high"}}))
    assert manifests.priority_class(existing) is None
    assert container_of(existing)[0]["priorityClassName"] == "platform-high"
    recording = run_main(stack_file_config("prod"), stack="prod")
    registered = recording.one("kubernetes:scheduling.k8s.io/v1:PriorityClass").inputs
    assert (registered["metadata"]["name"], registered["value"]) == ("apim-gateway-critical", 1_000_000)


def test_only_one_gateway_creates_a_cluster_wide_priority_class() -> None:
    raw = stack_file_config("prod")
    second = copy.deepcopy(raw[f"{NS}:gateways"][0])
    second.update(name="contoso-neu-gw")
    raw[f"{NS}:gateways"].append(second)
    message = refused(raw)
    assert "apim-gateway:gateways[1](contoso-neu-gw).scheduling.priorityClass.create: PriorityClass" in message
