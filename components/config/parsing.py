"""Parsing a stack's raw config into a ``StackConfig``, and its one error message."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr, ValidationError

from .adoption import adoption_problems
from .alerts import TokenExpiryAlert
from .azure import ApimSettings
from .fields import CONFIG_NAMESPACE
from .network_rules import proxy_credential_problems
from .pod_rules import backup_binding_problems
from .rules import ENVIRONMENT_DEFAULTS, _gateway_rules, _secret_problems, _stack_rules
from .safety import fleet_problems, gateway_problems, safety_problems, safety_warnings
from .stack import GatewayConfig, StackConfig, environment_rules

SECRET_KEYS = ("kubeconfig", "gatewayTokens", "entraClientSecrets", "proxyCredentials", "ownerKey")
"""Top-level keys that must be set with ``pulumi config set --secret``."""
OWNER_KEY_MIN_LENGTH = 32
"""``ownerKey``: at least 128 bits when hex (``openssl rand -hex 32`` gives 64 characters)."""
UNECHOED_FIELDS = {"certificates": "PEM text", "extraSettings": "values not shown"}
"""Fields whose value an error never repeats: PEM text pasted by mistake may be a private key,
and a pass-through setting refused for its name may hold a credential."""


class ConfigError(ValueError):
    """Stack configuration is invalid. The message lists every problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _decode(value: Any) -> Any:
    """Pulumi hands object values to programs as JSON strings; stack files hold them as YAML."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _show(value: Any, secret: bool) -> str:
    if secret:
        return "[secret]"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> tuple[bool, Any]:
    node = raw
    for part in loc:
        if isinstance(node, Mapping):
            if part not in node:
                return False, None
            node = node[part]
        elif isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


def _problems(error: ValidationError, prefix: str, raw: Any, secret: bool = False) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        # pydantic reports union branches as loc parts such as 'int' / 'str'; drop them.
        loc = tuple(part for part in loc if part not in ("int", "str", "float", "bool", "is-instance[str]"))
        key = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        found, value = _lookup(raw, loc)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            problems.append(f"{key}: required setting is missing")
        elif item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown setting (check the spelling; keys are camelCase)")
        elif found and loc and loc[-1] in UNECHOED_FIELDS:
            shown = f"{sorted(value)!r}, " if isinstance(value, Mapping) else ""  # names only
            problems.append(f"{key} = [{shown}{UNECHOED_FIELDS[str(loc[-1])]}]: {message}")
        elif found:
            problems.append(f"{key} = {_show(value, secret)}: {message}")
        else:
            problems.append(f"{key}: {message}")
    return problems


PREFIX = f"{CONFIG_NAMESPACE}:"
_ENVIRONMENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""An environment's name: a DNS label (it may name a namespace, a GitHub environment, a stack)."""


