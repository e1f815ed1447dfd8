"""Running the real Pulumi CLI in tests: a throw-away file backend, passphrase secrets, no plugin
downloads, and the toolchain's language host pointed at the test's own Python."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require_engine() -> None:
    """Skip without the CLI and language host on PATH; fail instead in CI (APIMGW_REQUIRE_CLUSTER)."""
    if shutil.which("pulumi") and shutil.which("pulumi-language-python"):
        return
    if os.environ.get("APIMGW_REQUIRE_CLUSTER"):
        pytest.fail("pulumi and pulumi-language-python must be on PATH (scripts/toolchain.sh env)")
    pytest.skip('pulumi CLI / Python language host not on PATH (eval "$(scripts/toolchain.sh env)")')


def engine_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment of one test's engine runs; state under ``tmp_path / "state"``."""
    (tmp_path / "state").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "integration-test",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        # The toolchain's language host reads the interpreter from here, not from Pulumi.yaml.
        "PULUMI_PYTHON_CMD": sys.executable,
        **extra,
    }


def project_copy(tmp_path: Path) -> Path:
    """This project's program and local stack in a directory of their own, without the
    virtualenv option (the test's Python is already set up)."""
    directory = tmp_path / "project"
    directory.mkdir()
    shutil.copytree(ROOT / "components", directory / "components")
    for name in ("__main__.py", "Pulumi.local.yaml"):
        shutil.copy(ROOT / name, directory / name)
    (directory / "Pulumi.yaml").write_text("name: apim-gateway\nruntime: python\n")
    return directory


def pulumi(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """One CLI call, bounded in time; with ``check`` a failure shows the CLI's output."""
    done = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done
