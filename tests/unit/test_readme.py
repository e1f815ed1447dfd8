"""The README's first screen is for a newcomer, and every link in the docs leads somewhere.

Checks the README's promises: its first lines give the two commands (set-up plus the demo, and
the tests), a Mermaid picture of what one ``pulumi up`` creates comes before the per-stack steps,
every page under ``docs/`` is linked from it, and no relative link in the README or ``docs/``
points at a file or heading that does not exist (GitHub's heading anchors: lowercase, spaces to
``-``, punctuation other than ``-`` and ``_`` dropped).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from harness import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def _anchor(heading: str) -> str:
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_first_lines_are_the_two_commands() -> None:
    first_block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert commands == ["scripts/local-demo.sh", "scripts/test.sh"]
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), command
    assert README.read_text().index("```bash") < 200  # right under the title


def test_the_picture_comes_before_the_per_stack_steps() -> None:
    text = README.read_text()
    assert "```mermaid\nflowchart" in text
    assert text.index("```mermaid") < text.index("## Per stack")


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_every_docs_page_is_linked_from_the_readme(page: Path) -> None:
    assert f"](docs/{page.name})" in README.read_text()


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(CODE.sub("", FENCE.sub("", page.read_text()))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_heading = bool(anchor) and resolved.suffix == ".md" and anchor not in _anchors(resolved)
        if not resolved.exists() or missing_heading:
            broken.append(target)
    assert broken == [], f"{page.name}: broken links"
