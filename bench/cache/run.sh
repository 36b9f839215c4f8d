#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/cache/run.sh [case...]
# Builds the go-cache anchor (offline, Debian's golang packages) and the
# Caffeine anchor (javac against Debian's libcaffeine-java) and runs
# bench_cache with them. Sizes: see the comment at the top of bench_cache.c.
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
anchor=$build/anchor_cache
"$root/scripts/go-anchor" goio_bench_cache "$anchor"
caffeine=$build/anchor_caffeine
mkdir -p "$caffeine"
javac -nowarn -d "$caffeine" -cp /usr/share/java/caffeine.jar \
  "$root/bench/anchors/java/CaffeineBench.java"
GOIO_CACHE_ANCHOR=$anchor GOIO_CACHE_CAFFEINE=$caffeine \
  exec "$build/bench/cache/bench_cache" "$@"