def parse_stack_config(
    raw: Mapping[str, Any],
    secret_keys: Iterable[str] = (),
    now: datetime | None = None,
    arm_environment: str | None = None,
) -> StackConfig:
    """Validate a stack's ``apim-gateway:*`` config into a ``StackConfig``.

    ``raw`` maps full keys (``apim-gateway:gateways``) to values, as the stack file or
    the Pulumi runtime holds them. ``secret_keys`` lists the full keys set with
    ``--secret``. Raises ``ConfigError`` naming every problem; returns only valid config.
    """
    now = now or datetime.now(UTC)
    values = {key[len(PREFIX) :]: _decode(value) for key, value in raw.items() if key.startswith(PREFIX)}
    problems = _key_problems(values, set(secret_keys))
    environment = values.get("environment")
    rules_given = values.get("environmentRules")
    if environment is None:
        problems.append(f"{PREFIX}environment: required setting is missing (a name such as 'dev', 'staging' or 'prod')")
    elif not isinstance(environment, str) or not _ENVIRONMENT_NAME.match(environment):
        problems.append(
            f"{PREFIX}environment = {_show(environment, False)}: must be a DNS label (lowercase letters, digits "
            "and '-', at most 63 characters) such as 'dev', 'staging' or 'prod-eu'"
        )
    if rules_given is not None and rules_given not in ENVIRONMENT_DEFAULTS:
        problems.append(
            f"{PREFIX}environmentRules = {_show(rules_given, False)}: allowed values are 'dev', 'prod' "
            "(unset: 'dev' for the environment named dev, 'prod' for any other)"
        )
    rules = environment_rules(environment, rules_given)
    gateways, labelled = _gateways(values, rules, problems)
    apim = _apim(values, gateways, labelled, arm_environment, problems)
    token_expiry_alert = _token_expiry_alert(values, apim, problems)
    raw_tokens = _secret_map(values, "gatewayTokens", "token", problems)
    raw_client_secrets = _secret_map(values, "entraClientSecrets", "secret", problems)
    raw_proxy_credentials = _secret_map(values, "proxyCredentials", "proxy credentials ('user:password')", problems)
    kubeconfig = _kubeconfig(values, problems)
    owner_key = _owner_key(values, problems)
    allow_deleting = _object_entries(values, "allowDeleting", DELETABLE_KINDS, problems)
    retain = _object_entries(values, "retain", RETAINABLE_KINDS, problems)
    if problems or apim is None:
        raise ConfigError(problems)

    config = StackConfig(
        environment=environment,
        environment_rules=rules_given,
        apim=apim,
        gateways=tuple(gateways),
        kubeconfig=SecretStr(kubeconfig) if kubeconfig else None,
        owner_key=SecretStr(owner_key) if owner_key else None,
        gateway_tokens={name: SecretStr(str(token)) for name, token in raw_tokens.items()},
        entra_client_secrets={name: SecretStr(str(secret)) for name, secret in raw_client_secrets.items()},
        proxy_credentials={name: SecretStr(str(secret)) for name, secret in raw_proxy_credentials.items()},
        token_expiry_alert=token_expiry_alert,
        allow_deleting=allow_deleting,
        retain=retain,
    )
    secret_problems = _secret_problems(config, raw_tokens, raw_client_secrets, now)
    secret_problems += proxy_credential_problems(config)
    if secret_problems:
        raise ConfigError(secret_problems)
    return config


def _sets(section: Mapping[str, Any], *path: str) -> bool:
    """Whether a raw config section sets the key at ``path`` itself (not through a default)."""
    node: Any = section
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _key_problems(values: Mapping[str, Any], secret_keys: set[str]) -> list[str]:
    """Unknown keys, and secret keys set in plain text."""
    problems = []
    known = {
        "environment",
        "environmentRules",
        "apim",
        "defaults",
        "gateways",
        "tokenExpiryAlert",
        "allowDeleting",
        "retain",
        *SECRET_KEYS,
    }
    for key in sorted(set(values) - known):
        problems.append(f"{PREFIX}{key}: unknown setting (allowed: {', '.join(sorted(known))})")
    for key in SECRET_KEYS:
        if key in values and f"{PREFIX}{key}" not in secret_keys:
            problems.append(
                f"{PREFIX}{key}: must be set as a secret (pulumi config set --secret {key} ...), "
                "so that it is encrypted in the stack file and in state"
            )
    return problems


