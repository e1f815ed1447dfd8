"""Shared test set-up: make the project and the test helpers importable."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The property tests' counts (``tests/stack_invariants.py``), shown without ``-s``."""
    from stack_invariants import PROPERTY_SUMMARY

    lines = config.stash.get(PROPERTY_SUMMARY, [])
    if lines:
        terminalreporter.section("property test counts")
        for line in lines:
            terminalreporter.write_line(line)
