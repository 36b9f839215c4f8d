#!/usr/bin/env bash
# usage: bench/pubsub/run.sh [case...]
# Starts a private redis-server on a free loopback port and runs
# bench_pubsub (one_sub, hundred_subs, latency) against it.
#   GOIO_BUILD                 build dir with bench/pubsub/bench_pubsub
#                              (default build/release)
#   GOIO_BENCH_PUBSUB_MSGS     messages per throughput run (default 200000)
#   GOIO_BENCH_PUBSUB_SIZE     payload bytes (default 32)
#   GOIO_BENCH_PUBSUB_SAMPLES  latency samples (default 2000)
#   GOIO_BENCH_PUBSUB_ROUNDS   rounds per side, best kept (default 3)
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
bench=$build/bench/pubsub/bench_pubsub
[ -x "$bench" ] || { echo "missing $bench (build with GOIO_BUILD_BENCH=ON)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-pubsub.XXXXXX")
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free port: try random ones until redis-server comes up on one.
for attempt in $(seq 1 20); do
  port=$((20000 + RANDOM % 30000))
  port_busy "$port" && continue
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp" --protected-mode no >"$tmp/redis.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
done
[ -n "$server" ] || { echo "could not start redis-server" >&2; exit 1; }

echo "# redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
GOIO_BENCH_PUBSUB_ENDPOINT=127.0.0.1:$port "$bench" "$@"
