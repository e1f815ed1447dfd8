"""Running the real Pulumi CLI in tests: a throw-away file backend, passphrase secrets, no plugin
downloads, the Kubernetes plugin from the toolchain's Pulumi home, and the toolchain's language
host pointed at the test's own Python."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES_PLUGIN_VERSION = re.search(
    r"^pulumi-kubernetes==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE
).group(1)  # type: ignore[union-attr]
"""The plugin the engine runs: the release the SDK pin names (scripts/toolchain.sh plugins)."""


def plugin_home() -> Path | None:
    """The toolchain's Pulumi home (``PULUMI_HOME`` from ``scripts/toolchain.sh env``) when it holds
    the Kubernetes plugin of the pinned release."""
    home = os.environ.get("PULUMI_HOME")
    if home and (Path(home) / "plugins" / f"resource-kubernetes-v{KUBERNETES_PLUGIN_VERSION}").is_dir():
        return Path(home)
    return None


def require_engine() -> None:
    """Skip without the CLI, the language host and the Kubernetes plugin; fail instead in CI
    (APIMGW_REQUIRE_CLUSTER)."""
    if shutil.which("pulumi") and shutil.which("pulumi-language-python") and plugin_home() is not None:
        return
    message = (
        f"pulumi, pulumi-language-python and the kubernetes plugin {KUBERNETES_PLUGIN_VERSION} are needed "
        '(scripts/toolchain.sh all, then eval "$(scripts/toolchain.sh env)")'
    )
    if os.environ.get("APIMGW_REQUIRE_CLUSTER"):
        pytest.fail(message)
    pytest.skip(message)


def engine_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment of one test's engine runs; state under ``tmp_path / "state"``."""
    (tmp_path / "state").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "integration-test",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # Shared, read-only in effect: the tests only use its plugins (state is in the file backend).
        "PULUMI_HOME": str(plugin_home() or tmp_path / "pulumi-home"),
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
