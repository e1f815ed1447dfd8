"""The Pulumi CLI the workflows run is verified against a checksum the repository holds (issue 16.13).

pulumi/actions downloads the CLI from the release without checking it; a job then runs whatever
that download holds beside its OIDC and Pulumi tokens. ``scripts/install-pulumi-cli.sh`` (run by
``.github/actions/prepare`` before any Pulumi step) downloads the archive of the version pinned in
requirements.txt, checks it against the SHA-256 in ``.github/pulumi-cli.sha256`` and puts it on
PATH, where pulumi/actions finds it and downloads nothing (pulumi/actions ``src/libs/pulumi-cli.ts``
``downloadCli``: an installed version satisfying the range skips the download). OpenSSF
Scorecard, "Pinned-Dependencies": a download is pinned when a hash the repository holds verifies
it. Run here against a local archive (``file://``), since github.com is not reachable.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-pulumi-cli.sh"
SUMS = ROOT / ".github" / "pulumi-cli.sha256"
VERSION = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
ARCHIVE = f"pulumi-v{VERSION.group(1) if VERSION else '?'}-linux-x64.tar.gz"


def fake_release(directory: Path) -> bytes:
    """A release archive like Pulumi's (a ``pulumi/`` directory) whose ``pulumi`` prints a version."""
    script = b"#!/bin/sh\necho v0.0.0-test\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("pulumi/pulumi")
        info.size, info.mode = len(script), 0o755
        archive.addfile(info, io.BytesIO(script))
    data = buffer.getvalue()
    (directory / ARCHIVE).write_bytes(data)
    return data


def install(tmp_path: Path, sums: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sums").write_text(sums)
    env = {
        **os.environ,
        "PULUMI_RELEASES_URL": (tmp_path / "release").as_uri(),
        "PULUMI_CLI_SHA256_FILE": str(tmp_path / "sums"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "cli")], capture_output=True, text=True, env=env, check=False
    )


def test_a_matching_archive_is_installed(tmp_path: Path) -> None:
    (tmp_path / "release").mkdir()
    digest = hashlib.sha256(fake_release(tmp_path / "release")).hexdigest()
    result = install(tmp_path, f"# comment\n{'0' * 64}  pulumi-v0.0.1-linux-x64.tar.gz\n{digest}  {ARCHIVE}\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "cli" / "pulumi")
    assert (tmp_path / "cli" / "pulumi" / "pulumi").is_file()


def test_a_replaced_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "release").mkdir()
    fake_release(tmp_path / "release")
    result = install(tmp_path, f"{'a' * 64}  {ARCHIVE}\n")
    assert result.returncode != 0
    assert "does not match the SHA-256" in result.stderr
    assert not (tmp_path / "cli" / "pulumi").exists()


def test_a_version_without_a_checksum_is_refused(tmp_path: Path) -> None:
    (tmp_path / "release").mkdir()
    fake_release(tmp_path / "release")
    result = install(tmp_path, f"{'a' * 64}  pulumi-v0.0.1-linux-x64.tar.gz\n")
    assert result.returncode != 0 and f"no SHA-256 for {ARCHIVE}" in result.stderr


def test_the_checksum_file_holds_only_well_formed_lines() -> None:
    for line in SUMS.read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[0-9a-f]{64}  pulumi-v[0-9][0-9A-Za-z.+-]*-linux-x64\.tar\.gz", line), line


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def test_every_pulumi_job_installs_the_verified_cli_before_pulumi_actions() -> None:
    action = yaml.safe_load((ROOT / ".github" / "actions" / "prepare" / "action.yml").read_text())
    runs = [str(step.get("run", "")) for step in action["runs"]["steps"]]
    install = next(run for run in runs if "scripts/install-pulumi-cli.sh" in run)
    assert "/usr/local/bin/" in install and 'pulumi version)" != "v$PULUMI_VERSION"' in install
    assert "GITHUB_PATH" not in install  # zizmor github-env
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            uses = [str(step.get("uses", "")) for step in steps_of(job)]
            pulumi = [i for i, u in enumerate(uses) if u.startswith("pulumi/actions@")]
            if not pulumi:
                continue
            prepare = uses.index("./.github/actions/prepare") if "./.github/actions/prepare" in uses else None
            assert prepare is not None and prepare < min(pulumi), f"{path.name}: {job_id}"
            for index in pulumi:
                version = steps_of(job)[index]["with"]["pulumi-version"]
                assert version == "${{ steps.prepare.outputs.pulumi-version }}", f"{path.name}: {job_id}"


@pytest.mark.parametrize("path", sorted((ROOT / ".github").rglob("*.yml")), ids=lambda p: p.name)
def test_no_workflow_installs_pulumi_another_way(path: Path) -> None:
    text = path.read_text()
    assert "get.pulumi.com" not in text and "curl -fsSL https://get.pulumi.com" not in text
