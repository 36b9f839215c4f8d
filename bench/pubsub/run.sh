#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
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
# shellcheck source=../../scripts/lib/redis-server.sh
. "$root/scripts/lib/redis-server.sh"
trap 'redis_stop; rm -rf "$tmp"' EXIT
redis_start "$tmp" || exit 1
port=$redis_port

echo "# redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
GOIO_BENCH_PUBSUB_ENDPOINT=127.0.0.1:$port "$bench" "$@"
