"""Values Kubernetes accepts but that hurt a running gateway: refused in prod, warned about in dev;
and fleet-wide checks (two gateways creating the same Kubernetes object).

The reasoning behind each rule is in ``docs/validation.md`` ("Accepted by Kubernetes, harmful
in production").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from .fields import CONFIG_NAMESPACE
from .rules import PRODUCTION_MIN_REPLICAS
from .stack import GatewayConfig, StackConfig


def _scaled(value: int | str, replicas: int, round_up: bool) -> int:
    """Pods an int-or-percent value stands for. Kubernetes rounds a PodDisruptionBudget's
    percentage up and a Deployment's ``maxUnavailable`` percentage down (k8s.io/kubernetes
    v1.34.3, pkg/controller/disruption/disruption.go:821 and
    pkg/controller/deployment/util/deployment_util.go:892)."""
    if isinstance(value, int):
        return value
    share = replicas * int(value.rstrip("%")) / 100
    return math.ceil(share) if round_up else math.floor(share)


def _steady_replicas(gateway: GatewayConfig) -> int:
    """Pods the gateway runs at least: the autoscaler's minimum, or ``replicas``."""
    return gateway.min_replicas if gateway.autoscaling.enabled else gateway.replicas


def _budget_blocks_drains(gateway: GatewayConfig) -> bool:
    budget = gateway.disruption_budget
    return budget.enabled and _scaled(budget.max_unavailable, _steady_replicas(gateway), round_up=True) == 0


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def gateway_problems(gateway: GatewayConfig, key: str) -> list[str]:
    """Every environment: combinations each field's own check cannot see."""
    problems = []
    secrets = gateway.image.pull_secrets
    repeated = sorted({name for name in secrets if secrets.count(name) > 1})
    if repeated:
        # imagePullSecrets is a list keyed by name: server-side apply refuses a repeated entry
        # ("duplicate entries for key [name=...]", measured on the API server 1.34.3).
        problems.append(f"{key}.image.pullSecrets = {list(secrets)!r}: {', '.join(repeated)} listed more than once")
    tag = gateway.image.tag
    if len(tag) > 63 or not _LABEL_VALUE.match(tag):
        # The tag is the app.kubernetes.io/version label of every object (Kubernetes docs,
        # "Labels and Selectors": a value is at most 63 characters, ending with a letter or digit).
        problems.append(
            f"{key}.image.tag = {tag!r}: it becomes the label app.kubernetes.io/version, so it must be at most "
            "63 characters and start and end with a letter or digit"
        )
    return problems


def safety_problems(gateway: GatewayConfig, key: str, production: bool) -> list[str]:
    """Production only: settings that block cluster maintenance or let one event stop every pod."""
    replicas = _steady_replicas(gateway)
    if not production or replicas < PRODUCTION_MIN_REPLICAS:  # too few replicas is reported on its own
        return []
    problems = []
    budget = gateway.disruption_budget
    if _budget_blocks_drains(gateway):
        problems.append(
            f"{key}.disruptionBudget.maxUnavailable = {budget.max_unavailable!r}: in prod it must allow at least "
            "one eviction; 0 blocks every node drain, and so every cluster upgrade, until someone deletes the budget"
        )
    elif budget.enabled and _scaled(budget.max_unavailable, replicas, round_up=True) >= replicas:
        problems.append(
            f"{key}.disruptionBudget.maxUnavailable = {budget.max_unavailable!r}: in prod it must be below the "
            f"{replicas} replicas, or a node drain may evict every gateway pod at once"
        )
    if _scaled(gateway.rollout.max_unavailable, replicas, round_up=False) >= replicas:
        problems.append(
            f"{key}.rollout.maxUnavailable = {gateway.rollout.max_unavailable!r}: in prod it must be below the "
            f"{replicas} replicas, or a rollout may stop every gateway pod at once"
        )
    return problems


def safety_warnings(config: StackConfig) -> list[str]:
    """Settings accepted with a warning: what prod refuses, and what no check can prove wrong."""
    warnings = []
    for gateway in config.gateways:
        key = f"{CONFIG_NAMESPACE}:gateways({gateway.name})"
        if not config.is_production and _budget_blocks_drains(gateway):
            warnings.append(
                f"{key}.disruptionBudget.maxUnavailable = {gateway.disruption_budget.max_unavailable!r}: blocks "
                "every node drain (and cluster upgrade) while the gateway runs; refused in prod"
            )
        if gateway.dns.policy == "None":
            # The cluster DNS's address is not known here, so this cannot be checked, only said.
            warnings.append(
                f"{key}.dns.policy = 'None': neighborhood.host (the instance-discovery Service's cluster name) "
                "resolves only if dns.nameservers includes the cluster DNS; without it the replicas cannot "
                "find each other (rate limits and heartbeats stay per pod)"
            )
    return warnings


def _cluster(gateway: GatewayConfig) -> tuple[str | None, str | None, str | None]:
    settings = gateway.kubernetes
    return settings.kubeconfig_path, settings.context, settings.render_yaml_to_directory


def fleet_problems(gateways: Iterable[tuple[str, GatewayConfig]]) -> list[str]:
    """Two gateways on one cluster must not create the same namespace or ServiceAccount:
    the second create fails with 'already exists' (or both fight over one object)."""
    problems = []
    namespaces: dict[tuple[object, str], str] = {}
    accounts: dict[tuple[object, str, str], str] = {}
    for label, gateway in gateways:
        cluster = _cluster(gateway)
        if gateway.namespace.create:
            owner = namespaces.setdefault((cluster, gateway.namespace_name), label)
            if owner != label:
                problems.append(
                    f"{label}.namespace.name = {gateway.namespace_name!r}: {owner} already creates this namespace "
                    "on the same cluster; set namespace.create to false on all gateways but one"
                )
        account = gateway.service_account_name
        if account is not None:
            owner = accounts.setdefault((cluster, gateway.namespace_name, account), label)
            if owner != label:
                problems.append(
                    f"{label}.auth.workloadIdentity.serviceAccountName = {account!r}: {owner} already uses this "
                    f"ServiceAccount in namespace {gateway.namespace_name!r}; each gateway needs its own"
                )
    return problems
