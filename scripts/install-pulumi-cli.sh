#!/usr/bin/env bash
# Builds the Pulumi CLI the `pulumi==X` pin of requirements.txt names, and the Python language
# host, from their Go modules (scripts/toolchain.sh pulumi), after checking each module against
# the go.sum line this repository keeps (.github/pulumi-cli.sum); never from a release archive that
# nothing here can verify. A module that differs, or has no line, fails the job before anything is
# built (issue 16.13; OpenSSF Scorecard, "Pinned-Dependencies": a download is pinned when a hash
# the repository holds verifies it). The Go command also checks every module against the checksum
# database (Go Modules Reference, "Checksum database"). pulumi/actions then finds this CLI on PATH
# at the wanted version and downloads none (pulumi/actions src/libs/pulumi-cli.ts, downloadCli).
#   scripts/install-pulumi-cli.sh              verify, build (cached), print the directory of the binaries
#   scripts/install-pulumi-cli.sh --verify-only  verify the modules only
# Environment: PULUMI_CLI_SUM_FILE (default .github/pulumi-cli.sum).
set -euo pipefail
cd "$(dirname "$0")/.."

sums=${PULUMI_CLI_SUM_FILE:-.github/pulumi-cli.sum}
version=$(sed -nE 's/^pulumi==([0-9][0-9A-Za-z.+-]*).*$/\1/p' requirements.txt)
pyhost=$(sed -nE 's/^PULUMI_PYHOST_VERSION="\$\{PULUMI_PYHOST_VERSION:-([0-9.]+)\}"$/\1/p' scripts/toolchain.sh)
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
for module in "github.com/pulumi/pulumi/pkg/v3 v$version" "github.com/pulumi/pulumi/sdk/v3 v$version" \
  "github.com/pulumi/pulumi/sdk/v3 v$pyhost"; do
  expected=$(awk -v module="${module% *}" -v version="${module#* }" '$1 == module && $2 == version { print $3 }' "$sums")
  if [[ -z "$expected" ]]; then
    echo "install-pulumi-cli: no line for $module in $sums; add the Sum of \`go mod download -json ${module% *}@${module#* }\`" >&2
    exit 1
  fi
  actual=$(go mod download -json "${module% *}@${module#* }" | sed -nE 's/^[[:space:]]*"Sum": "(.*)",?$/\1/p')
  if [[ "$actual" != "$expected" ]]; then
    echo "install-pulumi-cli: $module is $actual, not $expected as $sums says; refusing to build it" >&2
    exit 1
  fi
done
[[ "${1:-}" == "--verify-only" ]] && { echo "install-pulumi-cli: modules verified" >&2; exit 0; }
scripts/toolchain.sh pulumi >&2
dirname "$(scripts/toolchain.sh bindirs 2>/dev/null | grep "/pulumi-$version\$")/pulumi"
