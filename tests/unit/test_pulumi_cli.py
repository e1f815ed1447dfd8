"""The Pulumi CLI the workflows run is verified against checksums the repository holds (issue 16.13).

pulumi/actions downloads the CLI from the release without checking it; a job then runs whatever
that download holds beside its OIDC and Pulumi tokens. ``scripts/install-pulumi-cli.sh`` (run by
``.github/actions/prepare`` before any Pulumi step) builds the CLI of the version pinned in
requirements.txt and its Python language host from their Go modules, after checking each module's
``h1:`` sum against ``.github/pulumi-cli.sum``, and puts the binaries on PATH, where pulumi/actions
finds them and downloads nothing (pulumi/actions ``src/libs/pulumi-cli.ts`` ``downloadCli``).
OpenSSF Scorecard, "Pinned-Dependencies": a download is pinned when a hash the repository holds
verifies it; Go Modules Reference, "go.sum files" and "Checksum database": the ``h1:`` hash of a
module's file tree, which the Go command checks every download against. The modules come from the
Go module proxy, reachable here, so the script runs for real (``--verify-only`` skips the build
the integration toolchain does anyway).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-pulumi-cli.sh"
SUMS = ROOT / ".github" / "pulumi-cli.sum"
VERSION = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
PYHOST = re.search(r"PULUMI_PYHOST_VERSION:-([0-9.]+)", (ROOT / "scripts" / "toolchain.sh").read_text())
K8S = re.search(r"^pulumi-kubernetes==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
K8S_MODULE = re.search(r'^  \[[0-9.]+\]="(v[^"]+)"$', (ROOT / "scripts" / "toolchain.sh").read_text(), re.MULTILINE)


def verify(tmp_path: Path, sums: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sums").write_text(sums)
    return subprocess.run(
        ["bash", str(SCRIPT), "--verify-only", "--sums", str(tmp_path / "sums")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=600,
    )


def test_the_repositorys_lines_verify_the_modules_the_cli_is_built_from(tmp_path: Path) -> None:
    result = verify(tmp_path, SUMS.read_text())
    assert result.returncode == 0, result.stderr
    assert "modules verified" in result.stderr


def test_a_module_whose_content_differs_is_refused(tmp_path: Path) -> None:
    changed = re.sub(r"(pkg/v3 v\S+ h1:)\S+", r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", SUMS.read_text())
    result = verify(tmp_path, changed)
    assert result.returncode != 0
    assert "refusing to build it" in result.stderr and "github.com/pulumi/pulumi/pkg/v3" in result.stderr


def test_a_module_without_a_line_is_refused(tmp_path: Path) -> None:
    missing = "\n".join(line for line in SUMS.read_text().splitlines() if "pulumi/sdk/v3" not in line)
    result = verify(tmp_path, missing)
    assert result.returncode != 0 and "no line for github.com/pulumi/pulumi/sdk/v3" in result.stderr


def test_the_kubernetes_plugins_module_is_verified_too(tmp_path: Path) -> None:
    """Issue 22.4: the plugin the engine runs beside the credentials is built from a module the
    repository's line checks, like the CLI."""
    changed = re.sub(r"(provider/v4 \S+ h1:)\S+", r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", SUMS.read_text())
    result = verify(tmp_path, changed)
    assert result.returncode != 0 and "github.com/pulumi/pulumi-kubernetes/provider/v4" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        # Issue 22.4: each of these steered the check before; the script now resets them. With
        # GOPROXY=off nothing could be downloaded, with GOFLAGS=-mod=vendor nothing resolved, so
        # a pass shows they were not read; PULUMI_PYHOST_VERSION and PULUMI_CLI_SUM_FILE would
        # have named another module and another file.
        {"GOPROXY": "off"},
        {"GOFLAGS": "-mod=vendor", "GOWORK": "/nonexistent/go.work"},
        {"GOSUMDB": "off", "GONOSUMDB": "*", "GOPRIVATE": "*", "GOINSECURE": "*"},
        {"GOMODCACHE": "/nonexistent/mod"},
        {"PULUMI_PYHOST_VERSION": "3.80.0", "PULUMI_CLI_SUM_FILE": "/nonexistent"},
    ],
    ids=lambda env: ",".join(env),
)
def test_the_environment_does_not_steer_the_check(tmp_path: Path, env: dict[str, str]) -> None:
    result = verify(tmp_path, SUMS.read_text(), **env)
    assert result.returncode == 0, result.stderr


