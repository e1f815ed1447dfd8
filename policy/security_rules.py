"""Security rules: the pod's security context, the namespace's Pod Security labels, egress to
the platform's metadata endpoints, and Helm releases the pack cannot see into.

Same contract as ``rules.py``: (resource type, properties) → violation messages. Patch kinds
are judged like their kinds on the fields they set (``rules.is_patch``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .objects import Props, describe, is_patch, kubernetes_kind, pod_spec

# --------------------------------------------------------------------------- 11. pod security context

ALLOWED_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
"""What the "restricted" Pod Security Standard allows (kubernetes.io, "Pod Security Standards",
Restricted: Seccomp). The gateway's own pods use RuntimeDefault."""


def _mapping(value: Any) -> Props:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str | bytes) else ()


def _all_containers(spec: Props) -> Iterator[Props]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _sequence(spec.get(key)):
            yield _mapping(container)


def pod_security_context(resource_type: str, props: Props) -> list[str]:
    """Every container runs as non-root, without privilege escalation, drops ALL capabilities
    and has a RuntimeDefault (or Localhost) seccomp profile; a container's setting overrides
    the pod's for runAsNonRoot and seccompProfile (Kubernetes API: PodSecurityContext)."""
    kind = kubernetes_kind(resource_type)
    spec = pod_spec(kind, props) if kind is not None else None
    if kind is None or spec is None:
        return []
    patch = is_patch(resource_type)
    pod_context = _mapping(spec.get("securityContext"))
    violations = []
    for container in _all_containers(spec):
        context = _mapping(container.get("securityContext"))
        name = container.get("name") or "(unnamed)"
        where = f'{describe(kind, props)}: container "{name}"'
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True and not (patch and non_root is None):
            violations.append(f"{where} may run as root; set securityContext.runAsNonRoot: true.")
        escalation = context.get("allowPrivilegeEscalation")
        if escalation is not False and not (patch and escalation is None):
            violations.append(f"{where} may escalate privileges; set securityContext.allowPrivilegeEscalation: false.")
        capabilities = _mapping(context.get("capabilities"))
        drop = [str(item) for item in _sequence(capabilities.get("drop"))]
        if "ALL" not in drop and not (patch and "capabilities" not in context):
            violations.append(f'{where} keeps Linux capabilities; set securityContext.capabilities.drop: ["ALL"].')
        seccomp = _mapping(context.get("seccompProfile")) or _mapping(pod_context.get("seccompProfile"))
        seccomp_type = seccomp.get("type")
        if seccomp_type not in ALLOWED_SECCOMP_TYPES and not (patch and seccomp_type is None):
            shown = f'"{seccomp_type}"' if seccomp_type is not None else "none"
            violations.append(
                f"{where} has seccomp profile {shown}; set securityContext.seccompProfile.type: RuntimeDefault "
                "(on the pod or the container)."
            )
    return violations


# --------------------------------------------------------------------------- 12. namespace Pod Security labels

POD_SECURITY_LEVEL = "restricted"
"""The gateway's pod spec meets the restricted standard, so its namespace enforces it."""
POD_SECURITY_PREFIX = "pod-security.kubernetes.io/"
_PINNED_VERSION = re.compile(r"^v1\.\d+$")


def namespace_pod_security(resource_type: str, props: Props) -> list[str]:
    """Namespaces enforce, warn and audit the restricted Pod Security Standard, and pin the
    enforced version (``enforce-version: v1.N``; ``latest``, the default, would tighten the
    rules under running pods on a cluster upgrade). Kubernetes docs, "Enforce Pod Security
    Standards with Namespace Labels" and "Pod Security Admission" (labels and versions)."""
    if kubernetes_kind(resource_type) != "Namespace":
        return []
    labels = _mapping(_mapping(props.get("metadata")).get("labels"))
    patch = is_patch(resource_type)
    where = describe("Namespace", props)
    violations = []
    for mode in ("enforce", "warn", "audit"):
        key = POD_SECURITY_PREFIX + mode
        value = labels.get(key)
        if value != POD_SECURITY_LEVEL and not (patch and value is None):
            shown = f'"{value}"' if value is not None else "no label"
            violations.append(f'{where} has {shown} for {key}; set it to "{POD_SECURITY_LEVEL}".')
    version_key = POD_SECURITY_PREFIX + "enforce-version"
    version = labels.get(version_key)
    if not (isinstance(version, str) and _PINNED_VERSION.match(version)) and not (patch and version is None):
        shown = f'"{version}"' if version is not None else "no label (which means latest)"
        violations.append(
            f"{where} has {shown} for {version_key}; pin the enforced version to a Kubernetes minor "
            'version such as "v1.33", so a cluster upgrade cannot reject running pods.'
        )
    return violations


