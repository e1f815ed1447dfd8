#!/usr/bin/env bash
# The main job on its embedded default: the `local` stack on a local Kubernetes API server.
# Sets up .venv, builds the local control plane once (cached), starts it on 127.0.0.1,
# deploys the gateway objects, waits for the Deployment, prints the checks, stops it again
# (pass --keep to leave it running).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/toolchain.sh cluster
exec .venv/bin/python scripts/local_demo.py "$@"
