"""scripts/stack_plugins.py: which stacks load the azure-native plugin (the delivery jobs install
it only for those, since they run with automatic plugin acquisition off)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import stack_plugins


@pytest.mark.parametrize(("stack", "needed"), [("dev", True), ("prod", True), ("local", False)])
def test_the_repositorys_stacks(stack: str, needed: bool, capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_plugins.main(["needs-azure-native", stack]) == 0
    assert capsys.readouterr().out == f"{str(needed).lower()}\n"


@pytest.mark.parametrize(
    ("config", "needed"),
    [
        ({}, True),  # apim.mode defaults to managed
        ({"apim-gateway:apim": {"mode": "existing"}, "apim-gateway:gateways": [{"name": "g"}]}, False),
        (
            {"apim-gateway:apim": {"mode": "existing"}, "apim-gateway:gateways": [{"auth": {"mode": "entraApp"}}]},
            True,
        ),
        (
            {
                "apim-gateway:apim": {"mode": "existing"},
                "apim-gateway:defaults": {"auth": {"mode": "workloadIdentity"}},
                "apim-gateway:gateways": [{"name": "g"}],
            },
            True,
        ),
        ({"apim-gateway:apim": {"mode": "existing"}, "apim-gateway:tokenExpiryAlert": {"emails": ["a@b"]}}, True),
    ],
)
def test_what_needs_azure(config: dict[str, object], needed: bool) -> None:
    assert stack_plugins.needs_azure_native(config) is needed


def test_usage(tmp_path: Path) -> None:
    assert stack_plugins.main(["nothing"], root=tmp_path) == 2
