"""Every test the documentation cites exists: a path ``tests/....py``, a test module named on its
own (``test_lifecycle.py``), and a test function (``test_...``) defined somewhere under ``tests/``.
docs/cluster-lifecycle.md once cited two tests that did not exist (issue 21)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
PATH = re.compile(r"\btests/[\w/]+\.py\b")
NAME = re.compile(r"\btest_\w+(?:\.py)?")


def _defined_tests() -> set[str]:
    return {
        match.group(1)
        for path in (ROOT / "tests").rglob("*.py")
        for match in re.finditer(r"^\s*(?:async\s+)?def (test_\w+)\(", path.read_text(), re.MULTILINE)
    }


def _test_modules() -> set[str]:
    return {path.name for path in (ROOT / "tests").rglob("test_*.py")}


def missing_citations(documents: list[Path]) -> list[str]:
    defined, modules = _defined_tests(), _test_modules()
    missing = []
    for document in documents:
        text = document.read_text()
        where = document.name
        missing += [f"{where}: {path}" for path in sorted(set(PATH.findall(text))) if not (ROOT / path).is_file()]
        for name in sorted(set(NAME.findall(text))):
            known = name in modules if name.endswith(".py") else name in defined
            if not known:
                missing.append(f"{where}: {name}")
    return missing


def test_every_test_the_docs_cite_exists() -> None:
    assert missing_citations(DOCUMENTS) == []


def test_a_citation_of_a_missing_test_is_found(tmp_path: Path) -> None:
    """A test of the test: the two citations docs/cluster-lifecycle.md used to have, and a path."""
    document = tmp_path / "probe-citations.md"
    document.write_text(
        "`test_switching_the_autoscaler_on_never_drops_below_the_replicas_and_off_has_no_conflict`, "
        "`tests/integration/test_nowhere.py`, `test_gone.py`, and one that exists: "
        "`test_every_test_the_docs_cite_exists` in `tests/unit/test_docs_cite_existing_tests.py`."
    )
    assert missing_citations([document]) == [
        "probe-citations.md: tests/integration/test_nowhere.py",
        "probe-citations.md: test_gone.py",
        "probe-citations.md: test_nowhere.py",
        "probe-citations.md: test_switching_the_autoscaler_on_never_drops_below_the_replicas_and_off_has_no_conflict",
    ]
