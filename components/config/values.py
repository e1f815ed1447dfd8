"""Validators for values the Kubernetes API server and Azure Resource Manager check themselves.

Each one refuses, at config time and with the setting's key, a value that would otherwise
pass the schema and fail only inside ``pulumi up``, after other resources exist. The rule
each encodes and its source are given beside it; ``docs/validation.md`` lists them all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, WithJsonSchema, model_validator

from .fields import Model
from .kubernetes_schema import KUBERNETES_SCHEMA_RELEASE, schema_problems

INT32_MAX = 2**31 - 1
"""Kubernetes integer fields such as probe timings and ``maxSkew`` are ``int32``
(``format: int32`` in the Kubernetes OpenAPI schema); a larger number is refused on decode."""

# Kubernetes quantity suffixes (k8s.io/apimachinery/pkg/api/resource, quantity.go: the
# binary SI suffixes Ki..Ei, the decimal SI suffixes m, k, M..E, and none).
_QUANTITY_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY_PARTS = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity (``500m`` → 0.5, ``2Gi`` → 2147483648).

    Only the plain forms the config accepts (``fields.Quantity``); raises ``ValueError`` otherwise.
    """
    match = _QUANTITY_PARTS.match(text)
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    try:
        return Decimal(match["number"]) * _QUANTITY_SUFFIXES[match["suffix"] or ""]
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"not a Kubernetes quantity: {text!r}") from error


def _ip_address(value: str) -> str:
    # Pod dnsConfig.nameservers must be IP addresses (k8s.io/kubernetes v1.34.3,
    # pkg/apis/core/validation/validation.go:4082, validatePodDNSConfig). Service.spec.loadBalancerIP
    # is only warned about (pkg/api/service/warnings.go:60): the API server stores any string and
    # the cloud's load balancer controller fails on it later, so the config check is the only one.
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address such as '10.20.0.50' or 'fd00::50'") from None


def _cidr(value: str) -> str:
    # NetworkPolicy ipBlock.cidr must be a valid CIDR (k8s.io/kubernetes v1.34.3,
    # pkg/apis/networking/validation/validation.go:252, ValidateIPBlock). The API server accepts
    # host bits ('10.0.0.1/24', measured on 1.34.3); strict refuses them rather than let the
    # policy silently mean the whole /24.
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        reason = "host bits are set" if "host bits set" in str(error) else "not a network address with a prefix"
        raise ValueError(
            f"must be a CIDR such as '10.0.0.0/16' or 'fd00::/64' "
            f"({reason}; prefix at most /32 for IPv4, /128 for IPv6)"
        ) from None


