"""A kubeconfig the cluster guard cannot read ends with one message that quotes none of it
(issue 21 item 8): PyYAML's own message quotes the offending line with a caret under it
(``yaml/error.py`` Mark.get_snippet), which for a secret kubeconfig printed a credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.kubernetes.cluster_guard import ClusterGuardProvider

SECRET = "c2VjcmV0LWNsaWVudC1rZXk"  # a placeholder: the text that must never show
MALFORMED = f"""apiVersion: v1
kind: Config
users:
- name: admin
  user:
    token: {SECRET}
    client-key-data: {SECRET}: {SECRET}
"""


def _check(access: dict[str, Any]) -> str:
    news = {"gateway": "gw", "owner": "p/s", "cluster_identifier": "x", "access": access, "objects": []}
    result = ClusterGuardProvider().check({}, news)
    (failure,) = result.failures
    assert failure.property == "access"
    return str(failure.reason)


def test_a_malformed_secret_kubeconfig_is_refused_without_quoting_it() -> None:
    message = _check({"kubeconfig": MALFORMED, "kubeconfig_path": None, "context": None})
    assert message.startswith("apim-gateway:gateways(gw).kubernetes: the kubeconfig (apim-gateway:kubeconfig (secret))")
    assert "not valid YAML at line 7, column" in message and "its content is not shown" in message
    assert SECRET not in message
    assert not [line for line in MALFORMED.splitlines() if line.strip() and line.strip() in message]


def test_a_malformed_kubeconfig_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(MALFORMED)
    message = _check({"kubeconfig": None, "kubeconfig_path": str(path), "context": None})
    assert f"kubernetes.kubeconfigPath {str(path)!r}" in message and "not valid YAML at line 7" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "content", ["just text", f"- {SECRET}\n- list", "clusters: []\ncontexts: []\nusers: []\ncurrent-context: nowhere\n"]
)
def test_content_that_is_no_kubeconfig_is_refused_without_quoting_it(content: str) -> None:
    message = _check({"kubeconfig": content, "kubeconfig_path": None, "context": None})
    assert "cannot be used" in message and SECRET not in message and "just text" not in message


def test_pyyaml_itself_quotes_the_line() -> None:
    """Why the guard rewrites the message: without it the secret is shown."""
    import yaml

    with pytest.raises(yaml.YAMLError) as caught:
        yaml.safe_load(MALFORMED)
    assert SECRET in str(caught.value)
