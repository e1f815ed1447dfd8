#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted bash -c bodies and the printed PATH line expand later, on purpose
# Reproducible, cached, registry-only toolchain for this project.
#
# Everything is built from source fetched through the Go module proxy (no
# release binaries are downloaded) into a cache outside the repository:
#
#   ${APIMGW_CACHE:-$HOME/.cache/apimgw-toolchain}/
#     src/<component>-<version>/   small generated Go modules (go.mod + main/tools.go)
#     bin/<component>-<version>/   built binaries, keyed by version (.complete = done)
#     logs/<component>-<version>.log
#
# Usage:
#   scripts/toolchain.sh pulumi    Pulumi CLI + Python language host pieces
#   scripts/toolchain.sh cluster   etcd, kube-apiserver/-controller-manager/-scheduler, kubectl, kwok
#   scripts/toolchain.sh plugins   the Kubernetes resource plugin (pulumi-resource-kubernetes, the
#                                  release the pulumi-kubernetes pin in requirements.txt names),
#                                  installed into the toolchain's Pulumi home, and the YAML
#                                  language host (pulumi-language-yaml)
#   scripts/toolchain.sh k8s-plugin  the Kubernetes plugin alone (needs the CLI: `pulumi` first)
#   scripts/toolchain.sh all       all of the above, and act, two builds at a time (TOOLCHAIN_LANES)
#   scripts/toolchain.sh env       print an `export PATH=...` line for the cached bin dirs
#                                  (eval "$(scripts/toolchain.sh env)"), PULUMI_HOME=<the
#                                  toolchain's Pulumi home, holding the Kubernetes plugin>, plus
#                                  PULUMI_PYTHON_CMD=<repo>/.venv/bin/python if that exists
#   scripts/toolchain.sh bindirs   print the cached bin dirs that exist, one per line
#   scripts/toolchain.sh actionlint  build actionlint (GitHub workflow linter), print its path
#   scripts/toolchain.sh act       build act (runs GitHub Actions workflows locally; the workflow
#                                  tests under tests/integration run it in host mode), print its path
#   scripts/toolchain.sh check-pulumi  smoke test: `pulumi up` of a trivial program with a
#                                  pulumi.dynamic resource (python: $PULUMI_PYTHON_CMD)
#
# Versions (environment overrides):
#   PULUMI_VERSION          default: the `pulumi==X` pin in requirements.txt
#   PULUMI_PYHOST_VERSION   default 3.79.0 (newest github.com/pulumi/pulumi/sdk/v3 that still
#                           contains python/cmd/pulumi-language-python; later versions moved it to
#                           its own module, which the module proxy here does not serve)
#   K8S_VERSION             default 1.34.3
#   ETCD_VERSION            default 3.6.16
#   KWOK_VERSION            default 0.7.0
#   K8S_PROVIDER_VERSION    default: the `pulumi-kubernetes==X` pin in requirements.txt; the Go
#                           module version that is that release's tag is K8S_PROVIDER_MODULE
#   PULUMI_YAML_VERSION     default 1.25.0 (github.com/pulumi/pulumi-yaml)
#   ACT_VERSION             default 0.2.89 (github.com/nektos/act)
#   GO_BUILD_JOBS           default 2 (go build -p)
#   TOOLCHAIN_LANES         default 2: `all` runs two builds at once (cmd_all); 1: one at a time
#
# Running Python programs with this CLI: the 3.79 language host ignores Pulumi.yaml's
# `virtualenv`/`toolchain` options (CLI 3.259 sends them over RPC; that host only reads a
# -virtualenv flag). Select the interpreter with PULUMI_PYTHON_CMD=/abs/path/.venv/bin/python
# (also used by dynamic providers), or put the venv's bin/ first on PATH.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="${APIMGW_CACHE:-$HOME/.cache/apimgw-toolchain}"

K8S_VERSION="${K8S_VERSION:-1.34.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.7.0}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-1.7.12}"
ACT_VERSION="${ACT_VERSION:-0.2.89}"
PULUMI_PYHOST_VERSION="${PULUMI_PYHOST_VERSION:-3.79.0}"
PULUMI_YAML_VERSION="${PULUMI_YAML_VERSION:-1.25.0}"
# The Go module proxy serves github.com/pulumi/pulumi-kubernetes/provider/v4 only as pseudo-
# versions (the repository tags its releases without the module's directory prefix). This one is
# commit f47bc2d6f199, the commit the v4.25.0 release tag points to.
declare -A K8S_PROVIDER_MODULES=(
  [4.25.0]="v4.0.0-20260115033456-f47bc2d6f199"
)
GO_BUILD_JOBS="${GO_BUILD_JOBS:-2}"
DEFAULT_PULUMI_VERSION="3.259.0"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

