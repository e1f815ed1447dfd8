"""Microsoft's own management SDK models as the contract of a request body.

The SDKs (``azure-mgmt-apimanagement``, ``-authorization``, ``-msi``, ``-eventgrid``,
``-monitor``, ``-storage``) are generated from the REST specs; each model class carries the
spec's shape in two tables: ``_attribute_map`` (attribute -> REST key, with ``properties.x``
for flattened keys and ``\\.`` for a dot inside a key, and a type: ``str``, ``bool``, ``int``,
``float``, ``iso-8601``, ``duration``, ``[T]``, ``{T}`` or another model) and ``_validation``
(``required``, ``readonly``, ``max_length``, ``pattern``, ...). Polymorphic bases carry
``_subtype_map`` (discriminator attribute -> value -> subclass).

The SDK's own (de)serializer is lenient: ``Model.deserialize`` drops a key it does not know, and
an extensible enum ("modelAsString") takes any string. So ``problems`` checks a body itself, key by
key, against those tables, and the enum values named by each ``__init__``'s type hints
(``Union[str, "_models.EndpointType"]``); ``round_trip`` then runs the SDK's serializer on it.
"""

from __future__ import annotations

import enum
import re
import sys
from datetime import datetime
from types import ModuleType
from typing import Any

import isodate  # type: ignore[import-untyped]

_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
Tree = dict[str, Any]
"""REST key -> ``(attribute, type)`` for a leaf, or a nested ``Tree`` for a flattened container."""


def _segments(key: str) -> list[str]:
    return [part.replace("\\.", ".") for part in _UNESCAPED_DOT.split(key)]


def rest_tree(cls: type) -> Tree:
    """The REST shape of a model class: its ``_attribute_map`` keys split at unescaped dots."""
    tree: Tree = {}
    for attribute, spec in cls._attribute_map.items():  # type: ignore[attr-defined]
        *containers, last = _segments(spec["key"])
        node = tree
        for container in containers:
            node = node.setdefault(container, {})
        node[last] = (attribute, spec["type"])
    return tree


def models_module(cls: type) -> ModuleType:
    """The ``models`` package a model class belongs to (where its referenced types live)."""
    return sys.modules[cls.__module__.rsplit(".", 1)[0]]


def concrete(cls: type, body: Any) -> tuple[type, list[str]]:
    """The subclass a polymorphic body selects through its discriminator, and any problem."""
    subtypes: dict[str, dict[str, str]] = getattr(cls, "_subtype_map", {}) or {}
    if not subtypes or not isinstance(body, dict):
        return cls, []
    (attribute, choices), *_ = subtypes.items()
    key = _segments(cls._attribute_map[attribute]["key"])[-1]  # type: ignore[attr-defined]
    value = body.get(key)
    if value not in choices:
        return cls, [f"{key} = {value!r}: not one of {sorted(choices)} ({cls.__name__})"]
    chosen = getattr(models_module(cls), choices[value])
    deeper, problems = concrete(chosen, body) if chosen is not cls else (chosen, [])
    return deeper, problems


def enum_values(cls: type, attribute: str) -> set[str] | None:
    """The values of the enum an attribute's ``__init__`` hint names (``Union[str, "_models.X"]``)."""
    module = models_module(cls)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        hint = getattr(init, "__annotations__", {}).get(attribute)
        if hint is None:
            continue
        for name in re.findall(r"_models\.(\w+)", str(hint)):
            candidate = getattr(module, name, None)
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                return {str(member.value) for member in candidate}
    return None


