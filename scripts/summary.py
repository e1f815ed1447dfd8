"""Prints a ``pulumi preview`` output as a section of the run's summary (``$GITHUB_STEP_SUMMARY``):
a heading and the text, HTML-escaped inside ``<pre>``, so that strings the previewed code controls
(resource names, values) render as text, never as markdown or HTML (links, mentions, images).

    python scripts/summary.py TITLE FILE >> "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import html
import sys
from collections.abc import Sequence
from pathlib import Path

LIMIT = 500_000
"""Characters kept (GitHub caps a step's summary at 1 MiB)."""


def section(title: str, text: str) -> str:
    if len(text) > LIMIT:
        text = text[:LIMIT] + "\n… (cut: the whole output is in the step's log)"
    return f"### {html.escape(title)}\n\n<pre>{html.escape(text)}</pre>\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: summary.py TITLE FILE", file=sys.stderr)
        return 2
    sys.stdout.write(section(args[0], Path(args[1]).read_text(errors="replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