pulumi_version() {
  if [[ -n "${PULUMI_VERSION:-}" ]]; then
    echo "${PULUMI_VERSION#v}"
    return
  fi
  local req="$REPO_ROOT/requirements.txt" v=""
  if [[ -f "$req" ]]; then
    v="$(sed -nE 's/^[[:space:]]*pulumi[[:space:]]*==[[:space:]]*([0-9][0-9A-Za-z.+-]*).*$/\1/p' "$req" | head -n1)"
  fi
  if [[ -z "$v" ]]; then
    log "no 'pulumi==X' pin found in $req; using $DEFAULT_PULUMI_VERSION"
    v="$DEFAULT_PULUMI_VERSION"
  fi
  echo "$v"
}

# Directory names of every component, in PATH order.
pulumi_dir() { echo "$CACHE/bin/pulumi-$(pulumi_version)"; }
pyhost_dir() { echo "$CACHE/bin/pulumi-language-python-$PULUMI_PYHOST_VERSION"; }
kube_dir() { echo "$CACHE/bin/kube-$K8S_VERSION"; }
etcd_dir() { echo "$CACHE/bin/etcd-$ETCD_VERSION"; }
kwok_dir() { echo "$CACHE/bin/kwok-$KWOK_VERSION"; }
actionlint_dir() { echo "$CACHE/bin/actionlint-$ACTIONLINT_VERSION"; }
act_dir() { echo "$CACHE/bin/act-$ACT_VERSION"; }
k8s_provider_dir() { echo "$CACHE/bin/pulumi-resource-kubernetes-$(k8s_provider_version)"; }
yaml_dir() { echo "$CACHE/bin/pulumi-language-yaml-$PULUMI_YAML_VERSION"; }
# The toolchain's own Pulumi home: plugins installed here, never in the user's ~/.pulumi.
pulumi_home() { echo "$CACHE/pulumi-home"; }

k8s_provider_version() {
  if [[ -n "${K8S_PROVIDER_VERSION:-}" ]]; then
    echo "${K8S_PROVIDER_VERSION#v}"
    return
  fi
  local v
  v="$(sed -nE 's/^[[:space:]]*pulumi-kubernetes[[:space:]]*==[[:space:]]*([0-9][0-9A-Za-z.+-]*).*$/\1/p' "$REPO_ROOT/requirements.txt" | head -n1)"
  [[ -n "$v" ]] || die "no 'pulumi-kubernetes==X' pin in $REPO_ROOT/requirements.txt"
  echo "$v"
}

# --------------------------------------------------------------------------- go

go_setup() {
  command -v go >/dev/null 2>&1 || die "go not found on PATH (Go >= 1.26 is needed)"
  local gv
  gv="$(go env GOVERSION)"; gv="${gv#go}"
  local major="${gv%%.*}" rest="${gv#*.}"
  local minor="${rest%%.*}"
  if (( major < 1 || (major == 1 && minor < 26) )); then
    die "Go $gv is too old; etcd $ETCD_VERSION needs Go >= 1.26"
  fi
  # Never let the go command download a toolchain; build VCS stamping is meaningless here.
  export GOTOOLCHAIN=local
  export GOFLAGS="-buildvcs=false"
}

# Directory of a module in the module cache (downloads it through the proxy if needed).
mod_field() { # module@version field
  go mod download -json "$1" | sed -nE "s/^[[:space:]]*\"$2\": \"(.*)\",?\$/\\1/p"
}

# with_lock NAME cmd...  -- serialise concurrent builds of the same component.
with_lock() {
  local name="$1"; shift
  mkdir -p "$CACHE/locks"
  (
    exec 9>"$CACHE/locks/$name.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    "$@"
  )
}

is_complete() { # dir bin...
  local dir="$1"; shift
  [[ -f "$dir/.complete" ]] || return 1
  local b
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
}

# run_logged LOGFILE cmd...  -- run, tee into a log, show the tail on failure.
run_logged() {
  local logf="$1"; shift
  printf '+ %s\n' "$*" >>"$logf"
  if ! "$@" >>"$logf" 2>&1; then
    log "command failed: $*"
    log "last lines of $logf:"
    tail -n 40 "$logf" >&2
    return 1
  fi
}

