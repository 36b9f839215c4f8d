#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/http/run.sh [chunked_1gib] [small_rps] [small_rps_under_attack]
# goio's server vs nginx (Debian, sendfile) on 127.0.0.1, both started
# here on free ports, serving the same bytes: goio renders a generated
# source through goio_http_render_chunked (64 KiB chunks), nginx sends a
# static file of those bytes.
#   chunked_1gib  curl downloads the body to /dev/null; MiB/s, best of
#                 GOIO_BENCH_HTTP_RUNS (default 3)
#   small_rps     wrk requests/s for a 13-byte body, GOIO_BENCH_HTTP_SECONDS
#                 (default 3) per side, GOIO_BENCH_HTTP_CONNS (default 50)
#   small_rps_under_attack
#                 goio's small_rps while `bench_http attack` holds 1,000
#                 slowloris connections and 64 slow readers of /big
#                 (1 KiB/s) on it; anchor: goio's small_rps without them
#                 (same run), so ratio = the share of throughput kept
# Environment: GOIO_BUILD (default build/release),
#   GOIO_BENCH_HTTP_BYTES (default 1073741824; the case keeps its name),
#   GOIO_BENCH_HTTP_WORKERS (goio worker threads, default 4),
#   GOIO_BENCH_HTTP_NGINX_WORKERS (default auto).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
bench=$build/bench/http/bench_http
[ -x "$bench" ] || { echo "missing $bench (build with GOIO_BUILD_BENCH=ON)" >&2; exit 1; }
bytes=${GOIO_BENCH_HTTP_BYTES:-1073741824}
runs=${GOIO_BENCH_HTTP_RUNS:-3}
secs=${GOIO_BENCH_HTTP_SECONDS:-3}
conns=${GOIO_BENCH_HTTP_CONNS:-50}
cases=("$@")
((${#cases[@]})) || cases=(chunked_1gib small_rps small_rps_under_attack)
want() { local c; for c in "${cases[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-http.XXXXXX")
goio_pid= nginx_pid= attack_pid=
cleanup() {
  [ -n "$attack_pid" ] && { exec 4>&-; wait "$attack_pid" 2>/dev/null; }
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [ -n "$goio_pid" ] && { exec 3>&-; wait "$goio_pid" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 200); do port_busy "$1" && return 0; sleep 0.05; done; return 1; }

# goio: reads its stdin until closed, so closing fd 3 stops it.
mkfifo "$tmp/ctl"
"$bench" serve <"$tmp/ctl" >"$tmp/goio.port" 2>"$tmp/goio.log" &
goio_pid=$!
exec 3>"$tmp/ctl"
for _ in $(seq 1 200); do [ -s "$tmp/goio.port" ] && break; sleep 0.05; done
goio_port=$(head -n1 "$tmp/goio.port")
wait_port "$goio_port" || { echo "goio server did not start" >&2; cat "$tmp/goio.log" >&2; exit 1; }

# nginx: the same bytes as files.
mkdir -p "$tmp/www"
"$bench" write-file "$tmp/www/big" "$bytes"
printf 'Hello, World!' >"$tmp/www/small"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
for attempt in $(seq 1 20); do
  nginx_port=$((20000 + RANDOM % 30000))
  port_busy "$nginx_port" && continue
  cat >"$tmp/nginx.conf" <<CONF
$user_line
worker_processes ${GOIO_BENCH_HTTP_NGINX_WORKERS:-auto};
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/cb;
  proxy_temp_path $tmp/px;
  fastcgi_temp_path $tmp/fc;
  uwsgi_temp_path $tmp/uw;
  scgi_temp_path $tmp/sc;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
  }
}
CONF
  nginx -c "$tmp/nginx.conf" -p "$tmp" >"$tmp/nginx.out" 2>&1 &
  nginx_pid=$!
  wait_port "$nginx_port" && break
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
done
[ -n "$nginx_pid" ] || { echo "could not start nginx" >&2; cat "$tmp/nginx.err" >&2 || true; exit 1; }
echo "# goio on :$goio_port, $(nginx -v 2>&1 | sed 's/.*: //') on :$nginx_port, body $bytes bytes"

# Best MiB/s of $runs curl downloads; also checks the size.
download() {
  local url=$1 best=0 out
  for _ in $(seq 1 "$runs"); do
    out=$(curl -s -o /dev/null -w '%{size_download} %{speed_download}' "$url")
    [ "${out% *}" = "$bytes" ] || { echo "size mismatch from $url: $out" >&2; exit 1; }
    best=$(awk -v a="$best" -v b="${out#* }" 'BEGIN { print (b > a) ? b : a }')
  done
  awk -v s="$best" 'BEGIN { printf "%.1f", s / 1048576 }'
}

rps() {
  wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/^Requests\/sec:/ { print $2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

if want chunked_1gib; then
  g=$(download "http://127.0.0.1:$goio_port/big?n=$bytes")
  n=$(download "http://127.0.0.1:$nginx_port/big")
  echo "BENCH chunked_1gib goio=$g anchor=$n unit=MiB/s ratio=$(ratio "$g" "$n") bytes=$bytes runs=$runs chunk=64KiB"
fi
small_goio=
if want small_rps; then
  small_goio=$(rps "http://127.0.0.1:$goio_port/small")
  n=$(rps "http://127.0.0.1:$nginx_port/small")
  echo "BENCH small_rps goio=$small_goio anchor=$n unit=req/s ratio=$(ratio "$small_goio" "$n") conns=$conns seconds=$secs"
fi
if want small_rps_under_attack; then
  [ -n "$small_goio" ] || small_goio=$(rps "http://127.0.0.1:$goio_port/small")
  mkfifo "$tmp/attack_ctl"
  "$bench" attack "$goio_port" "${GOIO_BENCH_HTTP_SLOWLORIS:-1000}" "${GOIO_BENCH_HTTP_SLOW_READERS:-64}" <"$tmp/attack_ctl" >"$tmp/attack.out" 2>"$tmp/attack.log" &
  attack_pid=$!
  exec 4>"$tmp/attack_ctl"
  for _ in $(seq 1 200); do grep -q attached "$tmp/attack.out" 2>/dev/null && break; sleep 0.05; done
  sleep 1 # the slow readers' streams fill their queues and block
  a=$(rps "http://127.0.0.1:$goio_port/small")
  exec 4>&-
  wait "$attack_pid" 2>/dev/null || true
  attack_pid=
  echo "BENCH small_rps_under_attack goio=$a anchor=$small_goio unit=req/s ratio=$(ratio "$a" "$small_goio") conns=$conns seconds=$secs slowloris=${GOIO_BENCH_HTTP_SLOWLORIS:-1000} slow_readers=${GOIO_BENCH_HTTP_SLOW_READERS:-64} $(cat "$tmp/attack.log" | tr ' ' '_')"
fi
