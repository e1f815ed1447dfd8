#!/usr/bin/env bash
# The project's checks: lint (ruff, actionlint, zizmor), type check (mypy), unit and policy tests,
# and the integration tests against a local Kubernetes API server and the Pulumi engine
# (binaries built once by scripts/toolchain.sh and cached outside the repository).
#   scripts/test.sh            everything (the first run builds the toolchain: see README)
#   scripts/test.sh --unit     lint, types, unit and policy tests only
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
  exec $py -m pytest tests/unit tests/policy -q
fi

echo "== toolchain (built once, then reused from the cache)"
scripts/toolchain.sh all
eval "$(scripts/toolchain.sh env)"
echo "== TypeScript consumer of the apim-gateway package (docs/multi-language.md)"
scripts/check-typescript-consumer.sh
export APIMGW_REQUIRE_CLUSTER=1
echo "== pytest (unit, policy, integration)"
exec $py -m pytest -q