# finish_install COMPONENT VERSION TMPDIR DESTDIR SECONDS -- atomically publish a build.
finish_install() {
  local comp="$1" ver="$2" tmp="$3" dest="$4" secs="$5"
  {
    echo "component=$comp"
    echo "version=$ver"
    echo "go=$(go env GOVERSION)"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "build_seconds=$secs"
  } >"$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "built $comp $ver in ${secs}s -> $dest"
}

# write_tools_module SRC MODULE GO_VERSION REQUIREMENT PACKAGE... -- a small Go module of our
# own that requires REQUIREMENT ("path vX") and imports the PACKAGEs to build (a tools.go), so
# that modules whose go.mod carries replace directives can be built (`go install` refuses them).
write_tools_module() {
  local src="$1" module="$2" go_version="$3" requirement="$4"; shift 4
  printf 'module %s\n\ngo %s\n\nrequire %s\n' "$module" "$go_version" "$requirement" >"$src/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"$src/tools.go"
  rm -f "$src/go.sum"
}

# ----------------------------------------------------------------- pulumi CLI

build_pulumi_cli() {
  local ver="$1" dest="$2"
  local src="$CACHE/src/pulumi-$ver" logf="$CACHE/logs/pulumi-$ver.log"
  local start=$SECONDS
  mkdir -p "$src" "$CACHE/logs"; : >"$logf"
  log "building Pulumi CLI $ver from github.com/pulumi/pulumi/pkg/v3@v$ver (log: $logf)"
  write_tools_module "$src" apimgw.local/toolchain/pulumi 1.26 "github.com/pulumi/pulumi/pkg/v3 v$ver" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$src"
    run_logged "$logf" go mod tidy
    # No -trimpath/CGO change here on purpose: same build configuration as a plain
    # `go build` of the CLI, so an existing Go build cache for it is reused.
    run_logged "$logf" go build -p "$GO_BUILD_JOBS" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$ver" \
      -o "$tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    # Python pieces that ship with the CLI, copied from the sdk module of the same version.
    local sdkdir
    sdkdir="$(mod_field "github.com/pulumi/pulumi/sdk/v3@v$ver" Dir)"
    [[ -n "$sdkdir" && -d "$sdkdir" ]] || die "could not locate github.com/pulumi/pulumi/sdk/v3@v$ver"
    install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$tmp/pulumi-language-python-exec"
    install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$tmp/pulumi-resource-pulumi-python"
  ) || { rm -rf "$tmp"; return 1; }
  finish_install pulumi "$ver" "$tmp" "$dest" $((SECONDS - start))
}

# build_from_tools_module COMPONENT VERSION DEST GO_VERSION REQUIREMENT PACKAGE LDFLAGS -- build the
# command PACKAGE (its last path element names the binary) through a tools module of our own.
build_from_tools_module() {
  local comp="$1" ver="$2" dest="$3" go_version="$4" requirement="$5" package="$6" ldflags="$7"
  local src="$CACHE/src/$comp-$ver" logf="$CACHE/logs/$comp-$ver.log"
  local start=$SECONDS
  mkdir -p "$src" "$CACHE/logs"; : >"$logf"
  log "building $comp from ${requirement% *}@${requirement#* } (log: $logf)"
  write_tools_module "$src" "apimgw.local/toolchain/$comp" "$go_version" "$requirement" "$package"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$src"
    run_logged "$logf" go mod tidy
    CGO_ENABLED=0 run_logged "$logf" go build -p "$GO_BUILD_JOBS" -trimpath -ldflags "$ldflags" \
      -o "$tmp/${package##*/}" "$package"
  ) || { rm -rf "$tmp"; return 1; }
  finish_install "$comp" "$ver" "$tmp" "$dest" $((SECONDS - start))
}

build_pyhost() {
  build_from_tools_module pulumi-language-python "$1" "$2" 1.20 "github.com/pulumi/pulumi/sdk/v3 v$1" \
    github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$1"
}