def test_a_changed_module_is_refused_whatever_the_environment_says(tmp_path: Path) -> None:
    env = {"GOSUMDB": "off", "GONOSUMDB": "*", "GOPRIVATE": "*", "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    changed = re.sub(r"(pkg/v3 v\S+ h1:)\S+", r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", SUMS.read_text())
    result = verify(tmp_path, changed, **env)
    assert result.returncode != 0 and "refusing to build it" in result.stderr


def test_another_sum_file_is_for_the_check_alone(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--sums", str(tmp_path / "sums"), "--cache", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2 and "--sums is for --verify-only" in result.stderr


def test_the_cache_key_names_what_the_build_depends_on() -> None:
    key = subprocess.run(["bash", str(SCRIPT), "--cache-key"], capture_output=True, text=True, check=True, timeout=60)
    assert re.fullmatch(r"pulumi-toolchain-linux-(amd64|arm64)-[0-9a-f]{32}\n", key.stdout)


def test_the_sum_file_names_exactly_the_pinned_modules() -> None:
    assert VERSION and PYHOST and K8S and K8S_MODULE
    lines = [line.split() for line in SUMS.read_text().splitlines() if line and not line.startswith("#")]
    assert sorted((module, version) for module, version, _ in lines) == sorted(
        [
            ("github.com/pulumi/pulumi/pkg/v3", f"v{VERSION.group(1)}"),
            ("github.com/pulumi/pulumi/sdk/v3", f"v{VERSION.group(1)}"),
            ("github.com/pulumi/pulumi/sdk/v3", f"v{PYHOST.group(1)}"),
            ("github.com/pulumi/pulumi-kubernetes/provider/v4", K8S_MODULE.group(1)),
            ("github.com/pulumi/pulumi-kubernetes/sdk/v4", f"v{K8S.group(1)}"),
        ]
    )
    assert all(re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=", digest) for _, _, digest in lines)


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def test_every_pulumi_job_runs_the_cli_the_install_script_built() -> None:
    """Issue 22.4: no `sudo install` into /usr/local/bin (and no `/` installed when a same-version
    `pulumi` on the runner made the old script print an empty directory), no pulumi/actions; the
    build is restored only from the cache deploy.yml's `toolchain` job writes."""
    action = yaml.safe_load((ROOT / ".github" / "actions" / "prepare" / "action.yml").read_text())
    steps = action["runs"]["steps"]
    uses = [str(step.get("uses", "")) for step in steps]
    install = next(
        i for i, step in enumerate(steps) if 'scripts/install-pulumi-cli.sh --cache "$CACHE"' in str(step.get("run"))
    )
    restore = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))
    go = next(i for i, u in enumerate(uses) if u.startswith("actions/setup-go@"))
    assert go < restore < install and steps[install]["id"] == "cli"
    assert steps[go]["with"]["go-version"] == "1.26.8"  # exact, not a floating "1.26"
    assert not any("sudo" in str(step.get("run", "")) or "/usr/local/bin" in str(step.get("run", "")) for step in steps)
    assert action["outputs"]["pulumi"]["value"] == "${{ steps.cli.outputs.pulumi }}"
    assert not any(u.startswith("actions/cache@") or u.startswith("actions/cache/save@") for u in uses)
    savers = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow["jobs"].items():
            job_uses = [str(step.get("uses", "")) for step in steps_of(job)]
            assert not any(u.startswith("pulumi/actions@") for u in job_uses), f"{path.name}: {job_id}"
            if any(u.startswith("actions/cache/save@") or u.startswith("actions/cache@") for u in job_uses):
                savers.append((path.name, job_id, job))
    ((name, job_id, job),) = savers
    on = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())[True]
    assert (name, job_id, on) == ("deploy.yml", "toolchain", {"push": {"branches": ["main"]}})
    assert job["permissions"] == {"contents": "read"} and "environment" not in job


@pytest.mark.parametrize("path", sorted((ROOT / ".github").rglob("*.yml")), ids=lambda p: p.name)
def test_no_workflow_installs_pulumi_another_way(path: Path) -> None:
    text = path.read_text()
    assert "get.pulumi.com" not in text and "curl -fsSL https://get.pulumi.com" not in text
