"""The policies of the ``apim-gateway-guardrails`` pack: the rules of ``rules.py`` wrapped
for ``pulumi_policy``. Importing this module starts nothing; ``__main__.py`` serves the pack.

Enforcement levels below are the defaults; ``config/<stack>.json`` overrides them per stack
(``pulumi preview --policy-pack policy/analyzer --policy-pack-config policy/config/prod.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import objects, rules, security_rules

PACK_NAME = "apim-gateway-guardrails"
PACK_DESCRIPTION = "Guardrails for the Azure API Management self-hosted gateway on Kubernetes."


@dataclass(frozen=True)
class ResourceRuleSpec:
    name: str
    description: str
    check: objects.ResourceRule
    enforcement_level: EnforcementLevel


RESOURCE_RULES: tuple[ResourceRuleSpec, ...] = (
    ResourceRuleSpec(
        "no-default-namespace",
        'Namespaced Kubernetes objects set metadata.namespace, and not to "default".',
        rules.no_default_namespace,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "gateway-image-pinned",
        "The gateway image (any registry's azure-api-management/gateway, mirrors included) is pinned to a "
        "major.minor.patch tag or a well-formed sha256 digest.",
        rules.gateway_image_pinned,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "container-resource-requests",
        "Every container requests CPU and memory.",
        rules.container_resource_requests,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "rolling-update-explicit",
        "Deployments use the RollingUpdate strategy with explicit maxUnavailable and maxSurge.",
        rules.rolling_update_explicit,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "gateway-readiness-probe",
        f"The gateway container's readiness probe is httpGet {objects.STATUS_PATH}.",
        rules.gateway_readiness_probe,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "gateway-token-in-secret",
        "The gateway token is only in a Secret: never in a ConfigMap or a plain container env value.",
        rules.gateway_token_in_secret,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "gateway-config-backup",
        f"The gateway container mounts a volume at {objects.BACKUP_MOUNT_PATH} (configuration backup).",
        rules.gateway_config_backup,
        EnforcementLevel.ADVISORY,
    ),
    ResourceRuleSpec(
        "load-balancer-local-traffic",
        "LoadBalancer Services use externalTrafficPolicy Local.",
        rules.load_balancer_local_traffic,
        EnforcementLevel.ADVISORY,
    ),
    ResourceRuleSpec(
        "pod-security-context",
        "Every container runs as non-root, without privilege escalation, drops ALL capabilities and uses the "
        "RuntimeDefault (or Localhost) seccomp profile.",
        security_rules.pod_security_context,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "namespace-pod-security",
        "Namespaces enforce, warn and audit the restricted Pod Security Standard, with a pinned enforce-version.",
        security_rules.namespace_pod_security,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "egress-blocks-metadata-endpoints",
        "No NetworkPolicy egress rule allows 169.254.169.254 (instance metadata) or 168.63.129.16 (platform host).",
        security_rules.network_policy_blocks_metadata,
        EnforcementLevel.MANDATORY,
    ),
    ResourceRuleSpec(
        "helm-release-not-inspectable",
        "Helm v3 Releases are flagged: the pack cannot see the objects Helm installs.",
        security_rules.helm_release_not_inspectable,
        EnforcementLevel.ADVISORY,
    ),
)


@dataclass(frozen=True)
class StackRuleSpec:
    name: str
    description: str
    check: objects.IndexedStackRule
    enforcement_level: EnforcementLevel


STACK_RULES: tuple[StackRuleSpec, ...] = (
    StackRuleSpec(
        "deployment-min-replicas",
        "Deployments run at least 2 replicas, or their HorizontalPodAutoscaler's minReplicas is at least 2 "
        "(Microsoft's production guidance for the gateway).",
        rules.low_replicas,
        EnforcementLevel.ADVISORY,
    ),
    StackRuleSpec(
        "gateway-disruption-budget",
        "Every gateway Deployment has a PodDisruptionBudget that selects its pods.",
        rules.missing_disruption_budgets,
        EnforcementLevel.MANDATORY,
    ),
    StackRuleSpec(
        "gateway-egress-network-policy",
        "Every gateway Deployment is selected by an egress NetworkPolicy of its namespace.",
        rules.missing_egress_policies,
        EnforcementLevel.MANDATORY,
    ),
)


def _resource_policy(spec: ResourceRuleSpec) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in spec.check(args.resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=spec.name,
        description=spec.description,
        validate=validate,
        enforcement_level=spec.enforcement_level,
    )


def _stack_policy(spec: StackRuleSpec) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(resource.resource_type, resource.props) for resource in args.resources]
        for index, message in spec.check(resources):
            report_violation(message, args.resources[index].urn)

    return StackValidationPolicy(
        name=spec.name,
        description=spec.description,
        validate=validate,
        enforcement_level=spec.enforcement_level,
    )


def build_policies() -> list[Policy]:
    """Fresh policy objects: the resource policies, then the stack policies."""
    return [
        *(_resource_policy(spec) for spec in RESOURCE_RULES),
        *(_stack_policy(spec) for spec in STACK_RULES),
    ]


POLICIES: list[Policy] = build_policies()
POLICY_NAMES: tuple[str, ...] = tuple(policy.name for policy in POLICIES)
