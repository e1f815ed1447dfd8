"""The identities of docs/delivery.md on the local API server: the RBAC the project ships for a
stack (``python -m components.kubernetes.rbac``, run as a team runs it) and the kubeconfig a job
uses, for tests/integration/test_rbac_identities.py and test_rbac_cluster_scoped.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from engine import LocalStack

from components.kubernetes import rbac
from scripts import local_cluster as lc

ROOT = Path(__file__).resolve().parents[1]


def shipped_rbac(stack: LocalStack, identity: str, namespace: str) -> str:
    """What a team applies: the module's own output for this stack file, run as a command, for the
    ServiceAccount ``identity`` in ``namespace``."""
    done = subprocess.run(
        [sys.executable, "-m", "components.kubernetes.rbac", "--stack", "local", "--identity", identity,
         "--subject", f"ServiceAccount:{namespace}:{identity}", "--project-dir", str(stack.directory)],
        capture_output=True, text=True, check=True, timeout=60, cwd=ROOT,
        env={**os.environ, rbac.OWNER_KEY_VARIABLE: stack.owner_key or ""},
    )  # fmt: skip
    return done.stdout


def identity_kubeconfig(admin: Path, token_file: Path) -> str:
    """The kubeconfig every job uses: the cluster of ``admin``, and a credential the job's own
    environment provides (``tokenFile``), as the documented AKS kubeconfig does with kubelogin's
    ``exec`` (docs/delivery.md). So its content, which the stack pins as the provider's input
    (components/kubernetes/kubeconfig.py), is the same for every identity: a kubeconfig that embeds
    each identity's own token would be a provider update, which the renewal's plan check refuses."""
    cluster = yaml.safe_load(admin.read_text())["clusters"][0]
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": "ci", "user": {"tokenFile": str(token_file)}}],
            "contexts": [{"name": "ci", "context": {"cluster": cluster["name"], "user": "ci"}}],
            "current-context": "ci",
        }
    )


def act_as(admin: Path, path: Path, identity: str, namespace: str) -> None:
    """Writes the job's kubeconfig to ``path``: a fresh token of the ServiceAccount (TokenRequest,
    ``kubectl create token``) in the token file beside it."""
    token_file = path.with_name("job-token")
    token_file.write_text(lc.kubectl(admin, "create", "token", identity, "-n", namespace, "--duration=2h").strip())
    path.write_text(identity_kubeconfig(admin, token_file))
