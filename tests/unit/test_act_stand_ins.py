"""The stand-ins the act runs use (tests/integration/act, docs/toolchain.md "The workflows under
act") keep up with the workflows: every third-party action of the workflows and of the prepare
action has one, each is a valid composite action, and each accepts every input a workflow passes
(act fails a run on a stand-in it cannot read, but only once the run reaches it)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import act_runner
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / ".github" / "workflows").glob("*.yml")), ROOT / ".github/actions/prepare/action.yml"]


def uses_steps() -> list[tuple[str, str, dict[str, Any]]]:
    """(source file, ``uses``, ``with``) of every third-party step."""
    found = []
    for path in SOURCES:
        document = yaml.safe_load(path.read_text())
        runs = document.get("runs")
        step_lists = [runs["steps"]] if isinstance(runs, dict) else []
        step_lists += [job.get("steps") or [] for job in (document.get("jobs") or {}).values()]
        for steps in step_lists:
            for step in steps:
                uses = str(step.get("uses", ""))
                if uses and not uses.startswith("./"):
                    found.append((path.name, uses, dict(step.get("with") or {})))
    return found


def stand_in(uses: str) -> Path:
    """The stand-in folder act reads for ``owner/repo[/path]@sha``."""
    match = re.fullmatch(r"([\w.-]+/[\w.-]+)(/[\w./-]+)?@[0-9a-f]{40}", uses)
    assert match, uses
    return act_runner.HERE / "actions" / act_runner.STAND_INS[match.group(1)] / (match.group(2) or "/").lstrip("/")


def test_every_third_party_action_has_a_stand_in() -> None:
    assert set(act_runner.workflow_actions()) == set(act_runner.STAND_INS)


@pytest.mark.parametrize(("source", "uses", "inputs"), uses_steps(), ids=lambda value: str(value)[:60])
def test_each_stand_in_is_a_composite_action_taking_the_inputs_passed(
    source: str, uses: str, inputs: dict[str, Any]
) -> None:
    action = yaml.safe_load((stand_in(uses) / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(inputs) <= set(action.get("inputs") or {}), f"{source}: {uses}"


def test_the_scripts_on_the_runners_path_are_executable() -> None:
    for path in [act_runner.HERE / "bin" / "gh", *sorted((act_runner.HERE / "trap-bin").iterdir())]:
        assert os.access(path, os.X_OK), path
