"""``scripts/renewal.py plan`` on what the real Pulumi engine prints for ``pulumi preview
--json`` (CLI and Python language host built by scripts/toolchain.sh, file backend).

The program registers two Pulumi dynamic resources, the type and name pattern of the
gateway token (``pulumi-python:dynamic:Resource``, ``<gateway>-access-token``) and another
one. The Secret and Deployment steps of a real renewal, and the retry step a failed wait leaves,
are checked on the real engine and Kubernetes plugin in tests/integration/test_gateway_on_cluster.py
and test_lifecycle.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine import engine_env, pulumi, require_engine

from scripts import renewal

pytestmark = pytest.mark.integration

PROGRAM = """
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult


class Provider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="probe", outs=dict(props))

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("expires_on") != news.get("expires_on"), replaces=[])

    def update(self, _id, _olds, news):
        return UpdateResult(outs=dict(news))


class Probe(pulumi.dynamic.Resource):
    def __init__(self, name, value):
        super().__init__(Provider(), name, {"expires_on": value})


config = pulumi.Config()
Probe("gw-access-token", config.get("expires") or "1")
Probe("gw-settings", config.get("settings") or "1")
"""


@pytest.fixture
def stack(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    require_engine()
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "__main__.py").write_text(PROGRAM)
    (directory / "Pulumi.yaml").write_text("name: renewal-probe\nruntime: python\n")
    env = engine_env(tmp_path)
    pulumi(["stack", "init", "prod"], directory, env)
    pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env)
    return directory, env


def plan(directory: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    preview = json.loads(pulumi(["preview", "--json", "--non-interactive"], directory, env).stdout)
    return renewal.check_plan(preview)


def test_the_real_preview_of_a_token_renewal_passes_and_targets_the_token(stack: tuple[Path, dict[str, str]]) -> None:
    directory, env = stack
    assert plan(directory, env) == ([], [])
    pulumi(["config", "set", "expires", "2"], directory, env)
    assert plan(directory, env) == (
        ["urn:pulumi:prod::renewal-probe::pulumi-python:dynamic:Resource::gw-access-token"],
        [],
    )


def test_the_real_preview_of_any_other_change_fails(stack: tuple[Path, dict[str, str]]) -> None:
    directory, env = stack
    pulumi(["config", "set", "expires", "2"], directory, env)
    pulumi(["config", "set", "settings", "2"], directory, env)
    targets, problems = plan(directory, env)
    assert targets == ["urn:pulumi:prod::renewal-probe::pulumi-python:dynamic:Resource::gw-access-token"]
    assert problems == [
        "update urn:pulumi:prod::renewal-probe::pulumi-python:dynamic:Resource::gw-settings: "
        "a token renewal changes only the token, its Secret and the Deployment's rollout"
    ]
