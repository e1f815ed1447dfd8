"""scripts/summary.py: a preview's text on the run's summary renders as text, never as markdown or
HTML (the previewed code controls resource names and values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import summary


def test_the_text_is_escaped_inside_pre(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preview = tmp_path / "preview.txt"
    preview.write_text('~ ConfigMap "x" </pre><img src=x onerror=alert(1)> [approved](https://example.invalid) @team\n')
    assert summary.main(["pulumi preview of dev", str(preview)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### pulumi preview of dev\n\n<pre>")
    assert "</pre><img" not in out and "&lt;/pre&gt;&lt;img" in out
    assert out.count("<pre>") == 1 and out.rstrip().endswith("</pre>")


def test_a_long_output_is_cut() -> None:
    assert len(summary.section("t", "x" * (summary.LIMIT + 10))) < summary.LIMIT + 200


def test_usage() -> None:
    assert summary.main([]) == 2
