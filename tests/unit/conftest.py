"""Unit-test hooks: the property test's counts in the terminal summary (shown without ``-s``)."""

from __future__ import annotations

import pytest
from stack_invariants import PROPERTY_SUMMARY


def pytest_configure(config: pytest.Config) -> None:
    config.stash[PROPERTY_SUMMARY] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(PROPERTY_SUMMARY, [])
    if lines:
        terminalreporter.section("property test counts")
        for line in lines:
            terminalreporter.write_line(line)
