"""Azure-side models: the APIM instance, the gateway resource, its token and its identity."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .fields import MAX_TOKEN_VALIDITY_DAYS, DnsName, EndpointHost, Guid, Model
from .values import ApimEntityId, ResourceGroupName

AzureCloudName = Literal["public", "usgovernment", "china"]
"""Azure clouds, named as the azure-native provider's ``ARM_ENVIRONMENT`` names them (``token.py``)."""


class ApimSettings(Model):
    """The existing API Management instance the gateways belong to."""

    cloud: AzureCloudName = "public"
    """Azure cloud of the instance; must match ``ARM_ENVIRONMENT``. Outside ``public`` every
    gateway must set ``configurationEndpoint`` (no Microsoft source read gives that cloud's suffix);
    the token audience, Entra authority and Application Insights endpoint follow the cloud."""
    mode: Literal["managed", "existing"] = "managed"
    """``managed``: the stack creates the gateway resource and generates its token.
    ``existing`` (bring your own gateway): the gateway resource is managed elsewhere; its
    token comes from the secret ``gatewayTokens`` config and no Azure resource is created."""
    resource_group_name: ResourceGroupName | None = None
    """Resource group of the APIM instance. Required in ``managed`` mode."""
    service_name: str | None = Field(default=None, pattern=r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$")
    """Name of the APIM instance. Required in ``managed`` mode; in ``existing`` mode it is only
    used to derive the configuration endpoint."""

    @model_validator(mode="after")
    def _managed_needs_instance(self) -> ApimSettings:
        if self.mode == "managed":
            missing = [
                key
                for key, value in (("resourceGroupName", self.resource_group_name), ("serviceName", self.service_name))
                if not value
            ]
            if missing:
                raise ValueError(f"mode 'managed' requires {' and '.join(missing)}")
        return self


class LocationData(Model):
    """Where the gateway runs, as shown in the Azure portal."""

    name: str = Field(min_length=1, max_length=256)
    """Location name shown in the portal (required)."""
    city: str | None = Field(default=None, max_length=256)
    """City of the location."""
    district: str | None = Field(default=None, max_length=256)
    """District, state or province of the location."""
    country_or_region: str | None = Field(default=None, max_length=256)
    """Country or region of the location."""


class HostnameConfiguration(Model):
    """A hostname the gateway serves, with its certificate (``GatewayHostnameConfiguration``)."""

    hostname: EndpointHost
    """Host name, a full name or a wildcard such as ``*.apis.contoso.com``."""
    certificate_id: str | None = None
    """APIM certificate used for TLS on this hostname: its name in the instance (the stack builds
    the resource id ARM expects) or its full resource id
    ``/subscriptions/…/providers/Microsoft.ApiManagement/service/<service>/certificates/<name>``."""

    @field_validator("certificate_id")
    @classmethod
    def _certificate_reference(cls, value: str | None) -> str | None:
        if value is None or _CERTIFICATE_NAME.match(value) or _CERTIFICATE_RESOURCE_ID.match(value):
            return value
        raise ValueError(
            "must be an APIM certificate name (no '/', '*', '#', '&', '+', ':', '<', '>', '?') or its full "
            "resource id '/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ApiManagement/"
            "service/<service>/certificates/<name>'"
        )

    negotiate_client_certificate: bool = False
    """Ask clients for a certificate on this hostname."""
    http2_enabled: bool = True
    """Accept HTTP/2 on this hostname."""
    tls10_enabled: bool = False
    """Accept TLS 1.0 (off: it is obsolete)."""
    tls11_enabled: bool = False
    """Accept TLS 1.1 (off: it is obsolete)."""


_CERTIFICATE_NAME = re.compile(r"^[^*#&+:<>?/]+$")
"""Certificate entity names: the REST spec's ``certificateId`` path pattern ``^[^*#&+:<>?]+$``
(Certificate - Create Or Update, 2024-05-01), and no '/' so a name is never read as an id."""
_CERTIFICATE_RESOURCE_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/"
    r"Microsoft\.ApiManagement/service/(?P<service>[^/]+)/certificates/(?P<name>[^*#&+:<>?/]+)$",
    re.IGNORECASE,
)


def certificate_resource_id(certificate_id: str, subscription_id: str, resource_group: str, service: str) -> str:
    """The ``certificateId`` ARM expects in a ``GatewayHostnameConfiguration``: the certificate's
    full resource id, as in the REST spec example ``ApiManagementCreateGatewayHostnameConfiguration.json``
    (2024-05-01). A name is expanded in the instance's scope; a full id is kept."""
    if _CERTIFICATE_RESOURCE_ID.match(certificate_id):
        return certificate_id
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.ApiManagement/service/{service}/certificates/{certificate_id}"
    )


