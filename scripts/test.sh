#!/usr/bin/env bash
# The project's checks: lint, type check, unit tests, and the integration tests against a
# local Kubernetes API server (binaries built once by scripts/toolchain.sh and cached).
#   scripts/test.sh            everything (the first run builds the toolchain: see README)
#   scripts/test.sh --unit     lint, types and unit tests only
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

if [ "${1:-}" = "--unit" ]; then
  echo "== pytest (unit)"
  exec $py -m pytest tests/unit -q
fi

echo "== toolchain (built once, then reused from the cache)"
scripts/toolchain.sh all
eval "$(scripts/toolchain.sh env)"
export APIMGW_REQUIRE_CLUSTER=1
echo "== pytest (unit and integration)"
exec $py -m pytest -q
