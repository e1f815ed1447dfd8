"""Test helpers: run the project's program under Pulumi's mocks (``components.offline``)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import yaml

from components.offline import (
    FAKE_KUBECONFIG,
    SUBSCRIPTION_ID,
    Recording,
    Registered,
    fake_token,
    run_program,
)

ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "FAKE_KUBECONFIG",
    "ROOT",
    "SUBSCRIPTION_ID",
    "Recording",
    "Registered",
    "fake_token",
    "run_main",
    "run_program",
    "stack_file_config",
]


def stack_file_config(stack: str) -> dict[str, Any]:
    """The ``config:`` section of ``Pulumi.<stack>.yaml``."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


def run_main(config: dict[str, Any], secret_keys: tuple[str, ...] = (), stack: str = "dev") -> Recording:
    """Run the project's ``__main__.py`` under mocks."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return run_program(program, config, secret_keys, stack)