def certificate_service(certificate_id: str) -> tuple[str, str] | None:
    """(resource group, service) named by a full certificate resource id, None for a bare name."""
    match = _CERTIFICATE_RESOURCE_ID.match(certificate_id)
    return (match["group"], match["service"]) if match else None


class CertificateAuthority(Model):
    """An APIM certificate entity the gateway trusts as a CA (``GatewayCertificateAuthority``)."""

    certificate_id: ApimEntityId
    """APIM certificate entity id of the CA."""
    is_trusted: bool = True
    """Trust the CA (false: intermediate only)."""


class ExistingTokenSecret(Model):
    """A Secret someone else keeps (External Secrets, the Key Vault CSI driver's sync, a CronJob)
    holding the gateway token, as the chart's ``secret.createSecret: false`` with ``existingSecretName``."""

    name: DnsName
    """The Secret, in the gateway's namespace."""
    key: str = Field(default="gateway-key", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    """Its key holding the token as the gateway reads ``config.service.auth``: ``GatewayKey <token>``. By
    default the chart's key (``templates/deployment.yaml``: ``config.service.auth`` from ``secretKeyRef``
    ``key: gateway-key`` of ``secret.existingSecretName``), so a chart's Secret is taken as it is."""


class TokenSettings(Model):
    """How the gateway access token is generated and renewed (``managed`` mode)."""

    key_type: Literal["primary", "secondary"] = "primary"
    """Gateway key that signs the token."""
    validity_days: int = Field(default=MAX_TOKEN_VALIDITY_DAYS, ge=1, le=MAX_TOKEN_VALIDITY_DAYS)
    """Lifetime of each token, counted from the start of its renewal window (1–30 days)."""
    renewal_interval_days: int = Field(default=7, ge=1, le=MAX_TOKEN_VALIDITY_DAYS - 1)
    """Length of the renewal window: the first ``pulumi up`` in a new window renews the token."""
    existing_secret: ExistingTokenSecret | None = None
    """Bring your own token: read it from this Secret, whose renewal someone else owns. The stack
    never generates, writes or renews it (``gatewayTokens`` is not used); it reads the Secret at every
    ``up``, so a renewed token rolls the pods at the next ``up`` (the pod-template digest), and its
    expiry becomes the ``tokenExpiresOn`` output the renewal check watches (docs/azure-identity.md)."""
    regenerate_retired_key: bool = False
    """Key rotation: after the pods run with a token from ``keyType``, regenerate the other key,
    so that every token signed with it (a leaked one included) stops working."""

    @model_validator(mode="after")
    def _renewal_before_expiry(self) -> TokenSettings:
        if self.renewal_interval_days >= self.validity_days:
            raise ValueError(
                f"renewalIntervalDays ({self.renewal_interval_days}) must be smaller than "
                f"validityDays ({self.validity_days}), or a token could expire before it is renewed"
            )
        return self


class WorkloadIdentitySettings(Model):
    """``auth.mode: workloadIdentity``: the managed identity the stack creates for the gateway
    (``oidcIssuerUrl``, ``resourceGroupName``, ``location``), or one that exists (``clientId`` and
    ``principalObjectId``: a managed identity or an app registration whose federated credential
    its owner keeps; docs/azure-identity.md)."""

    oidc_issuer_url: str | None = Field(default=None, pattern=r"^https://")
    """OIDC issuer URL of the cluster (``az aks show --query oidcIssuerProfile.issuerUrl``); for an
    identity the stack creates."""
    resource_group_name: ResourceGroupName | None = None
    """Resource group for the user-assigned managed identity the stack creates."""
    location: str | None = Field(default=None, min_length=1)
    """Azure region of the managed identity the stack creates, for example ``westeurope``."""
    client_id: Guid | None = None
    """Bring your own: client id of an existing managed identity or app registration (the chart's
    ``gateway.auth.azureAd.app.id``). The stack then creates no identity and no federated credential:
    the identity's owner federates it with ``system:serviceaccount:<namespace>:<serviceAccountName>``
    and this cluster's issuer (audience ``api://AzureADTokenExchange``)."""
    principal_object_id: Guid | None = None
    """Bring your own: object id of that identity's service principal, which the stack gives the
    configuration reader role on the APIM instance."""
    service_account_name: DnsName | None = None
    """Kubernetes ServiceAccount of the gateway pods; defaults to the gateway name."""

    @model_validator(mode="after")
    def _create_or_bring(self) -> WorkloadIdentitySettings:
        created = {
            "oidcIssuerUrl": self.oidc_issuer_url,
            "resourceGroupName": self.resource_group_name,
            "location": self.location,
        }
        if self.client_id or self.principal_object_id:
            if not (self.client_id and self.principal_object_id):
                raise ValueError("an existing identity needs both clientId and principalObjectId")
            given = [key for key, value in created.items() if value]
            if given:
                raise ValueError(
                    f"{', '.join(given)} only apply to an identity the stack creates; with clientId the stack "
                    "creates none (leave them out)"
                )
            return self
        missing = [key for key, value in created.items() if not value]
        if missing:
            raise ValueError(
                f"the identity the stack creates needs {', '.join(missing)} (or give an existing identity's "
                "clientId and principalObjectId)"
            )
        return self

    @property
    def brought(self) -> bool:
        """An existing identity: the stack creates none."""
        return self.client_id is not None


class AuthSettings(Model):
    """How the gateway authenticates to its configuration endpoint."""

    mode: Literal["token", "entraApp", "workloadIdentity"] = "token"
    """``token``: a gateway token, generated and renewed by the stack (or from config in
    ``existing`` mode). ``entraApp``: an Entra ID application (gateway 2.3+).
    ``workloadIdentity``: Kubernetes workload identity, no secret at all (gateway 2.11+)."""
    tenant_id: Guid | None = None
    """``entraApp``: Entra ID tenant of the application."""
    client_id: Guid | None = None
    """``entraApp``: client (application) id. Its client secret is the secret config
    ``entraClientSecrets.<gateway>``, unless ``clientCertificateSecretName`` is set."""
    service_principal_object_id: Guid | None = None
    """``entraApp``: object id of the application's service principal, for the role assignment."""
    client_certificate_secret_name: DnsName | None = None
    """``entraApp``: existing Secret holding the application's certificate (instead of a client secret)."""
    client_certificate_key: str = "certificate.pfx"
    """``entraApp``: key of the certificate inside that Secret."""
    authority: str | None = Field(default=None, pattern=r"^https://")
    """``entraApp``: Entra ID authority; by default ``apim.cloud``'s (``https://login.microsoftonline.com``,
    ``https://login.microsoftonline.us``, ``https://login.chinacloudapi.cn``). Workload identity
    takes its authority from the cluster's workload identity webhook instead."""
    token_audience: str | None = None
    """Token audience of the token-free modes; by default ``apim.cloud``'s
    (``https://azure-api.net/configuration``, ``https://azure-api.us/configuration``,
    ``https://azure-api.cn/configuration``: settings reference, "Sovereign clouds")."""
    role_definition_id: str | None = Field(default=None, pattern=r"^/subscriptions/.+/roleDefinitions/.+$")
    """An existing role holding ``gateways/getConfiguration/action``; by default the stack
    creates one (defined at ``customRoleScope``). Either way it is assigned on the APIM instance."""
    custom_role_scope: Literal["resourceGroup", "subscription"] = "resourceGroup"
    """Where the stack defines its custom roles (their ``assignableScopes``): the APIM instance's
    resource group or its subscription. Microsoft documents management groups, subscriptions and
    resource groups there and advises against a single resource (Microsoft Learn, "Understand Azure
    role definitions", AssignableScopes); the configuration reader is still assigned on the instance only."""
    create_apim_validator_role: bool = False
    """Also give the APIM instance's system-assigned identity ``Microsoft.Authorization/*/read``
    at ``customRoleScope`` (it needs it to validate the gateway's identity; Microsoft's
    self-hosted gateway Entra ID article). The instance needs a system-assigned identity.
    Once per instance: turn it on in one stack."""
    workload_identity: WorkloadIdentitySettings | None = None

    @model_validator(mode="after")
    def _mode_requirements(self) -> AuthSettings:
        if self.mode == "entraApp":
            missing = [
                key
                for key, value in (
                    ("tenantId", self.tenant_id),
                    ("clientId", self.client_id),
                    ("servicePrincipalObjectId", self.service_principal_object_id),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"mode 'entraApp' requires {', '.join(missing)}")
        if self.mode == "workloadIdentity" and self.workload_identity is None:
            raise ValueError("mode 'workloadIdentity' requires the workloadIdentity block")
        if self.mode != "workloadIdentity" and self.workload_identity is not None:
            raise ValueError(f"workloadIdentity only applies to mode 'workloadIdentity', not {self.mode!r}")
        return self
