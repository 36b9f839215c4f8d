#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/cache-proxy lends cached bodies to goio's server without a copy
# (goio_http_response_write_borrowed, released by freeing the cache
# response). Through the proxy, with nginx as the origin and curl as the
# client (both real, neither goio):
#   proxy_bodies.sh PROXY_EXE WORK_DIR
# misses and hits of 1 KiB, 64 KiB (copied) and 4 MiB (lent) bodies arrive
# intact, HEAD has no body, clients that leave mid-body or read slowly do
# not disturb the next ones, and SIGTERM with a slow client in flight
# exits 0 (under asan: no leak, no use after free of a released body).
# Skips (77) without nginx or curl.
set -u
proxy_exe=$1 work=$2
command -v nginx >/dev/null || { echo "proxy_bodies: SKIPPED: no nginx"; exit 77; }
command -v curl >/dev/null || { echo "proxy_bodies: SKIPPED: no curl"; exit 77; }
rm -rf "$work"
mkdir -p "$work/www"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
fail() { echo "proxy_bodies: FAIL: $*"; exit 1; }

wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    port_busy "$p" || { echo "$p"; return; }
  done
  return 1
}

head -c 1024 /dev/urandom >"$work/www/1k"
head -c 65536 /dev/urandom >"$work/www/64k"
head -c 4194304 /dev/urandom >"$work/www/4m"
head -c 33554432 /dev/urandom >"$work/www/32m" # beyond socket buffers
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
# A random port may be a client connection's local port by the time nginx
# binds it (a busy machine): another port then.
started=false
for _ in 1 2 3 4 5; do
  origin_port=$(free_port) || fail "no free port"
cat >"$work/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/cb;
  proxy_temp_path $work/px;
  fastcgi_temp_path $work/fc;
  uwsgi_temp_path $work/uw;
  scgi_temp_path $work/sc;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$origin_port;
    root $work/www;
    expires 1h;
  }
}
CONF
nginx -c "$work/nginx.conf" >"$work/nginx.out" 2>&1 &
nginx_pid=$!
# up, or gone (nginx gives up binding after a few tries)
wait_until 10 eval 'port_busy "$origin_port" || ! kill -0 "$nginx_pid"'
if port_busy "$origin_port"; then
  pids+=("$nginx_pid")
  started=true
  break
fi
kill "$nginx_pid" 2>/dev/null
wait "$nginx_pid" 2>/dev/null
done
$started || { cat "$work/nginx.out" "$work/nginx.err"; fail "nginx did not start"; }

"$proxy_exe" --origin "http://127.0.0.1:$origin_port" --listen 127.0.0.1:0 \
  --port-file "$work/proxy.port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_until 10 test -s "$work/proxy.port" || { cat "$work/proxy.log"; fail "cache-proxy did not start"; }
base="http://127.0.0.1:$(cat "$work/proxy.port")"

for obj in 1k 64k 4m; do
  for i in 1 2 3; do # a miss, then hits
    curl -sS -m 20 -o "$work/got" "$base/$obj" || fail "curl $obj $i"
    cmp -s "$work/got" "$work/www/$obj" || fail "$obj body $i differs"
  done
done
# several hits on one keep-alive connection
curl -sS -m 20 -o "$work/a" "$base/64k" -o "$work/b" "$base/4m" \
  -o "$work/c" "$base/64k" || fail "keep-alive"
cmp -s "$work/a" "$work/www/64k" && cmp -s "$work/b" "$work/www/4m" &&
  cmp -s "$work/c" "$work/www/64k" || fail "keep-alive bodies differ"
# HEAD: the length, no body
curl -sS -m 10 -I "$base/4m" >"$work/head" || fail "HEAD"
grep -qi '^content-length: 4194304' "$work/head" || fail "HEAD length: $(cat "$work/head")"
# clients that leave mid-body: after 1 KiB, and on a timeout while slow
for i in 1 2 3 4 5; do
  curl -sS -m 20 "$base/4m" 2>/dev/null | head -c 1000 >/dev/null
  curl -sS -m 0.5 --limit-rate 100k -o /dev/null "$base/4m" 2>/dev/null
done
curl -sS -m 20 -o "$work/got" "$base/4m" || fail "after the clients left"
cmp -s "$work/got" "$work/www/4m" || fail "4m differs after the clients left"
# a slow reader gets every byte
curl -sS -m 30 --limit-rate 2m -o "$work/got" "$base/4m" || fail "slow reader"
cmp -s "$work/got" "$work/www/4m" || fail "slow reader's body differs"

# SIGTERM with a slow client of a hit in flight (32 MiB at 1 MiB/s: the
# server still holds lent bytes when its stop aborts the response after
# 5 s): exit 0, the client sees the body cut
curl -sS -m 60 -o "$work/got" "$base/32m" || fail "32m miss"
cmp -s "$work/got" "$work/www/32m" || fail "32m differs"
rm -f "$work/slow"
curl -sS -m 30 --limit-rate 1m -o "$work/slow" "$base/32m" 2>/dev/null &
slow=$!
# the body is on its way (the client reads for 30 s: any moment inside)
wait_until 10 test -s "$work/slow" || fail "the slow client got nothing"
kill -TERM "$proxy_pid"
wait "$proxy_pid"
prc=$?
wait "$slow"
src=$?
[ $src -eq 18 ] || fail "the slow client of 32m ended with $src, not 18 (cut)"
[ $prc -eq 0 ] || { tail -30 "$work/proxy.log"; fail "cache-proxy exited with $prc"; }
echo "proxy_bodies: OK"
