"""The component as a Pulumi package, for TypeScript, Go, C#, Java and YAML programs.

``SelfHostedGateway`` here is the package's component: it takes the plain-typed inputs
generated from the config models (``package/types.py``, by ``python -m components.package.args``),
validates them with the very function that validates a stack (``parse_stack_config``, so a
package user gets the stack's ``ConfigError`` text, raised before anything is registered), and
then runs the Python component it subclasses: same resource type, same children, same outputs.
Python programs keep using ``components.SelfHostedGateway`` with ``SelfHostedGatewayArgs``.

``plugin/__main__.py`` serves it with Pulumi's component provider (``GatewayPackageProvider``). No
``from __future__ import annotations`` here: the host reads the annotations of this class and
of ``__init__``'s ``args`` as objects (``inspect.get_annotations`` in
``pulumi/provider/experimental/analyzer.py``, ``analyze_component`` and ``analyze_type``).
"""

import json
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any, get_args, get_origin

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider import ConstructResult
from pulumi.provider import main as serve
from pulumi.provider.experimental.component import ComponentProvider
from pydantic import BaseModel

from .. import __version__
from .. import gateway as python_component
from ..args import SelfHostedGatewayArgs
from ..config import CONFIG_NAMESPACE, ConfigError, GatewayConfig, StackConfig, parse_stack_config
from .args import _is_int_or_percent, _strip
from .types import SelfHostedGatewayPackageArgs

PACKAGE_NAME = CONFIG_NAMESPACE
"""The package is named like the config namespace: its component's type token,
``apim-gateway:index:SelfHostedGateway``, is the Python component's."""

SECRET_INPUTS = {
    "kubeconfig": "kubeconfig",
    "gatewayToken": "gatewayTokens",
    "entraClientSecret": "entraClientSecrets",
    "proxyCredentials": "proxyCredentials",
    "ownerKey": "ownerKey",
}
"""Package input → the stack's secret config key it stands for."""
TOP_LEVEL_SECRETS = ("kubeconfig", "ownerKey")
"""Secret config keys that are one value for the stack, not a map by gateway."""

UNKNOWN_SECRET = "not-known-before-deployment"  # noqa: S105 (a placeholder, not a secret)
"""Stands in for a secret input that is an Output (another resource's, or a secret) while the
config is validated: such a secret is checked for presence only, its value where it is used."""


def _plain(value: Any) -> Any:
    """Enum members (the host turns enum inputs into them) back into their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _integers(value: Any, model: type[BaseModel]) -> Any:
    """Strings of digits back into integers where the model takes ``int | str`` (``IntOrPercent``,
    a string in the package: the host accepts no union)."""
    if not isinstance(value, Mapping):
        return value
    result = dict(value)
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in result:
            continue
        annotation, _ = _strip(info.annotation)
        item = get_args(annotation)[0] if get_origin(annotation) is tuple else None
        if _is_int_or_percent(annotation) and isinstance(result[key], str) and result[key].isdigit():
            result[key] = int(result[key])
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            result[key] = _integers(result[key], annotation)
        elif isinstance(item, type) and issubclass(item, BaseModel) and isinstance(result[key], list):
            result[key] = [_integers(entry, item) for entry in result[key]]
    return result


def stack_config(args: SelfHostedGatewayPackageArgs) -> StackConfig:
    """The package inputs as the stack config of one gateway, validated like a stack's."""
    ns = CONFIG_NAMESPACE
    gateway = _integers(_plain(args["gateway"]), GatewayConfig)
    raw: dict[str, Any] = {
        f"{ns}:environment": _plain(args["environment"]),
        **(
            {f"{ns}:environmentRules": _plain(args["environmentRules"])}
            if args.get("environmentRules") is not None
            else {}
        ),
        f"{ns}:apim": _plain(args["apim"]),
        f"{ns}:gateways": [gateway],
    }
    if args.get("retain") is not None:
        raw[f"{ns}:retain"] = _plain(args["retain"])
    name = str(gateway.get("name")) if isinstance(gateway, Mapping) else ""
    for input_name, stack_key in SECRET_INPUTS.items():
        value = args.get(input_name)
        if value is None:
            continue
        if isinstance(value, str):
            known = value
        elif stack_key == "ownerKey":
            continue  # not known yet: the owner is only ever computed from a known key (docs/reuse.md)
        elif stack_key == "gatewayTokens":
            known = f"{name}&999912312359&{UNKNOWN_SECRET}"  # the token format, never expiring
        else:
            known = UNKNOWN_SECRET
        raw[f"{ns}:{stack_key}"] = known if stack_key in TOP_LEVEL_SECRETS else {name: known}
    return parse_stack_config(raw, secret_keys=[f"{ns}:{key}" for key in SECRET_INPUTS.values()])


