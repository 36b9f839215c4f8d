#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/redis/run.sh [case...]
# Starts a private redis-server on a free loopback port, builds the Go
# anchor (redigo Pool) offline, finds node-redis 4 (installed into the
# build dir by scripts/deps --bench; npm-installed here when missing) and
# runs bench_redis against them.
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

# The TLS cases: the same server cannot be given a TLS port after start,
# so a second one with certificates made here (EC P-256, like the tests).
tls_pid=
tls_endpoint= tls_ca=
tls_stop() { [ -z "$tls_pid" ] || { kill "$tls_pid" 2>/dev/null; wait "$tls_pid" 2>/dev/null; }; }
trap 'tls_stop; redis_stop; rm -rf "$tmp"' EXIT
if (cd "$tmp" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.crt -days 2 -subj /CN=bench-ca &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout s.key -out s.csr -subj /CN=127.0.0.1 &&
    printf 'subjectAltName=IP:127.0.0.1\n' >s.ext &&
    openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out s.crt -days 2 -extfile s.ext) >"$tmp/openssl.log" 2>&1; then
  mkdir -p "$tmp/tls"
  for attempt in $(seq 1 20); do
    tport=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && continue
    redis-server --port 0 --tls-port "$tport" --bind 127.0.0.1 --save '' \
      --appendonly no --dir "$tmp/tls" --tls-cert-file "$tmp/s.crt" \
      --tls-key-file "$tmp/s.key" --tls-ca-cert-file "$tmp/ca.crt" \
      --tls-auth-clients no >"$tmp/tls/redis.log" 2>&1 &
    tls_pid=$!
    for i in $(seq 1 100); do
      redis-cli --tls --cacert "$tmp/ca.crt" -p "$tport" PING >/dev/null 2>&1 &&
        { tls_endpoint=127.0.0.1:$tport; tls_ca=$tmp/ca.crt; break 2; }
      kill -0 "$tls_pid" 2>/dev/null || break
      sleep 0.05
    done
    tls_stop; tls_pid=
  done
fi
[ -n "$tls_endpoint" ] || echo "# no TLS redis-server (TLS cases skipped)" >&2
if [ -n "$tls_endpoint" ]; then
  # The key the GET cases read.
  redis-cli --tls --cacert "$tls_ca" -p "${tls_endpoint##*:}" \
    SET bench:k "$(printf 'x%.0s' $(seq 1 100))" PX 600000 >/dev/null
  redis-cli --tls --cacert "$tls_ca" -p "${tls_endpoint##*:}" \
    SET key:__rand_int__ "$(printf 'x%.0s' $(seq 1 100))" PX 600000 >/dev/null
fi

anchor=$tmp/anchor_redis
if ! "$root/scripts/go-anchor" goio_bench_redis "$anchor" >"$tmp/go.log" 2>&1; then
  echo "# Go anchor did not build (pool cases skipped):" >&2
  cat "$tmp/go.log" >&2
  anchor=
fi

# node-redis 4 (the _vs_node cases): <build>/node_modules/redis.
node_script=
if command -v node >/dev/null; then
  if [ ! -d "$build/node_modules/redis" ] && command -v npm >/dev/null; then
    (cd "$build" && npm install --no-audit --no-fund --silent redis@4) \
      >"$tmp/npm.log" 2>&1 || cat "$tmp/npm.log" >&2
  fi
  [ -d "$build/node_modules/redis" ] && node_script=$root/bench/redis/node_anchor.js
fi
[ -n "$node_script" ] || echo "# no node-redis 4 (the _vs_node cases skipped)" >&2

echo "# redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
NODE_PATH=$build/node_modules GOIO_BENCH_REDIS_NODE=$node_script \
  GOIO_BENCH_REDIS_ENDPOINT=127.0.0.1:$port GOIO_BENCH_REDIS_ANCHOR=$anchor \
  GOIO_BENCH_REDIS_TLS_ENDPOINT=$tls_endpoint GOIO_BENCH_REDIS_TLS_CA=$tls_ca \
  "$bench" "$@"
