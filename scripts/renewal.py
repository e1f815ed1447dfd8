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

``deployed --repository OWNER/REPO --stack STACK…``: prints ``{"STACK": "<sha>"}``, the commit
each stack's renewal may run: the head commit of the newest ``deploy.yml`` run that was started
by a push to the branch ``main`` (the run's workflow ``path`` ends in ``@refs/heads/main``) and
whose deploy job of that stack succeeded (for prod: after an approval of the ``production``
environment in that run's review history), and which is on ``main``'s first-parent history
(``git rev-list --first-parent``: the merge commits and squashed commits the repository's merge
methods put there, never a commit inside a merged pull request). It reads the workflow's own run
history (GitHub REST API, "Workflow runs": ``GET /repos/{owner}/{repo}/actions/workflows/
{workflow_id}/runs`` with ``branch`` and ``event``; "Workflow jobs": ``GET
…/actions/runs/{run_id}/jobs``; "Review history for a workflow run": ``GET
…/actions/runs/{run_id}/approvals``), which only GitHub writes, never the Deployments API, whose
records and statuses anyone with ``deployments: write`` (a pull request's job) can create.

A run that claims to be a push to ``main`` but is not one is *refused*: its workflow came from
another ref (a push of the tag ``refs/tags/main`` has ``head_branch`` "main", and the runs API's
``branch`` filter matches it; the run object's ``path`` carries the ref the workflow file was
read from, e.g. ``.github/workflows/deploy.yml@refs/heads/main``: GitHub REST API, "REST API
endpoints for workflow runs", the workflow run object's ``path``, "The full path of the
workflow"), or its commit is not on ``main``'s first-parent history. A refused run never blocks
the renewal: the next older run is judged, and each refusal is written to ``--refused FILE`` (one
a line) for the workflow's alert. No acceptable run fails closed: no commit is printed and the
exit status is 1.

The preview JSON is Pulumi's ``PreviewDigest`` (pulumi/pulumi
``sdk/go/common/display/json.go``: ``steps[]`` of ``{op, urn, detailedDiff, diffReasons}``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
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
    # The token's inputs (components/azure/token.py TOKEN_INPUTS): only its expiry moves with the window.
    RenewalStep(DYNAMIC_TYPE, "-access-token", ("expires_on",), paths_reported=False),
    # The retired key is regenerated only when the active key changed (REGENERATION_INPUTS).
    RenewalStep(DYNAMIC_TYPE, "-retired-key", ("key_type",), paths_reported=False),
    # The token Secret's data, nothing of its metadata (labels, annotations, name).
    RenewalStep("kubernetes:core/v1:Secret", "-token", ("stringData", "data")),
    # The path as pulumi-kubernetes 4.25.0 reports it in the real preview (its detailedDiff key,
    # seen in tests/integration/test_gateway_on_cluster.py), and in Pulumi's quoted form.
    RenewalStep(
        "kubernetes:apps/v1:Deployment",
        "-deployment",
        (
            f"spec.template.metadata.annotations.{CREDENTIALS_ANNOTATION}",
            f'spec.template.metadata.annotations["{CREDENTIALS_ANNOTATION}"]',
        ),
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


DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
MAIN = "main"
MAIN_REF = f"refs/heads/{MAIN}"


@dataclass(frozen=True)
class Deploy:
    """The job of ``deploy.yml`` that deploys a stack, and the environment whose approval (a
    required reviewer's, in the run's review history) that job needs; None for dev."""

    job_name: str
    approved_environment: str | None


DEPLOYS = {
    "dev": Deploy("pulumi up dev", None),
    "prod": Deploy("preview, then pulumi up prod (approved)", "production"),
}
"""Stack → its deploy job (the ``name:`` of the job in deploy.yml; tests/unit/test_workflows.py
keeps the two in step)."""

Fetch = Callable[[str], Any]
"""GETs a GitHub REST API path (``repos/…``) and returns the decoded JSON."""


@dataclass(frozen=True)
class Selection:
    """What ``deployed`` found for one stack: the commit (None: fail closed), the problems that
    fail the run, and the runs refused as not being pushes to main (they raise the alert)."""

    sha: str | None
    problems: list[str]
    refused: list[str]


def _is_main_push_run(run: Mapping[str, Any], repository: str) -> bool:
    """A run of deploy.yml itself that says it was started by a push to main of this repository
    (not a fork's, not another workflow file's, not a pull request's); whether its workflow really
    came from the branch is :func:`workflow_ref`'s to say."""
    path = str(run.get("path") or "").split("@", 1)[0]
    head_repository = run.get("head_repository")
    return (
        path in {DEPLOY_WORKFLOW, f"{repository}/{DEPLOY_WORKFLOW}"}
        and run.get("event") == "push"
        and run.get("head_branch") == MAIN
        and isinstance(head_repository, Mapping)
        and head_repository.get("full_name") == repository
    )


def workflow_ref(run: Mapping[str, Any]) -> str | None:
    """The ref the run's workflow file was read from: what follows ``@`` in the run's ``path``
    (``.github/workflows/deploy.yml@refs/heads/main``); None when the path names none."""
    path = str(run.get("path") or "")
    return path.split("@", 1)[1] if "@" in path else None


def deployed_commit(stack: str, repository: str, fetch: Fetch, on_main: Callable[[str], bool]) -> Selection:
    """The commit the stack's last successful, approved deploy from main ran.

    ``on_main`` says whether a commit is on main's first-parent history."""
    deploy = DEPLOYS.get(stack)
    if deploy is None:
        return Selection(None, [f"stack {stack}: no deploy job is known for it (scripts/renewal.py DEPLOYS)"], [])
    listing = fetch(f"repos/{repository}/actions/workflows/deploy.yml/runs?branch={MAIN}&event=push&per_page=50")
    runs = [run for run in listing.get("workflow_runs") or [] if isinstance(run, Mapping)]
    refused: list[str] = []
    for run in sorted(runs, key=lambda run: int(run.get("run_number") or 0), reverse=True):
        if not _is_main_push_run(run, repository):
            continue
        run_id, sha = run.get("id"), str(run.get("head_sha") or "")
        where = f"stack {stack}: deploy.yml run {run_id} ({sha})"
        ref = workflow_ref(run)
        if ref != MAIN_REF:
            refused.append(
                f"{where} says it is a push to {MAIN}, but its workflow came from {ref or 'no named ref'} "
                f"(path {run.get('path')!r}), not {MAIN_REF}: refused"
            )
            continue
        jobs = fetch(f"repos/{repository}/actions/runs/{run_id}/jobs?per_page=100").get("jobs") or []
        succeeded = [
            job
            for job in jobs
            if job.get("name") == deploy.job_name and job.get("conclusion") == "success" and job.get("head_sha") == sha
        ]
        if not succeeded:
            continue  # not deployed by this run (failed, pending approval, rejected, cancelled)
        if deploy.approved_environment is not None:
            reviews = fetch(f"repos/{repository}/actions/runs/{run_id}/approvals")
            approved = any(
                review.get("state") == "approved"
                and any(env.get("name") == deploy.approved_environment for env in review.get("environments") or [])
                for review in reviews
                if isinstance(review, Mapping)
            )
            if not approved:
                return Selection(
                    None,
                    [
                        f"{where}: its job '{deploy.job_name}' succeeded without an approval of the "
                        f"{deploy.approved_environment} environment; refusing to run it"
                    ],
                    refused,
                )
        if len(sha) != 40 or not on_main(sha):
            refused.append(
                f"{where}: the commit is not on {MAIN}'s first-parent history (a commit inside a merged pull "
                "request, or none of main's): refused"
            )
            continue
        return Selection(sha, [], refused)
    return Selection(
        None,
        [
            f"stack {stack}: no run of {DEPLOY_WORKFLOW} from a push to {MAIN} whose job '{deploy.job_name}' "
            "succeeded among the last 50: deploy the stack first"
        ],
        refused,
    )


def gh_api(path: str) -> Any:
    """``gh api PATH`` (authenticated by ``GH_TOKEN``)."""
    result = subprocess.run(["gh", "api", path], check=True, capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout)


def git_first_parent(main_ref: str) -> Callable[[str], bool]:
    """Whether a commit is on ``main_ref``'s first-parent history (``git rev-list --first-parent``):
    with merge commits or squash merges only (docs/delivery.md, "Repository settings"), the commits
    of a merged pull request sit on the merge's second parent, never on this line."""
    listed = subprocess.run(
        ["git", "rev-list", "--first-parent", main_ref], check=False, capture_output=True, text=True, timeout=120
    )
    # No such ref (an empty repository): no commit is on main, so every run is refused.
    commits = frozenset(listed.stdout.split()) if listed.returncode == 0 else frozenset()
    return commits.__contains__


def main(argv: Sequence[str] | None = None, now: datetime | None = None, fetch: Fetch | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="check a `pulumi preview --json` output; print the URNs to update")
    plan.add_argument("preview", type=Path)
    expiry = commands.add_parser("expiry", help="check `pulumi stack output gateways --json`")
    expiry.add_argument("gateways", type=Path)
    expiry.add_argument("--stack", required=True)
    expiry.add_argument("--min-days-left", type=int, default=7)
    deployed = commands.add_parser("deployed", help="print the commit each stack's last approved deploy ran")
    deployed.add_argument("--repository", required=True, help="OWNER/REPO")
    deployed.add_argument("--stack", action="append", required=True, choices=sorted(DEPLOYS))
    deployed.add_argument("--main-ref", default="HEAD", help="a checkout of main (its first-parent history)")
    deployed.add_argument("--refused", type=Path, help="write the refused runs here, one a line (the alert's input)")
    args = parser.parse_args(argv)

    if args.command == "deployed":
        shas, problems, refused = {}, [], []
        on_main = git_first_parent(args.main_ref)
        for stack in args.stack:
            selection = deployed_commit(stack, args.repository, fetch or gh_api, on_main)
            problems += selection.problems
            refused += selection.refused
            if selection.sha is not None:
                shas[stack] = selection.sha
        for refusal in refused:
            print(f"::warning::{refusal}", file=sys.stderr)
        if args.refused is not None:
            args.refused.write_text("".join(f"{refusal}\n" for refusal in refused))
        if not problems:
            print(json.dumps(shas, sort_keys=True))
    elif args.command == "plan":
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
