#!/usr/bin/env bash
# The project's checks: lint (ruff, actionlint, zizmor), type check (mypy), unit and policy tests,
# and the integration tests against a local Kubernetes API server and the Pulumi engine
# (binaries built once by scripts/toolchain.sh and cached outside the repository).
#   scripts/test.sh            everything (the first run builds the toolchain: see README)
#   scripts/test.sh --unit     lint, types, unit and policy tests only
# pytest runs in APIMGW_TEST_WORKERS processes (pytest-xdist; default 3 for everything, 2 for
# --unit), a whole module to a process (--dist loadfile: the module-scoped fixtures run once), and
# every integration process starts its own local API server. Three on 2 cores, because an
# integration test spends much of its time waiting on the engine and the API server: measured on
# this machine, the integration tests took 838 s with three processes (CPU 175 %) where one
# process took about 1,600 s. APIMGW_TEST_WORKERS=0 runs everything in this one process.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
py=.venv/bin/python

echo "== ruff"
$py -m ruff check .
$py -m ruff format --check .
echo "== mypy"
$py -m mypy .
$py -m mypy examples/reuse/__main__.py
echo "== actionlint"
"$(scripts/toolchain.sh actionlint)" -color
echo "== zizmor (offline: no GitHub API; fails on high-severity findings)"
.venv/bin/zizmor --offline --min-severity high --no-progress .github/

if [ "${1:-}" = "--unit" ]; then
  echo "== pytest (unit, policy)"
  exec $py -m pytest tests/unit tests/policy -q -n "${APIMGW_TEST_WORKERS:-2}" --dist loadfile
fi

echo "== toolchain (built once, then reused from the cache)"
scripts/toolchain.sh all
eval "$(scripts/toolchain.sh env)"
echo "== TypeScript consumer of the apim-gateway package (docs/multi-language.md)"
scripts/check-typescript-consumer.sh
export APIMGW_REQUIRE_CLUSTER=1
echo "== pytest (unit, policy, integration)"
# --durations: the slowest tests, in the log of every run (where CI time goes: docs/toolchain.md).
exec $py -m pytest -q -n "${APIMGW_TEST_WORKERS:-3}" --dist loadfile --durations=20
