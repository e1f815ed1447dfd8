"""Generates the package's plain-typed args (``components/package/types.py``) from the config models.

Pulumi's component provider host (``pulumi.provider.experimental``) derives a package schema
from type annotations and accepts only primitives, ``pulumi.Input[T]``, lists, string-keyed
dicts, ``Any``, enums and nested classes/TypedDicts; no other unions
(``pulumi/provider/experimental/analyzer.py``, ``Analyzer.analyze_property``). The pydantic
models hold more (``Literal``, ``int | str``, validators), so this module writes an equivalent
plain surface from them, one TypedDict per model, with:

- the keys spelled exactly like the stack's config keys (the aliases): the host turns an
  attribute name into a schema name with ``camel_case`` (``analyzer.py``, ``analyze_type``),
  which leaves camelCase names unchanged, so ``loadBalancerIP`` stays ``loadBalancerIP``;
- each ``Literal`` as a ``StrEnum`` (named ``<Model><Field>``, ``Settings`` dropped);
- each ``int | str`` (``IntOrPercent``) as ``str``; the component turns a string of digits
  back into the integer (``components/package/plugin.py``);
- each ``tuple[T, ...]`` as ``list[T]``;
- the field's docstring (which becomes the schema description, read by the host from the
  source: ``Analyzer.get_docstring``) plus its default, since a schema property has no default.

``python -m components.package.args`` rewrites the module and the schema snapshot
``tests/snapshots/apim-gateway.schema.json``; ``--check`` only reports whether they are stale.
"""

from __future__ import annotations

import json
import keyword
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..config import GatewayConfig, StackConfig
from ..config.reference import _default

ROOT = Path(__file__).resolve().parents[2]
TYPES_MODULE = ROOT / "components" / "package" / "types.py"
SCHEMA_SNAPSHOT = ROOT / "tests" / "snapshots" / "apim-gateway.schema.json"
REGENERATE = "python -m components.package.args"

ARGS_CLASS = "SelfHostedGatewayPackageArgs"
"""Name of the component's top-level args TypedDict (not part of the schema: its fields are
the component's inputs)."""

INT_OR_PERCENT_NOTE = "An integer (as a string of digits, e.g. `'1'`) or a percentage such as `'25%'`."
NULL_NOTE = "Through the package `null` cannot be given (the host drops it and the default applies)."


@dataclass(frozen=True)
class TopLevelInput:
    """One input of the component: a top-level key of the stack config, for one gateway."""

    stack_field: str
    name: str
    secret: bool = False
    description_prefix: str = ""


# The stack's top-level keys, for one gateway: `gateways` becomes the single `gateway`, and the
# per-gateway maps of secrets (`gatewayTokens.<gateway>`, ...) become that gateway's value.
TOP_LEVEL = (
    TopLevelInput("environment", "environment"),
    TopLevelInput("environment_rules", "environmentRules"),
    TopLevelInput("apim", "apim"),
    TopLevelInput("gateways", "gateway", description_prefix="The gateway (one entry of `gateways`)."),
    TopLevelInput("kubeconfig", "kubeconfig", secret=True),
    TopLevelInput(
        "gateway_tokens", "gatewayToken", secret=True, description_prefix="This gateway's `gatewayTokens` entry:"
    ),
    TopLevelInput(
        "entra_client_secrets",
        "entraClientSecret",
        secret=True,
        description_prefix="This gateway's `entraClientSecrets` entry:",
    ),
    TopLevelInput(
        "proxy_credentials",
        "proxyCredentials",
        secret=True,
        description_prefix="This gateway's `proxyCredentials` entry:",
    ),
    TopLevelInput("retain", "retain"),
    TopLevelInput("owner_key", "ownerKey", secret=True),
)


@dataclass
class _Module:
    enums: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Enum name → (docstring, values)."""
    classes: dict[str, list[str]] = field(default_factory=dict)
    """TypedDict name → its source lines, each after the classes it refers to."""
    seen: set[str] = field(default_factory=set)


def _text(description: str | None) -> str:
    return " ".join((description or "").split()).replace("``", "`")


def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", "_").split("_"))


def _stem(model: type[BaseModel]) -> str:
    return "" if model is StackConfig else model.__name__.removesuffix("Settings")


def _member_name(value: str) -> str:
    name = _pascal(value)
    return f"{name}_" if keyword.iskeyword(name) else name


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` metadata and ``None``; whether it allowed ``None``."""
    nullable = False
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
            nullable = True
            rest = tuple(arg for arg in get_args(annotation) if arg is not type(None))
            annotation = rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007
        else:
            return annotation, nullable


def _is_int_or_percent(annotation: Any) -> bool:
    annotation, _ = _strip(annotation)
    return get_origin(annotation) in (Union, types.UnionType) and set(get_args(annotation)) == {int, str}