cmd_pulumi() {
  local ver dest
  ver="$(pulumi_version)"
  dest="$(pulumi_dir)"
  local onpath=""
  # APIMGW_IGNORE_PATH (scripts/install-pulumi-cli.sh): a delivery job never runs a CLI it did not build.
  [[ -n "${APIMGW_IGNORE_PATH:-}" ]] || onpath="$(command -v pulumi 2>/dev/null || true)"
  if [[ -n "$onpath" && "$(dirname "$onpath")" != "$dest" ]]; then
    local have
    have="$(PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null | head -n1 || true)"; have="${have#v}"
    if [[ "$have" == "$ver" ]]; then
      log "reusing Pulumi CLI $ver from PATH: $onpath"
      if [[ -x "$(dirname "$onpath")/pulumi-language-python" ]]; then
        log "reusing pulumi-language-python next to it: $(dirname "$onpath")/pulumi-language-python"
        return 0
      fi
      log "no pulumi-language-python next to $onpath: using the cached CLI + Python host instead"
    else
      log "pulumi on PATH ($onpath) reports '${have:-?}', want $ver: using the cache"
    fi
  fi
  go_setup
  if is_complete "$dest" pulumi pulumi-language-python-exec pulumi-resource-pulumi-python; then
    log "reusing Pulumi CLI $ver: $dest"
  else
    with_lock "pulumi-$ver" bash -c '
      source "$0" __lib
      if is_complete "$2" pulumi pulumi-language-python-exec pulumi-resource-pulumi-python; then
        log "reusing Pulumi CLI $1: $2 (built concurrently)"
      else
        build_pulumi_cli "$1" "$2"
      fi' "${BASH_SOURCE[0]}" "$ver" "$dest"
  fi

  local hdest
  hdest="$(pyhost_dir)"
  if is_complete "$hdest" pulumi-language-python; then
    log "reusing pulumi-language-python $PULUMI_PYHOST_VERSION: $hdest"
  else
    with_lock "pulumi-language-python-$PULUMI_PYHOST_VERSION" bash -c '
      source "$0" __lib
      if is_complete "$2" pulumi-language-python; then
        log "reusing pulumi-language-python $1: $2 (built concurrently)"
      else
        build_pyhost "$1" "$2"
      fi' "${BASH_SOURCE[0]}" "$PULUMI_PYHOST_VERSION" "$hdest"
  fi
  # Install the host next to the CLI (a copy, not a symlink): the CLI then treats it as
  # bundled (no "using pulumi-language-python from $PATH" warning), and the host runs the
  # `pulumi-language-python-exec` found next to its own executable, i.e. the one from the
  # sdk at the CLI's version, which accepts the arguments this older host passes.
  if [[ -L "$dest/pulumi-language-python" ]] || ! cmp -s "$hdest/pulumi-language-python" "$dest/pulumi-language-python"; then
    rm -f "$dest/pulumi-language-python"
    install -m 0755 "$hdest/pulumi-language-python" "$dest/pulumi-language-python.tmp.$$"
    mv -f "$dest/pulumi-language-python.tmp.$$" "$dest/pulumi-language-python"
    log "installed pulumi-language-python $PULUMI_PYHOST_VERSION into $dest"
  fi
}

# Smoke test: `pulumi up` of a program with one export and one pulumi.dynamic resource,
# file:// backend in a temp dir. Python: $PULUMI_PYTHON_CMD (must have `pulumi` installed).
# Note: the 3.79 host ignores Pulumi.yaml's `virtualenv` option (newer CLIs pass it over
# RPC, the old host only reads a -virtualenv flag), so select the venv with
# PULUMI_PYTHON_CMD=/path/to/venv/bin/python or by putting the venv's bin/ first on PATH.
cmd_check_pulumi() {
  local dest py tmp rc=0
  dest="$(pulumi_dir)"
  [[ -x "$dest/pulumi" ]] || die "Pulumi CLI not built yet: run scripts/toolchain.sh pulumi"
  py="${PULUMI_PYTHON_CMD:-python3}"
  export PULUMI_PYTHON_CMD="$py"
  "$py" -c 'import pulumi' 2>/dev/null || die "$py cannot import pulumi; set PULUMI_PYTHON_CMD to a venv python"
  tmp="$(mktemp -d)"
  printf 'name: toolchain-smoke\nruntime: python\n' >"$tmp/Pulumi.yaml"
  cat >"$tmp/__main__.py" <<'PY'
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Doubler(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="doubled", outs={"value": props["value"] * 2})


class Doubled(Resource):
    value: pulumi.Output[int]

    def __init__(self, name, value, opts=None):
        super().__init__(Doubler(), name, {"value": value}, opts)


pulumi.export("hello", "world")
pulumi.export("doubled", Doubled("d", 21).value)
PY
  (
    cd "$tmp"
    export PATH="$dest:$PATH" PULUMI_HOME="$tmp/.pulumi"
    export PULUMI_BACKEND_URL="file://$tmp/state" PULUMI_CONFIG_PASSPHRASE=smoke
    export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    mkdir -p state
    pulumi stack init smoke --non-interactive >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; exit 1; }
    pulumi up --yes --skip-preview --non-interactive >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; exit 1; }
    out="$(pulumi stack output --json)"
    "$py" -c 'import json, sys; o = json.loads(sys.argv[1]); sys.exit(o != {"hello": "world", "doubled": 42})' "$out" \
      || { echo "unexpected stack outputs: $out" >&2; exit 1; }
    pulumi destroy --yes --skip-preview --non-interactive >>"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; exit 1; }
  ) || rc=$?
  rm -rf "$tmp"
  (( rc == 0 )) || die "pulumi smoke test failed"
  log "pulumi smoke test passed: CLI $("$dest/pulumi" version), python host $PULUMI_PYHOST_VERSION, $py"
}

