#!/usr/bin/env bash
# Creates .venv (the virtualenv Pulumi.yaml names) and installs the hash-locked dependencies:
#   scripts/bootstrap.sh            the development set (requirements-dev.lock: runtime, tests, linters)
#   scripts/bootstrap.sh --runtime  the runtime set only (requirements.lock: the delivery jobs)
# pip itself comes from requirements-pip.lock first. Every install is `--require-hashes`: a
# package whose file does not match a hash in the lock, or a dependency the lock does not
# list, stops the install (pip docs, "Secure installs" / "Hash-checking mode"). Needs Python
# 3.11+ and PyPI only. Regenerate the locks after changing a pin: scripts/lock.sh.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

lock=requirements-dev.lock
case "${1:-}" in
  "") ;;
  --runtime) lock=requirements.lock ;;
  *) echo "bootstrap: unknown argument '$1' (expected nothing or --runtime)" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11 or newer is needed ($("$python" --version 2>&1) found)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$python" -m venv .venv
fi
# --no-compile: pip byte-compiles every module it installs unless told not to (pip docs, the install
# command's --no-compile), and pulumi-azure-native alone has about 6,000 of which the program imports a few;
# Python compiles what it imports on first use and caches it in __pycache__ (PEP 3147). Measured
# on this project's 2-core machine with a warm pip cache, the runtime set took 78.6 s with the
# compilation and 26.9 s without; the program's first import is then about 1.4 s slower, once.
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-compile)
stamp=.venv/.requirements.sha256
wanted=$(cat requirements-pip.lock "$lock" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing $lock (hash-locked) into .venv"
  "${pip[@]}" -r requirements-pip.lock
  "${pip[@]}" -r "$lock"
  echo "$wanted" > "$stamp"
else
  echo "bootstrap: .venv is up to date"
fi
