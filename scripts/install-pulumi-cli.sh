#!/usr/bin/env bash
# The Pulumi CLI, its Python language host and the Kubernetes provider plugin a delivery job runs,
# built from their Go modules (scripts/toolchain.sh), after checking each module against the
# go.sum line this repository keeps (.github/pulumi-cli.sum); never from a release archive that
# nothing here can verify, never a `pulumi` or a plugin found on PATH. A module that differs, or
# has no line, fails the job before anything is built (issue 16.13; OpenSSF Scorecard,
# "Pinned-Dependencies": a download is pinned when a hash the repository holds verifies it). The
# Go command also checks every module against the checksum database (Go Modules Reference,
# "Checksum database").
#
#   scripts/install-pulumi-cli.sh --cache DIR   verify and build into DIR (reused when DIR already
#       holds this build: the workflows restore DIR only from a cache that main-branch jobs alone
#       write, docs/delivery.md "Hardening"), then print for $GITHUB_OUTPUT:
#         pulumi=DIR/bin/pulumi-<v>/pulumi    the CLI; the language host and the dynamic-provider
#                                             host sit beside it, where the CLI looks first
#         pulumi-home=DIR/pulumi-home         a Pulumi home holding only the verified Kubernetes plugin
#   scripts/install-pulumi-cli.sh --cache-key  print the key of that cache (what the build depends on)
#   scripts/install-pulumi-cli.sh --verify-only [--sums FILE]  verify the modules only
#
# Nothing in the environment steers what is verified or built (issue 22.4): the versions come from
# requirements.txt and scripts/toolchain.sh, the sum file is .github/pulumi-cli.sum (--sums only
# with --verify-only, for tests), the Go settings that choose where modules come from and whether
# they are checked are reset below, and a build never reuses a module cache, a build cache or a
# toolchain cache it did not create.
set -euo pipefail
cd "$(dirname "$0")/.."

sums=.github/pulumi-cli.sum
mode="" cache=""
while (($#)); do
  case "$1" in
    --cache) mode=install cache=${2:?--cache needs a directory}; shift 2 ;;
    --cache-key) mode=key; shift ;;
    --verify-only) mode=verify; shift ;;
    --sums) sums=${2:?--sums needs a file}; shift 2 ;;
    *) echo "install-pulumi-cli: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$mode" ]] || { echo "usage: $0 --cache DIR | --cache-key | --verify-only [--sums FILE]" >&2; exit 2; }
[[ "$sums" == .github/pulumi-cli.sum || "$mode" == verify ]] || { echo "install-pulumi-cli: --sums is for --verify-only" >&2; exit 2; }

pin() { sed -nE "s/^$1==([0-9][0-9A-Za-z.+-]*).*$/\\1/p" requirements.txt; }
version=$(pin pulumi)
k8s=$(pin pulumi-kubernetes)
pyhost=$(sed -nE 's/^PULUMI_PYHOST_VERSION="\$\{PULUMI_PYHOST_VERSION:-([0-9.]+)\}"$/\1/p' scripts/toolchain.sh)
k8s_module=$(sed -nE "s/^  \\[${k8s//./\\.}\\]=\"(v[^\"]+)\"$/\\1/p" scripts/toolchain.sh)
[[ -n "$version" && -n "$k8s" && -n "$pyhost" && -n "$k8s_module" ]] || { echo "install-pulumi-cli: cannot read the pins" >&2; exit 1; }
modules=(
  "github.com/pulumi/pulumi/pkg/v3 v$version"
  "github.com/pulumi/pulumi/sdk/v3 v$version"
  "github.com/pulumi/pulumi/sdk/v3 v$pyhost"
  "github.com/pulumi/pulumi-kubernetes/provider/v4 $k8s_module"
  "github.com/pulumi/pulumi-kubernetes/sdk/v4 v$k8s"
)

