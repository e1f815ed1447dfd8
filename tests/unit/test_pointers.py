"""Issue 24, item 7: pointers in the stack files and sources name sections that exist, and the
examples run the default gateway image tag (2.11.1, once pinned in the TypeScript example, has
published CVEs: CHANGELOG, chart issue 403)."""

from __future__ import annotations

import re

from harness import ROOT

from components.config import DEFAULT_GATEWAY_TAG

_POINTER = re.compile(r"(?P<file>[\w./-]+\.md) \(\"(?P<section>[^\"]+)\"\)")
_TAG = re.compile(r"""\btag["']?\s*[:=]\s*["'](?P<tag>[^"']+)["']""")


def _sources() -> list[str]:
    files = [*ROOT.glob("Pulumi*.yaml"), *ROOT.glob("components/**/*.py"), *ROOT.glob("examples/**/*")]
    return [str(path.relative_to(ROOT)) for path in files if path.is_file() and "node_modules" not in path.parts]


def test_every_section_pointer_names_a_heading_that_exists() -> None:
    pointers = 0
    for name in _sources():
        for match in _POINTER.finditer((ROOT / name).read_text(errors="ignore")):
            target = ROOT / match["file"]
            headings = {line.lstrip("#").strip() for line in target.read_text().splitlines() if line.startswith("#")}
            # A heading may carry its issue after the name: "Layout by side (issue 25)".
            found = any(
                heading == match["section"] or heading.startswith(f"{match['section']} (") for heading in headings
            )
            assert found, f"{name}: {match['file']} has no section {match['section']!r}"
            pointers += 1
    assert pointers >= 2  # the stack files' pointers at least


def test_the_examples_run_the_default_image_tag() -> None:
    tags = {
        name: match["tag"]
        for name in _sources()
        if name.startswith("examples/") and not name.endswith(".json")
        for match in _TAG.finditer((ROOT / name).read_text(errors="ignore"))
    }
    assert "examples/typescript/index.ts" in tags
    assert {name: tag for name, tag in tags.items() if tag != DEFAULT_GATEWAY_TAG} == {}
