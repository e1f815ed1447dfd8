"""The GitHub Actions workflows keep production credentials away from pull requests.

Parsed with PyYAML, every workflow (and the local composite actions they use) must hold:

- no job a ``pull_request`` / ``pull_request_target`` event can start (directly, or through a
  local reusable workflow) could obtain production credentials: it names no environment
  with "prod" in its name (such environments hold the prod identities; none of them is
  approved for pull requests), reads no variable or secret with "prod" in its name, reads
  no repository secret at all (repository secrets are not environment-scoped: any of them
  could be a prod credential) and passes no ``secrets: inherit``;
- every ``uses:`` is pinned to a full 40-hex commit SHA with a ``# vX.Y[.Z]`` comment
  (local ``./`` actions excepted): a tag can be moved to other code, a commit cannot
  (GitHub, "Security hardening for GitHub Actions", "Using third-party actions");
- no workflow-level ``env`` holds a ``secrets.*`` reference (every job and step would see it).

Each check is also run on small bad workflows below, to show that it fails on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
APPROVED_PROD_ENVIRONMENTS: frozenset[str] = frozenset()
"""Prod environments a pull-request job may name (required reviewers). None: the prod preview
runs in deploy.yml's approved ``production`` job instead (docs/delivery.md)."""
PULL_REQUEST_ENVIRONMENTS = frozenset({"pr-preview"})
"""The only environments a pull-request job may name: an allowlist, so that a prod environment
under any name (``prd``, ``live``) or the dev deploy environment is refused too."""
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+){1,2}\s*$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
CONTEXT_NAME = re.compile(r"\b(vars|secrets)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']*)'\s*\])")

Loader = Callable[[str], Mapping[str, Any] | None]
"""Loads a local reusable workflow by its ``uses:`` path (None when it does not exist)."""


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def triggers(workflow: Mapping[Any, Any]) -> set[str]:
    """The events of ``on:`` (PyYAML reads a bare ``on`` key as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(event) for event in on}
    return {str(event) for event in on} if isinstance(on, Mapping) else set()


def strings(node: Any) -> Iterator[str]:
    """Every string in a YAML tree, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def context_names(node: Any) -> Iterator[tuple[str, str]]:
    """(``vars`` or ``secrets``, name) of every reference inside ``${{ }}`` expressions."""
    for text in strings(node):
        for expression in EXPRESSION.findall(text):
            for match in CONTEXT_NAME.finditer(expression):
                yield match.group(1), match.group(2) or match.group(3)


