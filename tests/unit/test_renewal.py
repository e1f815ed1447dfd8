"""The token renewal's plan check (``scripts/renewal.py``): a renewal may change the token,
its Secret, the Deployment's credentials checksum and the retired key, and nothing else.

The fixture ``fixtures/renewal-preview.json`` is written after Pulumi's ``PreviewDigest``
(pulumi/pulumi ``sdk/go/common/display/json.go``: ``steps[]`` of ``op``, ``urn``,
``diffReasons``, ``detailedDiff``; ``diagnostics[]`` with ``severity``), with the resource
names ``SelfHostedGateway`` registers (``components/azure/side.py``, ``components/kubernetes/side.py``,
``gateway.py``); it is not a recording of a real run, but the Deployment's ``detailedDiff`` key
is the one the real provider reports (pulumi-kubernetes 4.25.0, seen in
tests/integration/test_gateway_on_cluster.py: ``spec.template.metadata.annotations.checksum/credentials``;
the bracketed form this test used before was never what the provider sends). The ``op``/``urn`` shape is checked
against the real engine's output in tests/integration/test_renewal_plan.py; the Deployment's
``detailedDiff`` keys are Pulumi property paths of the changed fields (pulumi-kubernetes
``provider/pkg/provider/provider.go`` Diff: ``convertPatchToDiff`` of the JSON patch between
old and new inputs, ``HasDetailedDiff: true``).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scripts import renewal

FIXTURE = Path(__file__).parent / "fixtures" / "renewal-preview.json"
PREFIX = "urn:pulumi:prod::apim-gateway::apim-gateway:index:SelfHostedGateway$"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def preview() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def test_a_renewal_plan_passes_and_targets_exactly_its_four_resources() -> None:
    targets, problems = renewal.check_plan(preview())
    assert problems == []
    assert targets == [
        PREFIX + "pulumi-python:dynamic:Resource::contoso-weu-gw-access-token",
        PREFIX + "kubernetes:core/v1:Secret::contoso-weu-gw-token",
        PREFIX + "kubernetes:apps/v1:Deployment::contoso-weu-gw-deployment",
        PREFIX + "pulumi-python:dynamic:Resource::contoso-weu-gw-retired-key",
    ]


def test_a_plan_without_changes_targets_nothing() -> None:
    plan = preview()
    plan["steps"] = [step for step in plan["steps"] if step["op"] == "same"]
    assert renewal.check_plan(plan) == ([], [])


@pytest.mark.parametrize(
    ("index", "change", "message"),
    [
        (4, {"op": "update", "detailedDiff": {"data": {"kind": "update"}}}, "changes only the token"),
        (1, {"op": "delete"}, "changes only the token"),
        (3, {"op": "replace"}, "only updates this resource in place"),
        (
            5,
            {"detailedDiff": {"spec.template.spec.containers[0].image": {"kind": "update"}}},
            "not spec.template.spec.containers[0].image",
        ),
        (5, {"detailedDiff": {}, "diffReasons": []}, "(no property diff reported)"),
        # Only the token's data, only the token's expiry: a label on the Secret, or the token
        # pointed at another gateway, is no renewal.
        (3, {"detailedDiff": {"metadata.labels.team": {"kind": "add"}}}, "not metadata.labels.team"),
        (2, {"detailedDiff": {"gateway_id": {"kind": "update"}}}, "not gateway_id"),
        (6, {"detailedDiff": {"service_name": {"kind": "update"}}}, "not service_name"),
    ],
)
def test_any_other_change_fails_the_plan(index: int, change: dict[str, Any], message: str) -> None:
    plan = preview()
    plan["steps"][index].update(change)
    _, problems = renewal.check_plan(plan)
    assert len(problems) == 1
    assert message in problems[0]
    assert plan["steps"][index]["urn"] in problems[0]


def test_a_new_resource_fails_the_plan() -> None:
    plan = preview()
    extra = copy.deepcopy(plan["steps"][4])
    extra.update(op="create", urn=PREFIX + "kubernetes:core/v1:ConfigMap::stolen")
    plan["steps"].append(extra)
    _, problems = renewal.check_plan(plan)
    assert problems == [
        f"create {extra['urn']}: a token renewal changes only the token, its Secret and the Deployment's rollout"
    ]


def test_a_retry_of_a_failed_wait_is_neither_a_problem_nor_a_target() -> None:
    """The engine's empty update of a resource with ``initErrors`` (pulumi v3.259.0
    ``step_generator.go`` lines 2178-2190; the real preview's shape is in
    tests/integration/test_lifecycle.py): untargeted, the renewal does not run it."""
    plan = preview()
    retry = copy.deepcopy(plan["steps"][4])
    retry.update(op="update", detailedDiff={}, diffReasons=[], oldState={"initErrors": ["timed out waiting"]})
    retry["urn"] = PREFIX + "kubernetes:core/v1:Service::contoso-weu-gw-traffic"
    plan["steps"].append(retry)
    targets, problems = renewal.check_plan(plan)
    assert problems == [] and retry["urn"] not in targets
    # The same step with a change is no retry, and without init errors no update is empty.
    changes: list[dict[str, Any]] = [{"detailedDiff": {"spec.type": {"kind": "update"}}}, {"oldState": {}}]
    for changed in changes:
        plan["steps"][-1] = {**retry, **changed}
        assert renewal.check_plan(plan)[1]


def test_preview_errors_fail_the_plan() -> None:
    plan = preview()
    plan["diagnostics"] = [{"severity": "error", "message": "mandatory policy violation\n"}]
    assert renewal.check_plan(plan)[1] == ["preview error: mandatory policy violation"]


def test_main_prints_targets_and_exits_1_on_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert renewal.main(["plan", str(FIXTURE)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    plan = preview()
    plan["steps"][1]["op"] = "delete"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    assert renewal.main(["plan", str(bad)]) == 1
    assert "::error::delete urn:pulumi:prod" in capsys.readouterr().err


def test_expiry_check() -> None:
    week = timedelta(days=7)
    soon = (NOW + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    later = (NOW + timedelta(days=20)).isoformat()
    assert (
        renewal.check_expiry({"a": {"tokenExpiresOn": later}, "b": {"tokenExpiresOn": "none"}}, "prod", week, NOW) == []
    )
    assert renewal.check_expiry({}, "prod", week, NOW) == ["stack prod: the 'gateways' output is empty"]
    problems = renewal.check_expiry({"a": {"tokenExpiresOn": soon}, "b": {"tokenExpiresOn": "x"}}, "prod", week, NOW)
    assert problems == [
        f"stack prod, gateway a: the token expires on {soon} (3.0 days left, at least 7 needed)",
        "stack prod, gateway b: token expiry 'x' is not a date",
    ]


# --------------------------------------------------------------------------- which commit a renewal runs (issue 16.1)
# scripts/renewal.py ``deployed`` reads deploy.yml's run history (GitHub REST API, "Workflow runs":
# ``workflow_runs[]`` of ``id``, ``run_number``, ``head_sha``, ``head_branch``, ``event``, ``path``,
# ``head_repository.full_name``; "Workflow jobs": ``jobs[]`` of ``name``, ``conclusion``,
# ``head_sha``; "Review history for a workflow run": ``[{state, environments[{name}]}]``), never the
# Deployments API, whose ``success`` records a pull request's job with ``deployments: write`` can
# write for any ref.

REPO = "contoso/apim-gateway"
OLD, NEW, FORGED = "a" * 40, "b" * 40, "c" * 40
PROD_JOB = "preview, then pulumi up prod (approved)"


def run(run_id: int, sha: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": run_id,
        "run_number": run_id,
        "head_sha": sha,
        "head_branch": "main",
        "event": "push",
        # GitHub REST API, "REST API endpoints for workflow runs": the workflow run object's
        # ``path``, "The full path of the workflow", carries the ref the file was read from.
        "path": ".github/workflows/deploy.yml@refs/heads/main",
        "head_repository": {"full_name": REPO},
        **changes,
    }


class FakeGitHub:
    """The three read-only endpoints, from dictionaries; any other path (the Deployments API
    above all) fails the test."""

    def __init__(
        self,
        runs: list[dict[str, Any]],
        jobs: dict[int, list[tuple[str, str]]],
        approvals: dict[int, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.runs, self.jobs, self.approvals = runs, jobs, approvals or {}
        self.paths: list[str] = []

    def __call__(self, path: str) -> Any:
        self.paths.append(path)
        if path == f"repos/{REPO}/actions/workflows/deploy.yml/runs?branch=main&event=push&per_page=50":
            return {"workflow_runs": self.runs}
        run_id = int(path.split("/runs/")[1].split("/")[0])
        sha = next(r["head_sha"] for r in self.runs if r["id"] == run_id)
        if path.endswith("/jobs?per_page=100"):
            return {"jobs": [{"name": n, "conclusion": c, "head_sha": sha} for n, c in self.jobs.get(run_id, [])]}
        if path.endswith("/approvals"):
            return self.approvals.get(run_id, [])
        raise AssertionError(f"unexpected API path {path}")


def approved(environment: str = "production", state: str = "approved") -> list[dict[str, Any]]:
    return [{"state": state, "environments": [{"name": environment}], "user": {"login": "owner"}, "comment": ""}]


def always_ancestor(_: str) -> bool:
    return True


def selected(sha: str | None, problems: list[str] | None = None, refused: int = 0) -> Any:
    """A matcher for :class:`renewal.Selection` with ``refused`` refusals."""

    class Match:
        def __eq__(self, other: object) -> bool:
            return (
                isinstance(other, renewal.Selection)
                and other.sha == sha
                and other.problems == (problems or [])
                and len(other.refused) == refused
            )

        def __repr__(self) -> str:
            return f"Selection({sha!r}, {problems!r}, {refused} refused)"

    return Match()


def test_dev_renews_the_newest_successful_dev_deploy_from_main() -> None:
    github = FakeGitHub(
        [run(1, OLD), run(2, NEW)],
        {1: [("pulumi up dev", "success")], 2: [("pulumi up dev", "failure")]},
    )
    assert renewal.deployed_commit("dev", REPO, github, always_ancestor) == selected(OLD)
    assert not any("deployments" in path for path in github.paths)


@pytest.mark.parametrize(
    "forged",
    [
        {"head_branch": "feature"},  # a branch's own deploy.yml with `on: push`
        {"event": "workflow_dispatch"},
        {"event": "pull_request"},
        {"head_repository": {"full_name": "attacker/apim-gateway"}},  # a fork
        {"path": ".github/workflows/other.yml@refs/heads/main"},
    ],
)
def test_runs_that_are_not_pushes_to_main_are_never_chosen(forged: dict[str, Any]) -> None:
    github = FakeGitHub(
        [run(1, OLD), run(2, FORGED, **forged)], {1: [("pulumi up dev", "success")], 2: [("pulumi up dev", "success")]}
    )
    assert renewal.deployed_commit("dev", REPO, github, always_ancestor) == selected(OLD)


@pytest.mark.parametrize(
    "path",
    [
        # A push of the tag ``main``: GitHub puts the tag's name in ``head_branch`` and the runs
        # API's ``branch=main`` filter matches it; only the path tells the ref.
        ".github/workflows/deploy.yml@refs/tags/main",
        ".github/workflows/deploy.yml@main",  # a short name could be a tag as well
        ".github/workflows/deploy.yml",  # no ref at all
        f"{REPO}/.github/workflows/deploy.yml@refs/heads/feature",
    ],
)
def test_a_run_whose_workflow_came_from_another_ref_is_refused_and_blocks_nothing(path: str) -> None:
    """Issue 22.3: the forged newest run is refused (and reported for the alert); the renewal
    goes on with the newest run that is a real push to main."""
    github = FakeGitHub(
        [run(1, OLD), run(2, FORGED, path=path)],
        {1: [("pulumi up dev", "success")], 2: [("pulumi up dev", "success")]},
    )
    selection = renewal.deployed_commit("dev", REPO, github, always_ancestor)
    assert selection == selected(OLD, refused=1)
    assert f"run 2 ({FORGED})" in selection.refused[0] and "not refs/heads/main: refused" in selection.refused[0]


def test_prod_needs_an_approval_of_production_in_the_run() -> None:
    jobs = {1: [(PROD_JOB, "success")], 2: [(PROD_JOB, "success")]}
    github = FakeGitHub([run(1, OLD), run(2, NEW)], jobs, {1: approved(), 2: approved()})
    assert renewal.deployed_commit("prod", REPO, github, always_ancestor) == selected(NEW)
    # A prod job that succeeded without an approval (the environment's reviewers removed, or a
    # forged run): fail closed rather than fall back to an older run.
    for reviews in ([], approved(state="rejected"), approved(environment="dev")):
        github = FakeGitHub([run(1, OLD), run(2, NEW)], jobs, {1: approved(), 2: reviews})
        selection = renewal.deployed_commit("prod", REPO, github, always_ancestor)
        assert selection.sha is None
        assert selection.problems == [
            f"stack prod: deploy.yml run 2 ({NEW}): its job '{PROD_JOB}' succeeded without an approval "
            "of the production environment; refusing to run it"
        ]


def test_a_commit_that_is_not_on_mains_first_parent_history_is_refused_and_blocks_nothing() -> None:
    github = FakeGitHub(
        [run(1, OLD), run(2, FORGED)], {1: [("pulumi up dev", "success")], 2: [("pulumi up dev", "success")]}
    )
    selection = renewal.deployed_commit("dev", REPO, github, lambda sha: sha != FORGED)
    assert selection == selected(OLD, refused=1)
    assert selection.refused == [
        f"stack dev: deploy.yml run 2 ({FORGED}): the commit is not on main's first-parent history "
        "(a commit inside a merged pull request, or none of main's): refused"
    ]
    # Every run refused: nothing is left to renew with, so the run fails closed.
    alone = FakeGitHub([run(2, FORGED)], {2: [("pulumi up dev", "success")]})
    selection = renewal.deployed_commit("dev", REPO, alone, lambda sha: sha != FORGED)
    assert selection.sha is None and len(selection.refused) == 1 and selection.problems


def test_no_successful_deploy_fails_closed() -> None:
    github = FakeGitHub([run(1, OLD)], {1: [("pulumi up dev", "cancelled"), (PROD_JOB, "success")]})
    selection = renewal.deployed_commit("dev", REPO, github, always_ancestor)
    assert (
        selection.sha is None and "no run of .github/workflows/deploy.yml from a push to main" in selection.problems[0]
    )


def test_main_prints_the_commits_as_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    github = FakeGitHub([run(1, OLD)], {1: [("pulumi up dev", "success")]})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # The real ancestry check: OLD is no commit of this repository, so it fails closed.
    argv = ["deployed", "--repository", REPO, "--stack", "dev", "--main-ref", "HEAD"]
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path)
        assert renewal.main(argv, fetch=github) == 1
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out == ""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "one"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    github = FakeGitHub([run(1, head.stdout.strip())], {1: [("pulumi up dev", "success")]})
    try:
        os.chdir(tmp_path)
        assert renewal.main(argv, fetch=github) == 0
    finally:
        os.chdir(cwd)
    assert json.loads(capsys.readouterr().out) == {"dev": head.stdout.strip()}


def test_a_commit_reverted_inside_a_merged_pull_request_is_an_ancestor_but_not_on_the_first_parent_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22.3: ``merge-base --is-ancestor`` accepted any commit reachable from main, such as a
    throwaway commit a pull request added and reverted before it was merged with a merge commit;
    ``git rev-list --first-parent`` (git docs, "git-rev-list", ``--first-parent``: "Follow only the
    first parent commit upon seeing a merge commit") lists main's own commits only."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True, env=env)
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "base")
    base = git("rev-parse", "HEAD")
    git("checkout", "-q", "-b", "feature")
    (tmp_path / "deploy.yml").write_text("jobs: {dev: {name: pulumi up dev, steps: [{run: 'true'}]}}\n")
    git("add", "deploy.yml")
    git("commit", "-q", "-m", "throwaway: a deploy.yml whose dev job just succeeds")
    throwaway = git("rev-parse", "HEAD")
    git("revert", "--no-edit", "HEAD")
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = git("rev-parse", "HEAD")
    ancestry = ["git", "-C", str(tmp_path), "merge-base", "--is-ancestor", throwaway, "main"]
    assert subprocess.run(ancestry, check=False).returncode == 0
    monkeypatch.chdir(tmp_path)
    on_main = renewal.git_first_parent("main")
    assert (on_main(merge), on_main(base), on_main(throwaway)) == (True, True, False)
    assert renewal.git_first_parent("no-such-ref")(merge) is False
