#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/interop/run_coherent.sh [case...]
# A coherent cache publishing bare keys (go-io's invalidation format):
# starts a private redis-server and runs bench_coherent. Env: GOIO_ROOT,
# GOIO_BUILD (default build/release).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
bench=$build/bench/interop/bench_coherent
[ -x "$bench" ] || { echo "missing $bench (build with GOIO_BUILD_BENCH=ON)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-coherent.XXXXXX")
# shellcheck source=../../scripts/lib/redis-server.sh
. "$root/scripts/lib/redis-server.sh"
trap 'redis_stop; rm -rf "$tmp"' EXIT
redis_start "$tmp" || exit 1
echo "# redis-server on 127.0.0.1:$redis_port"
GOIO_BENCH_REDIS_ENDPOINT=127.0.0.1:$redis_port "$bench" "$@"