# Label and annotation keys: an optional DNS-subdomain prefix and '/', then a name of at most
# 63 characters (Kubernetes docs, "Labels and Selectors" / "Annotations": syntax and character set).
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label or annotation key, or None when it is."""
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return "may contain at most one '/'"
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return "its prefix before '/' must be a lowercase DNS subdomain of at most 253 characters"
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            "its name must be 1-63 characters: letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def _qualified_keys(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        problem = qualified_name_problem(key)
        if problem:
            raise ValueError(f"key {key!r} is not a valid Kubernetes label/annotation key: {problem}")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    _qualified_keys(value)
    for key, label in value.items():
        if len(label) > 63 or not _LABEL_VALUE.match(label):
            raise ValueError(
                f"value {label!r} of {key!r} is not a valid label value: at most 63 characters, "
                "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
            )
    return value


def _qualified_name(value: str) -> str:
    problem = qualified_name_problem(value)
    if problem:
        raise ValueError(f"must be a Kubernetes label key such as 'topology.kubernetes.io/zone': {problem}")
    return value


# Azure Resource Manager: the APIM entity ids this stack passes in request paths.
# azure-rest-api-specs, specification/apimanagement/.../stable/2024-05-01/apimanagement.json,
# "parameters": ApiIdParameter (1-80 characters) and CertificateIdParameter (1-80 characters,
# pattern ^[^*#&+:<>?]+$).
_APIM_ENTITY_ID = re.compile(r"^[^*#&+:<>?]+$")


def _apim_entity_id(value: str) -> str:
    if not 1 <= len(value) <= 80 or not _APIM_ENTITY_ID.match(value):
        raise ValueError("must be an APIM entity id: 1-80 characters, none of * # & + : < > ?")
    return value


# common-types/resource-management/v5/types.json, ResourceGroupNameParameter: 1-90 characters,
# pattern ^[-\w\._\(\)]+$; Microsoft Learn "Naming rules and restrictions for Azure resources"
# (Microsoft.Resources/resourcegroups): "Can't end with period".
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")


def _resource_group(value: str) -> str:
    if not _RESOURCE_GROUP.match(value) or value.endswith("."):
        raise ValueError(
            "must be an Azure resource group name: 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'"
        )
    return value


IpAddress = Annotated[
    str,
    AfterValidator(_ip_address),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
]
Cidr = Annotated[str, AfterValidator(_cidr)]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
Annotations = Annotated[dict[str, str], AfterValidator(_qualified_keys)]
QualifiedName = Annotated[str, AfterValidator(_qualified_name)]
ApimEntityId = Annotated[
    str,
    AfterValidator(_apim_entity_id),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 80, "pattern": _APIM_ENTITY_ID.pattern}),
]
ResourceGroupName = Annotated[
    str,
    AfterValidator(_resource_group),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 90, "pattern": r"^[-\w._()]*[-\w_()]$"}),
]
Port = Annotated[int, Field(ge=1, le=65535)]
Int32 = Annotated[int, Field(le=INT32_MAX)]


def resource_suffix(text: str) -> str:
    """The part of a Pulumi resource name (and hostname configuration id) derived from an
    id or host name: characters other than letters, digits and '-' become '-'."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")[:80]


def hostname_configuration_id(hostname: str) -> str:
    """``hcId`` of a hostname configuration; 1-80 characters (apimanagement.json,
    GatewayHostnameConfigurationIdParameter), unique within the gateway."""
    return resource_suffix(hostname.replace("*", "wildcard"))


def first_collision(values: tuple[str, ...], derive: Callable[[str], str]) -> tuple[int, int, str] | None:
    """The first pair of entries whose derived names are equal (case-insensitively), as
    (earlier index, later index, derived name); None when all differ."""
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        derived = derive(value).lower()
        if derived in seen:
            return seen[derived], index, derived
        seen[derived] = index
    return None


class Toleration(Model):
    """A Kubernetes ``Toleration`` (core/v1), with the API server's checks
    (k8s.io/kubernetes v1.34.3, pkg/apis/core/validation/validation.go:4268, ValidateTolerations)."""

    key: QualifiedName | None = None
    """Taint key; empty with operator ``Exists`` matches every taint."""
    operator: Literal["Exists", "Equal"] = "Equal"
    """``Equal`` matches ``value``; ``Exists`` matches any value."""
    value: str | None = Field(default=None, max_length=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
    """Taint value (a label value)."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to match; all effects when empty."""
    toleration_seconds: int | None = None
    """``NoExecute`` only: seconds the pod stays bound after the taint appears."""

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise ValueError("operator 'Exists' takes no value")
        if not self.key and self.operator != "Exists":
            raise ValueError("a toleration without key needs operator 'Exists'")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("tolerationSeconds only applies to effect 'NoExecute'")
        return self


def _toleration(value: dict[str, Any]) -> dict[str, Any]:
    # Kubernetes' own schema first (unknown fields, types), then the API server's rules above.
    problems = schema_problems(value, "V1Toleration")
    if problems:
        details = "; ".join(problems)
        raise ValueError(f"not a valid Kubernetes Toleration ({KUBERNETES_SCHEMA_RELEASE} schema): {details}")
    try:
        Toleration.model_validate(value)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'toleration'}: {str(item['msg']).removeprefix('Value error, ')}"
            for item in error.errors()
        )
        raise ValueError(f"not a valid Kubernetes Toleration ({details})") from None
    return value


TolerationObject = Annotated[
    dict[str, Any], AfterValidator(_toleration), WithJsonSchema(Toleration.model_json_schema(by_alias=True))
]
"""A toleration as the stack file holds it (passed to the pod spec as is), checked as a ``Toleration``."""
