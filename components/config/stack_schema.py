"""A JSON Schema for ``Pulumi.<stack>.yaml``, generated from the config models, for editors.

The YAML language server (VS Code's YAML extension, and editors built on it) validates a stack
file against it as you type: a misspelt key, a value of the wrong type or outside its range is
underlined before ``pulumi preview``. It describes the ``apim-gateway:`` keys of the ``config:``
block; keys of other namespaces (``azure-native:location``…) are left alone. Secret keys accept
only the ``{secure: …}`` form ``pulumi config set --secret`` writes.

The schema checks each value on its own; rules across settings (a request above its limit, prod
rules, secrets per gateway) remain the program's, which runs them before registering anything.

    python -m components.config.stack_schema           # rewrite schema/pulumi-stack.schema.json
    python -m components.config.stack_schema --check   # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from .alerts import TokenExpiryAlert
from .azure import ApimSettings
from .fields import CONFIG_NAMESPACE
from .parsing import DELETABLE_KINDS, OBJECT_NAME_PATTERN, RETAINABLE_KINDS, SECRET_KEYS
from .stack import GatewayConfig, StackConfig

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "pulumi-stack.schema.json"
SCHEMA_ID = "https://apim-gateway.invalid/schema/pulumi-stack.schema.json"
"""A stable identifier only (``.invalid`` is reserved: never resolved); editors use the file."""

SECURE_VALUE: dict[str, Any] = {
    "type": "object",
    "description": "An encrypted value, as written by `pulumi config set --secret`.",
    "properties": {"secure": {"type": "string", "minLength": 1}},
    "required": ["secure"],
    "additionalProperties": False,
}


def _without_titles(node: Any) -> Any:
    """pydantic's generated titles ("Loadbalancerip") add nothing to the descriptions: drop them."""
    if isinstance(node, dict):
        return {
            key: _without_titles(value)
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_without_titles(value) for value in node]
    return node


def _secret_map(what: str) -> dict[str, Any]:
    return {
        "description": f"Gateway name → {what}; set each with `pulumi config set --secret --path`.",
        "oneOf": [
            SECURE_VALUE,
            {"type": "object", "propertyNames": {"pattern": "^[a-z0-9-]+$"}, "additionalProperties": SECURE_VALUE},
        ],
    }


def _object_list(model: Any, field: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """``allowDeleting`` / ``retain``: a list of ``Kind/name`` entries (parsing.py ``_object_entries``)."""
    name = OBJECT_NAME_PATTERN
    shapes = [f"{kind}/{name}/{name}" if kind == "PersistentVolumeClaim" else f"{kind}/{name}" for kind in kinds]
    pattern = f"^({'|'.join(shapes)})$"
    description = " ".join((model.model_fields[field].description or "").split()).replace("``", "`")
    return {"type": "array", "items": {"type": "string", "pattern": pattern}, "description": description}


OWNER_KEY = {
    "$ref": "#/$defs/SecureValue",
    "description": "Secret of at least 32 characters making the objects' ownership annotation unique to this "
    "stack instance (`openssl rand -hex 32`).",
}


def stack_file_schema() -> dict[str, Any]:
    """The schema of a whole stack file, deterministic for a given version of the models."""
    gateway = _without_titles(GatewayConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}"))
    definitions = gateway.pop("$defs")
    apim = _without_titles(ApimSettings.model_json_schema(by_alias=True))
    definitions["ApimSettings"] = apim
    # An entry may take any setting from `defaults` (and the environment's defaults), so only
    # its name is required of it; `defaults` itself requires nothing.
    definitions["GatewayConfig"] = {**gateway, "required": ["name"]}
    definitions["GatewayDefaults"] = {key: value for key, value in copy.deepcopy(gateway).items() if key != "required"}
    definitions["GatewayDefaults"]["description"] = "Settings shared by every gateway (each entry overrides them)."
    definitions["SecureValue"] = SECURE_VALUE
    alert = _without_titles(TokenExpiryAlert.model_json_schema(by_alias=True, ref_template="#/$defs/{model}"))
    definitions.update(alert.pop("$defs"))
    definitions["TokenExpiryAlert"] = alert

    key = f"{CONFIG_NAMESPACE}:"
    assert set(SECRET_KEYS) == {"kubeconfig", "gatewayTokens", "entraClientSecrets", "proxyCredentials", "ownerKey"}, (
        "update the secret keys below"
    )
    config_keys: dict[str, Any] = {
        f"{key}environment": {
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
            "description": "Name of the environment (`dev`, `staging`, `prod`...). Its rules: `environmentRules`.",
        },
        f"{key}environmentRules": {
            "enum": ["dev", "prod"],
            "description": "The rules the environment follows; unset: `dev` for `dev`, `prod` for any other name.",
        },
        f"{key}apim": {"$ref": "#/$defs/ApimSettings"},
        f"{key}defaults": {"$ref": "#/$defs/GatewayDefaults"},
        f"{key}gateways": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/GatewayConfig"}},
        f"{key}kubeconfig": {"$ref": "#/$defs/SecureValue", "description": "Kubeconfig content (secret)."},
        f"{key}ownerKey": OWNER_KEY,
        f"{key}gatewayTokens": _secret_map("gateway token (`apim.mode: existing`)"),
        f"{key}entraClientSecrets": _secret_map("client secret of the Entra ID application (`auth.mode: entraApp`)"),
        f"{key}proxyCredentials": _secret_map("`user:password` of the gateway's outbound proxy"),
        f"{key}tokenExpiryAlert": {"$ref": "#/$defs/TokenExpiryAlert"},
        f"{key}allowDeleting": _object_list(StackConfig, "allow_deleting", DELETABLE_KINDS),
        f"{key}retain": _object_list(StackConfig, "retain", RETAINABLE_KINDS),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Pulumi stack file of the apim-gateway project (Pulumi.<stack>.yaml)",
        "description": "Generated by `python -m components.config.stack_schema` from components/config; do not edit.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config_keys,
                "required": [f"{key}environment", f"{key}gateways"],
                # Other namespaces (providers' settings) are free; an unknown apim-gateway: key is not.
                "patternProperties": {f"^(?!{CONFIG_NAMESPACE}:)": {}},
                "additionalProperties": False,
            }
        },
        "$defs": definitions,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the schema file is not the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date: run python -m components.config.stack_schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
