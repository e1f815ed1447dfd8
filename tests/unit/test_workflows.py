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
- no workflow-level ``env`` holds a ``secrets.*`` reference (every job and step would see it);
- the events that run with the base repository's rights on behalf of a pull request
  (``pull_request_target``, ``workflow_run``, ``issue_comment``) count as pull-request events,
  and a checkout of the pull request's head (``pull_request.head.sha``, ``github.head_ref``,
  ``refs/pull/…``, ``workflow_run.head_sha``) counts as running its code; in those privileged
  workflows such a checkout is refused outright (GitHub docs, "Security hardening for GitHub
  Actions", "Mitigating the risks of untrusted code checkout"; zizmor's ``dangerous-triggers``);
- no job holding ``id-token: write`` holds any other write permission (its steps run beside the
  deploy identity's OIDC and Pulumi tokens: GitHub docs, "Security hardening for GitHub
  Actions", least privilege for ``GITHUB_TOKEN``; OpenSSF Scorecard, "Token-Permissions");
- the token renewal runs only the commit deploy.yml's own run history names (issue 16.1).

Each check is also run on small bad workflows below, to show that it fails on them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target", "workflow_run", "issue_comment"})
"""Events a pull request (or its author) can start. ``workflow_run`` follows a pull request's
run and ``issue_comment`` a comment on it; both, like ``pull_request_target``, run the base
branch's workflow with the repository's secrets and a token that can write."""
PRIVILEGED_PULL_REQUEST_EVENTS = PULL_REQUEST_EVENTS - {"pull_request"}
PULL_REQUEST_HEAD = re.compile(
    r"pull_request\.head\.|github\.head_ref|workflow_run\.head_(sha|branch|commit)|refs/pull/|merge_commit_sha"
)
"""A checkout ``ref`` that names the pull request's own code."""
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


def checks_out_pull_request_head(job: Mapping[str, Any]) -> bool:
    """Whether a checkout names the pull request's head explicitly (``ref`` from the event)."""
    return any(
        str(step.get("uses", "")).startswith("actions/checkout@")
        and PULL_REQUEST_HEAD.search(str((step.get("with") or {}).get("ref", ""))) is not None
        for step in job.get("steps") or []
    )


def runs_pull_request_code(job: Mapping[str, Any]) -> bool:
    """Whether the job checks out the pull request's own code (a checkout without a ``ref``, the
    merge commit in a ``pull_request`` run, or one naming the pull request's head)."""
    return checks_out_pull_request_head(job) or any(
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
    privileged = sorted(triggers(workflow) & PRIVILEGED_PULL_REQUEST_EVENTS)
    for job_id, job in (workflow.get("jobs") or {}).items():
        where = f"{name}: job {job_id}"
        problems += job_credential_problems(where, job, workflow)
        if privileged and checks_out_pull_request_head(job):
            problems.append(
                f"{where}: checks out the pull request's head in a {', '.join(privileged)} workflow "
                "(which runs with the base repository's secrets and a write token)"
            )
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


def oidc_jobs_with_write_permissions(workflow: Mapping[str, Any], name: str) -> list[str]:
    """Jobs that may request an OIDC token and also write with their ``GITHUB_TOKEN``."""
    return [
        f"{name}: job {job_id}: writes {', '.join(sorted(granted))} beside id-token: write"
        for job_id, job in (workflow.get("jobs") or {}).items()
        if can_request_oidc_token(job, workflow) and (granted := write_permissions(job, workflow) - {"id-token"})
    ]


RENEWAL_REF = "${{ fromJSON(needs.select.outputs.shas)[matrix.stack] }}"


def renewal_commit_problems(workflow: Mapping[str, Any]) -> list[str]:
    """Why the renewal could run code other than what deploy.yml ran from main (issue 16.1).

    The commit must come from the ``select`` job, which reads deploy.yml's own run history
    (``scripts/renewal.py deployed``: only GitHub writes workflow runs, jobs and their reviews)
    with no credential but a read token, from a checkout of main; never from the Deployments
    API, whose records and ``success`` statuses any job with ``deployments: write`` (a pull
    request's among them) can create for any ref (GitHub REST API, "Deployments": "Create a
    deployment", "Create a deployment status")."""
    jobs: Mapping[str, Any] = workflow.get("jobs") or {}
    problems = []
    for job_id, job in jobs.items():
        permissions = job.get("permissions") or {}
        if isinstance(permissions, Mapping) and "deployments" in permissions:
            problems.append(f"job {job_id}: asks for deployments: {permissions['deployments']}")
        for step in job.get("steps") or []:
            if re.search(r"/deployments\b|deployments\?", str(step.get("run", ""))):
                problems.append(f"job {job_id}: reads the Deployments API (records anyone can write)")
        if not can_request_oidc_token(job, workflow):
            continue
        needs = job.get("needs")
        if "select" not in ([needs] if isinstance(needs, str) else list(needs or [])):
            problems.append(f"job {job_id}: does not wait for the select job")
        checkouts = [s for s in job.get("steps") or [] if str(s.get("uses", "")).startswith("actions/checkout@")]
        if not checkouts:
            problems.append(f"job {job_id}: checks out nothing (it would run no known commit)")
        for step in checkouts:
            if (step.get("with") or {}).get("ref") != RENEWAL_REF:
                problems.append(f"job {job_id}: checks out {(step.get('with') or {}).get('ref')!r}, not {RENEWAL_REF}")
    select = jobs.get("select")
    if not isinstance(select, Mapping):
        return [*problems, "no select job"]
    if select.get("permissions") != {"actions": "read", "contents": "read"} or "environment" in select:
        problems.append("job select: must hold actions: read and contents: read only, in no environment")
    runs = " ".join(str(step.get("run", "")) for step in select.get("steps") or [])
    if "scripts/renewal.py deployed" not in runs:
        problems.append("job select: does not run scripts/renewal.py deployed")
    refs = [
        (s.get("with") or {}).get("ref") for s in select.get("steps") or [] if "actions/checkout@" in str(s.get("uses"))
    ]
    if refs != ["refs/heads/main"]:
        problems.append(f"job select: checks out {refs}, not main (the ancestry check needs main's history)")
    return problems


def token_stacks() -> set[str]:
    """Stacks with at least one gateway in ``token`` auth mode (the default) whose token the
    stack generates (``apim.mode: managed``, the default)."""
    found = set()
    for path in ROOT.glob("Pulumi.*.yaml"):
        config = load(path).get("config") or {}
        if (config.get("apim-gateway:apim") or {}).get("mode", "managed") != "managed":
            continue
        default_auth = ((config.get("apim-gateway:defaults") or {}).get("auth") or {}).get("mode", "token")
        gateways = config.get("apim-gateway:gateways") or []
        if any((gateway.get("auth") or {}).get("mode", default_auth) == "token" for gateway in gateways):
            found.add(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    return found


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


PULUMI_COMMAND = re.compile(r'"\$PULUMI" (\w+)')
BARE_PULUMI = re.compile(r"(^|[\s;|&(])pulumi\s")
PULUMI_JOB_ENV = {
    # Issue 22.2: the toolchain's language host (pulumi sdk/v3@v3.79.0) ignores Pulumi.yaml's
    # virtualenv and runs `python3` from PATH otherwise, which has no `pulumi`.
    "PULUMI_PYTHON_CMD": "${{ github.workspace }}/.venv/bin/python",
    # Issue 22.4: no plugin downloaded by the engine (pulumi/pulumi#9483: plugins are not
    # verified), none taken from PATH (pulumi sdk/go/common/workspace/plugins.go GetPluginPath:
    # a plugin on $PATH wins unless PULUMI_IGNORE_AMBIENT_PLUGINS is set).
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
}
PULUMI_STEP_ENV = {
    "PULUMI": "${{ steps.prepare.outputs.pulumi }}",
    "PULUMI_HOME": "${{ steps.prepare.outputs.pulumi-home }}",
}


SHARED_SCRIPTS = ("scripts/renew-token.sh",)
"""Scripts a step runs that other CI systems run too: their text counts as the step's own."""


def step_script(step: Mapping[str, Any]) -> str:
    """What a step runs: its ``run`` text, with the text of each shared script it calls appended."""
    run = str(step.get("run", ""))
    return "\n".join([run, *((ROOT / script).read_text() for script in SHARED_SCRIPTS if script in run)])


def pulumi_commands(job: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(Pulumi command, what the step runs) for every ``"$PULUMI" <command>`` of the job."""
    return [
        (command, step_script(step))
        for step in job.get("steps") or []
        for command in PULUMI_COMMAND.findall(step_script(step))
    ]


def pulumi_step_problems(workflow: Mapping[str, Any], name: str) -> list[str]:
    """Why a Pulumi step could run with the wrong interpreter, an unverified plugin or a CLI found
    on PATH (empty: none can)."""
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        where = f"{name}: job {job_id}"
        steps = job.get("steps") or []
        for step in steps:
            uses = str(step.get("uses", ""))
            if uses.startswith("pulumi/actions@"):
                problems.append(
                    f"{where}: uses pulumi/actions (it runs the `pulumi` it finds on PATH or downloads one)"
                )
            if BARE_PULUMI.search(step_script(step)):
                problems.append(f'{where}: runs a bare `pulumi` (the one on PATH), not "$PULUMI" from prepare')
        pulumi_steps = [step for step in steps if PULUMI_COMMAND.search(step_script(step))]
        if not pulumi_steps:
            continue
        env = job.get("env") or {}
        problems += [
            f"{where}: job env {key} is {env.get(key)!r}, not {value!r}"
            for key, value in PULUMI_JOB_ENV.items()
            if env.get(key) != value
        ]
        for step in pulumi_steps:
            step_env = step.get("env") or {}
            problems += [
                f"{where}: step {step.get('name')!r}: env {key} is {step_env.get(key)!r}, not {value!r}"
                for key, value in PULUMI_STEP_ENV.items()
                if step_env.get(key) != value
            ]
    return problems


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_pulumi_step_runs_the_verified_cli_with_the_programs_python_and_no_plugin_download(path: Path) -> None:
    workflow = load(path)
    assert pulumi_step_problems(workflow, path.name) == []
    assert path.name == "pull-request.yml" or any(pulumi_commands(job) for job in workflow["jobs"].values())


def test_every_policy_pack_is_given_as_its_executable_analyzer() -> None:
    """The toolchain's language host cannot run a pack given as a directory (policy/analyzer's
    header says why); every --policy-pack of the workflows names the pack's executable."""
    packs = [
        pack
        for path in WORKFLOW_FILES
        for job in load(path)["jobs"].values()
        for _, run in pulumi_commands(job)
        for pack in re.findall(r"--policy-pack (\S+)", run)
    ]
    assert packs and all(pack.endswith("policy/analyzer") for pack in packs), packs
    assert os.access(ROOT / "policy" / "analyzer", os.X_OK)


def test_the_pulumi_step_check_fails_on_the_old_steps() -> None:
    old = parse(
        """
on: push
jobs:
  dev:
    steps:
      - uses: pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58 # v6.6.1
        with: {command: up, stack-name: dev}
      - run: pulumi stack output gateways --json
      - env: {PULUMI: "${{ steps.prepare.outputs.pulumi }}"}
        run: '"$PULUMI" preview --stack dev'
"""
    )
    assert pulumi_step_problems(old, "deploy.yml") == [
        "deploy.yml: job dev: uses pulumi/actions (it runs the `pulumi` it finds on PATH or downloads one)",
        'deploy.yml: job dev: runs a bare `pulumi` (the one on PATH), not "$PULUMI" from prepare',
        "deploy.yml: job dev: job env PULUMI_PYTHON_CMD is None, not '${{ github.workspace }}/.venv/bin/python'",
        "deploy.yml: job dev: job env PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION is None, not 'true'",
        "deploy.yml: job dev: job env PULUMI_IGNORE_AMBIENT_PLUGINS is None, not 'true'",
        "deploy.yml: job dev: step None: env PULUMI_HOME is None, not '${{ steps.prepare.outputs.pulumi-home }}'",
    ]


def test_pull_requests_are_judged_by_the_base_branchs_policy_pack() -> None:
    job = load(WORKFLOWS / "pull-request.yml")["jobs"]["preview-dev"]
    steps = job["steps"]
    base = next(i for i, step in enumerate(steps) if step.get("with", {}).get("path") == ".base-branch")
    assert steps[base]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    prepare = next(i for i, step in enumerate(steps) if step.get("uses") == "./.github/actions/prepare")
    # Issue 22.4: the pull request's own scripts/bootstrap.sh (in prepare) runs before the base
    # branch's pack is checked out and installed, so it cannot plant `.base-branch/`.
    assert prepare < base and steps[prepare]["with"]["policy-dir"] == ""
    install = steps[base + 1]["run"]
    assert ".base-branch/policy/.venv" in install and "--require-hashes --no-compile -r .base-branch/" in install
    ((command, run),) = pulumi_commands(job)
    assert command == "preview" and '--stack "$STACK_NAME"' in run and "--refresh=false" in run
    assert job["env"]["STACK_NAME"] == "${{ vars.PULUMI_STACK_NAME || 'dev' }}"
    assert "--policy-pack .base-branch/policy/analyzer --policy-pack-config .base-branch/policy/config/dev.json" in run


def test_the_renewal_runs_only_the_commit_deploy_yml_ran_from_main() -> None:
    """Issue 16.1: not main's head (a merge waiting for the prod approval must not run with the
    renewal's rights), and not the Deployments API (any job with ``deployments: write`` can
    write a ``success`` record with its own ref): the ``select`` job reads deploy.yml's own run
    history and checks ancestry with main (scripts/renewal.py ``deployed``,
    tests/unit/test_renewal.py)."""
    workflow = load(WORKFLOWS / "renew-token.yml")
    assert renewal_commit_problems(workflow) == []
    renew = workflow["jobs"]["renew"]
    assert renew["permissions"] == {"contents": "read", "id-token": "write"}
    stacks = [entry["stack"] for entry in renew["strategy"]["matrix"]["include"]]
    select_run = " ".join(step.get("run", "") for step in workflow["jobs"]["select"]["steps"])
    assert re.findall(r"--stack (\w+)", select_run) == stacks
    # Issue 22.4: actions/checkout takes an empty ref as the run's own (main's head); the step
    # right after the checkout stops the job unless HEAD is the selected commit.
    steps = renew["steps"]
    checkout = next(i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("actions/checkout@"))
    guard = steps[checkout + 1]
    assert (
        guard["env"]["SHA"] == RENEWAL_REF.replace("${{ ", "${{ ") and 'git rev-parse HEAD)" != "$SHA"' in guard["run"]
    )
    assert "^[0-9a-f]{40}$" in guard["run"]
    assert set(workflow["jobs"]["alert"]["needs"]) == {"select", "renew"}


def test_the_renewal_check_rejects_the_deployments_api_lookup() -> None:
    """The lookup of the previous renew-token.yml (issue 16.1): its job read the newest
    ``success`` deployment record and checked that ref out with the renewal identity's rights."""
    assert renewal_commit_problems(parse(OLD_RENEWAL)) == [
        "job renew: asks for deployments: read",
        "job renew: reads the Deployments API (records anyone can write)",
        "job renew: does not wait for the select job",
        "job renew: checks out '${{ steps.deployed.outputs.sha }}', not " + RENEWAL_REF,
        "no select job",
    ]
    main_head = parse(OLD_RENEWAL.replace("ref: ${{ steps.deployed.outputs.sha }}", "ref: main"))
    assert any("checks out 'main'" in problem for problem in renewal_commit_problems(main_head))


def test_the_deploy_job_names_the_renewal_trusts_are_deploy_yml_s() -> None:
    from scripts import renewal

    jobs = load(WORKFLOWS / "deploy.yml")["jobs"]
    by_name = {job["name"]: job for job in jobs.values()}
    for stack, deploy in renewal.DEPLOYS.items():
        job = by_name[deploy.job_name]
        # The Pulumi stack: the environment's PULUMI_STACK_NAME variable (a test points it at a
        # stack of its own), this one when unset.
        assert job["env"]["STACK_NAME"] == f"${{{{ vars.PULUMI_STACK_NAME || '{stack}' }}}}"
        assert all('--stack "$STACK_NAME"' in run for _, run in pulumi_commands(job))
        assert deploy.approved_environment in (None, job["environment"])
    assert renewal.DEPLOYS["prod"].approved_environment == jobs["prod"]["environment"] == "production"
    assert renewal.DEPLOY_WORKFLOW == ".github/workflows/deploy.yml"


def test_only_stacks_with_a_token_have_a_renewal_job() -> None:
    """Issue 16.3: prod authenticates with workload identity and has no token, so it gets no
    renewal job (and no identity with renewal rights)."""
    renew = load(WORKFLOWS / "renew-token.yml")["jobs"]["renew"]
    stacks = {entry["stack"] for entry in renew["strategy"]["matrix"]["include"]}
    assert stacks == token_stacks() & {"dev", "prod"}
    assert "prod" not in stacks


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_job_holds_a_write_token_beside_its_oidc_token(path: Path) -> None:
    """Issue 16.8: deploy.yml's prod job held pull-requests: write beside the prod OIDC token."""
    assert oidc_jobs_with_write_permissions(load(path), path.name) == []


def test_the_oidc_write_check_fails_on_the_old_prod_job() -> None:
    old = "on: push\njobs:\n  prod: {permissions: {contents: read, id-token: write, pull-requests: write}}\n"
    assert oidc_jobs_with_write_permissions(parse(old), "deploy.yml") == [
        "deploy.yml: job prod: writes pull-requests beside id-token: write"
    ]


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


def pull_request_text_in_comments(job: Mapping[str, Any]) -> list[str]:
    """Outputs of other jobs (text the pull request's code produced) a commenting job reads."""
    return sorted(
        {match.group(0) for text in strings(job) for match in re.finditer(r"needs\.[\w-]+\.outputs\.[\w-]+", text)}
    )


def test_the_preview_comment_carries_no_pull_request_text() -> None:
    """Issue 16.7: the diff (strings the pull request controls) inside the bot's comment would
    render as the bot's markdown; the comment holds the result and the run's link only."""
    jobs = load(WORKFLOWS / "pull-request.yml")["jobs"]
    assert pull_request_text_in_comments(jobs["comment-dev-preview"]) == []
    assert "outputs" not in jobs["preview-dev"]
    old = {"steps": [{"env": {"DIFF": "${{ needs.preview-dev.outputs.diff }}"}, "run": "gh pr comment"}]}
    assert pull_request_text_in_comments(old) == ["needs.preview-dev.outputs.diff"]


def test_the_deploy_links_the_pull_request_from_a_job_without_credentials() -> None:
    """Issue 16.8: ``gh pr comment`` ran in the prod job after the Pulumi token was exported."""
    jobs = load(WORKFLOWS / "deploy.yml")["jobs"]
    link = jobs["link-pull-request"]
    assert link["permissions"] == {"pull-requests": "write"} and "environment" not in link
    assert not any("uses" in step for step in link["steps"])
    assert not any("gh " in str(step.get("run", "")) for job in (jobs["dev"], jobs["prod"]) for step in job["steps"])


def test_prod_runs_only_in_approved_environments_and_renewal_never_queues_behind_a_deploy() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")["jobs"]
    renew = load(WORKFLOWS / "renew-token.yml")["jobs"]
    assert deploy["prod"]["environment"] == "production"
    assert [command for command, _ in pulumi_commands(deploy["prod"])] == ["preview", "up"]
    assert {entry["environment"] for entry in renew["renew"]["strategy"]["matrix"]["include"]} == {"dev"}
    groups = {job["concurrency"]["group"] for job in deploy.values() if "concurrency" in job}
    assert groups == {"deploy-dev", "deploy-prod"}
    assert renew["renew"]["concurrency"] == {"group": "renew-token-${{ matrix.stack }}", "cancel-in-progress": False}
    assert all(not group.startswith("renew-token") for group in groups)
    assert all(job["concurrency"]["cancel-in-progress"] is False for job in deploy.values() if "concurrency" in job)
    # Issue 22.3: forged runs the select job refused raise the alert without failing the renewal.
    assert renew["alert"]["if"] == "failure() || cancelled() || needs.select.outputs.refused != '0'"
    assert renew["select"]["outputs"]["refused"] == "${{ steps.deployed.outputs.refused }}"


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
    # Issue 16.10: the privileged events a pull request can start, and a checkout of its head.
    "workflow_run after a pull request, prod environment": """
on: {workflow_run: {workflows: [pull-request], types: [completed]}}
jobs:
  deploy:
    environment: production
    steps: [{run: pulumi up}]
""",
    "issue_comment reading a repository secret": """
on: {issue_comment: {types: [created]}}
jobs:
  preview:
    steps: [{run: pulumi preview, env: {PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}"}}]
""",
    "pull_request_target checking out the head": """
on: pull_request_target
jobs:
  test:
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {ref: "${{ github.event.pull_request.head.sha }}", persist-credentials: false}
      - run: pytest
""",
    "workflow_run checking out the run's head": """
on: {workflow_run: {workflows: [pull-request], types: [completed]}}
jobs:
  report:
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {ref: "${{ github.event.workflow_run.head_sha }}"}
      - run: make report
""",
    "head checkout with a write token": """
on: pull_request
jobs:
  preview:
    environment: pr-preview
    permissions: {contents: read, pull-requests: write}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {ref: "${{ github.event.pull_request.head.sha }}"}
      - run: pulumi preview
""",
}

OLD_RENEWAL = """
on: {schedule: [{cron: "17 5 * * 1"}], workflow_dispatch: null}
jobs:
  renew:
    environment: ${{ matrix.environment }}
    permissions: {contents: read, deployments: read, id-token: write}
    steps:
      - id: deployed
        run: |
          for id in $(gh api "repos/$GITHUB_REPOSITORY/deployments?environment=$DEPLOYED_BY&per_page=30" --jq '.[].id'); do
            state=$(gh api "repos/$GITHUB_REPOSITORY/deployments/$id/statuses?per_page=1" --jq '.[0].state // ""')
          done
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{ steps.deployed.outputs.sha }}
          persist-credentials: false
"""
"""The Deployments API lookup renew-token.yml used before issue 16.1."""


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


def test_a_base_branch_checkout_is_not_pull_request_code() -> None:
    job = {
        "steps": [
            {
                "uses": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
                "with": {"ref": "${{ github.event.pull_request.base.sha }}"},
            }
        ]
    }
    assert not runs_pull_request_code(job)
    job["steps"][0]["with"] = {"ref": "refs/pull/${{ github.event.number }}/merge"}
    assert runs_pull_request_code(job) and checks_out_pull_request_head(job)


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


def dependabot_gaps(config: Mapping[str, Any]) -> list[str]:
    """Pinned things no Dependabot entry watches: the actions of the workflows and of the local
    composite action, and the pip pins of the program and of the policy pack."""
    watched = {
        (str(update.get("package-ecosystem")), directory)
        for update in config.get("updates") or []
        for directory in [*(update.get("directories") or []), *([update["directory"]] if "directory" in update else [])]
    }
    wanted = [
        ("github-actions", "/"),
        ("github-actions", "/.github/actions/prepare"),
        ("pip", "/"),
        ("pip", "/policy"),
    ]
    return [f"{ecosystem} in {directory}" for ecosystem, directory in wanted if (ecosystem, directory) not in watched]


def test_an_update_bot_watches_every_pin() -> None:
    """Issue 16.11: no update bot (OpenSSF Scorecard, "Dependency-Update-Tool"); Dependabot
    proposes new SHAs (with their version comments) and new pins, the pins stay as they are."""
    config = load(ROOT / ".github" / "dependabot.yml")
    assert config["version"] == 2
    assert dependabot_gaps(config) == []
    assert dependabot_gaps({"version": 2, "updates": [{"package-ecosystem": "pip", "directory": "/"}]}) == [
        "github-actions in /",
        "github-actions in /.github/actions/prepare",
        "pip in /policy",
    ]


CLUSTER_RUNNER = "${{{{ vars.{0} && fromJSON(vars.{0}) || 'ubuntu-latest' }}}}"


def test_jobs_that_reach_the_cluster_take_their_runner_from_a_variable() -> None:
    """Issue 24.8: a private cluster needs a runner inside its network. Every job that names an
    environment (the only jobs with a cloud identity, hence a cluster) takes its runner from a
    repository variable, hosted `ubuntu-latest` when unset; the pull request's preview never shares
    the deploy's variable (its code could persist on the runner: docs/delivery.md, "Runners")."""
    runners = {
        (path.name, job_id): job["runs-on"] for path in WORKFLOW_FILES for job_id, job in load(path)["jobs"].items()
    }
    environments = {
        (path.name, job_id)
        for path in WORKFLOW_FILES
        for job_id, job in load(path)["jobs"].items()
        if environment_name(job) is not None
    }
    assert environments == {
        ("deploy.yml", "dev"),
        ("deploy.yml", "prod"),
        ("renew-token.yml", "renew"),
        ("pull-request.yml", "preview-dev"),
    }
    for key, runner in runners.items():
        if key == ("pull-request.yml", "preview-dev"):
            assert runner == CLUSTER_RUNNER.format("PREVIEW_RUNNER"), key
        elif key in environments:
            assert runner == CLUSTER_RUNNER.format("DEPLOY_RUNNER"), key
        else:
            assert runner == "ubuntu-latest", key
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    assert "`DEPLOY_RUNNER`" in delivery and "`PREVIEW_RUNNER`" in delivery


def test_the_renewal_steps_run_the_script_other_ci_systems_run() -> None:
    """Issue 24.8: the same renewal for another CI system is the same script, not a copy of the
    workflow's commands that can drift from it."""
    steps = load(WORKFLOWS / "renew-token.yml")["jobs"]["renew"]["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    assert any(run.strip().endswith("scripts/renew-token.sh renew") for run in runs)
    assert any(run.strip().endswith("scripts/renew-token.sh expiry") for run in runs)
    assert not any("renewal.py plan" in run for run in runs)  # the plan check lives in the script only
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    assert "STACK=prod scripts/renew-token.sh renew" in delivery
    assert "STACK=prod scripts/renew-token.sh expiry" in delivery
    script = (ROOT / "scripts" / "renew-token.sh").read_text()
    assert "scripts/renewal.py plan" in script and "--target" in script


def test_the_renewal_script_names_its_missing_setting() -> None:
    import subprocess

    env = {key: value for key, value in os.environ.items() if key != "STACK"}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "renew-token.sh"), "renew"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert "STACK" in done.stderr and "dev, prod" in done.stderr
    usage = subprocess.run(
        ["bash", str(ROOT / "scripts" / "renew-token.sh"), "rotate"],
        env={**env, "STACK": "dev"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert usage.returncode == 2 and "renew|expiry" in usage.stderr
