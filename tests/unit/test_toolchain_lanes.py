"""`scripts/toolchain.sh all` builds two components at once (cmd_all), waits for both lanes, and
keeps what a lane finished when the other fails. Run with a stand-in `go` (tests/fake_go.py) that
builds nothing and records when each build ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_GO = ROOT / "tests" / "fake_go.py"
# Every build of `all`, by the package (or module) the script asks `go` for, or its directory.
BUILDS = {
    "cli": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    "python host": "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python",
    "kube": "k8s.io/kubernetes/cmd/kube-apiserver",
    "etcd": "etcd-",  # its own main package, built in its source directory
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
    "plugin": "./cmd/pulumi-resource-kubernetes",
    "yaml host": "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml",
    "act": "github.com/nektos/act@",
}


def run_all(tmp: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    go = bin_dir / "go"
    go.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GO}" "$@"\n')
    go.chmod(0o755)
    log = tmp / "go.log"
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",  # no pulumi on PATH: the script builds its own
        "HOME": str(tmp),
        "APIMGW_CACHE": str(tmp / "cache"),
        "FAKE_GO_LOG": str(log),
        "FAKE_GO_ROOT": str(tmp / "modules"),
        **env,
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "toolchain.sh"), "all"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, events


def most_at_once(events: list[dict[str, object]]) -> int:
    running = most = 0
    for event in sorted(events, key=lambda e: float(str(e["t"]))):
        running += 1 if event["event"] == "start" else -1
        most = max(most, running)
    return most


def built(events: list[dict[str, object]]) -> set[str]:
    return {
        name for name, package in BUILDS.items() for e in events if e["event"] == "end" and package in str(e["what"])
    }


def completed(tmp: Path) -> set[str]:
    return {path.parent.name.rsplit("-", 1)[0] for path in (tmp / "cache" / "bin").glob("*/.complete")}


def test_all_builds_every_component_two_at_a_time(tmp_path: Path) -> None:
    done, events = run_all(tmp_path)
    assert done.returncode == 0, done.stderr
    assert built(events) == set(BUILDS)
    assert most_at_once(events) == 2
    assert completed(tmp_path) == {
        "pulumi",
        "pulumi-language-python",
        "kube",
        "etcd",
        "kwok",
        "pulumi-resource-kubernetes",
        "pulumi-language-yaml",
        "act",
    }
    cli = next((tmp_path / "cache" / "bin").glob("pulumi-3*"))
    # The serial pass after the lanes installs the two language hosts next to the CLI.
    assert (cli / "pulumi-language-python").is_file()
    assert (cli / "pulumi-language-yaml").is_file()
    # A second run builds nothing, and says so once per component (no lanes to start).
    again, events_again = run_all(tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(events_again) == len(events)
    assert again.stderr.count("reusing kube 1.34.3") == 1
    assert again.stderr.count("reusing pulumi-resource-kubernetes") == 1


def test_one_lane_builds_one_component_at_a_time(tmp_path: Path) -> None:
    done, events = run_all(tmp_path, TOOLCHAIN_LANES="1")
    assert done.returncode == 0, done.stderr
    assert built(events) == set(BUILDS)
    assert most_at_once(events) == 1


def test_a_failing_lane_leaves_the_other_lanes_builds_for_the_rerun(tmp_path: Path) -> None:
    done, events = run_all(tmp_path, FAKE_GO_FAIL="k8s.io/kubernetes/cmd/kube-apiserver")
    assert done.returncode != 0
    assert "the lane of the Pulumi CLI, the Python host, kube and act failed" in done.stderr
    # The other lane ran to its end; this one stopped at kube, before act.
    assert built(events) == {"cli", "python host", "plugin", "yaml host", "etcd", "kwok"}
    rerun, events_after = run_all(tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert built(events_after[len(events) :]) == {"kube", "act"}


def test_an_unknown_lane_count_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    done, events = run_all(tmp_path, TOOLCHAIN_LANES="3")
    assert done.returncode != 0
    assert "TOOLCHAIN_LANES=3: 1 (one build at a time) or 2 (two at once)" in done.stderr
    assert events == []
    assert not (tmp_path / "cache" / "bin").exists()
