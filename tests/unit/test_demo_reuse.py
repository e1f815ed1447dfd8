"""Issue 24, item 7: the demo reuses what is installed. A Pulumi CLI on PATH is taken when it is
within range (at least the pinned SDK's minimum, ``pulumi/automation/_minimum_version.py``, major 3)
and has the flags the demo passes; ``--context`` deploys to an existing cluster instead of the local
control plane. Only CLI 3.259.0 is tested here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from harness import ROOT

from components.config import parse_stack_config
from scripts import local_demo

HELP = {"up --help": "  --config-file string  ...", "stack rm --help": "  --preserve-config  ..."}


def fake_cli(version: str, helps: dict[str, str] = HELP) -> Callable[[list[str]], str]:
    def run(args: list[str]) -> str:
        return version if args == ["version"] else helps.get(" ".join(args), "")

    return run


def test_a_cli_in_range_with_the_flags_is_reused() -> None:
    assert local_demo.sdk_minimum_cli() == (3, 1, 0)  # the pinned SDK's _MINIMUM_VERSION
    assert local_demo.cli_problems("pulumi", fake_cli("v3.259.0\n")) == []
    assert local_demo.cli_problems("pulumi", fake_cli("v3.300.1-dev.0")) == []


@pytest.mark.parametrize(
    ("version", "helps", "expected"),
    [
        ("v3.0.9", HELP, "outside 3.1.0 ≤ version < 4.0.0"),
        ("v4.0.0", HELP, "outside 3.1.0 ≤ version < 4.0.0"),
        ("v3.200.0", {"up --help": "--config-file"}, "`pulumi stack rm` has no --preserve-config"),
        ("nonsense", HELP, "printed no version"),
    ],
)
def test_a_cli_out_of_range_or_without_a_flag_is_not(version: str, helps: dict[str, str], expected: str) -> None:
    assert any(expected in problem for problem in local_demo.cli_problems("pulumi", fake_cli(version, helps)))
    assert local_demo.cli_problems(None) == ["no `pulumi` on PATH"]


def test_the_toolchains_cli_passes_the_check() -> None:
    cli = Path.home() / ".cache/apimgw-toolchain/bin/pulumi-3.259.0/pulumi"
    if not cli.exists():
        pytest.skip("the toolchain's Pulumi CLI is not built here")
    assert local_demo.cli_problems(str(cli)) == []


def test_an_existing_cluster_is_named_by_its_context(tmp_path: Path) -> None:
    destination = tmp_path / "Pulumi.local.yaml"
    local_demo.context_stack_file(ROOT / "Pulumi.local.yaml", destination, "kind-dev", tmp_path / "kubeconfig")
    config = yaml.safe_load(destination.read_text())["config"]
    # The demo sets the placeholder token as a secret in this copy (prepare_stack).
    config["apim-gateway:gatewayTokens"] = {"local-gw": local_demo.placeholder_token("local-gw")}
    gateway = parse_stack_config(config, ["apim-gateway:gatewayTokens"]).gateways[0]
    assert gateway.kubernetes.context == "kind-dev"
    assert gateway.kubernetes.kubeconfig_path == str(tmp_path / "kubeconfig")
    assert not gateway.backup.enabled  # the static volume exists only on the local control plane
    assert "kind-dev" not in (ROOT / "Pulumi.local.yaml").read_text()  # the tracked stack file is only read