if [[ "$mode" == key ]]; then
  # Everything the build depends on: the pinned modules and their lines, the build script, this
  # script, the Go version and the platform.
  printf 'pulumi-toolchain-%s-%s\n' "$(go env GOOS GOARCH | paste -sd-)" \
    "$( (go env GOVERSION; printf '%s\n' "${modules[@]}"; cat "$sums" scripts/toolchain.sh "$0") | sha256sum | cut -c1-32)"
  exit 0
fi

# The Go settings that decide where modules come from and whether they are checked: fixed here,
# whatever an earlier step exported (GOFLAGS=-mod=mod with GONOSUMDB, GOPRIVATE, GOINSECURE or
# GOSUMDB=off would skip the checksum database; GOPROXY and GOWORK choose the source; GOENV a
# config file that sets any of them).
unset GOFLAGS GONOSUMDB GONOSUMCHECK GONOSUMDB GOPRIVATE GOINSECURE GONOPROXY GOMODCACHE GOCACHE GOPATH
export GOENV=off GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
export GOPROXY=https://proxy.golang.org,direct GOSUMDB=sum.golang.org

verify() {
  local module expected actual
  for module in "${modules[@]}"; do
    expected=$(awk -v module="${module% *}" -v version="${module#* }" '$1 == module && $2 == version { print $3 }' "$sums")
    if [[ -z "$expected" ]]; then
      echo "install-pulumi-cli: no line for $module in $sums; add the Sum of \`go mod download -json ${module% *}@${module#* }\`" >&2
      exit 1
    fi
    actual=$(cd "$scratch" && go mod download -json "${module% *}@${module#* }" | sed -nE 's/^[[:space:]]*"Sum": "(.*)",?$/\1/p')
    if [[ "$actual" != "$expected" ]]; then
      echo "install-pulumi-cli: $module is $actual, not $expected as $sums says; refusing to build it" >&2
      exit 1
    fi
  done
  echo "install-pulumi-cli: modules verified" >&2
}

scratch=$(mktemp -d)
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
if [[ "$mode" == verify ]]; then
  # A module cache of the check's own (kept between checks: the tests run it often), never the one
  # GOMODCACHE or GOPATH names.
  export GOMODCACHE="$HOME/.cache/apimgw-verify/mod" GOCACHE="$scratch/build"
  verify
  exit 0
fi

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# What scripts/toolchain.sh reads from the environment, set to the verified pins; it never reuses
# a `pulumi` on PATH here (APIMGW_IGNORE_PATH).
export APIMGW_CACHE="$cache" APIMGW_IGNORE_PATH=1 PULUMI_VERSION="$version" PULUMI_PYHOST_VERSION="$pyhost"
export K8S_PROVIDER_VERSION="$k8s" GO_BUILD_JOBS="${GO_BUILD_JOBS:-2}"
cli="$cache/bin/pulumi-$version"
plugin="$cache/bin/pulumi-resource-kubernetes-$k8s"
if [[ -f "$cli/.complete" && -f "$plugin/.complete" && -x "$cli/pulumi-language-python" ]]; then
  echo "install-pulumi-cli: reusing the build in $cache (its key names these modules and lines)" >&2
else
  # A fresh build: modules and compiled packages in caches of this build's own.
  export GOMODCACHE="$cache/.go/mod" GOCACHE="$cache/.go/build"
  verify
  scripts/toolchain.sh pulumi >&2
  scripts/toolchain.sh k8s-plugin >&2
  chmod -R u+w "$cache/.go" && rm -rf "$cache/.go"
fi
scripts/toolchain.sh k8s-plugin >&2  # installs the plugin into $cache/pulumi-home (no build)
have=$(PULUMI_SKIP_UPDATE_CHECK=true "$cli/pulumi" version)
[[ "$have" == "v$version" ]] || { echo "install-pulumi-cli: $cli/pulumi is $have, not v$version" >&2; exit 1; }
echo "pulumi=$cli/pulumi"
echo "pulumi-home=$cache/pulumi-home"
