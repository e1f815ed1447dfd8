"""Environment rules: checks that need more than one field, the environment, or the secrets."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .adoption import gateway_adoption_problems
from .azure import ApimSettings, certificate_service
from .fields import _GATEWAY_TOKEN, _PINNED_TAG, CONFIG_NAMESPACE, DEFAULT_GATEWAY_TAG
from .network_rules import network_problems
from .pod_rules import pod_problems
from .stack import GatewayConfig, StackConfig

_VERSION_PREFIX = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?![\d])")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""Object names such as a StorageClass's (Kubernetes "Object Names and IDs", DNS subdomain names)."""

PRODUCTION_MIN_REPLICAS = 2
"""The floor prod refuses to go below. Microsoft's production guidance ("Guidance for running
self-hosted gateway on Kubernetes in production", "Number of replicas") said "the minimum number
of replicas suitable for production is two" (the seed text); the current text says "three,
preferably combined with high-available scheduling of the instances". Prod's default is therefore
3 (``ENVIRONMENT_DEFAULTS``); the hard floor stays 2 by this project's judgement: two replicas with
the disruption budget (``maxUnavailable: 1``) still keep one pod serving through a drain, and an
autoscaler's minimum or a small cluster may legitimately sit there. Below three is a deliberate
departure from the current guidance, not a Microsoft recommendation."""

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    # Defaults that differ per environment. Everything else defaults the same way.
    "dev": {"replicas": 1, "backup": {"enabled": False}},
    # Prod calls no backend unless the stack names its ranges or peers (docs/network.md).
    # Three replicas: Microsoft's current production minimum (see PRODUCTION_MIN_REPLICAS).
    "prod": {"replicas": 3, "backup": {"enabled": True}, "networkPolicy": {"backendCidrs": []}},
}

DISABLE_CERTIFICATE_VALIDATION = "config.service.endpoint.disableCertificateValidation"
"""Microsoft Learn, "Self-hosted gateway settings": skips validating the configuration endpoint's
certificate; the facts sheet (shared/reference) records it as "testing only"."""

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""Namespaces of the cluster itself (Kubernetes docs, "Namespaces", Initial namespaces): never the
gateway's. ``default`` is refused only where the stack would create (own) it: it always exists."""

# Oldest gateway version that supports each authentication mode.
AUTH_MIN_VERSION = {"entraApp": (2, 3, 0), "workloadIdentity": (2, 11, 0)}


