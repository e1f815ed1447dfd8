"""Running the repository's workflows with act (github.com/nektos/act, built by
``scripts/toolchain.sh act``) in host mode: every job runs on this machine, no Docker
(``-P ubuntu-latest=-self-hosted``), offline (``--action-offline-mode``), each third-party action
mapped to its stand-in under ``tests/integration/act/actions`` with ``--local-repository
owner/repo@sha=folder`` (nektos/act pkg/runner/local_repository_cache.go ``Fetch``: the key is
``<url or owner/repo>@<ref>``), ``gh`` from ``tests/integration/act/bin``.

The repository the workflows run in is a git repository made from this working tree (its tracked
files as they are on disk), the ``origin`` the checkout stand-in clones from; each act run gets a
clone of it, with one file more: ``Pulumi.act.yaml``, the repository's dev stack made to need no
Azure (``apim.mode: existing``, the gateway token a placeholder secret, a NodePort Service on the
local API server), its state in a file backend, its secrets under a passphrase. The workflows are
pointed at it the way a repository's settings would: the ``PULUMI_STACK_NAME`` and
``PULUMI_BACKEND_URL`` variables, PULUMI_CONFIG_PASSPHRASE in the runner's environment; nothing in
the workflows knows about act.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import plugin_home

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "integration" / "act"
REPOSITORY = "contoso/apim-gateway"
TOKEN = "ghs_local-act-run-token"
PASSPHRASE = "act-integration-test"
GATEWAY = "contoso-dev-gw"
STACK = "act"
"""The Pulumi stack the runs deploy (``Pulumi.act.yaml``): dev's, needing no Azure."""
STAND_INS = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "actions/setup-go": "setup-go",
    "actions/cache": "cache",
    "azure/login": "azure-login",
    "azure/use-kubelogin": "use-kubelogin",
    "azure/aks-set-context": "aks-set-context",
    "pulumi/auth-actions": "auth-actions",
}
"""Each third-party action the workflows use → its stand-in folder (docs/toolchain.md lists what
each does instead)."""
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ACT_VERSION = re.search(r"ACT_VERSION:-([0-9.]+)", (ROOT / "scripts" / "toolchain.sh").read_text())


def toolchain_cache() -> Path:
    return Path(os.environ.get("APIMGW_CACHE") or Path.home() / ".cache" / "apimgw-toolchain")


def act_binary() -> Path | None:
    """act from the toolchain cache (``scripts/toolchain.sh act``; never built here)."""
    assert ACT_VERSION
    path = toolchain_cache() / "bin" / f"act-{ACT_VERSION.group(1)}" / "act"
    return path if path.is_file() else None


def require_act() -> Path:
    act = act_binary()
    if act is not None and shutil.which("pulumi") and plugin_home() is not None and shutil.which("go"):
        return act
    message = 'act, the Pulumi toolchain and go are needed (scripts/toolchain.sh all, then eval "$(scripts/toolchain.sh env)")'
    if os.environ.get("APIMGW_REQUIRE_CLUSTER"):
        pytest.fail(message)
    pytest.skip(message)


def workflow_actions() -> dict[str, str]:
    """``owner/repo`` → pinned SHA of every third-party action the workflows and the prepare action use."""
    found: dict[str, str] = {}
    paths = [*sorted((ROOT / ".github" / "workflows").glob("*.yml")), ROOT / ".github/actions/prepare/action.yml"]
    for path in paths:
        for uses, sha in re.findall(r"uses: ([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})", path.read_text()):
            found[uses] = sha
    return found


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Act Test",
        "GIT_AUTHOR_EMAIL": "act@example.invalid",
        "GIT_COMMITTER_NAME": "Act Test",
        "GIT_COMMITTER_EMAIL": "act@example.invalid",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def local_dev_stack(document: dict[str, Any]) -> dict[str, Any]:
    """The repository's dev stack, needing no Azure: the gateway exists already (``apim.mode:
    existing``, so no gateway resource, no generateToken: the token is a config secret) and its
    traffic Service is a NodePort (the local API server has no load balancer). The kube context
    name stays ``aks-contoso-dev``: the prepare action renames the context to it."""
    config = document["config"]
    config["apim-gateway:apim"] = {"mode": "existing", "serviceName": "contoso-apim-dev"}
    config.pop("apim-gateway:tokenExpiryAlert", None)  # an Azure alert
    (gateway,) = config["apim-gateway:gateways"]
    for key in ("apis", "token"):
        gateway.pop(key, None)
    gateway["service"] = {"type": "NodePort", "externalTrafficPolicy": "Local"}
    return document


