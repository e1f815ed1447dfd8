"""Checks of the scheduled token renewal (.github/workflows/renew-token.yml).

``plan PREVIEW.json``: reads the output of ``pulumi preview --json`` and fails unless every
step that changes something is one of the renewal's own: the gateway token (a dynamic
resource named ``<gateway>-access-token``), the regeneration of the retired key
(``<gateway>-retired-key``), the Kubernetes Secret holding the token (``<gateway>-token``)
and the Deployment, whose only change may be its ``checksum/credentials`` annotation (the
rollout the new token causes). Prints the URNs of those steps, one a line, for
``pulumi up --target``; prints nothing when there is nothing to renew.

``expiry GATEWAYS.json``: reads ``pulumi stack output gateways --json`` and fails when a
gateway's token expires within ``--min-days-left`` days.

The preview JSON is Pulumi's ``PreviewDigest`` (pulumi/pulumi
``sdk/go/common/display/json.go``: ``steps[]`` of ``{op, urn, detailedDiff, diffReasons}``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

UNCHANGED_OPS = frozenset({"same", "read"})
"""Steps that change nothing (``read`` reads an external resource)."""
DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"
CREDENTIALS_ANNOTATION = "checksum/credentials"


@dataclass(frozen=True)
class RenewalStep:
    """A resource the renewal may update: its type, the suffix of its name, and the property
    paths that may change (each changed path must start with one of them)."""

    resource_type: str
    name_suffix: str
    changed_paths: tuple[str, ...]
    paths_reported: bool = True
    """False for dynamic resources: Pulumi's dynamic-provider host answers Diff without the
    changed keys (pulumi ``dynamic/__main__.py`` ``Diff``: only changes, replaces,
    deleteBeforeReplace), so their steps carry none; keys they do carry are still checked."""


RENEWAL_STEPS = (
    # The token's inputs (components/token.py TOKEN_INPUTS): only its expiry moves with the window.
    RenewalStep(DYNAMIC_TYPE, "-access-token", ("expires_on",), paths_reported=False),
    # The retired key is regenerated only when the active key changed (REGENERATION_INPUTS).
    RenewalStep(DYNAMIC_TYPE, "-retired-key", ("key_type",), paths_reported=False),
    # The token Secret's data, nothing of its metadata (labels, annotations, name).
    RenewalStep("kubernetes:core/v1:Secret", "-token", ("stringData", "data")),
    RenewalStep(
        "kubernetes:apps/v1:Deployment",
        "-deployment",
        (f'spec.template.metadata.annotations["{CREDENTIALS_ANNOTATION}"]',),
    ),
)


def urn_type_and_name(urn: str) -> tuple[str, str]:
    """``urn:pulumi:prod::apim-gateway::a$b:c:D::name`` → (``b:c:D``, ``name``)."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return parts[2].split("$")[-1], "::".join(parts[3:])


def _changed_keys(step: Mapping[str, Any]) -> list[str]:
    detailed = step.get("detailedDiff")
    if isinstance(detailed, Mapping) and detailed:
        return [str(key) for key in detailed]
    reasons = step.get("diffReasons")
    return [str(key) for key in reasons] if isinstance(reasons, list) else []


def judge_step(step: Mapping[str, Any]) -> str | None:
    """None when the step belongs to a renewal, else why not."""
    op, urn = str(step.get("op")), str(step.get("urn"))
    resource_type, name = urn_type_and_name(urn)
    if op in UNCHANGED_OPS:
        return None
    matches = [
        rule for rule in RENEWAL_STEPS if rule.resource_type == resource_type and name.endswith(rule.name_suffix)
    ]
    if not matches:
        return f"{op} {urn}: a token renewal changes only the token, its Secret and the Deployment's rollout"
    if op != "update":
        return f"{op} {urn}: a token renewal only updates this resource in place"
    rule = matches[0]
    keys = _changed_keys(step)
    others = [key for key in keys if not key.startswith(rule.changed_paths)]
    if (not keys and rule.paths_reported) or others:
        shown = ", ".join(others) if others else "(no property diff reported)"
        return f"update {urn}: only {', '.join(rule.changed_paths)} may change in a renewal, not {shown}"
    return None


def is_retry(step: Mapping[str, Any]) -> bool:
    """An ``update`` that changes no property of a resource whose last create or update failed
    to become ready: the engine proposes it to retry the provider's wait (pulumi v3.259.0
    ``pkg/resource/deploy/step_generator.go`` lines 2178-2190: "If resource was unchanged, but
    there were initialization errors, generate an empty update step"). It belongs to no renewal
    and blocks none: left untargeted, it is not run."""
    old_state = step.get("oldState")
    init_errors = old_state.get("initErrors") if isinstance(old_state, Mapping) else None
    return str(step.get("op")) == "update" and not _changed_keys(step) and bool(init_errors)


def check_plan(preview: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(URNs to update, problems) for a ``pulumi preview --json`` document."""
    steps = preview.get("steps") or []
    if not isinstance(steps, list):
        return [], ["the preview has no list of steps"]
    targets, problems = [], []
    for step in steps:
        if not isinstance(step, Mapping):
            problems.append(f"a step is not an object: {step!r}")
            continue
        if is_retry(step):
            continue
        problem = judge_step(step)
        if problem is not None:
            problems.append(problem)
        elif step.get("op") not in UNCHANGED_OPS:
            targets.append(str(step["urn"]))
    errors = [d for d in preview.get("diagnostics") or [] if isinstance(d, Mapping) and d.get("severity") == "error"]
    problems.extend(f"preview error: {str(d.get('message', '')).strip()}" for d in errors)
    return targets, problems


def check_expiry(gateways: Mapping[str, Any], stack: str, min_left: timedelta, now: datetime) -> list[str]:
    """Problems (empty when every token lasts at least ``min_left``); token-free gateways pass."""
    if not gateways:
        return [f"stack {stack}: the 'gateways' output is empty"]
    problems = []
    for name, gateway in sorted(gateways.items()):
        expires = gateway.get("tokenExpiresOn") if isinstance(gateway, Mapping) else None
        if expires == "none":
            continue
        try:
            expires_on = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"stack {stack}, gateway {name}: token expiry {expires!r} is not a date")
            continue
        left = expires_on - now
        if left < min_left:
            problems.append(
                f"stack {stack}, gateway {name}: the token expires on {expires} "
                f"({left.total_seconds() / 86400:.1f} days left, at least {min_left.days} needed)"
            )
    return problems


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="check a `pulumi preview --json` output; print the URNs to update")
    plan.add_argument("preview", type=Path)
    expiry = commands.add_parser("expiry", help="check `pulumi stack output gateways --json`")
    expiry.add_argument("gateways", type=Path)
    expiry.add_argument("--stack", required=True)
    expiry.add_argument("--min-days-left", type=int, default=7)
    args = parser.parse_args(argv)

    if args.command == "plan":
        targets, problems = check_plan(json.loads(args.preview.read_text()))
        for urn in targets:
            print(urn)
    else:
        gateways = json.loads(args.gateways.read_text())
        min_left = timedelta(days=args.min_days_left)
        problems = check_expiry(gateways, args.stack, min_left, now or datetime.now(UTC))
    for problem in problems:
        print(f"::error::{problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
