"""The configuration reference, generated from the config models.

``python -m components.config.reference`` prints the Markdown table that ``docs/configuration.md``
carries between its ``config-reference`` markers; ``--update`` rewrites it there. A unit test
keeps the two identical, so the documentation cannot drift from the schema.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from . import (
    CONFIG_NAMESPACE,
    ENVIRONMENT_DEFAULTS,
    ApimSettings,
    GatewayConfig,
    StackConfig,
    TokenExpiryAlert,
)

START_MARKER = "<!-- config-reference:start -->"
END_MARKER = "<!-- config-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in args)
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    metadata = getattr(annotation, "__metadata__", None)
    if metadata is not None:
        return _type_name(get_args(annotation)[0])
    if annotation is SecretStr:
        return "string (secret)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(annotation, str(annotation))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _default(field: FieldInfo, path: str) -> str:
    environment_default = _environment_default(path)
    plain = _plain_default(field)
    if environment_default:
        missing = [environment for environment in ENVIRONMENT_DEFAULTS if f"({environment})" not in environment_default]
        if missing and plain not in ("required", "–"):
            environment_default += "".join(f" / {plain} ({environment})" for environment in missing)
        return environment_default
    return plain


def _plain_default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "–"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "–"
    if value is None or value in ((), {}):
        return "–"
    if isinstance(value, tuple):
        value = [
            item.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(item, BaseModel) else item
            for item in value
        ]
    return f"`{json.dumps(value)}`"


def _environment_default(path: str) -> str | None:
    parts = path.split(".")
    values = {}
    for environment, defaults in ENVIRONMENT_DEFAULTS.items():
        node: Any = defaults
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            values[environment] = node
    if not values:
        return None
    return " / ".join(f"`{json.dumps(value)}` ({environment})" for environment, value in values.items())


def _rows(model: type[BaseModel], prefix: str, path: str = "") -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        key = field.alias or name
        dotted = f"{path}.{key}" if path else key
        description = " ".join((field.description or "").split()).replace("``", "`")
        nested = _model_of(field.annotation)
        if nested is not None and get_origin(field.annotation) is not tuple:
            if description:
                yield (f"{prefix}{dotted}", "object", "–", description)
            yield from _rows(nested, prefix, dotted)
            continue
        if nested is not None:  # a list of objects: one row for the list, then its fields
            yield (f"{prefix}{dotted}", "list of objects", _default(field, dotted), description)
            yield from _rows(nested, prefix, f"{dotted}[]")
            continue
        yield (f"{prefix}{dotted}", _type_name(field.annotation), _default(field, dotted), description)


def config_reference() -> str:
    """Every config key, its type, default and meaning, as a Markdown table."""
    ns = CONFIG_NAMESPACE
    rows: list[tuple[str, str, str, str]] = [
        (
            f"{ns}:environment",
            "string",
            "required",
            "Name of the environment (`dev`, `staging`, `prod`, ...; a DNS label), exported as `environment`.",
        ),
        (
            f"{ns}:environmentRules",
            "`dev` \\| `prod`",
            "`dev` for the environment named `dev`, else `prod`",
            "The rules and defaults it follows: prod needs ≥ 2 replicas and a pinned image tag, turns backup on, "
            "allows no backend range by default.",
        ),
    ]
    rows += list(_rows(ApimSettings, f"{ns}:apim."))
    rows.append(
        (f"{ns}:defaults", "object", "–", "Any gateway setting below, applied to every gateway unless it sets its own.")
    )
    rows.append((f"{ns}:gateways", "list of objects", "required", "The gateways of this stack (one or more)."))
    rows += list(_rows(GatewayConfig, f"{ns}:gateways[]."))
    for name in ("kubeconfig", "owner_key", "gateway_tokens", "entra_client_secrets", "proxy_credentials"):
        field = StackConfig.model_fields[name]
        key = field.alias or name
        description = " ".join((field.description or "").split()).replace("``", "`")
        kind = "string (secret)" if name in ("kubeconfig", "owner_key") else "map of string (secret)"
        rows.append((f"{ns}:{key}", kind, "–", f"{description} Set with `pulumi config set --secret`."))
    alert = StackConfig.model_fields["token_expiry_alert"]
    rows.append(
        (
            f"{ns}:{alert.alias or 'tokenExpiryAlert'}",
            "object",
            "–",
            " ".join((alert.description or "").split()).replace("``", "`"),
        )
    )
    rows += list(_rows(TokenExpiryAlert, f"{ns}:tokenExpiryAlert."))
    for name in ("allow_deleting", "retain"):
        field = StackConfig.model_fields[name]
        description = " ".join((field.description or "").split()).replace("``", "`")
        rows.append((f"{ns}:{field.alias or name}", "list of string", "`[]`", description))
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {kind} | {default} | {meaning} |" for key, kind, default, meaning in rows]
    return "\n".join(lines)


def with_reference(document: str) -> str:
    """``document`` with the table between the markers replaced by the current reference."""
    start, end = document.index(START_MARKER) + len(START_MARKER), document.index(END_MARKER)
    return f"{document[:start]}\n{config_reference()}\n{document[end:]}"


REFERENCE_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
"""Where the table lives (it moved out of README.md, which links to it)."""


if __name__ == "__main__":
    import sys

    # --update-readme: the former name of --update, kept for existing instructions.
    if sys.argv[1:] in (["--update"], ["--update-readme"]):
        REFERENCE_DOCUMENT.write_text(with_reference(REFERENCE_DOCUMENT.read_text()))
    else:
        print(config_reference())
