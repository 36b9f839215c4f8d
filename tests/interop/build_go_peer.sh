#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Go programs under tests/interop/go/ against go-io from the
# peers folder, in a private GOPATH, offline (Debian's Go, GOPATH mode).
#   build_go_peer.sh <peers dir> <source dir> <out dir>
# Exit 77 (ctest: skipped) when Go or the go-io tarball is absent, unless
# CI=true, where that is a failure.
set -euo pipefail
peers=$1 src=$2 out=$3

skip() {
  if [ "${CI:-}" = true ]; then
    echo "interop: FAIL (CI): $*" >&2
    exit 1
  fi
  echo "interop: SKIPPED: $* (install golang-go: scripts/deps; set -DGOIO_PEERS_DIR=<dir with go-io-*.tar.gz>)"
  exit 77
}

command -v go >/dev/null || skip "no 'go' in PATH"
tarball=$(ls "$peers"/go-io-*.tar.gz 2>/dev/null | head -n1 || true)
[ -n "$tarball" ] || skip "no go-io-*.tar.gz in $peers"

gopath=$out/gopath
tree=$gopath/src/github.com/vtex/go-io
stamp=$gopath/.extracted-$(basename "$tarball")
if [ ! -e "$stamp" ]; then
  rm -rf "$gopath/src"
  mkdir -p "$gopath/src/github.com/vtex"
  tar -xzf "$tarball" -C "$gopath/src/github.com/vtex"
  touch "$stamp"
fi
mkdir -p "$out/bin"
for dir in "$src"/go/*/; do
  name=$(basename "$dir")
  rm -rf "$tree/cmd/$name"
  mkdir -p "$tree/cmd/$name"
  cp "$dir"/*.go "$tree/cmd/$name/"
  (cd "$tree" && GOPATH=$gopath GO111MODULE=off GOFLAGS= GOPROXY=off \
     GOCACHE=$out/gocache go build -o "$out/bin/$name" "./cmd/$name")
done
echo "interop: built $(ls "$out/bin" | tr '\n' ' ')with $(go version)"