@dataclass
class ActRun:
    returncode: int
    output: str
    seconds: float

    def job_ended(self, name: str, outcome: str) -> bool:
        """act pads the job names of one run to one width: ``[workflow/job   ] 🏁  Job succeeded``."""
        return re.search(rf"\[{re.escape(name)} *\] 🏁  Job {outcome}", self.output) is not None

    def job_succeeded(self, name: str) -> bool:
        return self.job_ended(name, "succeeded")

    def job_failed(self, name: str) -> bool:
        return self.job_ended(name, "failed")


@dataclass
class Delivery:
    """The repository, its stand-ins and state, for act runs of its workflows."""

    tmp: Path
    kubeconfig: Path
    api_url: str
    origin: Path = field(init=False)
    state: Path = field(init=False)
    cache_store: Path = field(init=False)
    trap_log: Path = field(init=False)
    runs: int = 0

    def __post_init__(self) -> None:
        self.origin = self.tmp / "origin"
        self.state = self.tmp / "state"
        self.cache_store = self.tmp / "actions-cache"
        self.trap_log = self.tmp / "trap.log"
        for directory in (self.origin, self.state, self.cache_store):
            directory.mkdir(parents=True)
        self.trap_log.touch()

    # ------------------------------------------------------------------ the repository

    def make_repository(self) -> str:
        """``origin`` on ``main``: this working tree's tracked files and ``Pulumi.act.yaml`` (the
        dev stack on the local API server, its placeholder token as a passphrase secret). Returns
        the commit."""
        tracked = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        for name in filter(None, tracked.split("\0")):
            source = ROOT / name
            if source.is_file():
                target = self.origin / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        dev = yaml.safe_load((self.origin / "Pulumi.dev.yaml").read_text())
        (self.origin / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(local_dev_stack(dev), sort_keys=False))
        git(self.origin, "init", "-q", "-b", "main")
        self.pulumi("stack", "init", STACK, "--secrets-provider", "passphrase")
        token = f"GatewayKey {GATEWAY}&203001010000&bG9jYWwtYWN0LXBsYWNlaG9sZGVy"
        self.pulumi("config", "set", "--secret", "--path", f"gatewayTokens.{GATEWAY}", token, "--stack", STACK)
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", "base: the repository, its dev stack on the local API server")
        return git(self.origin, "rev-parse", "HEAD")

    def pulumi(self, *args: str) -> str:
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_HOME": str(self.tmp / "pulumi-home-setup"),
        }
        done = subprocess.run(["pulumi", *args], cwd=self.origin, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def seed_toolchain_cache(self) -> str:
        """Plays deploy.yml's ``toolchain`` job once: the verified build under its key in the
        stand-in cache storage, from the toolchain this machine built from the same modules
        (scripts/toolchain.sh), linked, not rebuilt. Returns the key."""
        key = subprocess.run(
            ["bash", "scripts/install-pulumi-cli.sh", "--cache-key"],
            cwd=self.origin,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        pins = (ROOT / "requirements.txt").read_text()
        version = re.search(r"^pulumi==(\S+)$", pins, re.MULTILINE)
        k8s = re.search(r"^pulumi-kubernetes==(\S+)$", pins, re.MULTILINE)
        pyhost = re.search(r"PULUMI_PYHOST_VERSION:-([0-9.]+)", (ROOT / "scripts" / "toolchain.sh").read_text())
        assert version and k8s and pyhost
        cache = toolchain_cache()
        target = self.cache_store / key
        for part in (
            f"bin/pulumi-{version.group(1)}",
            f"bin/pulumi-language-python-{pyhost.group(1)}",
            f"bin/pulumi-resource-kubernetes-{k8s.group(1)}",
            f"pulumi-home/plugins/resource-kubernetes-v{k8s.group(1)}",
        ):
            assert (cache / part).is_dir(), f"the toolchain has no {part}: scripts/toolchain.sh all"
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-al", str(cache / part), str(target / part)], check=True, timeout=120)
        return key

    def clone(self, ref: str) -> Path:
        self.runs += 1
        workdir = self.tmp / f"run-{self.runs}"
        git(self.tmp, "clone", "-q", str(self.origin), str(workdir))
        git(workdir, "checkout", "-q", "--detach", ref)
        return workdir

    # ------------------------------------------------------------------ act

    def environment(self) -> dict[str, str]:
        """act's own environment, which host mode hands to every step (nektos/act
        pkg/runner/run_context.go startHostEnvironment: os.Environ() into the job's env): the
        machine's PATH without the toolchain's bin dirs or a virtualenv, traps for a `pulumi` or
        a plugin taken from PATH, `gh`, and no PULUMI_PYTHON_CMD of the test's own."""
        cache = str(toolchain_cache())
        kept = [
            entry
            for entry in os.environ.get("PATH", "").split(os.pathsep)
            if entry and not entry.startswith(cache) and "/.venv" not in entry and "/bin/pulumi" not in entry
        ]
        kubectl = shutil.which("kubectl")
        extra = [str(Path(kubectl).parent)] if kubectl else []
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULUMI_", "VIRTUAL_ENV", "KUBECONFIG", "APIMGW_", "PYTHON", "GH_", "GITHUB_"))
        }
        env.update(
            PATH=os.pathsep.join([str(HERE / "bin"), str(HERE / "trap-bin"), *kept, *extra]),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            STANDIN_GIT_REMOTE=str(self.origin),
            STANDIN_ACTIONS_CACHE=str(self.cache_store),
            STANDIN_KUBECONFIG=str(self.kubeconfig),
            STANDIN_TRAP_LOG=str(self.trap_log),
        )
        return env

    def act(
        self, workdir: Path, event: str, workflow: str, payload: Mapping[str, Any], job: str | None = None
    ) -> ActRun:
        act = require_act()
        event_file = workdir.parent / f"{workdir.name}-event.json"
        event_file.write_text(json.dumps(payload))
        actions = workflow_actions()
        missing = sorted(set(actions) - set(STAND_INS))
        assert not missing, f"actions without a stand-in: {missing}"
        args = [
            str(act),
            event,
            "--workflows",
            f".github/workflows/{workflow}",
            "--eventpath",
            str(event_file),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--no-cache-server",
            "--action-cache-path",
            str(self.tmp / "act-cache"),
            "--defaultbranch",
            "main",
            "--secret",
            f"GITHUB_TOKEN={TOKEN}",
            "--env",
            f"GITHUB_REPOSITORY={REPOSITORY}",
            "--env",
            f"GITHUB_API_URL={self.api_url}",
            "--env",
            f"GITHUB_RUN_ID={4200 + self.runs}",
        ]
        for name, value in {
            "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000c11d",
            "AZURE_TENANT_ID": "00000000-0000-0000-0000-0000000000aa",
            "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
            "AKS_CLUSTERS": json.dumps({"dev": {"resourceGroup": "rg-aks-dev", "name": "aks-contoso-dev"}}),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_STACK_NAME": STACK,
            "PULUMI_ORGANIZATION": "contoso",
            "PULUMI_TEAM": "dev-deploy",
        }.items():
            args += ["--var", f"{name}={value}"]
        for uses, sha in actions.items():
            args += ["--local-repository", f"{uses}@{sha}={HERE / 'actions' / STAND_INS[uses]}"]
        if job is not None:
            args += ["--job", job]
        started = time.monotonic()
        done = subprocess.run(
            args,
            cwd=workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        # act runs each step under a pseudo-terminal, so the CLI colours its output: read as text.
        output = ANSI.sub("", done.stdout + done.stderr)
        (self.tmp / f"act-{self.runs}-{workflow.removesuffix('.yml')}.log").write_text(output)  # for a look afterwards
        return ActRun(done.returncode, output, time.monotonic() - started)


def repository_event(extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "repository": {
            "full_name": REPOSITORY,
            "name": REPOSITORY.split("/")[1],
            "owner": {"login": REPOSITORY.split("/")[0]},
            "default_branch": "main",
        },
        **extra,
    }


def deployments(kubeconfig: Path, namespace: str) -> Iterator[dict[str, Any]]:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "deployments", "-n", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    yield from json.loads(done.stdout)["items"]
