"""The free-form Kubernetes structures a stack passes through (``scheduling.affinity``,
``scheduling.tolerations``, ``networkPolicy.ingressFrom``, the selectors of ``backendPeers`` and
``dnsPeers``), checked against Kubernetes' own schema when the config is parsed, before anything
registers: an unknown or misspelt field, a missing required field or a value of the wrong type is
refused with the setting's key and the path inside it.

The schema is the OpenAPI model set of the official ``kubernetes`` Python client, pinned in
``requirements.txt`` (``kubernetes==37.0.2``, generated from Kubernetes' ``release-1.37`` OpenAPI
document: ``Configuration.to_debug_report``, "Version of the API"), which the cluster guard already
needs; so it reaches every install of the stack with its requirements, and it moves only when the
pin does. Each model class lists its fields (``attribute_map``: attribute → JSON name), their
types (``openapi_types``) and which are required (the generated pydantic fields without default).

A newer schema than the cluster's (the local API server here is 1.34.3) may know fields an older
server lacks; the API server still has the last word, as ever, on values (label syntax, quantities):
this check catches structure, the kind of mistake that otherwise fails only inside ``pulumi up``.
"""

from __future__ import annotations

import importlib
import re
from typing import Annotated, Any

from pydantic import AfterValidator

KUBERNETES_SCHEMA_RELEASE = "release-1.37"
"""The Kubernetes OpenAPI document the pinned client's models come from (a test keeps it true)."""

_LIST = re.compile(r"^List\[(?P<item>.+)\]$")
_DICT = re.compile(r"^Dict\[str, (?P<value>.+)\]$")
_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float)}
_SCALAR_NAMES = {"str": "a string", "int": "an integer", "bool": "a boolean", "float": "a number"}


def _model(name: str) -> Any:
    """The client's model class ``name``, imported on first use (about a second: the package loads
    every model), so a stack without free-form structures never pays for it."""
    models = importlib.import_module("kubernetes.client.models")
    return getattr(models, name)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def schema_problems(value: Any, type_name: str, path: str = "") -> list[str]:
    """Why ``value`` is not a valid ``type_name`` (``V1Affinity``, ``List[V1Toleration]``, ...),
    each problem prefixed with its path inside ``value``; empty when it is valid."""
    where = f"{path}: " if path else ""
    if type_name in ("object", "datetime"):
        return []
    if type_name in _SCALARS:
        wanted = _SCALARS[type_name]
        if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
            return [f"{where}must be {_SCALAR_NAMES[type_name]}, not {_kind(value)}"]
        return []
    if match := _LIST.match(type_name):
        if not isinstance(value, list | tuple):
            return [f"{where}must be a list, not {_kind(value)}"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in schema_problems(item, match["item"], f"{path}[{index}]")
        ]
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            return [f"{where}must be a map, not {_kind(value)}"]
        return [
            problem
            for key, item in value.items()
            for problem in schema_problems(item, match["value"], f"{path}.{key}" if path else str(key))
        ]
    model = _model(type_name)
    if not isinstance(value, dict):
        return [f"{where}must be an object (Kubernetes {type_name.removeprefix('V1')}), not {_kind(value)}"]
    by_json = {json_name: attribute for attribute, json_name in model.attribute_map.items()}
    problems = []
    for key in value:
        if key not in by_json:
            problems.append(
                f"{path + '.' if path else ''}{key}: unknown field of Kubernetes {type_name.removeprefix('V1')} "
                f"(it has: {', '.join(sorted(by_json))})"
            )
    # Required: the generated fields without a default, by their JSON name (``except`` is ``var_except``).
    required = {
        field.serialization_alias or field.alias or name
        for name, field in model.model_fields.items()
        if field.is_required()
    }
    for attribute, json_name in model.attribute_map.items():
        child = f"{path}.{json_name}" if path else json_name
        if json_name not in value:
            if json_name in required:
                problems.append(f"{child}: required by Kubernetes {type_name.removeprefix('V1')}")
            continue
        problems.extend(schema_problems(value[json_name], model.openapi_types[attribute], child))
    return problems


def checked(type_name: str) -> Any:
    """A pydantic ``AfterValidator`` function refusing a value that is not a valid ``type_name``."""

    def check(value: Any) -> Any:
        problems = schema_problems(value, type_name)
        if problems:
            raise ValueError(
                f"not a valid Kubernetes {type_name.removeprefix('V1')} ({KUBERNETES_SCHEMA_RELEASE} schema): "
                + "; ".join(problems)
            )
        return value

    return check


Affinity = Annotated[dict[str, Any], AfterValidator(checked("V1Affinity"))]
"""A Kubernetes ``Affinity`` (core/v1), checked against the schema."""
NetworkPolicyPeer = Annotated[dict[str, Any], AfterValidator(checked("V1NetworkPolicyPeer"))]
"""A Kubernetes ``NetworkPolicyPeer`` (networking/v1), checked against the schema."""
LabelSelector = Annotated[dict[str, Any], AfterValidator(checked("V1LabelSelector"))]
"""A Kubernetes ``LabelSelector`` (meta/v1), checked against the schema."""