# ------------------------------------------------------------- control plane

build_kube() {
  local ver="$1" dest="$2"
  local src="$CACHE/src/kube-$ver" logf="$CACHE/logs/kube-$ver.log"
  local start=$SECONDS
  mkdir -p "$src" "$CACHE/logs"; : >"$logf"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from k8s.io/kubernetes@v$ver (log: $logf)"
  local kmod
  kmod="$(cd "$CACHE" && mod_field "k8s.io/kubernetes@v$ver" GoMod)"
  [[ -f "$kmod" ]] || die "could not download the go.mod of k8s.io/kubernetes@v$ver"
  local staging_ver="v0.${ver#*.}"   # 1.34.3 -> v0.34.3
  {
    echo "module apimgw.local/toolchain/kube"
    echo
    sed -nE 's/^go ([0-9.]+)$/go \1/p' "$kmod"
    grep -E '^godebug ' "$kmod" || true
    echo
    echo "require k8s.io/kubernetes v$ver"
    echo
    echo "// Every k8s.io/* staging module, pinned to its published release (from k8s.io/kubernetes's go.mod)."
    echo "replace ("
    sed -nE "s#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+) => \./staging/src/k8s\.io/[A-Za-z0-9._-]+[[:space:]]*\$#\t\1 => \1 $staging_ver#p" "$kmod"
    echo ")"
  } >"$src/go.mod"
  grep -q "k8s.io/api => k8s.io/api $staging_ver" "$src/go.mod" || die "failed to derive the staging replace list from $kmod"
  cat >"$src/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  rm -f "$src/go.sum"
  local minor="${ver#*.}"; minor="${minor%%.*}"
  local ld="-s -w" p
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld+=" -X $p.gitVersion=v$ver -X $p.gitMajor=${ver%%.*} -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$src"
    run_logged "$logf" go mod tidy
    CGO_ENABLED=0 run_logged "$logf" go build -p "$GO_BUILD_JOBS" -trimpath -ldflags "$ld" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  ) || { rm -rf "$tmp"; return 1; }
  finish_install kube "$ver" "$tmp" "$dest" $((SECONDS - start))
}

build_etcd() {
  local ver="$1" dest="$2"
  local src="$CACHE/src/etcd-$ver" logf="$CACHE/logs/etcd-$ver.log"
  local start=$SECONDS
  mkdir -p "$src" "$CACHE/logs"; : >"$logf"
  log "building etcd from go.etcd.io/etcd/server/v3@v$ver (log: $logf)"
  cat >"$src/go.mod" <<EOF
module apimgw.local/toolchain/etcd

go 1.26

require go.etcd.io/etcd/server/v3 v$ver
EOF
  # Same entry point as etcd's own main.go (root module, not served by the proxy here).
  cat >"$src/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  rm -f "$src/go.sum"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$src"
    run_logged "$logf" go mod tidy
    CGO_ENABLED=0 run_logged "$logf" go build -p "$GO_BUILD_JOBS" -trimpath -ldflags "-s -w" -o "$tmp/etcd" .
  ) || { rm -rf "$tmp"; return 1; }
  finish_install etcd "$ver" "$tmp" "$dest" $((SECONDS - start))
}

build_kwok() {
  build_from_tools_module kwok "$1" "$2" 1.24.0 "sigs.k8s.io/kwok v$1" sigs.k8s.io/kwok/cmd/kwok "-s -w"
}

