"""The three workflows, run end to end by a real runner: act (``scripts/toolchain.sh act``) in host
mode, against the local API server (tests/integration/conftest.py), a file backend and a local fake
of the GitHub API (tests/fake_github.py), on the repository's dev stack made to need no
Azure (``Pulumi.act.yaml``, tests/act_runner.py ``local_dev_stack``; the workflows take it from
the PULUMI_STACK_NAME variable).

Every ``run:`` step and the project's composite action (``.github/actions/prepare``) run as
written; each third-party action is its stand-in (tests/integration/act/actions, listed in
docs/toolchain.md), ``gh`` a stand-in script. How far each run goes:

- deploy.yml, a push to main: ``toolchain`` (the verified build restored from the stand-in cache
  storage) and ``dev`` (prepare, then ``pulumi up`` of dev with the policy pack): the stack is up
  on the local API server; ``link-pull-request`` comments through the fake API. ``prod`` is not
  run (its stack needs Azure).
- pull-request.yml: ``preview-dev`` (the real preview of a pull request's change, judged by the
  base branch's policy pack) and ``comment-dev-preview`` (the comment the fake API receives).
  ``checks`` is ``scripts/test.sh --unit``, which .ci/run runs itself; it is not run again here.
- renew-token.yml for dev: ``select`` reads the runs the fake API is fed, forged ones included;
  ``renew`` checks out exactly the chosen commit, runs the plan check on the real
  ``pulumi preview --json`` and the expiry check on the stack's outputs. What it cannot do here is
  generateToken (Azure): the dev stack's gateway exists already and its token is a config secret,
  so the plan has nothing to renew and no ``pulumi up --target`` runs. ``alert`` opens the issue.

Issue 22.2: act's environment has no PULUMI_PYTHON_CMD and its ``python3`` has no ``pulumi`` (the
test checks both), so a Pulumi step succeeds only because the workflow itself points the language
host at the job's ``.venv``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from act_runner import (
    GATEWAY,
    REPOSITORY,
    STACK,
    TOKEN,
    ActRun,
    Delivery,
    deployments,
    git,
    repository_event,
    require_act,
)
from fake_github import FakeGitHub, serve

pytestmark = pytest.mark.integration

DEV_JOB = "pulumi up dev"


@dataclass
class Deployed:
    delivery: Delivery
    github: FakeGitHub
    base: str
    deploy: ActRun
    link: ActRun
    timings: dict[str, float]


def job_record(run_id: int, sha: str, name: str = DEV_JOB, conclusion: str = "success") -> dict[str, Any]:
    return {"id": run_id * 10, "name": name, "conclusion": conclusion, "head_sha": sha}


def run_record(run_id: int, sha: str, ref: str = "refs/heads/main", **changes: Any) -> dict[str, Any]:
    """A workflow run as GitHub's REST API lists it ("REST API endpoints for workflow runs": the
    run object's ``path`` is "The full path of the workflow", here with the ref it was read from)."""
    return {
        "id": run_id,
        "run_number": run_id,
        "head_sha": sha,
        "head_branch": "main",
        "event": "push",
        "path": f".github/workflows/deploy.yml@{ref}",
        "head_repository": {"full_name": REPOSITORY},
        "conclusion": "success",
        **changes,
    }


