#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/interop/run_wire.sh [case...]
# go-io wire mode against go-io itself: starts a private redis-server,
# builds the Go peer (tests/interop/go/goio_wire_peer, from ../shared/peers,
# offline) and runs bench_wire. Env: GOIO_ROOT, GOIO_BUILD (default
# build/release), GOIO_PEERS_DIR (default ../shared/peers beside the root).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
bench=$build/bench/interop/bench_wire
[ -x "$bench" ] || { echo "missing $bench (build with GOIO_BUILD_BENCH=ON)" >&2; exit 1; }
peers=${GOIO_PEERS_DIR:-$root/../shared/peers}
[ -d "$peers" ] || peers=$root/../../shared/peers

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-wire.XXXXXX")
# shellcheck source=../../scripts/lib/redis-server.sh
. "$root/scripts/lib/redis-server.sh"
trap 'redis_stop; rm -rf "$tmp"' EXIT
redis_start "$tmp" || exit 1

out=$build/bench/interop/go
"$root/tests/interop/build_go_peer.sh" "$peers" "$root/tests/interop" "$out" >&2
echo "# redis-server on 127.0.0.1:$redis_port; go-io from $peers"
GOIO_BENCH_REDIS_ENDPOINT=127.0.0.1:$redis_port \
  GOIO_WIRE_PEER=$out/bin/goio_wire_peer "$bench" "$@"