def _gateways(
    values: Mapping[str, Any], environment: Any, problems: list[str]
) -> tuple[list[GatewayConfig], dict[str, tuple[str, GatewayConfig]]]:
    """Each gateway entry over the stack's ``defaults`` over the environment's defaults, validated;
    and each gateway by name with its label (``gateways[0](name)``) for the stack-wide rules."""
    env_defaults = ENVIRONMENT_DEFAULTS.get(str(environment), ENVIRONMENT_DEFAULTS["dev"])
    defaults = values.get("defaults", {})
    if not isinstance(defaults, Mapping):
        problems.append(f"{PREFIX}defaults = {_show(defaults, False)}: must be an object of gateway settings")
        defaults = {}
    raw_gateways = values.get("gateways")
    if raw_gateways is None:
        problems.append(f"{PREFIX}gateways: required setting is missing (a list with at least one gateway)")
        raw_gateways = []
    elif not isinstance(raw_gateways, list) or not raw_gateways:
        problems.append(f"{PREFIX}gateways = {_show(raw_gateways, False)}: must be a non-empty list of gateways")
        raw_gateways = []

    gateways: list[GatewayConfig] = []
    seen: dict[str, int] = {}
    labelled: dict[str, tuple[str, GatewayConfig]] = {}
    production = environment == "prod"
    for index, entry in enumerate(raw_gateways):
        label = f"{PREFIX}gateways[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{label} = {_show(entry, False)}: must be an object with at least name and locationData")
            continue
        if isinstance(entry.get("name"), str):
            label = f"{label}({entry['name']})"
        merged = _deep_merge(_deep_merge(env_defaults, defaults), entry)
        try:
            gateway = GatewayConfig.model_validate(merged)
        except ValidationError as error:
            problems.extend(_problems(error, label, merged))
            continue
        if gateway.name in seen:
            problems.append(f"{label}.name = {gateway.name!r}: already used by gateways[{seen[gateway.name]}]")
        seen[gateway.name] = index
        labelled.setdefault(gateway.name, (label, gateway))
        problems.extend(_gateway_rules(gateway, label, production=production))
        problems.extend(adoption_problems(gateway, label))
        if not _sets(entry, "backup", "enabled") and not _sets(defaults, "backup", "enabled"):
            # The environment's backup default (on in prod-like environments) must bind on stock AKS.
            problems.extend(backup_binding_problems(gateway, label, production))
        problems.extend(gateway_problems(gateway, label))
        problems.extend(safety_problems(gateway, label, production=production))
        gateways.append(gateway)
    problems.extend(fleet_problems(labelled.values()))
    return gateways, labelled


def _apim(
    values: Mapping[str, Any],
    gateways: list[GatewayConfig],
    labelled: dict[str, tuple[str, GatewayConfig]],
    arm_environment: str | None,
    problems: list[str],
) -> ApimSettings | None:
    """The APIM instance's settings, checked against the gateways and ``ARM_ENVIRONMENT``."""
    try:
        apim = ApimSettings.model_validate(values.get("apim", {}))
    except ValidationError as error:
        problems.extend(_problems(error, f"{PREFIX}apim", values.get("apim", {})))
        return None
    # 'managed' already requires serviceName; 'existing' needs it only to derive endpoints.
    if not apim.service_name and not all(g.configuration_endpoint for g in gateways):
        problems.append(
            f"{PREFIX}apim.serviceName: required setting is missing (needed to derive the "
            "configuration endpoint when a gateway sets no configurationEndpoint)"
        )
    problems.extend(_stack_rules(apim, labelled))
    if arm_environment and arm_environment.lower() != apim.cloud:
        # token.py and azure-native pick the cloud from ARM_ENVIRONMENT; the endpoint from apim.cloud.
        problems.append(
            f"{PREFIX}apim.cloud = {apim.cloud!r}: ARM_ENVIRONMENT is {arm_environment!r}; the Azure "
            "resources and the token go to that cloud, so set apim.cloud to the same cloud"
        )
    return apim


def _token_expiry_alert(
    values: Mapping[str, Any], apim: ApimSettings | None, problems: list[str]
) -> TokenExpiryAlert | None:
    if "tokenExpiryAlert" not in values:
        return None
    raw_alert = values["tokenExpiryAlert"]
    try:
        alert = TokenExpiryAlert.model_validate(raw_alert)
    except ValidationError as error:
        problems.extend(_problems(error, f"{PREFIX}tokenExpiryAlert", raw_alert))
        return None
    if apim is not None and not (apim.resource_group_name and apim.service_name):
        problems.append(
            f"{PREFIX}tokenExpiryAlert: needs apim.resourceGroupName and apim.serviceName (the instance "
            "whose Event Grid events it subscribes to)"
        )
    return alert


