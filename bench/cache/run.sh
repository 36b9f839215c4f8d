#!/usr/bin/env bash
# usage: bench/cache/run.sh [case...]
# Builds the go-cache anchor (offline, Debian's golang packages) and runs
# bench_cache with it. Sizes: see the comment at the top of bench_cache.c.
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
anchor=$build/anchor_cache
"$root/scripts/go-anchor" goio_bench_cache "$anchor"
GOIO_CACHE_ANCHOR=$anchor exec "$build/bench/cache/bench_cache" "$@"
