#!/usr/bin/env bash
# usage: bench/redis/run.sh [case...]
# Starts a private redis-server on a free loopback port, builds the Go
# anchor (redigo Pool) offline and runs bench_redis against both.
#   GOIO_BUILD               build dir with bench/redis/bench_redis
#                            (default build/release)
#   GOIO_BENCH_REDIS_SECONDS seconds per side and case (default 1)
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
bench=$build/bench/redis/bench_redis
[ -x "$bench" ] || { echo "missing $bench (build with GOIO_BUILD_BENCH=ON)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-redis.XXXXXX")
# shellcheck source=../../scripts/lib/redis-server.sh
. "$root/scripts/lib/redis-server.sh"
trap 'redis_stop; rm -rf "$tmp"' EXIT
redis_start "$tmp" || exit 1
port=$redis_port

anchor=$tmp/anchor_redis
if ! "$root/scripts/go-anchor" goio_bench_redis "$anchor" >"$tmp/go.log" 2>&1; then
  echo "# Go anchor did not build (pool cases skipped):" >&2
  cat "$tmp/go.log" >&2
  anchor=
fi

echo "# redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
GOIO_BENCH_REDIS_ENDPOINT=127.0.0.1:$port GOIO_BENCH_REDIS_ANCHOR=$anchor \
  "$bench" "$@"
