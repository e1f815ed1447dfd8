#!/usr/bin/env bash
# Regenerates the hash-locked install sets from the pins of the requirements*.txt files:
#   requirements-pip.lock     pip itself (installed first by scripts/bootstrap.sh)
#   requirements.lock         the runtime set (delivery jobs install only this one)
#   requirements-dev.lock     runtime + tests, linters, type checking (scripts/test.sh, CI checks)
#   policy/requirements.lock  the policy pack's virtualenv (.github/actions/prepare)
# Every line carries the sha256 of every file PyPI serves for that version (all platforms:
# --universal), and every install uses `pip install --require-hashes`, so a transitive release
# can change nothing until this script is run again and the diff reviewed.
# Run after editing a requirements*.txt pin: scripts/lock.sh (needs scripts/bootstrap.sh first:
# uv comes from requirements-dev.txt). tests/unit/test_locks.py fails while a lock is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

uv=${UV:-.venv/bin/uv}
if [ ! -x "$uv" ]; then
  echo "lock: $uv not found; run scripts/bootstrap.sh first" >&2
  exit 1
fi
export UV_CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
compile() {
  "$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --index-url https://pypi.org/simple "$1" -o "$2"
}
compile requirements-pip.txt requirements-pip.lock
compile requirements.txt requirements.lock
compile requirements-dev.txt requirements-dev.lock
compile policy/requirements.txt policy/requirements.lock
echo "lock: requirements-pip.lock, requirements.lock, requirements-dev.lock, policy/requirements.lock written"
