"""Shared pieces of the config schema: constants, field validators and the model base."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "apim-gateway"
"""Pulumi config namespace (the project name in ``Pulumi.yaml``)."""

GATEWAY_IMAGE_REPOSITORY = "mcr.microsoft.com/azure-api-management/gateway"
DEFAULT_GATEWAY_TAG = "2.12.1"
"""Gateway image tag used when a stack does not pin one (a ``major.minor.patch`` tag): the newest
patch release a source confirms. The chart repository's own tags stop at ``Container-v2.11.1``
(chart 1.15.1, ``Chart.yaml`` appVersion); its maintainer names later releases in its issues:
``Container-v2.11.2`` fixes the CVEs of 2.11.1 (issue 403, 2026-08-20) and ``Container-v2.12.1``
fixes the high vulnerabilities of 2.12.0 (issue 411, 2026-09-11). Newer tags (2.12.2 and on) are
mentioned elsewhere but no release page was read. 2.12.1 has open high findings (issue 417, "Address
high vulnerabilities in the new self-hosted gateway image tag 2.12.1"): pin its digest with
``image.digest`` (recipe in docs/gateway-settings.md, "Image") and move the tag once a fixed
release is confirmed."""

MAX_TOKEN_VALIDITY_DAYS = 30
"""The management API refuses a token expiry more than 30 days ahead."""

MAX_GATEWAY_NAME_LENGTH = 43
"""Longest gateway name whose derived Kubernetes names (``<name>-instance-discovery``)
still fit the 63-character DNS label limit."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+$"
)
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_PERCENT_OR_INT = re.compile(r"^(100|[1-9]?[0-9])%$")
_PINNED_TAG = re.compile(r"^\d+\.\d+\.\d+$")
_IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SETTING_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GATEWAY_TOKEN = re.compile(r"^(?:GatewayKey )?(?P<gateway>[^&\s]+)&(?P<expiry>\d{12})&(?P<signature>[^&\s]+)$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS-1123 label: lowercase letters, digits and '-', starting and "
            "ending with a letter or digit, at most 63 characters"
        )
    return value


def _dns_name(value: str) -> str:
    if not _DNS_NAME.match(value):
        raise ValueError("must be a lowercase DNS-1123 name (letters, digits, '-' and '.')")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError("must be a Kubernetes quantity such as '500m', '2', '512Mi' or '2Gi'")
    return value


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int):
        # IntOrString holds an int32 (apimachinery intstr.IntOrString).
        if not 0 <= value <= 2**31 - 1:
            raise ValueError("must be a non-negative integer (below 2^31) or a percentage such as '25%'")
        return value
    if not _PERCENT_OR_INT.match(value):
        raise ValueError("must be a non-negative integer or a percentage such as '25%'")
    return value


def _endpoint_host(value: str) -> str:
    if "://" in value or "/" in value or not _HOSTNAME.match(value):
        raise ValueError(
            "must be a host name without scheme or path, such as "
            "'contoso.configuration.azure-api.net' or 'config.apis.contoso.com'"
        )
    return value.lower()


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Quantity = Annotated[str, AfterValidator(_quantity)]
IntOrPercent = Annotated[int | str, AfterValidator(_int_or_percent)]
EndpointHost = Annotated[str, AfterValidator(_endpoint_host)]


class Model(BaseModel):
    """Base of every config model: frozen, camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        use_attribute_docstrings=True,
    )


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("must be a GUID such as 00000000-0000-0000-0000-000000000000")
    return value.lower()


Guid = Annotated[str, AfterValidator(_guid)]
