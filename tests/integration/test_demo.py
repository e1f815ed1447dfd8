"""The demo end to end, as a newcomer runs it: ``scripts/local_demo.py`` starts its own control
plane, runs ``pulumi up`` of the `local` stack with the real engine and Kubernetes plugin, the
``kubectl`` checks, a no-change preview, and ``pulumi destroy``, then stops the control plane.

It runs in a copy of the project (the demo keeps its state in ``.pulumi-state/`` and its cluster in
``.local-cluster/`` of the project it runs in), with this test's Python as the program's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cluster_client import Cluster
from engine import ROOT, require_engine

pytestmark = pytest.mark.integration


def demo_project(tmp_path: Path) -> Path:
    """A copy of the project as the demo needs it, with this test's Python as its ``.venv``."""
    require_engine()
    project = tmp_path / "project"
    for directory in ("components", "scripts"):
        shutil.copytree(ROOT / directory, project / directory, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.local.yaml", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    # Pulumi.yaml names .venv, and the dynamic-provider host insists that it exists: this test's own.
    (project / ".venv").symlink_to(Path(sys.prefix))
    return project


def run_demo(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "scripts" / "local_demo.py"), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=project,
        env={**os.environ, "PULUMI_PYTHON_CMD": sys.executable},
        check=False,
    )


def test_the_demo_runs_the_engine_and_shows_what_kubectl_prints(tmp_path: Path) -> None:
    project = demo_project(tmp_path)
    done = run_demo(project)
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    # The engine's own output: the update, then a preview with nothing to do.
    assert "$ pulumi up --yes --skip-preview --stack local" in out
    assert re.search(r"^Resources:\n +\+ \d+ created$", out, re.MULTILINE)
    assert "$ pulumi preview --expect-no-changes --stack local" in out
    assert re.search(r"^ +\d+ unchanged$", out, re.MULTILINE)
    # kubectl's own tables (default columns of `kubectl get`).
    assert re.search(r"^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$", out, re.MULTILINE)
    assert re.search(r"^local-gw +2/2 +2 +2 +\S+$", out, re.MULTILINE)
    assert re.search(r"^local-gw-live-traffic +NodePort +\S+ +<none> +80:\d+/TCP,443:\d+/TCP +\S+$", out, re.MULTILINE)
    # The destroy, and what keepOnDestroy kept: the namespace and the bound claim.
    assert re.search(r"^ +- \d+ deleted$", out, re.MULTILINE)
    assert re.search(r"^local-gw +Active +\S+$", out, re.MULTILINE)
    # The claim's name carries a digest of its class and access mode (manifests.backup_claim_name).
    assert re.search(r"^local-gw-config-backup-[0-9a-f]{8} +Bound +local-gw-config-backup +", out, re.MULTILINE)
    assert "local-demo: local cluster stopped" in out
    assert "bG9jYWwtZGVtby1wbGFjZWhvbGRlcg" not in out + done.stderr  # the token never shows
    assert (ROOT / "Pulumi.local.yaml").read_text() == (project / "Pulumi.local.yaml").read_text()


def test_the_demo_uses_a_cluster_the_user_names_by_its_context(local_cluster: Any, tmp_path: Path) -> None:
    """Issue 24.7: ``--context`` deploys to a cluster the user already has (here the session's
    local API server, reached through its kubeconfig's context) and starts no control plane."""
    project = demo_project(tmp_path)
    done = run_demo(project, "--context", "apimgw-local", "--kubeconfig", str(local_cluster.kubeconfig))
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    assert not (project / ".local-cluster" / "etcd").exists()  # no control plane of its own
    assert "local cluster stopped" not in out
    assert re.search(r"^Resources:\n +\+ \d+ created$", out, re.MULTILINE), out
    assert re.search(r"^deployment\.apps/local-gw +2/2 +2 +2 +\S+$", out, re.MULTILINE), out
    assert re.search(r"^ +\d+ unchanged$", out, re.MULTILINE), out
    assert re.search(r"^ +- \d+ deleted$", out, re.MULTILINE), out
    # Deployed to, and removed from, the named cluster: the Deployment is gone there after the destroy.
    cluster = Cluster(local_cluster.kubeconfig)
    assert cluster.find("apps/v1", "Deployment", "local-gw", "local-gw") is None
