#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/http_cache/run.sh [case...]
# 1. bench_http_cache (in-process cases: fresh hits vs plain libcurl,
#    304 revalidation vs a full 200), given the case names it knows.
# 2. examples/cache-proxy vs nginx proxy_cache on fresh hits, same origin
#    (an nginx static server with "expires 1h"), same objects, wrk with
#    GOIO_BENCH_HC_CONNS connections (default 50) for
#    GOIO_BENCH_HC_WRK_SECONDS (default 3) per side:
#      proxy_fresh_1k, proxy_fresh_64k   requests/s, ratio goio/nginx
#      proxy_fresh_1k_cpu, proxy_fresh_64k_cpu   CPU time (user + system)
#          of the serving process per request, us/req, ratio nginx/goio:
#          on a shared machine less disturbed by other load than req/s
#      proxy_304_1k, proxy_304_64k   304 revalidations: the origin's
#          /r/ objects carry an ETag, "Cache-Control: max-age=0" (for goio)
#          and "X-Accel-Expires: @1" (for nginx: an expiry in 1970, which
#          nginx takes over Cache-Control when it comes first; with
#          proxy_cache_revalidate on it stores the response and sends
#          If-None-Match on every request). wrk cycles through
#          GOIO_BENCH_HC_KEYS (default 256) URLs per thread (keys.lua), so
#          no two requests in flight share a URL: both caches send one
#          conditional request per client request (nothing to collapse).
#      proxy_304_one_1k   the same, all connections on one URL: goio
#          collapses concurrent revalidations of one response into one
#          origin request, nginx does not (proxy_cache_lock covers only
#          new entries; GOIO_BENCH_HC_NGINX_LOCK=on to see).
#    Every line reports the origin requests per client request of each
#    cache (goio_origin_per_req, anchor_origin_per_req; from the origin's
#    access log of /r/) and the share of them answered 304.
#    Each case runs GOIO_BENCH_HC_REPEAT times (default 5), goio and nginx
#    alternating; the figures are the medians. Both caches are warmed with
#    two requests first. nginx runs one worker (GOIO_BENCH_HC_NGINX_WORKERS),
#    the proxy its defaults plus GOIO_BENCH_HC_PROXY_ARGS (e.g.
#    "--workers 4").
# Environment: GOIO_BUILD (default build/release).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
prog=$build/bench/http_cache/bench_http_cache
proxy=$build/examples/cache-proxy/cache-proxy
secs=${GOIO_BENCH_HC_WRK_SECONDS:-3}
conns=${GOIO_BENCH_HC_CONNS:-50}
repeat=${GOIO_BENCH_HC_REPEAT:-5}
nkeys=${GOIO_BENCH_HC_KEYS:-256}
read -r -a proxy_args <<<"${GOIO_BENCH_HC_PROXY_ARGS:-}"
cases=("$@")
proxy_cases=() prog_cases=()
for c in "${cases[@]}"; do
  case $c in proxy_*) proxy_cases+=("$c") ;; *) prog_cases+=("$c") ;; esac
