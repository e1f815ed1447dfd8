#!/usr/bin/env bash
# Installs the Pulumi CLI release the `pulumi==X` pin of requirements.txt names (linux-x64, the
# runners' platform), after checking its archive against the SHA-256 kept in this repository
# (.github/pulumi-cli.sha256), never against a checksum downloaded beside the archive: a
# replaced release asset then fails the job instead of running with its credentials (issue 16.13;
# OpenSSF Scorecard, "Pinned-Dependencies": downloads are verified by a hash the repository holds).
# pulumi/actions then finds this CLI on PATH at the wanted version and downloads none
# (pulumi/actions src/libs/pulumi-cli.ts, downloadCli: "already installed ... Skipping download").
#   scripts/install-pulumi-cli.sh DIR   unpacks into DIR and prints the directory of the binaries
#   (.github/actions/prepare copies them to /usr/local/bin and checks `pulumi version`)
# Environment (tests): PULUMI_RELEASES_URL (default: the GitHub release of the version),
# PULUMI_CLI_SHA256_FILE (default: .github/pulumi-cli.sha256).
set -euo pipefail
cd "$(dirname "$0")/.."

dest=${1:?usage: scripts/install-pulumi-cli.sh DIR}
version=$(sed -nE 's/^pulumi==([0-9][0-9A-Za-z.+-]*).*$/\1/p' requirements.txt)
archive="pulumi-v${version}-linux-x64.tar.gz"
base=${PULUMI_RELEASES_URL:-https://github.com/pulumi/pulumi/releases/download/v${version}}
sums=${PULUMI_CLI_SHA256_FILE:-.github/pulumi-cli.sha256}
expected=$(awk -v archive="$archive" '$2 == archive { print $1 }' "$sums")
if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
  echo "install-pulumi-cli: no SHA-256 for $archive in $sums; add the line of the release's" \
    "pulumi-${version}-checksums.txt after checking it (docs/delivery.md, \"Hardening\")" >&2
  exit 1
fi
mkdir -p "$dest"
curl --fail --location --silent --show-error --proto '=https,file' "$base/$archive" -o "$dest/$archive"
if ! echo "$expected  $dest/$archive" | sha256sum --check --strict --quiet; then
  echo "install-pulumi-cli: $archive does not match the SHA-256 in $sums; refusing to install it" >&2
  exit 1
fi
tar -xzf "$dest/$archive" -C "$dest"
rm -f "$dest/$archive"
"$dest/pulumi/pulumi" version >&2
echo "$dest/pulumi"
