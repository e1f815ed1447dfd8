"""The program's config through the real engine (CLI, Python language host and Kubernetes plugin
built by scripts/toolchain.sh; file backend, passphrase secrets): a ``--secret`` value stays
encrypted in the stack file, and a relative CA file is read from the project directory."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from certificates import self_signed
from engine import TOKEN_SIGNATURE, LocalStack

pytestmark = pytest.mark.integration


def test_a_secret_token_is_encrypted_in_the_stack_file(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, None, "secret-gw")
    assert TOKEN_SIGNATURE not in stack.stack_file.read_text()
    assert "secure:" in stack.stack_file.read_text()


def test_a_relative_ca_file_is_read_from_the_project_directory(local_cluster: Any, tmp_path: Path) -> None:
    """``customCa.certificatesFile`` is read when the program runs; the engine runs the program in
    the project directory, so a relative path names a file beside ``Pulumi.yaml``."""
    stack = LocalStack(tmp_path, local_cluster.kubeconfig, "ca-file-gw", replicas=1, backup={"enabled": False})
    (stack.directory / "certs").mkdir()
    ca = self_signed("Engine Test CA", ca=True, valid_for=timedelta(days=1))[0]
    (stack.directory / "certs" / "company-ca.pem").write_text(ca)
    stack.update(customCa={"certificatesFile": "certs/company-ca.pem"})
    preview = stack.preview()
    assert "ca-file-gw-ca-bundle" in preview.stdout  # the CA bundle Secret the stack creates

    (stack.directory / "certs" / "company-ca.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    run = stack.preview(check=False)
    output = run.stdout + run.stderr
    assert "apim-gateway:gateways[0](ca-file-gw).customCa.certificatesFile = 'certs/company-ca.pem'" in output
    assert "only CERTIFICATE blocks belong here" in output


def test_kubeconfig_content_reaches_neither_plain_state_nor_outputs(local_cluster: Any, tmp_path: Path) -> None:
    """The secret ``kubeconfig`` goes to the provider and to the cluster guard, which reads the
    cluster with it in its ``check`` (components/kubernetes/cluster_guard.py): both keep it a secret."""
    stack = LocalStack(tmp_path, None, "kubeconfig-gw", replicas=1, backup={"enabled": False})
    content = Path(local_cluster.kubeconfig).read_text()
    key = yaml.safe_load(content)["users"][0]["user"]["client-key-data"]
    stack.run("config", "set", "--secret", "kubeconfig", content)
    stack.up(env={"KUBECONFIG": str(tmp_path / "no-such-kubeconfig")})  # only the secret reaches the cluster
    exported = json.dumps(stack.state())
    assert key[:40] not in exported and key[:40] not in json.dumps(stack.outputs())
    guard = next(r for r in stack.resources() if r["urn"].endswith("::kubeconfig-gw-cluster"))
    assert "access" not in guard["outputs"] and guard["outputs"]["cluster"]
    stack.destroy()