build_actionlint() {
  local ver="$1" dest="$2"
  local logf="$CACHE/logs/actionlint-$ver.log"
  local start=$SECONDS
  mkdir -p "$CACHE/logs"; : >"$logf"
  log "building actionlint from github.com/rhysd/actionlint@v$ver (log: $logf)"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # actionlint's go.mod has no replace directives, so `go install mod@version` works.
  CGO_ENABLED=0 GOBIN="$tmp" run_logged "$logf" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@v$ver" || { rm -rf "$tmp"; return 1; }
  finish_install actionlint "$ver" "$tmp" "$dest" $((SECONDS - start))
}

# Prints the path of the actionlint binary (built once), for `"$(scripts/toolchain.sh actionlint)"`.
cmd_actionlint() {
  go_setup
  ensure actionlint "$ACTIONLINT_VERSION" "$(actionlint_dir)" build_actionlint actionlint >&2
  echo "$(actionlint_dir)/actionlint"
}

# act runs the repository's workflows on this machine, in host mode (no Docker); tests/integration
# /test_workflows_under_act.py. Its go.mod has no replace directives, so `go install mod@version`
# works; the version is stamped as upstream's Makefile does (-X main.version).
build_act() {
  local ver="$1" dest="$2"
  local logf="$CACHE/logs/act-$ver.log"
  local start=$SECONDS
  mkdir -p "$CACHE/logs"; : >"$logf"
  log "building act from github.com/nektos/act@v$ver (log: $logf)"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  CGO_ENABLED=0 GOBIN="$tmp" run_logged "$logf" go install -p "$GO_BUILD_JOBS" -trimpath \
    -ldflags "-s -w -X main.version=$ver" "github.com/nektos/act@v$ver" || { rm -rf "$tmp"; return 1; }
  finish_install act "$ver" "$tmp" "$dest" $((SECONDS - start))
}

# Prints the path of the act binary (built once), for `"$(scripts/toolchain.sh act)"`.
cmd_act() {
  go_setup
  ensure act "$ACT_VERSION" "$(act_dir)" build_act act >&2
  echo "$(act_dir)/act"
}

ensure() { # component version dest builder bins...
  local comp="$1" ver="$2" dest="$3" builder="$4"; shift 4
  if is_complete "$dest" "$@"; then
    log "reusing $comp $ver: $dest"
    return 0
  fi
  with_lock "$comp-$ver" bash -c '
    source "$0" __lib
    comp="$1" ver="$2" dest="$3" builder="$4"; shift 4
    if is_complete "$dest" "$@"; then
      log "reusing $comp $ver: $dest (built concurrently)"
    else
      "$builder" "$ver" "$dest"
    fi' "${BASH_SOURCE[0]}" "$comp" "$ver" "$dest" "$builder" "$@"
}

cmd_cluster() {
  go_setup
  ensure etcd "$ETCD_VERSION" "$(etcd_dir)" build_etcd etcd
  ensure kwok "$KWOK_VERSION" "$(kwok_dir)" build_kwok kwok
  ensure kube "$K8S_VERSION" "$(kube_dir)" build_kube kube-apiserver kube-controller-manager kube-scheduler kubectl
}

# --------------------------------------------------------- provider plugins

# The Kubernetes resource plugin, built as upstream's Makefile builds it: `go generate` of
# cmd/pulumi-resource-kubernetes/main.go writes the two embedded files (schema and Terraform
# mapping, the schema stamped with VERSION), and the version is set with -ldflags on
# pkg/version.Version (without it the plugin reports an empty version and the engine warns).
build_k8s_provider() {
  local ver="$1" dest="$2"
  local module="${K8S_PROVIDER_MODULES[$ver]:-}"
  [[ -n "$module" ]] || die "no Go module version known for pulumi-kubernetes $ver (K8S_PROVIDER_MODULES in $0)"
  local src="$CACHE/src/pulumi-resource-kubernetes-$ver" logf="$CACHE/logs/pulumi-resource-kubernetes-$ver.log"
  local start=$SECONDS
  mkdir -p "$CACHE/logs"; : >"$logf"
  log "building pulumi-resource-kubernetes $ver from github.com/pulumi/pulumi-kubernetes/provider/v4@$module (~17 min on 2 cores; log: $logf)"
  local moddir
  moddir="$(cd "$CACHE" && mod_field "github.com/pulumi/pulumi-kubernetes/provider/v4@$module" Dir)"
  [[ -n "$moddir" && -d "$moddir" ]] || die "could not download github.com/pulumi/pulumi-kubernetes/provider/v4@$module"
  # A writable copy: go generate writes next to main.go. The module replaces its sdk by a sibling
  # directory of the same commit (absent from the module zip): use that sdk's release instead.
  rm -rf "$src"; mkdir -p "$(dirname "$src")"
  cp -r "$moddir" "$src"; chmod -R u+w "$src"
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$src"
    run_logged "$logf" go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4
    run_logged "$logf" go get "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$ver"
    (cd cmd/pulumi-resource-kubernetes && VERSION="$ver" run_logged "$logf" go generate main.go)
    run_logged "$logf" go build -p "$GO_BUILD_JOBS" -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$ver" \
      -o "$tmp/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  ) || { rm -rf "$tmp"; return 1; }
  finish_install pulumi-resource-kubernetes "$ver" "$tmp" "$dest" $((SECONDS - start))
}