def _gateway_rules(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Rules that need more than one field, or the environment."""
    problems = []
    namespace = gateway.namespace_name
    if namespace in SYSTEM_NAMESPACES or (namespace == "default" and gateway.namespace.create):
        problems.append(
            f"{key}.namespace.name = {namespace!r}: "
            + (
                "a system namespace of the cluster never holds the gateway; choose a namespace of its own"
                if namespace in SYSTEM_NAMESPACES
                else "the stack cannot create (and own) the namespace every cluster has; choose a namespace of its "
                "own, or set namespace.create to false to deploy into it without owning it"
            )
        )
    if production and gateway.replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(f"{key}.replicas = {gateway.replicas}: prod needs at least {PRODUCTION_MIN_REPLICAS} replicas")
    if production and gateway.autoscaling.enabled and gateway.min_replicas < PRODUCTION_MIN_REPLICAS:
        problems.append(
            f"{key}.autoscaling.minReplicas = {gateway.min_replicas}: prod needs at least "
            f"{PRODUCTION_MIN_REPLICAS} replicas"
        )
    if gateway.custom_ca.secret_name and gateway.namespace.create:
        problems.append(
            f"{key}.customCa.secretName = {gateway.custom_ca.secret_name!r}: the stack creates the namespace "
            f"{gateway.namespace_name!r}, so no Secret can exist in it before the first run and the pods "
            "could never start; give the PEM certificates with customCa.certificates or "
            "customCa.certificatesFile (the stack then creates the Secret), or set namespace.create to false"
        )
    # The same first-run problem for every other object the pods need and the stack does not make.
    for setting, value in (
        ("backup.existingClaim", gateway.backup.existing_claim if gateway.backup.enabled else None),
        ("auth.clientCertificateSecretName", gateway.auth.client_certificate_secret_name),
    ):
        if value and gateway.namespace.create:
            problems.append(
                f"{key}.{setting} = {value!r}: the stack creates the namespace {gateway.namespace_name!r}, so "
                "this object cannot exist in it before the first run and the pods could never start; set "
                "namespace.create to false and create the namespace with the object beforehand"
            )
    validation = gateway.extra_settings.get(DISABLE_CERTIFICATE_VALIDATION, "")
    if production and validation.strip().lower() == "true":
        problems.append(
            f"{key}.extraSettings = [[{DISABLE_CERTIFICATE_VALIDATION!r}], values not shown]: turns off the "
            "validation of the configuration endpoint's certificate, which Microsoft's settings reference marks "
            "for testing only; refused in prod (trust a private CA with customCa instead)"
        )
    local_ca = gateway.extra_settings.get("certificates.local.ca.enabled")
    if gateway.certificate_authorities and local_ca is not None and local_ca.lower() != "true":
        problems.append(
            f"{key}.extraSettings = [['certificates.local.ca.enabled'], values not shown]: turns "
            "certificates.local.ca.enabled off, but certificateAuthorities is not empty and the gateway installs "
            "those CAs only with it on (azure-docs issue 116325); remove the extra setting (the stack sets it to "
            "'true') or empty certificateAuthorities"
        )
    problems.extend(_storage_class_rules(gateway, key))
    problems.extend(_image_rules(gateway, key, production))
    problems.extend(_render_mode_rules(gateway, key))
    problems.extend(_load_balancer_ip_rules(gateway, key))
    problems.extend(network_problems(gateway, key, production))
    problems.extend(pod_problems(gateway, key))
    return problems


def _image_rules(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """The image is new enough for the auth mode, and pinned in prod."""
    problems = []
    minimum = AUTH_MIN_VERSION.get(gateway.auth.mode)
    # The numeric prefix, so that '2.10.0-preview' counts as 2.10.0 (moving tags such as 'v2' carry none).
    version = _VERSION_PREFIX.match(gateway.image.tag)
    if minimum and version and tuple(int(part) for part in version.groups()) < minimum:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: auth.mode {gateway.auth.mode!r} needs gateway "
            f"{'.'.join(map(str, minimum))} or newer"
        )
    # A digest pins the image whatever the tag says.
    pinned = _PINNED_TAG.match(gateway.image.tag) or gateway.image.allow_moving_tag or gateway.image.digest
    if production and not pinned:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: prod needs a pinned major.minor.patch tag such as "
            f"'{DEFAULT_GATEWAY_TAG}' (moving tags like 'v2' or 'latest' upgrade silently); "
            "set image.allowMovingTag to true to accept it anyway"
        )
    return problems
    # A digest pins the image whatever the tag says.
    if not _PINNED_TAG.match(gateway.image.tag) and not gateway.image.allow_moving_tag and not gateway.image.digest:
        problems.append(
            f"{key}.image.tag = {gateway.image.tag!r}: prod needs a pinned major.minor.patch tag such as "
            f"'{DEFAULT_GATEWAY_TAG}' (moving tags like 'v2' or 'latest' upgrade silently); "
            "set image.allowMovingTag to true to accept it anyway"
        )
    return problems


AKS_STORAGE_CLASSES = frozenset({"azurefile", "azurefile-premium", "azurefile-csi", "azurefile-csi-premium", "default"})
"""Class names AKS itself installs for Azure Files (and the default class): the stack must not
create them, because before pulumi-kubernetes 4.29 a create is a server-side apply that would
adopt and rewrite AKS's own object."""


def _storage_class_rules(gateway: GatewayConfig, key: str) -> list[str]:
    """``backup.createStorageClass``: a class of the stack's own, only where the claim uses it."""
    backup = gateway.backup
    if not backup.create_storage_class:
        return []
    setting = f"{key}.backup.createStorageClass = True"
    if not backup.enabled or backup.existing_claim:
        return [
            f"{setting}: only the claim the stack creates uses it; set backup.enabled to true without "
            "backup.existingClaim, or set backup.createStorageClass to false"
        ]
    name = backup.storage_class_name
    if not name:
        return [f"{setting}: set backup.storageClassName to the class to create, for example 'apim-gateway-backup'"]
    if name in AKS_STORAGE_CLASSES:
        return [
            f"{key}.backup.storageClassName = {name!r}: AKS installs a class of that name (mounted as root, "
            "uid=0,gid=0); with backup.createStorageClass give a name of your own, for example 'apim-gateway-backup'"
        ]
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return [f"{key}.backup.storageClassName = {name!r}: must be a lowercase DNS subdomain (at most 253 characters)"]
    return []


AZURE_LOAD_BALANCER_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
AZURE_LOAD_BALANCER_IPV6 = "service.beta.kubernetes.io/azure-load-balancer-ipv6"
"""AKS's replacements for ``spec.loadBalancerIP`` (deprecated since Kubernetes 1.24), one per IP
family: Microsoft Learn, "Use a public standard load balancer in AKS", "Specify the load balancer
IP address" ("Use service.beta.kubernetes.io/azure-load-balancer-ipv4 for an IPv4 address and
service.beta.kubernetes.io/azure-load-balancer-ipv6 for an IPv6 address")."""


def load_balancer_ip_annotation(address: str) -> str:
    """The AKS annotation that carries ``address`` (already validated as an IP address)."""
    return AZURE_LOAD_BALANCER_IPV6 if ipaddress.ip_address(address).version == 6 else AZURE_LOAD_BALANCER_IPV4


def _load_balancer_ip_rules(gateway: GatewayConfig, key: str) -> list[str]:
    """``service.loadBalancerIP`` becomes AKS's annotation of its family (``manifests.traffic_service``)."""
    address = gateway.service.load_balancer_ip
    if address is None:
        return []
    setting = f"{key}.service.loadBalancerIP = {address!r}"
    if gateway.service.load_balancer_ip_in_spec:
        return []
    annotation = gateway.service.load_balancer_ip_annotation or load_balancer_ip_annotation(address)
    annotated = gateway.service.annotations.get(annotation)
    if annotated is not None and annotated != address:
        return [f"{setting}: service.annotations sets {annotation} to {annotated!r}; set one of them"]
    return []


def _render_mode_rules(gateway: GatewayConfig, key: str) -> list[str]:
    """Settings render mode cannot honour. The provider's CheckConfig refuses ``context`` and a
    kubeconfig with ``renderYamlToDirectory`` (pulumi-kubernetes ``provider.go`` ``CheckConfig``)."""
    directory = gateway.kubernetes.render_yaml_to_directory
    if not directory:
        return []
    setting = f"{key}.kubernetes.renderYamlToDirectory = {directory!r}"
    problems = []
    for name, value in (
        ("context", gateway.kubernetes.context),
        ("kubeconfigPath", gateway.kubernetes.kubeconfig_path),
    ):
        if value:
            problems.append(
                f"{setting}: the Kubernetes provider refuses kubernetes.{name} in render mode; remove "
                f"kubernetes.{name} ({value!r})"
            )
    if gateway.token.regenerate_retired_key:
        problems.append(
            f"{setting}: token.regenerateRetiredKey would regenerate the retired key when 'pulumi up' "
            "renders the files, before any GitOps rollout gives the pods the new token; rotate keys "
            "outside render mode, or set token.regenerateRetiredKey to false"
        )
    return problems


TOKEN_KEY = f"{CONFIG_NAMESPACE}:gatewayTokens"
CLIENT_SECRET_KEY = f"{CONFIG_NAMESPACE}:entraClientSecrets"


def _secret_problems(
    config: StackConfig, raw_tokens: Mapping[str, Any], raw_client_secrets: Mapping[str, Any], now: datetime
) -> list[str]:
    """Each gateway gets exactly the secrets its modes need, and tokens are usable."""
    problems: list[str] = []
    by_name = {gateway.name: gateway for gateway in config.gateways}
    for key, given in ((TOKEN_KEY, raw_tokens), (CLIENT_SECRET_KEY, raw_client_secrets)):
        for name in given:
            if name not in by_name:
                problems.append(f"{key}.{name}: no gateway of that name (gateways: {', '.join(sorted(by_name))})")
    for gateway in config.gateways:
        label = f"{CONFIG_NAMESPACE}:gateways({gateway.name})"
        problems.extend(_render_problems(config, gateway, label))
        problems.extend(_credential_problems(config, gateway, label, raw_tokens, raw_client_secrets))
        if config.apim.mode == "existing" and gateway.auth.mode == "token" and gateway.token.existing_secret is None:
            problems.extend(_token_problems(config, gateway, now))
    return problems


def _render_problems(config: StackConfig, gateway: GatewayConfig, label: str) -> list[str]:
    """Render mode: the credentials must reach the pods somehow, and no kubeconfig is taken."""
    problems = []
    kubernetes = gateway.kubernetes
    if (
        kubernetes.render_yaml_to_directory
        and not kubernetes.render_secrets
        and config.apim.mode == "managed"
        and gateway.auth.mode == "token"
        and gateway.token.existing_secret is None
    ):
        problems.append(
            f"{label}.kubernetes.renderYamlToDirectory = {kubernetes.render_yaml_to_directory!r}: with "
            "apim.mode 'managed' and auth.mode 'token' the stack generates the token, and without "
            "kubernetes.renderSecrets it is rendered nowhere, so it never reaches the pods; set "
            "kubernetes.renderSecrets to true (an encrypted repository only), or use apim.mode "
            "'existing' with a token provided out of band, or auth.mode 'workloadIdentity'"
        )
    if kubernetes.render_yaml_to_directory and config.kubeconfig is not None:
        problems.append(
            f"{label}.kubernetes.renderYamlToDirectory = {kubernetes.render_yaml_to_directory!r}: the "
            f"Kubernetes provider refuses a kubeconfig in render mode; remove {CONFIG_NAMESPACE}:kubeconfig"
        )
    return problems


def _credential_problems(
    config: StackConfig,
    gateway: GatewayConfig,
    label: str,
    raw_tokens: Mapping[str, Any],
    raw_client_secrets: Mapping[str, Any],
) -> list[str]:
    """A token or client secret exactly where the modes need one; the APIM scope the roles need."""
    problems = []
    auth = gateway.auth
    needs_token = config.apim.mode == "existing" and auth.mode == "token" and gateway.token.existing_secret is None
    needs_client_secret = auth.mode == "entraApp" and not auth.client_certificate_secret_name
    if auth.mode != "token" and not (config.apim.resource_group_name and config.apim.service_name):
        problems.append(
            f"{label}.auth.mode = {auth.mode!r}: needs apim.resourceGroupName and apim.serviceName "
            "(the role assignment is scoped to the APIM instance)"
        )
    if gateway.name in raw_client_secrets and not needs_client_secret:
        problems.append(
            f"{CLIENT_SECRET_KEY}.{gateway.name}: only used with auth.mode 'entraApp' without a client certificate"
        )
    if needs_client_secret and gateway.name not in config.entra_client_secrets:
        problems.append(
            f"{CLIENT_SECRET_KEY}.{gateway.name}: required setting is missing (auth.mode 'entraApp' needs the "
            f"application's client secret: pulumi config set --secret --path '{CLIENT_SECRET_KEY}.{gateway.name}' ...)"
        )
    if gateway.name in raw_tokens and not needs_token:
        problems.append(
            f"{TOKEN_KEY}.{gateway.name}: only used with apim.mode 'existing' and auth.mode 'token'; "
            "remove it or change the mode"
        )
    return problems


def _token_problems(config: StackConfig, gateway: GatewayConfig, now: datetime) -> list[str]:
    """``existing`` mode with token auth: the given token is there, well formed, this gateway's, unexpired."""
    key = f"{TOKEN_KEY}.{gateway.name}"
    token = config.gateway_tokens.get(gateway.name)
    if token is None:
        return [
            f"{key}: required setting is missing (apim.mode 'existing' takes each "
            f"gateway's token from config: pulumi config set --secret --path '{key}' ...)"
        ]
    match = _GATEWAY_TOKEN.match(token.get_secret_value().strip())
    if not match:
        return [
            f"{key} = [secret]: not a gateway token (expected "
            "'<gatewayId>&<yyyyMMddHHmm>&<signature>', optionally prefixed with 'GatewayKey ')"
        ]
    problems = []
    if match["gateway"] != gateway.name:
        problems.append(
            f"{key} = [secret]: the token was issued for gateway {match['gateway']!r}, not {gateway.name!r}"
        )
    expiry = token_expiry(token.get_secret_value())
    if expiry is not None and expiry <= now:
        problems.append(
            f"{key} = [secret]: the token expired at {expiry:%Y-%m-%dT%H:%MZ}; "
            "generate a new one in the Azure portal or switch to apim.mode 'managed'"
        )
    return problems


def token_expiry(token: str) -> datetime | None:
    """The expiry a gateway token carries (``<id>&<yyyyMMddHHmm>&<signature>``), in UTC."""
    match = _GATEWAY_TOKEN.match(token.strip())
    if not match:
        return None
    try:
        return datetime.strptime(match["expiry"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def _stack_rules(apim: ApimSettings, gateways: Mapping[str, tuple[str, GatewayConfig]]) -> list[str]:
    """Rules across gateways or against the APIM instance; ``gateways``: name → (key, config)."""
    problems: list[str] = []
    creators: dict[str, str] = {}
    storage_creators: dict[str, str] = {}
    for key, gateway in gateways.values():
        if apim.cloud != "public" and not gateway.configuration_endpoint:
            problems.append(
                f"{key}.configurationEndpoint: required setting is missing (apim.cloud is {apim.cloud!r}; "
                "only the public cloud's suffix 'configuration.azure-api.net' is taken from a Microsoft "
                "source, so give the endpoint shown in the portal under Gateways > Deployment)"
            )
        problems.extend(_cloud_rules(apim, gateway, key))
        problems.extend(gateway_adoption_problems(apim, gateway, key))
        for index, hostname in enumerate(gateway.hostnames):
            named = certificate_service(hostname.certificate_id or "")
            if named and not _of_instance(named, apim):
                problems.append(
                    f"{key}.hostnames[{index}].certificateId = {hostname.certificate_id!r}: names a certificate "
                    f"of service {named[1]!r} in {named[0]!r}, not of apim.serviceName {apim.service_name!r}"
                )
        backup = gateway.backup
        if backup.create_storage_class and backup.storage_class_name:
            owner = storage_creators.setdefault(backup.storage_class_name, key)
            if owner != key:
                problems.append(
                    f"{key}.backup.createStorageClass: StorageClass {backup.storage_class_name!r} is cluster-wide "
                    f"and already created by {owner}; set createStorageClass: false here"
                )
        priority = gateway.scheduling.priority_class
        if priority is not None and priority.create:
            if priority.name in creators:
                problems.append(
                    f"{key}.scheduling.priorityClass.create: PriorityClass {priority.name!r} is cluster-wide and "
                    f"already created by {creators[priority.name]}; set create: false here"
                )
            creators.setdefault(priority.name, key)
    # One validator role per APIM instance: its definition and assignment ids derive from the
    # instance alone (azure_side._apim_validator), so two gateways would own one Azure object.
    validators = [key for key, gateway in gateways.values() if gateway.auth.create_apim_validator_role]
    for key in validators[1:]:
        problems.append(
            f"{key}.auth.createApimValidatorRole = True: {validators[0]} already creates the APIM instance's "
            "validator role; set it on one gateway per instance only"
        )
    return problems


# Per cloud: the token audience (settings reference, "Sovereign clouds") and the Entra authority
# hosts (azure-identity AzureAuthorityHosts); components/kubernetes/settings.py CLOUD_SETTINGS derives them.
CLOUD_TOKEN_AUDIENCES = {
    "public": "https://azure-api.net/configuration",
    "usgovernment": "https://azure-api.us/configuration",
    "china": "https://azure-api.cn/configuration",
}
CLOUD_AUTHORITY_HOSTS = {
    "public": ("login.microsoftonline.com",),
    "usgovernment": ("login.microsoftonline.us",),
    "china": ("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
}


def _cloud_rules(apim: ApimSettings, gateway: GatewayConfig, key: str) -> list[str]:
    """An explicit audience or authority of another cloud than ``apim.cloud`` could never sign in."""
    problems = []
    auth = gateway.auth
    audience = (auth.token_audience or "").rstrip("/")
    for cloud, known in CLOUD_TOKEN_AUDIENCES.items():
        if audience == known and cloud != apim.cloud:
            problems.append(
                f"{key}.auth.tokenAudience = {auth.token_audience!r}: that is the {cloud} cloud's audience, but "
                f"apim.cloud is {apim.cloud!r}; remove auth.tokenAudience (the stack then sets "
                f"{CLOUD_TOKEN_AUDIENCES[apim.cloud]!r}) or set apim.cloud to {cloud!r}"
            )
    host = (auth.authority or "").removeprefix("https://").split("/")[0].lower()
    for cloud, hosts in CLOUD_AUTHORITY_HOSTS.items():
        if host in hosts and cloud != apim.cloud:
            problems.append(
                f"{key}.auth.authority = {auth.authority!r}: that is the {cloud} cloud's Entra ID authority, but "
                f"apim.cloud is {apim.cloud!r}; remove auth.authority (the stack then uses "
                f"'https://{CLOUD_AUTHORITY_HOSTS[apim.cloud][0]}') or set apim.cloud to {cloud!r}"
            )
    return problems


def _of_instance(named: tuple[str, str], apim: ApimSettings) -> bool:
    """Whether (resource group, service) of a certificate id is the configured APIM instance."""
    group, service = (part.lower() for part in named)
    if apim.service_name and service != apim.service_name.lower():
        return False
    return not apim.resource_group_name or group == apim.resource_group_name.lower()