def _python_type(annotation: Any, owner: type[BaseModel], key: str, module: _Module, path: str | None) -> str:
    """``path``: the dotted key inside a gateway (for environment defaults), ``None`` elsewhere."""
    annotation, _ = _strip(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        name = f"{_stem(owner)}{_pascal(key)}"
        if not all(isinstance(value, str) for value in get_args(annotation)):
            raise ValueError(f"{owner.__name__}.{key}: only Literal strings map to an enum here")
        values = tuple(str(value) for value in get_args(annotation))
        known = module.enums.get(name)
        if known is not None and known[1] != values:
            raise ValueError(f"two different enums would be named {name}")
        module.enums[name] = (f"Allowed values of `{key}` in `{owner.__name__}`.", values)
        return name
    if _is_int_or_percent(annotation):
        return "str"
    if origin in (Union, types.UnionType):
        raise ValueError(f"{owner.__name__}.{key}: no plain type for the union {annotation}")
    if origin is tuple:
        item = _python_type(get_args(annotation)[0], owner, key, module, f"{path}[]" if path is not None else None)
        return f"list[{item}]"
    if origin is dict:
        key_type, value_type = get_args(annotation)
        if key_type is not str:
            raise ValueError(f"{owner.__name__}.{key}: map keys must be strings")
        return f"dict[str, {_python_type(value_type, owner, key, module, None)}]"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _add_model(annotation, module, path)
        return annotation.__name__
    if annotation in (str, int, bool, float):
        return str(annotation.__name__)
    raise ValueError(f"{owner.__name__}.{key}: no plain type for {annotation}")


def _description(field_info: FieldInfo, annotation: Any, key: str, path: str | None) -> str:
    stripped, nullable = _strip(annotation)
    nested = stripped if isinstance(stripped, type) and issubclass(stripped, BaseModel) else None
    parts = [_text(field_info.description) or (_text(nested.__doc__) if nested else "")]
    if _is_int_or_percent(annotation):
        parts.append(INT_OR_PERCENT_NOTE)
    # A path no environment default can match, outside a gateway.
    default = _default(field_info, path if path is not None else "\0")
    if isinstance(field_info.default, BaseModel):
        # A nested object whose default differs from its type's own defaults (probes.liveness).
        changed = field_info.default.model_dump(by_alias=True, exclude_defaults=True)
        if changed:
            parts.append(f"Default: `{json.dumps(changed)}`.")
    elif default not in ("required", "–"):
        parts.append(f"Default: {default}.")
    if nullable and field_info.default is not None and not field_info.is_required():
        parts.append(NULL_NOTE)
    return " ".join(part for part in parts if part) or f"The `{key}` settings."


def _docstring(text: str, indent: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if escaped.endswith('"'):
        escaped += " "
    return f'{indent}"""{escaped}"""'


def _add_model(model: type[BaseModel], module: _Module, path: str | None) -> None:
    if model.__name__ in module.seen:
        return
    module.seen.add(model.__name__)
    lines: list[str] = []
    doc = _text(model.__doc__) or (f"The settings under `{path}`." if path else f"`{model.__name__}` settings.")
    lines += [f"class {model.__name__}(TypedDict):", _docstring(doc, "    "), ""]
    for name, info in model.model_fields.items():
        key = info.alias or name
        dotted = None if path is None else f"{path}.{key}" if path else key
        python_type = _python_type(info.annotation, model, key, module, dotted)
        if not info.is_required():
            python_type = f"NotRequired[{python_type}]"
        lines += [f"    {key}: {python_type}", _docstring(_description(info, info.annotation, key, dotted), "    ")]
    module.classes[model.__name__] = lines  # after the classes its fields refer to


def _add_args(module: _Module) -> None:
    lines = [f"class {ARGS_CLASS}(TypedDict):", _docstring("Inputs of the `SelfHostedGateway` package.", "    "), ""]
    for entry in TOP_LEVEL:
        info = StackConfig.model_fields[entry.stack_field]
        if entry.secret:
            python_type = "NotRequired[pulumi.Input[str]]"
            description = _text(info.description) + " Always treated as a secret."
        else:
            annotation = info.annotation
            if entry.stack_field == "gateways":
                annotation, _ = _strip(annotation)
                annotation = get_args(annotation)[0]
            # Environment defaults apply to the keys of a gateway only.
            path = "" if annotation is GatewayConfig else None
            python_type = _python_type(annotation, StackConfig, entry.name, module, path)
            nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
            description = _text(info.description) or (_text(nested.__doc__) if nested else "")
            if not info.is_required():
                python_type = f"NotRequired[{python_type}]"
        description = f"{entry.description_prefix} {description}".strip()
        lines += [f"    {entry.name}: {python_type}", _docstring(description, "    ")]
    module.classes[ARGS_CLASS] = lines


def render() -> str:
    """The whole ``package/types.py`` module, from the current models."""
    module = _Module()
    _add_args(module)
    out = [
        f'"""GENERATED by `{REGENERATE}` from the config models (components/config/): do not edit.',
        "",
        "The plain-typed inputs of the `apim-gateway` package, one TypedDict per config model, keyed by",
        "the stack's config keys. See docs/multi-language.md.",
        '"""',
        "# ruff: noqa: E501, S105",
        "# No `from __future__ import annotations`: the provider host reads these annotations as objects.",
        "",
        "from enum import StrEnum",
        "from typing import Any, NotRequired, TypedDict",
        "",
        "import pulumi",
        "",
    ]
    for name, (doc, values) in sorted(module.enums.items()):
        out += ["", f"class {name}(StrEnum):", _docstring(doc, "    "), ""]
        out += [f"    {_member_name(value)} = {json.dumps(value)}" for value in values]
        out.append("")
    for name in module.classes:
        out += ["", *module.classes[name], ""]
    return "\n".join(out).rstrip() + "\n"


def schema_json() -> str:
    """The package schema as the host serves it, computed in a fresh interpreter (which imports
    the module as it is on disk now)."""
    result = subprocess.run(
        [sys.executable, "-c", "from components.package.plugin import schema_text; print(schema_text(), end='')"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    text = render()
    if TYPES_MODULE.read_text() != text if TYPES_MODULE.exists() else True:
        stale.append(TYPES_MODULE)
        if not check:
            TYPES_MODULE.write_text(text)
    schema = schema_json()
    if not SCHEMA_SNAPSHOT.exists() or SCHEMA_SNAPSHOT.read_text() != schema:
        stale.append(SCHEMA_SNAPSHOT)
        if not check:
            SCHEMA_SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
            SCHEMA_SNAPSHOT.write_text(schema)
    for path in stale:
        print(f"{'stale' if check else 'rewrote'}: {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
