"""The settings map: validated config → the gateway's environment settings.

The self-hosted gateway reads its settings from environment keys such as
``config.service.endpoint``. This module is the one place that decides which keys a
gateway gets and why; the ConfigMap carries exactly what ``gateway_settings`` returns.
The token never passes through here: it reaches the container only from its Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import GatewayConfig, rules

GATEWAY_CONFIGURATION_SUFFIX = "configuration.azure-api.net"
"""Public cloud's configuration host suffix, ``<apim>.configuration.azure-api.net``, as the
portal's deployment YAML and the settings reference (``config.service.endpoint``) show it."""
CONFIGURATION_SUFFIXES = {"public": GATEWAY_CONFIGURATION_SUFFIX}
"""Default suffix per cloud. None for ``usgovernment`` and ``china``: no Microsoft source read
names theirs, so there the endpoint must be configured (see docs/gateway-settings.md)."""


@dataclass(frozen=True)
class CloudSettings:
    """What the gateway must be told per Azure cloud, besides its configuration endpoint."""

    token_audience: str
    """``config.service.auth.tokenAudience``."""
    authority: str
    """``config.service.auth.azureAd.authority`` (``entraApp``)."""
    application_insights_endpoint: str
    """``logs.applicationinsights.endpoint``."""


CLOUD_SETTINGS = {
    cloud: CloudSettings(
        rules.CLOUD_TOKEN_AUDIENCES[cloud],
        f"https://{rules.CLOUD_AUTHORITY_HOSTS[cloud][0]}",
        endpoint,
    )
    for cloud, endpoint in (
        ("public", "https://dc.services.visualstudio.com/v2/track"),
        ("usgovernment", "https://dc.applicationinsights.us/v2/track"),
        ("china", "https://dc.applicationinsights.azure.cn/v2/track"),
    )
}
"""Per cloud. Token audience and Application Insights endpoint: Microsoft Learn, "Reference:
Self-hosted gateway container configuration settings", "Sovereign clouds" (azure-docs
``articles/api-management/self-hosted-gateway-settings-reference.md``: "the settings you must
configure to work with sovereign clouds"; the public values are the gateway's defaults). Entra
authority: the settings reference gives only the public default; the hosts are azure-identity's
``AzureAuthorityHosts`` (``AZURE_GOVERNMENT``, ``AZURE_CHINA``), the ones ``azure_credentials``
uses for the stack's own sign-in; Entra's instance discovery lists ``login.chinacloudapi.cn`` and
``login.partner.microsoftonline.cn`` as aliases of one China authority. The public values are
only written where config sets something else, so public-cloud ConfigMaps stay as they were."""
LOCAL_CA_SETTING = "certificates.local.ca.enabled"
"""Settings reference, "Certificates and ciphers": "Indication whether the self-hosted gateway should
use mounted local CA certificates. It's required to run the self-hosted gateway as root or with
user ID 1001." Set whenever ``certificateAuthorities`` is not empty (issue 17.3)."""
ENTRA_CERTIFICATE_DIRECTORY = "/apim/certificates/entra"
"""Where an Entra ID application certificate is mounted (``auth.clientCertificateSecretName``)."""


def configuration_endpoint(gateway: GatewayConfig, service_name: str | None, cloud: str = "public") -> str:
    """``config.service.endpoint``: a custom domain from config, else ``<apim>.<cloud's suffix>``
    (public cloud only: elsewhere the endpoint must be configured)."""
    if gateway.configuration_endpoint:
        return gateway.configuration_endpoint
    suffix = CONFIGURATION_SUFFIXES.get(cloud)
    if suffix is None:
        raise ValueError(f"gateway {gateway.name!r}: cloud {cloud!r} needs configurationEndpoint set explicitly")
    if not service_name:
        raise ValueError(f"gateway {gateway.name!r}: no configurationEndpoint and no APIM service name")
    return f"{service_name.lower()}.{suffix}"


def discovery_service_name(gateway: GatewayConfig) -> str:
    """The headless Service that ``neighborhood.host`` points at."""
    return f"{gateway.name}-instance-discovery"


