#!/usr/bin/env bash
# The scheduled token renewal of one stack, as every CI system runs it: renew-token.yml's steps
# call it, and a runner inside a private network (a self-hosted GitHub runner, an Azure DevOps
# agent, a GitLab runner, a CronJob) runs exactly the same two commands (docs/delivery.md,
# "Renewal for a private cluster, or from another CI system").
#
# Usage (from the checkout of the stack's last approved deploy, with `.venv` bootstrapped and the
# renewal identity signed in):
#   scripts/renew-token.sh renew    preview, check the plan, then `up` only the token's resources
#   scripts/renew-token.sh expiry   fail when a gateway's token has fewer than MIN_DAYS_LEFT days
#
# Environment:
#   STACK          the stack's policy and renewal rules: policy/config/$STACK.json (required)
#   STACK_NAME     the Pulumi stack (default: $STACK)
#   PULUMI         the Pulumi CLI to run (default: the `pulumi` on PATH; the workflows pass the verified one)
#   PYTHON         the program's interpreter (default: .venv/bin/python)
#   WORK           a private directory for the plan (default: a new temporary directory)
#   MIN_DAYS_LEFT  for `expiry` (default 7)
#   MESSAGE        the update's message (default "Scheduled token renewal")
set -euo pipefail

cd "$(dirname "$0")/.."
: "${STACK:?set STACK to the stack whose policy config applies (dev, prod, ...)}"
STACK_NAME="${STACK_NAME:-$STACK}"
PULUMI="${PULUMI:-pulumi}"
PYTHON="${PYTHON:-.venv/bin/python}"
WORK="${WORK:-$(mktemp -d)}"
MIN_DAYS_LEFT="${MIN_DAYS_LEFT:-7}"
MESSAGE="${MESSAGE:-Scheduled token renewal}"
policy=(--policy-pack policy/analyzer --policy-pack-config "policy/config/$STACK.json")

renew() {
  # The plan stays on the runner (secrets in it are masked, it is never printed) and is checked:
  # any step other than the token, the retired key, the token Secret and the Deployment's
  # credentials annotation fails the run before anything changes (scripts/renewal.py plan).
  "$PULUMI" preview --json --non-interactive --stack "$STACK_NAME" "${policy[@]}" > "$WORK/plan.json"
  "$PYTHON" scripts/renewal.py plan "$WORK/plan.json" > "$WORK/targets.txt"
  rm -f "$WORK/plan.json"
  local targets=() urn
  while read -r urn; do targets+=(--target "$urn"); done < "$WORK/targets.txt"
  if [ "${#targets[@]}" -eq 0 ]; then
    echo "Nothing to renew in this renewal window."
    return
  fi
  "$PULUMI" up --yes --non-interactive --stack "$STACK_NAME" "${targets[@]}" "${policy[@]}" --message "$MESSAGE"
}

expiry() {
  "$PULUMI" stack output gateways --json --stack "$STACK_NAME" > "$WORK/gateways.json"
  "$PYTHON" scripts/renewal.py expiry "$WORK/gateways.json" --stack "$STACK" --min-days-left "$MIN_DAYS_LEFT"
}

case "${1:-}" in
  renew) renew ;;
  expiry) expiry ;;
  *) echo "usage: STACK=<stack> $0 renew|expiry" >&2; exit 2 ;;
esac
