#!/usr/bin/env bash
# Proof from outside Python: generate the TypeScript SDK of the apim-gateway package from the
# schema snapshot (tests/snapshots/apim-gateway.schema.json, which tests keep equal to what the
# package serves), then type-check examples/typescript/index.ts against it with tsc.
# Also checks that a consumer with a misspelt config key does NOT type-check (the SDK's types
# are the config keys, not `any`). Ends with one line: PASS or FAIL.
#
# The SDK generator: `pulumi package gen-sdk --language nodejs` delegates to the
# pulumi-language-nodejs plugin, whose Go module the module proxy here does not serve; so
# scripts/nodejs-sdk-gen (the same codegen/nodejs.GeneratePackage call, from the pkg/v3 module
# of the CLI's version) is built once into the toolchain cache. Each step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
example="$root/examples/typescript"
schema="$root/tests/snapshots/apim-gateway.schema.json"
cache="${APIMGW_CACHE:-$HOME/.cache/apimgw-toolchain}"
step_timeout="${CHECK_TS_TIMEOUT:-600}"

fail() { echo "FAIL: typescript consumer: $*"; exit 1; }
command -v go >/dev/null || fail "go not found (needed to build the SDK generator)"
command -v npm >/dev/null || fail "npm not found"

# ---- the SDK generator, built once per Pulumi version and generator source
version="$(sed -nE 's/^pulumi==([0-9.]+).*/\1/p' requirements.txt)"
digest="$(sha256sum scripts/nodejs-sdk-gen/main.go | cut -c1-12)"
bindir="$cache/bin/nodejs-sdk-gen-$version-$digest"
generator="$bindir/nodejs-sdk-gen"
if [[ ! -x "$generator" ]]; then
  echo "== building the SDK generator (github.com/pulumi/pulumi/pkg/v3 v$version)"
  src="$cache/src/nodejs-sdk-gen-$version"
  mkdir -p "$src" "$bindir"
  cp scripts/nodejs-sdk-gen/main.go "$src/main.go"
  printf 'module apimgw.local/toolchain/nodejssdkgen\n\ngo 1.26\n\nrequire github.com/pulumi/pulumi/pkg/v3 v%s\n' \
    "$version" >"$src/go.mod"
  # The CLI's build resolved the same module graph: start from its go.sum when it exists.
  if [[ -f "$cache/src/pulumi-$version/go.sum" ]]; then cp "$cache/src/pulumi-$version/go.sum" "$src/go.sum"; fi
  (
    cd "$src"
    export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
    timeout "$step_timeout" go mod tidy
    timeout "$step_timeout" go build -p "${GO_BUILD_JOBS:-2}" -o "$generator.tmp" .
  ) || fail "could not build the SDK generator"
  mv "$generator.tmp" "$generator"
fi

# ---- the SDK, as `pulumi package add` would place it (sdks/<package>)
echo "== generating the TypeScript SDK from $(basename "$schema")"
rm -rf "$example/sdks"
timeout "$step_timeout" "$generator" "$schema" "$example/sdks/apim-gateway" || fail "SDK generation failed"

# ---- tsc and @pulumi/pulumi, pinned by examples/typescript/package-lock.json
cd "$example"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "== npm ci"
  timeout "$step_timeout" npm ci --no-audit --no-fund --ignore-scripts || fail "npm ci failed"
fi

echo "== tsc: examples/typescript/index.ts against the generated SDK"
timeout "$step_timeout" node_modules/.bin/tsc --noEmit -p . || fail "index.ts does not type-check"

echo "== tsc: a misspelt key must not type-check"
check="$example/.check"
rm -rf "$check"; mkdir -p "$check"
sed -e 's/locationData: {/locationDatum: {/' index.ts >"$check/index.ts"
sed -e 's#"sdks/apim-gateway"#"../sdks/apim-gateway"#' tsconfig.json >"$check/tsconfig.json"
if output="$(timeout "$step_timeout" node_modules/.bin/tsc --noEmit -p "$check" 2>&1)"; then
  fail "a consumer with the unknown key 'locationDatum' type-checked: the SDK types are too loose"
fi
grep -q "locationDatum" <<<"$output" || fail "tsc failed for another reason than the misspelt key: $output"
rm -rf "$check"

echo "PASS: typescript consumer type-checks against the SDK generated from the package schema"
