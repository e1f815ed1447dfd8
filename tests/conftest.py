"""Shared test set-up: make the project and the test helpers importable."""

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist (scripts/test.sh runs with -n) each worker keeps its own stash: a worker
    hands its property counts to the controller through ``workeroutput``, the dict xdist 3.8.0
    sends when the worker's session ends (xdist/remote.py, WorkerInteractor.pytest_sessionfinish)
    and hands to pytest_testnodedown below on the controller (xdist/dsession.py,
    worker_workerfinished)."""
    from stack_invariants import PROPERTY_SUMMARY

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["property_summary"] = session.config.stash.get(PROPERTY_SUMMARY, [])


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown, and never called, without xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    from stack_invariants import PROPERTY_SUMMARY

    lines = getattr(node, "workeroutput", {}).get("property_summary", [])
    node.config.stash.setdefault(PROPERTY_SUMMARY, []).extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The property tests' counts (``tests/stack_invariants.py``), shown without ``-s``."""
    from stack_invariants import PROPERTY_SUMMARY

    lines = config.stash.get(PROPERTY_SUMMARY, [])
    if lines:
        terminalreporter.section("property test counts")
        for line in lines:
            terminalreporter.write_line(line)