# --------------------------------------------------------------------------- 13. egress to metadata endpoints

BLOCKED_EGRESS = (
    ipaddress.ip_address("169.254.169.254"),  # instance metadata service (IMDS): node identity tokens
    ipaddress.ip_address("168.63.129.16"),  # Azure platform host endpoint (WireServer, DNS, health)
)
"""Addresses no gateway pod may reach (Microsoft Learn, "Azure Instance Metadata Service" and
"What is IP address 168.63.129.16?")."""


def _allowed_by_peer(peer: Props) -> set[str]:
    """The blocked addresses a ``NetworkPolicyPeer`` lets through. Pod and namespace selectors
    select pods, never these host addresses; an ``ipBlock`` lets through what its cidr holds
    and its ``except`` does not."""
    block = _mapping(peer.get("ipBlock"))
    if not block:
        return set()
    try:
        network = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        excepted = [ipaddress.ip_network(str(item), strict=False) for item in _sequence(block.get("except"))]
    except ValueError:
        return {str(address) for address in BLOCKED_EGRESS}  # unparsable: assume the worst
    allowed = set()
    for address in BLOCKED_EGRESS:
        covered = address.version == network.version and address in network
        if covered and not any(address.version == item.version and address in item for item in excepted):
            allowed.add(str(address))
    return allowed


def network_policy_blocks_metadata(resource_type: str, props: Props) -> list[str]:
    """No egress rule of a NetworkPolicy allows 169.254.169.254 or 168.63.129.16: a rule with no
    ``to`` allows every destination; an ``ipBlock`` whose cidr covers them must list them (or a
    range holding them) in ``except`` (Kubernetes API: NetworkPolicyEgressRule, IPBlock)."""
    if kubernetes_kind(resource_type) != "NetworkPolicy":
        return []
    spec = _mapping(props.get("spec"))
    violations = []
    for index, rule in enumerate(_sequence(spec.get("egress"))):
        peers = _sequence(_mapping(rule).get("to"))
        allowed = (
            {str(address) for address in BLOCKED_EGRESS}
            if not peers
            else set().union(*(_allowed_by_peer(_mapping(peer)) for peer in peers))
        )
        if allowed:
            shown = " and ".join(sorted(allowed))
            reason = "has no 'to', so it allows every destination, including" if not peers else "allows"
            violations.append(
                f"{describe('NetworkPolicy', props)}: egress rule {index} {reason} {shown}; list them in "
                "an ipBlock's except (for example cidr 0.0.0.0/0, except 169.254.169.254/32 and 168.63.129.16/32)."
            )
    return violations


# --------------------------------------------------------------------------- 14. Helm releases

OPAQUE_HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release"})
"""Resources whose Kubernetes objects the pack never sees: a Helm v3 Release is one resource,
installed by Helm inside the provider. (``helm.sh/v4:Chart`` and ``helm.sh/v3:Chart`` register
each rendered object as a child resource, which the rules check like any other:
pulumi-kubernetes ``provider/pkg/provider/helm/v4/chart.go``, Register of yaml/v2.)"""


def helm_release_not_inspectable(resource_type: str, props: Props) -> list[str]:
    """Flags Helm releases: their objects escape every other rule."""
    if resource_type not in OPAQUE_HELM_TYPES:
        return []
    chart = props.get("chart")
    name = props.get("name")
    shown = f'"{name}" (chart "{chart}")' if name else f'(chart "{chart}")'
    return [
        f"Helm release {shown}: its Kubernetes objects are installed inside the provider, so this policy "
        "pack cannot check them; use kubernetes:helm.sh/v4:Chart, whose objects are checked one by one."
    ]
