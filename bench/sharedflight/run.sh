#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/sharedflight/run.sh [case...]
# Builds the Go anchor (golang.org/x/sync/singleflight, offline, Debian's
# golang-golang-x-sync-dev) and runs bench_sharedflight against it.
# Env: GOIO_ROOT, GOIO_BUILD (default build/release); SF_BENCH_* knobs
# are described in bench_sharedflight.c.
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
anchor=$build/bench/sharedflight/anchor_sharedflight
"$root/scripts/go-anchor" goio_bench_sharedflight "$anchor"
GOIO_SF_ANCHOR=$anchor exec "$build/bench/sharedflight/bench_sharedflight" "$@"