build_yaml_host() {
  build_from_tools_module pulumi-language-yaml "$1" "$2" 1.26 "github.com/pulumi/pulumi-yaml v$1" \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$1"
}

# Builds both and installs the Kubernetes plugin into the toolchain's Pulumi home with
# `pulumi plugin install --file`, so the engine uses it and never tries to download one.
cmd_plugins() {
  go_setup
  ensure pulumi-language-yaml "$PULUMI_YAML_VERSION" "$(yaml_dir)" build_yaml_host pulumi-language-yaml
  # Next to the CLI, like the Python host: the engine treats `yaml` as a bundled language plugin
  # (pulumi sdk/go/common/workspace/plugins.go IsPluginBundled) and warns when it comes from $PATH.
  if ! cmp -s "$(yaml_dir)/pulumi-language-yaml" "$(pulumi_dir)/pulumi-language-yaml"; then
    install -m 0755 "$(yaml_dir)/pulumi-language-yaml" "$(pulumi_dir)/pulumi-language-yaml.tmp.$$"
    mv -f "$(pulumi_dir)/pulumi-language-yaml.tmp.$$" "$(pulumi_dir)/pulumi-language-yaml"
    log "installed pulumi-language-yaml $PULUMI_YAML_VERSION into $(pulumi_dir)"
  fi
  cmd_k8s_plugin
}

# The Kubernetes plugin alone (what a delivery job needs), built once and installed into the
# toolchain's Pulumi home.
cmd_k8s_plugin() {
  go_setup
  local ver dest home
  ver="$(k8s_provider_version)"
  dest="$(k8s_provider_dir)"
  home="$(pulumi_home)"
  ensure pulumi-resource-kubernetes "$ver" "$dest" build_k8s_provider pulumi-resource-kubernetes
  local installed="$home/plugins/resource-kubernetes-v$ver/pulumi-resource-kubernetes"
  if cmp -s "$dest/pulumi-resource-kubernetes" "$installed"; then
    log "reusing the kubernetes plugin $ver installed in $home"
    return 0
  fi
  local cli
  cli="$(pulumi_dir)/pulumi"
  [[ -x "$cli" ]] || cli="$(command -v pulumi)" || die "the Pulumi CLI is needed to install the plugin: scripts/toolchain.sh pulumi"
  mkdir -p "$home"
  PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "$cli" plugin install resource kubernetes "$ver" \
    --file "$dest/pulumi-resource-kubernetes" --reinstall >&2
  log "installed the kubernetes plugin $ver into $home"
}

# ------------------------------------------------------------------- all

# Everything, built in TOOLCHAIN_LANES (default 2) lanes at once. One `go build` keeps 2 cores busy
# only part of the time: its module downloads, `go mod tidy`, `go generate` and the final link
# run on one core (a cold serial build measured 2594 s user + 530 s system CPU in 1930 s wall,
# 1.6 cores; docs/toolchain.md), so a second build beside it fills the other. The Go module and
# build caches are safe for concurrent use (cmd/go/internal/lockedfile guards both), and every
# component has its own lock (with_lock), so a lane never waits on the other except there.
# The lanes take about equal time alone (measured serially: plugin, YAML host, etcd, kwok 936 s;
# CLI, Python host, kube, act 991 s), the Kubernetes plugin and kube, the two longest, apart.
# Afterwards the serial commands run once more: they find every build complete and only install
# (the host and the YAML host next to the CLI, the plugin into the toolchain's Pulumi home). With
# every component built already, they are all there is to do.
cmd_all() {
  local lanes="${TOOLCHAIN_LANES:-2}"
  [[ "$lanes" == 1 || "$lanes" == 2 ]] || die "TOOLCHAIN_LANES=$lanes: 1 (one build at a time) or 2 (two at once)"
  if [[ "$lanes" == 2 ]] && ! all_built; then
    build_in_lanes
  fi
  cmd_pulumi; cmd_cluster; cmd_plugins; cmd_act >/dev/null
}