@pytest.fixture(scope="module")
def deployed(local_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    require_act()
    tmp = tmp_path_factory.mktemp("act")
    timings: dict[str, float] = {}
    with serve(FakeGitHub(REPOSITORY, TOKEN)) as github:
        delivery = Delivery(tmp, local_cluster.kubeconfig, github.url)
        started = time.monotonic()
        base = delivery.make_repository()
        delivery.seed_toolchain_cache()
        timings["setup"] = time.monotonic() - started
        github.pulls_of_commit[base] = [{"number": 41}]
        workdir = delivery.clone(base)
        push = repository_event({"ref": "refs/heads/main", "before": "0" * 40, "after": base})
        deploy = delivery.act(workdir, "push", "deploy.yml", push, job="dev")
        link = delivery.act(delivery.clone(base), "push", "deploy.yml", push, job="link-pull-request")
        timings |= {"deploy": deploy.seconds, "link": link.seconds}
        yield Deployed(delivery, github, base, deploy, link, timings)
        print("act timings (s):", {name: round(value, 1) for name, value in timings.items()})


def test_the_runner_has_no_python_with_pulumi_and_no_interpreter_setting(deployed: Deployed) -> None:
    """Issue 22.2's precondition: without the workflows' PULUMI_PYTHON_CMD the toolchain's language
    host runs `python3` from PATH (pulumi sdk/v3@v3.79.0 python/python.go ``CommandPath``), and that
    one cannot import pulumi, so every Pulumi step below would fail with ModuleNotFoundError."""
    env = deployed.delivery.environment()
    assert "PULUMI_PYTHON_CMD" not in env and "VIRTUAL_ENV" not in env
    probe = subprocess.run(["python3", "-c", "import pulumi"], env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0 and "No module named 'pulumi'" in probe.stderr


def test_deploy_on_a_push_to_main_brings_dev_up_on_the_local_cluster(deployed: Deployed) -> None:
    run = deployed.deploy
    assert run.returncode == 0, run.output[-6000:]
    assert run.job_succeeded("deploy/Verified Pulumi CLI and Kubernetes plugin (cache, main only)")
    assert run.job_succeeded(f"deploy/{DEV_JOB}")
    assert "cache stand-in: restored pulumi-toolchain-" in run.output
    assert "install-pulumi-cli: reusing the build in" in run.output
    assert f"stack {STACK} loads no azure-native resource" in run.output
    # The policy pack ran (policy/analyzer, its own virtualenv) with dev's levels.
    assert "apim-gateway-guardrails|local|policy/analyzer" in run.output
    (deployment,) = [d for d in deployments(deployed.delivery.kubeconfig, GATEWAY) if d["metadata"]["name"] == GATEWAY]
    assert deployment["status"].get("availableReplicas") == deployment["spec"]["replicas"]
    assert deployed.delivery.trap_log.read_text() == ""  # no pulumi or plugin from PATH ran


def test_the_deploy_links_the_merged_pull_request_through_the_api(deployed: Deployed) -> None:
    run = deployed.link
    assert run.returncode == 0, run.output[-4000:]
    (comment,) = deployed.github.comments[41]
    assert comment["body"].startswith(f"Deploy of {deployed.base}: dev, then the prod preview")
    assert comment["body"].endswith(f"/{REPOSITORY}/actions/runs/4202")


def test_a_pull_request_previews_its_change_and_comments_the_result(deployed: Deployed) -> None:
    delivery, github = deployed.delivery, deployed.github
    origin = delivery.origin
    git(origin, "checkout", "-q", "-b", "feature")
    stack = origin / f"Pulumi.{STACK}.yaml"
    stack.write_text(stack.read_text().replace("level: debug", "level: info"))
    git(origin, "commit", "-q", "-am", "dev: gateway logs at info")
    head = git(origin, "rev-parse", "HEAD")
    git(origin, "checkout", "-q", "main")
    # GitHub runs a pull_request workflow on the merge of the head into the base (refs/pull/N/merge).
    workdir = delivery.clone(deployed.base)
    git(workdir, "merge", "-q", "--no-ff", "-m", "Merge feature into main", head)
    event = repository_event(
        {
            "number": 7,
            "pull_request": {
                "number": 7,
                "base": {"sha": deployed.base, "ref": "main"},
                "head": {"sha": head, "ref": "feature", "repo": {"full_name": REPOSITORY}},
            },
        }
    )
    run = delivery.act(workdir, "pull_request", "pull-request.yml", event, job="comment-dev-preview")
    deployed.timings["pull-request"] = run.seconds
    assert run.returncode == 0, run.output[-6000:]
    for job in (
        "Preview dev (read-only identity, base branch's policy pack)",
        "Comment the dev preview on the pull request (runs no pull-request code)",
    ):
        assert run.job_succeeded(f"pull-request/{job}"), job
    # The real preview of the change against the deployed state: the logs level moves in the
    # settings ConfigMap, and the Deployment's settings checksum with it; judged by the base
    # branch's pack (its advisory findings at dev's levels are shown, nothing blocks).
    assert '~ telemetry.logs.std.level: "debug" => "info"' in run.output
    assert "~ checksum/settings:" in run.output and "~ 2 to update" in run.output
    assert "apim-gateway-guardrails|local|.base-branch/policy/analyzer" in run.output
    assert "apim-gateway-guardrails@v0.1.0 [advisory]  deployment-min-replicas" in run.output
    assert "checkout stand-in: contoso/apim-gateway@" + deployed.base in run.output
    (comment,) = github.comments[7]
    assert comment["body"].startswith("#### `pulumi preview` of dev: success")
    assert comment["body"].endswith(f"/{REPOSITORY}/actions/runs/{4200 + delivery.runs}")
    assert delivery.trap_log.read_text() == ""


def test_the_renewal_runs_the_genuine_deploy_refuses_the_forged_ones_and_alerts(deployed: Deployed) -> None:
    """Issue 22.3 through the fake API: the newest run is a push of the tag ``main`` (its path
    names refs/tags/main), the next one claims a commit a merged pull request reverted (an ancestor
    of main, not on its first-parent line); the renewal takes the older genuine deploy, checks out
    exactly its commit (not main's head), runs its plan check, and raises the alert."""
    delivery, github = deployed.delivery, deployed.github
    origin = delivery.origin
    git(origin, "checkout", "-q", "-b", "throwaway")
    (origin / "throwaway.txt").write_text("a deploy.yml whose dev job just succeeds\n")
    git(origin, "add", "throwaway.txt")
    git(origin, "commit", "-q", "-m", "throwaway")
    throwaway = git(origin, "rev-parse", "HEAD")
    git(origin, "revert", "--no-edit", "HEAD")
    git(origin, "checkout", "-q", "main")
    git(origin, "merge", "-q", "--no-ff", "-m", "Merge throwaway (reverted)", "throwaway")
    git(origin, "tag", "main", throwaway)
    head = git(origin, "rev-parse", "refs/heads/main")
    github.runs[:] = [
        run_record(1, deployed.base),
        run_record(2, throwaway),
        run_record(3, throwaway, ref="refs/tags/main"),
    ]
    github.jobs.update(
        {run: [job_record(run, sha)] for run, sha in ((1, deployed.base), (2, throwaway), (3, throwaway))}
    )
    event = repository_event({"ref": "refs/heads/main"})
    run = delivery.act(delivery.clone(head), "workflow_dispatch", "renew-token.yml", event)
    deployed.timings["renew"] = run.seconds
    assert run.returncode == 0, run.output[-6000:]
    assert f'"dev": "{deployed.base}"' in run.output
    assert (
        f"::warning::stack dev: deploy.yml run 3 ({throwaway}) says it is a push to main, but its workflow came from refs/tags/main"
        in run.output
    )
    assert (
        f"::warning::stack dev: deploy.yml run 2 ({throwaway}): the commit is not on main's first-parent history"
        in run.output
    )
    assert "::set-output:: refused=2" in run.output
    assert run.job_succeeded("renew-token/Renew token (dev)")
    assert "Nothing to renew in this renewal window." in run.output
    assert f"checkout stand-in: contoso/apim-gateway@{deployed.base}" in run.output
    assert head != deployed.base
    (issue,) = github.issues
    assert issue["title"] == "Token renewal refused forged deploy runs"
    assert issue["body"].startswith("The token renewal refused 2 run(s) of deploy.yml")
    assert delivery.trap_log.read_text() == ""


def test_a_renewal_with_only_forged_runs_fails_closed_and_alerts(deployed: Deployed) -> None:
    delivery, github = deployed.delivery, deployed.github
    throwaway = git(delivery.origin, "rev-parse", "refs/tags/main")
    github.runs[:] = [run_record(5, throwaway, ref="refs/tags/main")]
    github.jobs[5] = [job_record(5, throwaway)]
    github.issues.clear()
    event = repository_event({"ref": "refs/heads/main"})
    run = delivery.act(delivery.clone("refs/heads/main"), "workflow_dispatch", "renew-token.yml", event)
    deployed.timings["renew-forged"] = run.seconds
    assert run.returncode != 0
    assert run.job_failed("renew-token/Find the commits the last approved deploys ran")
    assert not run.job_succeeded("renew-token/Renew token (dev)")
    assert "no run of .github/workflows/deploy.yml from a push to main" in run.output
    (issue,) = github.issues
    assert issue["title"] == "Gateway token renewal failed"
