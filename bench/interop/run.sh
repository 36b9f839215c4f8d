#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/interop/run.sh [case...]
# Builds the Go anchor (encoding/json only, offline) and runs bench_interop
# against it. Env: GOIO_ROOT, GOIO_BUILD (default build/release).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
anchor=$build/bench/interop/anchor_interop
(cd "$root/bench/interop/go" && GO111MODULE=off GOFLAGS= GOPROXY=off \
   GOCACHE=${GOCACHE:-$build/gocache} go build -o "$anchor" main.go)
GOIO_INTEROP_ANCHOR=$anchor exec "$build/bench/interop/bench_interop" "$@"