done
if ((${#cases[@]} == 0)); then
  proxy_cases=(proxy_fresh_1k proxy_fresh_64k proxy_304_1k proxy_304_64k)
  "$prog"
elif ((${#prog_cases[@]})); then
  "$prog" "${prog_cases[@]}"
fi
((${#proxy_cases[@]})) || exit 0
[ -x "$proxy" ] || { echo "missing $proxy" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goio-bench-hc.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 200); do port_busy "$1" && return 0; sleep 0.05; done; return 1; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range
    port_busy "$p" || { echo "$p"; return; }
  done
  return 1
}

mkdir -p "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k"
head -c 65536 /dev/urandom >"$tmp/www/64k"
origin_port=$(free_port)
nginx_port=$(free_port)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$tmp/nginx.conf" <<CONF
$user_line
worker_processes ${GOIO_BENCH_HC_NGINX_WORKERS:-1};
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  log_format rev "\$status \$uri";
  keepalive_requests 1000000;
  client_body_temp_path $tmp/cb;
  proxy_temp_path $tmp/px;
  fastcgi_temp_path $tmp/fc;
  uwsgi_temp_path $tmp/uw;
  scgi_temp_path $tmp/sc;
  types { }
  default_type application/octet-stream;
  proxy_cache_path $tmp/cache keys_zone=c:10m;
  # idle origin connections kept: at least one per client connection, or
  # nginx opens and closes origin connections on 304s (keepalive 32 with 50
  # connections left ~2,800 in TIME-WAIT per 3 s run)
  upstream origin { server 127.0.0.1:$origin_port; keepalive $((conns > 32 ? conns : 32)); }
  server {
    listen 127.0.0.1:$origin_port;
    root $tmp/www;
    expires 1h;
    location /r/ {
      alias $tmp/www/;
      expires off;
      add_header X-Accel-Expires "@1";
      add_header Cache-Control "max-age=0";
      access_log $tmp/origin.log rev buffer=64k flush=100ms;
    }
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_revalidate on;
      proxy_cache_lock ${GOIO_BENCH_HC_NGINX_LOCK:-off};
    }
  }
}
CONF
nginx -c "$tmp/nginx.conf" 2>"$tmp/nginx.out" &
pids+=($!)
wait_port "$nginx_port" || { cat "$tmp/nginx.out" "$tmp/nginx.err" >&2; exit 1; }
wait_port "$origin_port"
"$proxy" --origin "http://127.0.0.1:$origin_port" --listen 127.0.0.1:0 \
  --port-file "$tmp/goio.port" "${proxy_args[@]}" >"$tmp/goio.log" 2>&1 &
goio_pid=$!
pids+=($goio_pid)
nginx_worker=$(ps -o pid= --ppid "$(cat "$tmp/nginx.pid")" | head -1 | tr -d ' ')
for _ in $(seq 1 200); do [ -s "$tmp/goio.port" ] && break; sleep 0.05; done
goio_port=$(cat "$tmp/goio.port")
wait_port "$goio_port"

tick=$(getconf CLK_TCK)
cpu_ticks() { # pid -> utime + stime
  local f
  read -r -a f <"/proc/$1/stat"
  echo $((f[13] + f[14]))
}
log_lines() { # origin requests logged so far (lines of origin.log)
  sleep 0.3 # the origin's access log is flushed every 100 ms
  if [ -f "$tmp/origin.log" ]; then
    awk '{ n++ } $1 == 304 { m++ } END { print n + 0, m + 0 }' "$tmp/origin.log"
  else
    echo 0 0
  fi
}
measure() { # url pid [path nkeys] -> "req/s us-of-CPU-per-request
  #   origin-requests-per-request share-of-them-answered-304"
  # With path and nkeys, wrk requests nkeys URLs per thread (keys.lua)
  # and a 1 s wrk run warms them first; else two curls warm the url.
  local a b l0 l1 out wrk_args=()
  if (($# > 2)); then
    wrk_args=(-s "$root/bench/http_cache/keys.lua" "$1" -- "$3" "$4")
    wrk -t2 -c"$conns" -d1s "${wrk_args[@]}" >/dev/null
  else
    wrk_args=("$1")
    curl -s -o /dev/null "$1"
    curl -s -o /dev/null "$1"
  fi
  read -r -a l0 <<<"$(log_lines)"
  a=$(cpu_ticks "$2")
  out=$(wrk -t2 -c"$conns" -d"${secs}s" "${wrk_args[@]}")
  b=$(cpu_ticks "$2")
  read -r -a l1 <<<"$(log_lines)"
  echo "$out" | awk -v a="$a" -v b="$b" -v t="$tick" -v o=$((l1[0] - l0[0])) \
    -v m=$((l1[1] - l0[1])) '
    /requests in/ { n = $1 }
    /^Requests\/sec/ { r = $2 }
    END { printf "%s %.1f %.3f %.3f\n", r, (n > 0 ? (b - a) / t * 1e6 / n : 0),
                 (n > 0 ? o / n : 0), (o > 0 ? m / o : 0) }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for c in "${proxy_cases[@]}"; do
  keys=()
  case $c in
  proxy_fresh_1k) obj=1k ;;
  proxy_fresh_64k) obj=64k ;;
  proxy_304_1k) obj=r/1k keys=(/r/1k "$nkeys") ;;
  proxy_304_64k) obj=r/64k keys=(/r/64k "$nkeys") ;;
  proxy_304_one_1k) obj=r/1k ;;
  *) echo "unknown case $c" >&2; continue ;;
  esac
  : >"$tmp/g" && : >"$tmp/n"
  for _ in $(seq 1 "$repeat"); do
    measure "http://127.0.0.1:$goio_port/$obj" "$goio_pid" "${keys[@]}" >>"$tmp/g"
    measure "http://127.0.0.1:$nginx_port/$obj" "$nginx_worker" "${keys[@]}" >>"$tmp/n"
  done
  g=$(cut -d' ' -f1 "$tmp/g" | median) n=$(cut -d' ' -f1 "$tmp/n" | median)
  gc=$(cut -d' ' -f2 "$tmp/g" | median) nc=$(cut -d' ' -f2 "$tmp/n" | median)
  ratio=$(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? g / n : 0) }')
  cratio=$(awk -v g="$gc" -v n="$nc" 'BEGIN { printf "%.2f", (g > 0 ? n / g : 0) }')
  # origin requests per client request, and the share of them answered 304
  go=$(cut -d' ' -f3 "$tmp/g" | median) no=$(cut -d' ' -f3 "$tmp/n" | median)
  g3=$(cut -d' ' -f4 "$tmp/g" | median) n3=$(cut -d' ' -f4 "$tmp/n" | median)
  echo "BENCH $c goio=$g anchor=$n unit=req/s ratio=$ratio conns=$conns runs=$repeat anchor_name=nginx-proxy_cache goio_origin_per_req=$go anchor_origin_per_req=$no goio_origin_304=$g3 anchor_origin_304=$n3 goio_runs=$(cut -d' ' -f1 "$tmp/g" | tr '\n' ',') anchor_runs=$(cut -d' ' -f1 "$tmp/n" | tr '\n' ',')"
  echo "BENCH ${c}_cpu goio=$gc anchor=$nc unit=us/req ratio=$cratio runs=$repeat anchor_name=nginx-proxy_cache"
done
