"""``kubernetes.adopt`` against the names the stack gives its objects (issue 24, migration).

The config checks the entries' form (``components/config/adoption.py``); here, before anything is
registered, each entry must name an object of this gateway (its kind and one of the names
``manifests.object_names`` gives), so that a typo is one clear error rather than a silent
no-op. The cluster guard refuses, again, an entry the configuration does not register.
"""

from __future__ import annotations

from ..config import ConfigError, GatewayConfig, StackConfig
from ..config.adoption import describe_entry
from .manifests import object_names

PREFIX = "apim-gateway:"


def adoptable_names(gateway: GatewayConfig) -> dict[str, set[str]]:
    """Per kind, the names the stack gives its own objects: the only names ``kubernetes.adopt`` accepts."""
    names = object_names(gateway)
    secrets = {names.token_secret, names.entra_secret, names.proxy_secret}
    if names.ca_secret and not gateway.custom_ca.secret_name:
        secrets.add(names.ca_secret)  # the stack's own CA bundle, not the one customCa.secretName names
    claim = gateway.backup.enabled and not gateway.backup.existing_claim
    return {
        "Namespace": {names.namespace} if gateway.namespace.create else set(),
        "Secret": secrets,
        "ConfigMap": {names.settings_config_map},
        "ServiceAccount": {gateway.service_account_name} if gateway.service_account_name else set(),
        "Service": {names.traffic_service, names.discovery_service},
        "Deployment": {names.deployment},
        "PersistentVolumeClaim": {names.backup_claim} if claim else set(),
        "PodDisruptionBudget": {names.disruption_budget},
        "HorizontalPodAutoscaler": {names.autoscaler},
        "NetworkPolicy": {names.network_policy},
    }


def unknown_name_problems(gateway: GatewayConfig, key: str) -> list[str]:
    allowed = adoptable_names(gateway)
    problems = []
    for index, entry in enumerate(gateway.kubernetes.adopt):
        if entry.name in allowed[entry.kind]:
            continue
        choices = ", ".join(repr(name) for name in sorted(allowed[entry.kind])) or "none in this configuration"
        problems.append(
            f"{describe_entry(key, index, entry)}: the stack registers no {entry.kind} of that name, and adopts "
            f"only objects it registers; allowed names for {entry.kind}: {choices}"
        )
    return problems


def check_adoption(config: StackConfig) -> None:
    """Refuses, before anything registers, a ``kubernetes.adopt`` entry naming no object of its gateway."""
    problems = [
        problem
        for index, gateway in enumerate(config.gateways)
        for problem in unknown_name_problems(gateway, f"{PREFIX}gateways[{index}]({gateway.name})")
    ]
    if problems:
        raise ConfigError(problems)
