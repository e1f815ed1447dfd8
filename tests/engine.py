"""Running the real Pulumi CLI in tests: a throw-away file backend, passphrase secrets, no plugin
downloads, the Kubernetes plugin from the toolchain's Pulumi home, and the toolchain's language
host pointed at the test's own Python."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

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


PROGRAM = ("components", "__main__.py")
"""What makes up the program (``Pulumi.local.yaml`` is the stack's, not the program's)."""


def project_copy(tmp_path: Path, commit: str | None = None) -> Path:
    """This project's program and local stack in a directory of their own, without the
    virtualenv option (the test's Python is already set up); with ``commit``, as that commit
    of the repository had them."""
    directory = tmp_path / "project"
    directory.mkdir()
    if commit is None:
        install_program(directory)
        shutil.copy(ROOT / "Pulumi.local.yaml", directory / "Pulumi.local.yaml")
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, *PROGRAM, "Pulumi.local.yaml"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True, timeout=60)
    (directory / "Pulumi.yaml").write_text("name: apim-gateway\nruntime: python\n")
    return directory


def install_program(directory: Path) -> None:
    """Put this checkout's program into ``directory``, replacing whatever program is there."""
    shutil.rmtree(directory / "components", ignore_errors=True)
    shutil.copytree(ROOT / "components", directory / "components", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "__main__.py", directory / "__main__.py")


def pulumi(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """One CLI call, bounded in time; with ``check`` a failure shows the CLI's output."""
    done = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


TOKEN_SIGNATURE = "bG9jYWwtdGVzdC1wbGFjZWhvbGRlcg=="
"""The signature part of every placeholder token the tests set: it must never show in plain text."""


def placeholder_token(gateway: str, serial: int = 0) -> str:
    """A token-shaped secret for an ``existing`` gateway (nothing here reaches Azure); ``serial``
    makes a renewed one."""
    return f"GatewayKey {gateway}&20300101{serial:04d}&{TOKEN_SIGNATURE}"


class LocalStack:
    """The project's program and its `local` stack file in a directory of their own, deployed with
    the real engine and Kubernetes plugin to the test's local API server."""

    def __init__(
        self,
        tmp_path: Path,
        kubeconfig: Path | None,
        gateway: str,
        commit: str | None = None,
        keyless: bool = False,
        **settings: Any,
    ) -> None:
        """With ``keyless`` (and always with an older ``commit``, whose config has no such key) the
        stack has no ``apim-gateway:ownerKey``; otherwise a new random one, as a new stack gets."""
        require_engine()
        self.directory = project_copy(tmp_path, commit)
        self.env = engine_env(tmp_path)
        self.gateway = gateway
        self.stack_file = self.directory / "Pulumi.local.yaml"
        pulumi(["stack", "init", "local"], self.directory, self.env)
        document = yaml.safe_load(self.stack_file.read_text())
        (entry,) = document["config"]["apim-gateway:gateways"]
        entry["name"] = gateway
        if kubeconfig is None:
            entry.get("kubernetes", {}).pop("kubeconfigPath", None)  # the ambient kubeconfig
        else:
            entry.setdefault("kubernetes", {})["kubeconfigPath"] = str(kubeconfig)
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
        self.update(**settings)
        self.set_token(placeholder_token(gateway))
        self.owner_key: str | None = None
        if commit is None and not keyless:
            self.set_owner_key(secrets.token_hex(32))

    @property
    def owner(self) -> str:
        """The ownership annotation's value the stack writes (components/kubernetes/ownership.py)."""
        from components.kubernetes.ownership import owner_for

        return owner_for("apim-gateway/local", self.owner_key)

    def set_owner_key(self, key: str | None) -> None:
        """Set (or with ``None`` remove) the stack's ``apim-gateway:ownerKey``."""
        if key is None:
            self.run("config", "rm", "apim-gateway:ownerKey")
        else:
            self.run("config", "set", "--secret", "apim-gateway:ownerKey", key)
        self.owner_key = key

    def set_token(self, token: str) -> None:
        self.run("config", "set", "--secret", "--path", f"gatewayTokens.{self.gateway}", token)

    def update(self, **settings: Any) -> None:
        """Merge ``settings`` into the gateway's entry of the stack file (``None`` removes a key)."""
        document = yaml.safe_load(self.stack_file.read_text())
        (entry,) = document["config"]["apim-gateway:gateways"]
        _merge(entry, settings)
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def set_config(self, key: str, value: Any) -> None:
        """Set a stack-level ``apim-gateway:<key>`` in the stack file (``None`` removes it)."""
        document = yaml.safe_load(self.stack_file.read_text())
        if value is None:
            document["config"].pop(f"apim-gateway:{key}", None)
        else:
            document["config"][f"apim-gateway:{key}"] = value
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """One CLI call on this stack; ``env`` adds to its environment."""
        done = subprocess.run(
            ["pulumi", *args],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def up(self, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--yes", "--skip-preview", "--non-interactive", check=check, env=env)

    def preview(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("preview", "--non-interactive", *args, check=check, env=env)

    def destroy(self) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "--yes", "--skip-preview", "--non-interactive")

    def state(self) -> dict[str, Any]:
        exported: dict[str, Any] = json.loads(self.run("stack", "export").stdout)
        return exported

    def resources(self) -> list[dict[str, Any]]:
        return list(self.state()["deployment"].get("resources") or [])

    def outputs(self) -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(self.run("stack", "output", "--json").stdout)
        return shown


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