def _secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value)


def python_args(args: SelfHostedGatewayPackageArgs) -> SelfHostedGatewayArgs:
    """The Python component's args for the package inputs; raises ``ConfigError`` when invalid."""
    config = stack_config(args)
    return SelfHostedGatewayArgs(
        gateway=config.gateways[0],
        apim_mode=config.apim.mode,
        apim_cloud=config.apim.cloud,
        apim_resource_group_name=config.apim.resource_group_name,
        apim_service_name=config.apim.service_name,
        token=_secret(args.get("gatewayToken")),
        entra_client_secret=_secret(args.get("entraClientSecret")),
        proxy_credentials=_secret(args.get("proxyCredentials")),
        kubeconfig=_secret(args.get("kubeconfig")),
        retain=frozenset(config.retain),
        owner_key=config.owner_key.get_secret_value() if config.owner_key else None,
    )


class SelfHostedGateway(python_component.SelfHostedGateway):
    """An Azure API Management self-hosted gateway on Kubernetes, from its APIM resource to running pods."""

    # The outputs, re-declared for the host (the Python component's annotations are strings);
    # tests/unit/test_plugin.py keeps them equal to the Python component's.
    gateway_id: pulumi.Output[str]
    """Gateway id in APIM."""
    configuration_endpoint: pulumi.Output[str]
    """Host name of the configuration endpoint the gateway connects to."""
    namespace: pulumi.Output[str]
    """Kubernetes namespace of the gateway's objects."""
    deployment_name: pulumi.Output[str]
    """Name of the gateway's Deployment."""
    traffic_service_name: pulumi.Output[str]
    """Name of the Service that carries API traffic."""
    discovery_service_name: pulumi.Output[str]
    """Name of the headless Service the gateway pods find each other through."""
    token_expires_on: pulumi.Output[str]
    """When the current token expires (ISO 8601, UTC; `none` without a token); never the token itself."""
    checks: pulumi.Output[dict[str, str]]
    """Ready-to-run `kubectl` commands that check the deployment."""

    def __init__(
        self, name: str, args: SelfHostedGatewayPackageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, python_args(args), opts)


class GatewayPackageProvider(ComponentProvider):
    """The host's ``ComponentProvider``, validating the config before the component is built.

    The host wraps every exception raised in a component's ``__init__`` into
    ``ComponentInitError``, which the engine shows with a Python traceback
    (``pulumi/provider/server.py``, ``Construct``); an ``InputPropertiesError`` raised before
    is reported as invalid input, with its message only (same place). So the ``ConfigError``
    reaches a package user exactly as a stack user reads it.
    """

    def __init__(self) -> None:
        super().__init__([SelfHostedGateway], PACKAGE_NAME, version=__version__)

    def construct(
        self, name: str, resource_type: str, inputs: pulumi.Inputs, options: pulumi.ResourceOptions | None = None
    ) -> ConstructResult:
        definition = self._component_defs[resource_type.rsplit(":", maxsplit=1)[-1]]
        try:
            stack_config(self.map_inputs(inputs, definition))  # type: ignore[arg-type]
        except ConfigError as error:
            # Each problem starts with its full key; the SDK needs at least one property error
            # (with none, ``create_grpc_invalid_properties_status`` leaves ``trailing_metadata`` unset).
            keys = [problem.split(" ", 1)[0].rstrip(":") for problem in error.problems]
            reasons = [problem[len(key) :].lstrip(" :") for key, problem in zip(keys, error.problems, strict=True)]
            errors = [
                InputPropertyErrorDetails(
                    property_path=key, reason=f"value {reason[2:]}" if reason[:2] == "= " else reason
                )
                for key, reason in zip(keys, reasons, strict=True)
            ]
            raise InputPropertiesError(str(error), errors) from None
        return super().construct(name, resource_type, inputs, options)


def schema_text() -> str:
    """The package schema, as the provider serves it to ``pulumi package get-schema`` / ``gen-sdk``."""
    schema = GatewayPackageProvider().schema
    assert schema is not None
    return json.dumps(json.loads(schema), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Serve the package, as ``component_provider_host`` does (``host.py``: ``main(ComponentProvider(...),
    sys.argv[1:])``), with the validating provider above."""
    serve(GatewayPackageProvider(), sys.argv[1:])