def _type_problem(type_name: str, value: Any, where: str, cls: type) -> list[str]:
    if type_name.startswith("[") and type_name.endswith("]"):
        if not isinstance(value, list):
            return [f"{where}: expected a list ({type_name}), got {type(value).__name__}"]
        return [
            p
            for index, item in enumerate(value)
            for p in _type_problem(type_name[1:-1], item, f"{where}[{index}]", cls)
        ]
    if type_name.startswith("{") and type_name.endswith("}"):
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping ({type_name}), got {type(value).__name__}"]
        return [p for key, item in value.items() for p in _type_problem(type_name[1:-1], item, f"{where}.{key}", cls)]
    checks: dict[str, Any] = {
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "object": lambda v: True,
        "iso-8601": _is_datetime,
        "duration": _is_duration,
    }
    if type_name in checks:
        return [] if checks[type_name](value) else [f"{where}: {value!r} is not of type {type_name}"]
    model = getattr(models_module(cls), type_name, None)
    if model is None:
        return [f"{where}: the SDK names an unknown type {type_name!r}"]
    return problems(model, value, where)


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_duration(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        return False
    return True


def _rule_problems(rules: dict[str, Any], value: Any, where: str) -> list[str]:
    found = []
    if isinstance(value, str):
        if "max_length" in rules and len(value) > rules["max_length"]:
            found.append(f"{where}: longer than {rules['max_length']}")
        if "min_length" in rules and len(value) < rules["min_length"]:
            found.append(f"{where}: shorter than {rules['min_length']}")
        if "pattern" in rules and not re.search(rules["pattern"], value):
            found.append(f"{where}: does not match {rules['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "maximum" in rules and value > rules["maximum"]:
            found.append(f"{where}: above {rules['maximum']}")
        if "minimum" in rules and value < rules["minimum"]:
            found.append(f"{where}: below {rules['minimum']}")
    if isinstance(value, list):
        if "max_items" in rules and len(value) > rules["max_items"]:
            found.append(f"{where}: more than {rules['max_items']} items")
        if "min_items" in rules and len(value) < rules["min_items"]:
            found.append(f"{where}: fewer than {rules['min_items']} items")
    return found


def problems(cls: type, body: Any, where: str = "$") -> list[str]:
    """Every way ``body`` (REST JSON) departs from the SDK model ``cls``: unknown or read-only keys,
    missing required keys, wrong types, enum values outside the spec, broken length/pattern/range
    rules. Empty when the body is one the spec describes."""
    if not isinstance(body, dict):
        return [f"{where}: expected an object ({cls.__name__}), got {type(body).__name__}"]
    cls, found = concrete(cls, body)
    validation: dict[str, dict[str, Any]] = getattr(cls, "_validation", {}) or {}
    tree = rest_tree(cls)

    def walk(node: Tree, data: dict[str, Any], at: str) -> None:
        for key, value in data.items():
            here = f"{at}.{key}"
            if key not in node:
                found.append(f"{here}: not a key of {cls.__name__} (known: {', '.join(sorted(node))})")
                continue
            entry = node[key]
            if isinstance(entry, dict):
                if isinstance(value, dict):
                    walk(entry, value, here)
                else:
                    found.append(f"{here}: expected an object, got {type(value).__name__}")
                continue
            attribute, type_name = entry
            rules = validation.get(attribute, {})
            if value is None:
                continue  # JSON null: absent (a missing required key is reported below)
            if rules.get("readonly"):
                found.append(f"{here}: read-only in {cls.__name__}; the server sets it")
                continue
            if rules.get("constant"):
                continue
            found.extend(_type_problem(type_name, value, here, cls))
            found.extend(_rule_problems(rules, value, here))
            allowed = enum_values(cls, attribute)
            if allowed is not None and isinstance(value, str) and value not in allowed:
                found.append(f"{here}: {value!r} is not one of {sorted(allowed)} ({cls.__name__}.{attribute})")

    walk(tree, body, where)
    for attribute, rules in validation.items():
        if not rules.get("required") or rules.get("readonly") or rules.get("constant"):
            continue
        node: Any = body
        for segment in _segments(cls._attribute_map[attribute]["key"]):  # type: ignore[attr-defined]
            node = node.get(segment) if isinstance(node, dict) else None
        if node is None:
            found.append(f"{where}.{cls._attribute_map[attribute]['key']}: required by {cls.__name__}, missing")  # type: ignore[attr-defined]
    return found


def round_trip(cls: type, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` read into the SDK model and written back by the SDK's own serializer."""
    model = cls.deserialize(body)  # type: ignore[attr-defined]
    result: dict[str, Any] = model.serialize()
    return result
