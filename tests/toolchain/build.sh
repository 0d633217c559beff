#!/usr/bin/env bash
# Builds the Pulumi toolchain the tests run, from the Go module proxy only, into a cache outside the
# checkout keyed by what it builds, and prints the directory that holds it (on stdout, last line):
#   pulumi                         the real CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python         our stand-in for the real Python language host (languagehost/:
#                                  the proxy refuses the real one's module), running the real
#   pulumi-language-python-exec    exec script from the sdk/v3 module at the same release
# A warm run (same go.mod, go.sum, sources and Go) builds nothing. Progress goes to stderr.
# Usage: tests/toolchain/build.sh [cache root, default /var/cache/flink-swarm-toolchain]
set -euo pipefail
cd "$(dirname "$0")"

cache_root=${1:-/var/cache/flink-swarm-toolchain}
command -v go >/dev/null || { echo "build.sh: needs Go 1.26 or newer on PATH (https://go.dev/doc/install)" >&2; exit 1; }
release=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' go.mod)
[ -n "$release" ] || { echo "build.sh: go.mod requires no github.com/pulumi/pulumi/pkg/v3" >&2; exit 1; }

key=$( { go version; sha256sum build.sh go.mod go.sum tools.go languagehost/*.go; } | sha256sum | cut -c1-16)
out="$cache_root/$release-$key"
if [ -x "$out/pulumi" ] && [ -x "$out/pulumi-language-python" ] && [ -f "$out/pulumi-language-python-exec" ]; then
  echo "toolchain: cached in $out" >&2
  echo "$out"
  exit 0
fi

start=$(date +%s)
mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
echo "toolchain: building pulumi $release (about 10 minutes on 2 cores when the module cache is cold)" >&2
go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$release" \
  -o "$tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
go build -trimpath -ldflags "-s -w" -o "$tmp/pulumi-language-python" ./languagehost
sdk=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$tmp/pulumi-language-python-exec"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "toolchain: built in $(( $(date +%s) - start )) s into $out" >&2
echo "$out"