def environment_name(job: Mapping[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, Mapping):
        environment = environment.get("name")
    return None if environment is None else str(environment)


def can_request_oidc_token(job: Mapping[str, Any], workflow: Mapping[str, Any]) -> bool:
    """Whether the job's ``GITHUB_TOKEN`` may request an OIDC token (job permissions replace
    the workflow's; ``write-all`` grants ``id-token: write``)."""
    permissions = job.get("permissions", workflow.get("permissions"))
    if isinstance(permissions, Mapping):
        return bool(permissions.get("id-token") == "write")
    return bool(permissions == "write-all")


def runs_pull_request_code(job: Mapping[str, Any]) -> bool:
    """Whether the job checks out the pull request's own code (a checkout without a ``ref``)."""
    return any(
        str(step.get("uses", "")).startswith("actions/checkout@") and "ref" not in (step.get("with") or {})
        for step in job.get("steps") or []
    )


def write_permissions(job: Mapping[str, Any], workflow: Mapping[str, Any]) -> set[str]:
    """The scopes the job's ``GITHUB_TOKEN`` may write (job permissions replace the workflow's)."""
    permissions = job.get("permissions", workflow.get("permissions"))
    if permissions == "write-all":
        return {"write-all"}
    return (
        {scope for scope, level in permissions.items() if level == "write"}
        if isinstance(permissions, Mapping)
        else set()
    )


def job_credential_problems(where: str, job: Mapping[str, Any], workflow: Mapping[str, Any]) -> list[str]:
    """Why a job started by a pull request could obtain prod credentials (empty: it cannot)."""
    problems = []
    environment = environment_name(job)
    if environment is None and can_request_oidc_token(job, workflow):
        problems.append(
            f"{where}: has id-token: write without an environment (its client id would be a repository "
            "variable and its OIDC subject the one any pull request presents)"
        )
    if environment is not None and "${{" in environment:
        problems.append(f"{where}: environment {environment!r} is computed; a pull-request job names it")
    elif environment is not None and "prod" in environment.lower() and environment not in APPROVED_PROD_ENVIRONMENTS:
        problems.append(f"{where}: uses the prod environment {environment!r} without an approval gate")
    elif environment is not None and environment not in PULL_REQUEST_ENVIRONMENTS | APPROVED_PROD_ENVIRONMENTS:
        problems.append(f"{where}: uses the environment {environment!r}, not one made for pull requests")
    if runs_pull_request_code(job) and (granted := write_permissions(job, workflow) - {"id-token"}):
        problems.append(
            f"{where}: runs the pull request's code with write permissions ({', '.join(sorted(granted))}); "
            "its GITHUB_TOKEN reaches that code"
        )
    scope = {"job": job, "workflow env": workflow.get("env"), "workflow defaults": workflow.get("defaults")}
    for context, name in sorted(set(context_names(scope))):
        if "prod" in name.lower():
            problems.append(f"{where}: reads {context}.{name}")
        elif context == "secrets" and name != "GITHUB_TOKEN":
            problems.append(f"{where}: reads the repository secret {name} (not scoped to an environment)")
    if job.get("secrets") == "inherit":
        problems.append(f"{where}: passes secrets: inherit")
    return problems


def pull_request_problems(workflow: Mapping[str, Any], name: str, load_reusable: Loader) -> list[str]:
    """Credential problems of every job a pull request can start in ``workflow``."""
    if not triggers(workflow) & PULL_REQUEST_EVENTS:
        return []
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        where = f"{name}: job {job_id}"
        problems += job_credential_problems(where, job, workflow)
        uses = job.get("uses")
        if isinstance(uses, str) and uses.startswith("./"):
            called = load_reusable(uses)
            if called is None:
                problems.append(f"{where}: calls {uses}, which does not exist")
                continue
            for called_id, called_job in (called.get("jobs") or {}).items():
                problems += job_credential_problems(f"{where} → {uses}: job {called_id}", called_job, called)
    return problems


def uses_references(document: Mapping[str, Any]) -> Iterator[str]:
    """Every ``uses:`` of a workflow (jobs and steps) or composite action (steps)."""
    runs = document.get("runs")
    step_lists = [runs.get("steps") or []] if isinstance(runs, Mapping) else []
    for job in (document.get("jobs") or {}).values():
        if isinstance(job.get("uses"), str):
            yield job["uses"]
        step_lists.append(job.get("steps") or [])
    for steps in step_lists:
        yield from (step["uses"] for step in steps if isinstance(step.get("uses"), str))


def unpinned(document: Mapping[str, Any], text: str) -> list[str]:
    """``uses:`` references not pinned to a commit SHA with a version comment."""
    problems = []
    for reference in uses_references(document):
        if reference.startswith("./"):
            continue
        if not PINNED.match(reference):
            problems.append(f"{reference}: not pinned to a 40-hex commit SHA")
            continue
        lines = [line for line in text.splitlines() if reference in line]
        if not lines or not all(VERSION_COMMENT.search(line) for line in lines):
            problems.append(f"{reference}: no '# vX.Y.Z' comment naming the pinned version")
    return problems


def workflow_level_secrets(workflow: Mapping[str, Any]) -> list[str]:
    return [
        f"workflow env reads secrets.{name}"
        for context, name in context_names(workflow.get("env"))
        if context == "secrets"
    ]


def repository_loader(uses: str) -> Mapping[str, Any] | None:
    path = ROOT / uses.removeprefix("./")
    return load(path) if path.is_file() else None


WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(ACTIONS.glob("*/action.yml"))


# --------------------------------------------------------------------------- the repository's workflows


def test_the_workflows_and_actions_are_found() -> None:
    assert {path.name for path in WORKFLOW_FILES} == {"pull-request.yml", "deploy.yml", "renew-token.yml"}
    assert [path.parent.name for path in ACTION_FILES] == ["prepare"]
    assert triggers(load(WORKFLOWS / "pull-request.yml")) == {"pull_request"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_pull_request_job_can_obtain_prod_credentials(path: Path) -> None:
    assert pull_request_problems(load(path), path.name, repository_loader) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    document = load(path)
    assert list(uses_references(document)), "no uses: found; the parser missed them"
    assert unpinned(document, path.read_text()) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_secret_at_workflow_level(path: Path) -> None:
    assert workflow_level_secrets(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job.get("steps") or []:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False


def test_pull_requests_are_judged_by_the_base_branchs_policy_pack() -> None:
    job = load(WORKFLOWS / "pull-request.yml")["jobs"]["preview-dev"]
    base = next(step for step in job["steps"] if step.get("with", {}).get("path") == ".base-branch")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    preview = next(step for step in job["steps"] if step.get("with", {}).get("command") == "preview")
    assert preview["with"]["stack-name"] == "dev"
    assert preview["with"]["refresh"] is False
    assert preview["with"]["policyPacks"] == ".base-branch/policy"
    assert preview["with"]["policyPackConfigs"] == ".base-branch/policy/config/dev.json"


def test_the_renewal_runs_the_code_the_last_successful_deploy_ran() -> None:
    """Not main's head: a merge waiting for the prod approval must not run with the renewal's
    prod rights. The deployed commit comes from the environment's last successful deployment
    (GitHub REST API, "Deployments" and "Deployment statuses"; every job naming an environment
    creates one)."""
    renew = load(WORKFLOWS / "renew-token.yml")["jobs"]["renew"]
    steps = renew["steps"]
    find = next(step for step in steps if step.get("id") == "deployed")
    checkout = next(step for step in steps if str(step.get("uses", "")).startswith("actions/checkout@"))
    assert steps.index(find) < steps.index(checkout)
    assert checkout["with"]["ref"] == "${{ steps.deployed.outputs.sha }}"
    assert "deployments?environment=$DEPLOYED_BY" in find["run"] and '"success"' in find["run"]
    deployed_by = {entry["stack"]: entry["deployed-by"] for entry in renew["strategy"]["matrix"]["include"]}
    deploy = load(WORKFLOWS / "deploy.yml")["jobs"]
    assert deployed_by == {"dev": deploy["dev"]["environment"], "prod": deploy["prod"]["environment"]}
    assert renew["permissions"] == {"contents": "read", "deployments": "read", "id-token": "write"}


def test_a_pending_prod_approval_holds_back_no_other_deploy() -> None:
    """A workflow-level group would hold every later push's dev deploy behind a run waiting for
    the prod approval (GitHub docs, "Control the concurrency of workflows and jobs")."""
    assert "concurrency" not in load(WORKFLOWS / "deploy.yml")


def test_the_preview_comment_is_posted_by_a_job_that_runs_no_pull_request_code() -> None:
    jobs = load(WORKFLOWS / "pull-request.yml")["jobs"]
    preview, comment = jobs["preview-dev"], jobs["comment-dev-preview"]
    assert "pull-requests" not in preview["permissions"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not any("uses" in step for step in comment["steps"])  # no checkout, no action: only gh


def test_prod_runs_only_in_approved_environments_and_renewal_never_queues_behind_a_deploy() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")["jobs"]
    renew = load(WORKFLOWS / "renew-token.yml")["jobs"]
    assert deploy["prod"]["environment"] == "production"
    assert [s["with"]["command"] for s in deploy["prod"]["steps"] if "command" in s.get("with", {})] == [
        "preview",
        "up",
    ]
    assert {entry["environment"] for entry in renew["renew"]["strategy"]["matrix"]["include"]} == {
        "dev",
        "production-token-renewal",
    }
    groups = {job["concurrency"]["group"] for job in deploy.values()}
    assert renew["renew"]["concurrency"] == {"group": "renew-token-${{ matrix.stack }}", "cancel-in-progress": False}
    assert all(not group.startswith("renew-token") for group in groups)
    assert all(job["concurrency"]["cancel-in-progress"] is False for job in deploy.values())
    assert renew["alert"]["if"] == "failure() || cancelled()"


# --------------------------------------------------------------------------- the checks fail on bad workflows


def parse(text: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def no_reusable(_: str) -> None:
    return None


BAD_PULL_REQUESTS = {
    "prod environment": """
on: pull_request
jobs:
  preview:
    environment: production
    steps: [{run: pulumi preview}]
""",
    "prod variable": """
on: [pull_request_target]
jobs:
  preview:
    permissions: {id-token: write}
    steps:
      - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5 # v2.3.0
        with: {client-id: "${{ vars.PROD_AZURE_CLIENT_ID }}"}
""",
    "repository secret": """
on: {pull_request: {branches: [main]}}
jobs:
  preview:
    steps: [{run: pulumi preview, env: {PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}"}}]
""",
    "prod secret by index": """
on: pull_request
jobs:
  preview:
    steps: [{run: "echo ${{ secrets['KUBECONFIG_PROD'] }}"}]
""",
    "computed environment": """
on: pull_request
jobs:
  preview:
    environment: ${{ matrix.environment }}
    steps: [{run: pulumi preview}]
""",
    "oidc without environment": """
on: pull_request
permissions: write-all
jobs:
  preview:
    steps:
      - uses: azure/login@a457da9ea143d694b1b9c7c869ebb04ebe844ef5 # v2.3.0
        with: {client-id: "${{ vars.AZURE_CLIENT_ID }}"}
""",
    "inherited secrets": """
on: pull_request
jobs:
  preview:
    uses: ./.github/workflows/missing.yml
    secrets: inherit
""",
    "another name for prod": """
on: pull_request
jobs:
  preview:
    environment: prd
    steps: [{run: pulumi preview}]
""",
    "dev deploy environment": """
on: pull_request
jobs:
  preview:
    environment: dev
    steps: [{run: pulumi preview}]
""",
    "write token beside the pull request's code": """
on: pull_request
jobs:
  preview:
    environment: pr-preview
    permissions: {contents: read, id-token: write, pull-requests: write}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: pulumi preview
""",
    "workflow env": """
on: pull_request
env: {TOKEN: "${{ secrets.GATEWAY_TOKEN_PROD }}"}
jobs:
  test: {steps: [{run: pytest}]}
""",
}


@pytest.mark.parametrize("case", BAD_PULL_REQUESTS)
def test_the_pull_request_check_fails_on_a_bad_workflow(case: str) -> None:
    assert pull_request_problems(parse(BAD_PULL_REQUESTS[case]), "bad.yml", no_reusable) != []


def test_the_pull_request_check_follows_local_reusable_workflows() -> None:
    caller = parse("on: pull_request\njobs:\n  call: {uses: ./.github/workflows/preview.yml}\n")
    called = parse("on: workflow_call\njobs:\n  prod: {environment: production, steps: [{run: x}]}\n")
    assert pull_request_problems(caller, "pr.yml", lambda _: called) == [
        "pr.yml: job call → ./.github/workflows/preview.yml: job prod: uses the prod environment "
        "'production' without an approval gate"
    ]


def test_the_same_jobs_pass_when_no_pull_request_starts_them() -> None:
    workflow = parse(
        BAD_PULL_REQUESTS["prod environment"].replace("on: pull_request", "on: {push: {branches: [main]}}")
    )
    assert pull_request_problems(workflow, "deploy.yml", no_reusable) == []


@pytest.mark.parametrize(
    ("uses", "problem"),
    [
        ("actions/checkout@v4", "not pinned to a 40-hex commit SHA"),
        ("actions/checkout@11bd719", "not pinned to a 40-hex commit SHA"),
        (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
            "no '# vX.Y.Z' comment naming the pinned version",
        ),
        ("docker://alpine:3", "not pinned to a 40-hex commit SHA"),
    ],
)
def test_the_pin_check_fails_on_unpinned_actions(uses: str, problem: str) -> None:
    text = f"on: push\njobs:\n  a:\n    steps:\n      - uses: {uses}\n      - uses: ./.github/actions/prepare\n"
    assert [p.split(": ", 1)[1] for p in unpinned(parse(text), text)] == [problem]
    reusable = f"on: push\njobs:\n  a:\n    uses: {uses}\n"
    assert len(unpinned(parse(reusable), reusable)) == 1


def test_the_workflow_env_check_fails_on_a_secret() -> None:
    assert workflow_level_secrets(parse(BAD_PULL_REQUESTS["workflow env"])) == [
        "workflow env reads secrets.GATEWAY_TOKEN_PROD"
    ]
    assert workflow_level_secrets(parse("on: push\nenv: {A: '${{ vars.A }}'}\njobs: {}\n")) == []