def neighborhood_host(gateway: GatewayConfig) -> str:
    """``neighborhood.host``: the discovery Service's full name ``<svc>.<ns>.svc.<cluster domain>``
    (Kubernetes "DNS for Services and Pods"). The portal YAML gives the short name, which resolves
    only through the search list ClusterFirst adds; the full name also resolves with policy
    ``None`` when its nameservers include the cluster DNS."""
    return f"{discovery_service_name(gateway)}.{gateway.namespace_name}.svc.{gateway.kubernetes.cluster_domain}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def gateway_settings(gateway: GatewayConfig, endpoint: str, cloud: str = "public") -> dict[str, str]:
    """Every non-secret setting of one gateway, as ConfigMap data (all values strings).

    | key | from |
    |---|---|
    | config.service.endpoint | ``configurationEndpoint`` or ``<apim>.configuration.azure-api.net`` |
    | neighborhood.host | the headless instance-discovery Service, full name |
    | runtime.deployment.* | deployment metadata, as in the portal YAML |
    | telemetry.logs.std / .level / .color | ``logs.std``, ``logs.level``, ``logs.color`` |
    | telemetry.logs.local (+ .<sink>.endpoint) | ``logs.local``, ``logs.localEndpoint`` |
    | telemetry.metrics.cloud | ``metrics.cloud`` |
    | telemetry.metrics.local (+ .statsd.*) | ``metrics.statsd`` |
    | observability.opentelemetry.* | ``metrics.openTelemetry`` |
    | gateway.name | the gateway id, for ``auth.mode`` ``entraApp`` and ``workloadIdentity`` |
    | config.service.auth.azureAd.* | ``auth`` (``entraApp``): tenant, client id, authority, certificate path |
    | config.service.auth.tokenAudience | ``auth.tokenAudience``, else the cloud's outside ``public`` (token-free) |
    | logs.applicationinsights.endpoint | ``apim.cloud``'s outside ``public`` |
    | certificates.local.ca.enabled | ``true`` when ``certificateAuthorities`` is not empty |
    | net.server.http.forwarded.proto.enabled | ``forwardedProto`` |
    | HTTP_PROXY / HTTPS_PROXY / NO_PROXY | ``proxy`` |
    | anything else | ``extraSettings``, verbatim |
    """
    settings: dict[str, str] = {
        "config.service.endpoint": endpoint,
        "neighborhood.host": neighborhood_host(gateway),
        "runtime.deployment.artifact.source": "pulumi",
        "runtime.deployment.mechanism": "pulumi-component",
        "runtime.deployment.orchestrator.type": "Kubernetes",
        **_telemetry_settings(gateway),
        **_auth_settings(gateway, cloud),
    }
    if gateway.certificate_authorities:
        # azure-docs issue 116325 (Microsoft's workaround): the CAs assigned to the gateway in APIM
        # are installed in the container only with this flag; the settings reference requires root
        # or UID 1001 for it, and the pods run as 1001 (manifests.GATEWAY_UID).
        settings[LOCAL_CA_SETTING] = "true"

    if gateway.forwarded_proto:
        settings["net.server.http.forwarded.proto.enabled"] = "true"

    for variable, value in (
        ("HTTP_PROXY", gateway.proxy.http),
        ("HTTPS_PROXY", gateway.proxy.https),
        ("NO_PROXY", gateway.proxy.no_proxy),
    ):
        if value:
            settings[variable] = value

    settings.update(gateway.extra_settings)
    return settings


def _telemetry_settings(gateway: GatewayConfig) -> dict[str, str]:
    """Logs and metrics: ``telemetry.*`` and ``observability.opentelemetry.*``."""
    settings: dict[str, str] = {
        "telemetry.logs.std": gateway.logs.std,
        "telemetry.logs.std.level": gateway.logs.level,
        "telemetry.logs.std.color": _flag(gateway.logs.color),
        "telemetry.logs.local": gateway.logs.local,
        "telemetry.metrics.cloud": _flag(gateway.metrics.cloud),
    }
    if gateway.logs.local_endpoint and gateway.logs.local not in ("none", "auto"):
        settings[f"telemetry.logs.local.{gateway.logs.local}.endpoint"] = gateway.logs.local_endpoint

    statsd = gateway.metrics.statsd
    settings["telemetry.metrics.local"] = "statsd" if statsd else "none"
    if statsd:
        settings["telemetry.metrics.local.statsd.endpoint"] = statsd.endpoint
        if statsd.sampling is not None:
            settings["telemetry.metrics.local.statsd.sampling"] = str(statsd.sampling)
        if statsd.tag_format:
            settings["telemetry.metrics.local.statsd.tag-format"] = statsd.tag_format

    otel = gateway.metrics.open_telemetry
    if otel.enabled:
        settings["observability.opentelemetry.enabled"] = "true"
        settings["observability.opentelemetry.collector.uri"] = otel.collector_uri or ""
        settings["observability.opentelemetry.system-metrics.enabled"] = _flag(otel.system_metrics)
        if otel.histogram_buckets:
            settings["observability.opentelemetry.histogram.buckets"] = ",".join(
                f"{bucket:g}" for bucket in otel.histogram_buckets
            )
    return settings


def _auth_settings(gateway: GatewayConfig, cloud: str) -> dict[str, str]:
    """How the gateway signs in to the configuration endpoint, and the cloud's own endpoints."""
    settings: dict[str, str] = {}
    auth = gateway.auth
    defaults = CLOUD_SETTINGS[cloud]
    sovereign = cloud != "public"
    if auth.mode != "token":
        # Token-free modes find their gateway by id; the token carries it otherwise.
        settings["gateway.name"] = gateway.name
    if auth.mode == "entraApp":
        settings["config.service.auth.azureAd.tenantId"] = auth.tenant_id or ""
        settings["config.service.auth.azureAd.clientId"] = auth.client_id or ""
        settings["config.service.auth.azureAd.authority"] = auth.authority or defaults.authority
        if auth.client_certificate_secret_name:
            settings["config.service.auth.azureAd.certificatePath"] = (
                f"{ENTRA_CERTIFICATE_DIRECTORY}/{auth.client_certificate_key}"
            )
    if auth.token_audience:
        settings["config.service.auth.tokenAudience"] = auth.token_audience
    elif sovereign and auth.mode != "token":
        settings["config.service.auth.tokenAudience"] = defaults.token_audience
    if sovereign:
        settings["logs.applicationinsights.endpoint"] = defaults.application_insights_endpoint
    return settings