RETAINABLE_KINDS = ("Namespace", "StorageClass", "PriorityClass")
"""What ``retain`` may name (the backup claim has ``backup.keepOnDestroy``)."""
DELETABLE_KINDS = ("Namespace", "PersistentVolumeClaim", "StorageClass", "PriorityClass", "gateway")
"""What ``allowDeleting`` may name."""
OBJECT_NAME_PATTERN = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
"""A Kubernetes object name (DNS subdomain)."""


def _object_entries(
    values: Mapping[str, Any], key: str, kinds: tuple[str, ...], problems: list[str]
) -> tuple[str, ...]:
    """``allowDeleting`` or ``retain``: a list of ``Kind/name`` (``PersistentVolumeClaim/<namespace>/<name>``)."""
    entries = values.get(key, [])
    if not isinstance(entries, list):
        problems.append(f"{PREFIX}{key} = {_show(entries, False)}: must be a list of 'Kind/name' entries")
        return ()
    shapes = [f"{kind}/<namespace>/<name>" if kind == "PersistentVolumeClaim" else f"{kind}/<name>" for kind in kinds]
    valid = []
    for index, entry in enumerate(entries):
        kind, _, rest = str(entry).partition("/")
        parts = rest.split("/") if kind == "PersistentVolumeClaim" else [rest]
        if (
            not isinstance(entry, str)
            or kind not in kinds
            or len(parts) != (2 if kind == "PersistentVolumeClaim" else 1)
            or not all(re.fullmatch(OBJECT_NAME_PATTERN, part) for part in parts)
        ):
            problems.append(f"{PREFIX}{key}[{index}] = {_show(entry, False)}: allowed forms are {', '.join(shapes)}")
        else:
            valid.append(entry)
    return tuple(valid)


def _secret_map(values: Mapping[str, Any], key: str, what: str, problems: list[str]) -> Mapping[str, Any]:
    """``gatewayTokens`` or ``entraClientSecrets``: gateway name → secret; never shown."""
    secrets = values.get(key, {})
    if not isinstance(secrets, Mapping):
        problems.append(f"{PREFIX}{key} = [secret]: must be an object mapping gateway name to {what}")
        return {}
    return secrets


def _owner_key(values: Mapping[str, Any], problems: list[str]) -> str | None:
    """``ownerKey``: a string of at least ``OWNER_KEY_MIN_LENGTH`` characters without spaces; never echoed."""
    key = values.get("ownerKey")
    if key is None:
        return None
    if not isinstance(key, str) or len(key) < OWNER_KEY_MIN_LENGTH or any(c.isspace() for c in key):
        problems.append(
            f"{PREFIX}ownerKey = (secret, not shown): must be a string of at least {OWNER_KEY_MIN_LENGTH} characters "
            'without spaces, e.g. pulumi config set --secret apim-gateway:ownerKey "$(openssl rand -hex 32)"'
        )
        return None
    return key


def _kubeconfig(values: Mapping[str, Any], problems: list[str]) -> str | None:
    kubeconfig = values.get("kubeconfig")
    if isinstance(kubeconfig, Mapping):
        # A kubeconfig written as JSON (YAML's subset; the local cluster's is) was parsed like every
        # JSON config value: give the provider its text back.
        kubeconfig = json.dumps(kubeconfig)
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        problems.append(f"{PREFIX}kubeconfig = [secret]: must be the kubeconfig file's content as a string")
        return None
    return kubeconfig


def read_pulumi_config() -> StackConfig:
    """Read and validate the running stack's config through the Pulumi runtime."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = [key for key in raw if runtime_config.is_config_secret(key)]
    secret_keys += runtime_config.get_config_secret_keys_env()
    config = parse_stack_config(raw, secret_keys, arm_environment=os.environ.get("ARM_ENVIRONMENT"))
    import pulumi

    for warning in safety_warnings(config):
        pulumi.log.warn(warning)
    return config