all_built() {
  local dir
  for dir in "$(pulumi_dir)" "$(pyhost_dir)" "$(k8s_provider_dir)" "$(yaml_dir)" "$(etcd_dir)" "$(kwok_dir)" \
    "$(kube_dir)" "$(act_dir)"; do
    [[ -f "$dir/.complete" ]] || return 1
  done
}

build_in_lanes() {
  go_setup
  local plugin_lane cli_lane rc_plugin=0 rc_cli=0
  (
    ensure pulumi-resource-kubernetes "$(k8s_provider_version)" "$(k8s_provider_dir)" build_k8s_provider \
      pulumi-resource-kubernetes
    ensure pulumi-language-yaml "$PULUMI_YAML_VERSION" "$(yaml_dir)" build_yaml_host pulumi-language-yaml
    ensure etcd "$ETCD_VERSION" "$(etcd_dir)" build_etcd etcd
    ensure kwok "$KWOK_VERSION" "$(kwok_dir)" build_kwok kwok
  ) &
  plugin_lane=$!
  (
    cmd_pulumi
    ensure kube "$K8S_VERSION" "$(kube_dir)" build_kube kube-apiserver kube-controller-manager kube-scheduler kubectl
    ensure act "$ACT_VERSION" "$(act_dir)" build_act act
  ) &
  cli_lane=$!
  # Both lanes run to their end even when one fails, so a rerun resumes from every finished build.
  wait "$plugin_lane" || rc_plugin=$?
  wait "$cli_lane" || rc_cli=$?
  (( rc_plugin == 0 )) || die "the lane of the Kubernetes plugin, the YAML host, etcd and kwok failed (exit $rc_plugin); its log is named above"
  (( rc_cli == 0 )) || die "the lane of the Pulumi CLI, the Python host, kube and act failed (exit $rc_cli); its log is named above"
}

# ------------------------------------------------------------------- env

cmd_bindirs() {
  local d
  for d in "$(pulumi_dir)" "$(yaml_dir)" "$(kube_dir)" "$(etcd_dir)" "$(kwok_dir)"; do
    if [[ -f "$d/.complete" ]]; then
      echo "$d"
    else
      log "not built yet: $d"
    fi
  done
}

cmd_env() {
  local d dirs=""
  while IFS= read -r d; do
    dirs+="$d:"
  done < <(cmd_bindirs)
  [[ -z "$dirs" ]] || printf 'export PATH="%s$PATH"\n' "$dirs"
  # The engine finds the Kubernetes plugin in the toolchain's Pulumi home (cmd_plugins).
  [[ ! -d "$(pulumi_home)/plugins" ]] || printf 'export PULUMI_HOME="%s"\n' "$(pulumi_home)"
  # The 3.79 Python host ignores Pulumi.yaml's virtualenv option (see the header): point it
  # at the project's venv when there is one and nothing else was chosen.
  if [[ -z "${PULUMI_PYTHON_CMD:-}" && -x "$REPO_ROOT/.venv/bin/python" ]]; then
    printf 'export PULUMI_PYTHON_CMD="%s"\n' "$REPO_ROOT/.venv/bin/python"
  fi
}

usage() {
  sed -n '3,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'
}

main() {
  local cmd="${1:-}"
  # Resolve once (warns at most once); exported so the locked sub-shells agree.
  PULUMI_VERSION="$(pulumi_version)"
  export PULUMI_VERSION
  case "$cmd" in
    pulumi) cmd_pulumi ;;
    cluster) cmd_cluster ;;
    plugins) cmd_pulumi; cmd_plugins ;;
    k8s-plugin) cmd_k8s_plugin ;;
    all) cmd_all ;;
    env) cmd_env ;;
    bindirs) cmd_bindirs ;;
    check-pulumi) cmd_check_pulumi ;;
    actionlint) cmd_actionlint ;;
    act) cmd_act ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

# Sourced with `__lib` by the locked sub-shells above: only define the functions.
# Otherwise run and `exit` inside the same compound command, so bash never reads past it
# (editing this file while it runs stays safe).
if [[ "${1:-}" != "__lib" ]]; then
  main "$@"
  exit
fi
