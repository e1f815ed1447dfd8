#!/usr/bin/env bash
# The main job on its embedded default: the `local` stack on a local Kubernetes API server, with
# the real Pulumi engine and Kubernetes provider plugin. Sets up .venv, then builds from source only
# what is missing (cached in the toolchain): the Pulumi CLI unless the one on PATH is within range
# (`scripts/local_demo.py check-cli`: at least the SDK's minimum, major 3, the flags the demo
# passes; only 3.259.0 is tested), the Kubernetes plugin unless that CLI can install it, and the
# control plane unless `--context NAME` names a cluster of yours in your kubeconfig. Starts the
# control plane on 127.0.0.1 (or uses your context), runs `pulumi up`, the kubectl checks and a
# no-change `pulumi preview`, then `pulumi destroy` and stops the control plane (pass --keep to
# leave both).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

context=""
previous=""
for arg in "$@"; do
  case "$arg" in
    --context=*) context="${arg#--context=}" ;;
    *) if [[ "$previous" == "--context" ]]; then context="$arg"; fi ;;
  esac
  previous="$arg"
done

kubernetes_plugin="$(sed -n 's/^pulumi-kubernetes==//p' requirements.txt)"
reuse_cli=0
if command -v pulumi >/dev/null 2>&1 && .venv/bin/python scripts/local_demo.py check-cli; then
  reuse_cli=1
fi
if [[ "$reuse_cli" == 0 && -z "$context" ]]; then
  # Nothing to reuse: the whole toolchain, two builds at a time (scripts/toolchain.sh cmd_all; its
  # act, which only the tests use, is about a minute of it).
  scripts/toolchain.sh all
else
  if [[ "$reuse_cli" == 0 ]]; then
    scripts/toolchain.sh pulumi
  fi
  if [[ -z "$context" ]]; then
    scripts/toolchain.sh cluster
  fi
  if [[ "$reuse_cli" == 1 ]] && pulumi plugin install resource kubernetes "$kubernetes_plugin"; then
    echo "local-demo: the Kubernetes plugin $kubernetes_plugin came from the CLI on PATH" >&2
  else
    scripts/toolchain.sh plugins
  fi
fi
eval "$(scripts/toolchain.sh env)"
exec .venv/bin/python scripts/local_demo.py "$@"
