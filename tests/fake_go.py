#!/usr/bin/env python3
"""A stand-in for the `go` command, for the tests of scripts/toolchain.sh's build order
(tests/unit/test_toolchain_lanes.py): it answers the few subcommands the script runs, builds
nothing, and records when each build started and ended.

- ``go env GOVERSION``: a version the script accepts.
- ``go mod download -json M@V``: a module directory holding what the script reads from it (the
  kubernetes go.mod's staging replaces, the Pulumi sdk's Python scripts, the plugin's main.go).
- ``go build ... -o OUT PKG...`` and ``go install M@V``: sleep FAKE_GO_SECONDS, write an executable
  per command, and append ``{"event": "start"|"end", "what": "<directory>: <packages>", "t": ...}``
  lines to FAKE_GO_LOG; a build whose ``what`` contains FAKE_GO_FAIL fails.
- everything else (``mod tidy``, ``mod edit``, ``get``, ``generate``): succeeds.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

KUBERNETES_GO_MOD = """module k8s.io/kubernetes

go 1.24.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def record(event: str, what: str) -> None:
    with open(os.environ["FAKE_GO_LOG"], "a") as log:
        log.write(json.dumps({"event": event, "what": what, "t": time.time()}) + "\n")


def executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def module_dir(module: str) -> Path:
    directory = Path(os.environ["FAKE_GO_ROOT"]) / re.sub(r"[^A-Za-z0-9.]+", "_", module)
    (directory / "go.mod").parent.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text(KUBERNETES_GO_MOD if module.startswith("k8s.io/kubernetes@") else "module m\n")
    executable(directory / "python" / "cmd" / "pulumi-language-python-exec")
    executable(directory / "python" / "dist" / "pulumi-resource-pulumi-python")
    (directory / "cmd" / "pulumi-resource-kubernetes").mkdir(parents=True, exist_ok=True)
    (directory / "cmd" / "pulumi-resource-kubernetes" / "main.go").write_text("package main\n")
    return directory


def build(outputs: list[Path], what: str) -> int:
    record("start", what)
    time.sleep(float(os.environ.get("FAKE_GO_SECONDS", "0.3")))
    failing = os.environ.get("FAKE_GO_FAIL", "")
    if failing and failing in what:
        record("fail", what)
        print(f"fake go: build of {what} fails (FAKE_GO_FAIL)", file=sys.stderr)
        return 1
    for output in outputs:
        executable(output)
    record("end", what)
    return 0


def main(args: list[str]) -> int:
    if args[:2] == ["env", "GOVERSION"]:
        print("go1.26.8")
        return 0
    if args[:3] == ["mod", "download", "-json"]:
        directory = module_dir(args[3])
        print(
            json.dumps(
                {"Path": args[3].split("@")[0], "Dir": str(directory), "GoMod": str(directory / "go.mod")}, indent="\t"
            )
        )
        return 0
    if args[:1] == ["build"]:
        rest = args[1:]
        target = rest[rest.index("-o") + 1]
        packages = [arg for arg in rest[rest.index("-o") + 2 :] if not arg.startswith("-")]
        if target.endswith("/"):
            outputs = [Path(target) / package.rstrip("/").rsplit("/", 1)[-1] for package in packages]
        else:
            outputs = [Path(target)]
        return build(outputs, f"{Path.cwd().name}: {' '.join(packages)}")
    if args[:1] == ["install"]:
        module = args[-1]
        name = module.split("@")[0].rsplit("/", 1)[-1]
        return build([Path(os.environ["GOBIN"]) / name], module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
