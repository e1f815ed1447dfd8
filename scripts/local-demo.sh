#!/usr/bin/env bash
# The main job on its embedded default: the `local` stack on a local Kubernetes API server, with
# the real Pulumi engine and Kubernetes provider plugin. Sets up .venv, builds the toolchain once
# (cached: Pulumi CLI, control plane, Kubernetes plugin), starts the control plane on 127.0.0.1,
# runs `pulumi up`, the kubectl checks and a no-change `pulumi preview`, then `pulumi destroy` and
# stops the control plane (pass --keep to leave both).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/toolchain.sh all
eval "$(scripts/toolchain.sh env)"
exec .venv/bin/python scripts/local_demo.py "$@"
