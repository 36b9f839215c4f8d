#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/cache-proxy relays an origin's 103 Early Hints and its reason
# phrase to a real client, and answers /metrics by default:
#   proxy_interim.sh PROXY_EXE WORK_DIR
# The origin is Node's http server (response.writeEarlyHints), the client
# curl; both real, neither goio. Skips (77) without node or curl.
set -u
proxy_exe=$1 work=$2
command -v node >/dev/null || { echo "proxy_interim: SKIPPED: no node"; exit 77; }
command -v curl >/dev/null || { echo "proxy_interim: SKIPPED: no curl"; exit 77; }
mkdir -p "$work"
rm -f "$work/origin.port" "$work/proxy.port" "$work/origin.count"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

node -e '
const http = require("http"), fs = require("fs");
let n = 0;
const s = http.createServer((req, res) => {
  n++;
  fs.writeFileSync(process.argv[1] + "/origin.count", String(n));
  res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
  res.setHeader("Cache-Control", "max-age=60");
  res.statusMessage = "Fine Thanks";
  res.end("hello " + n + "\n");
});
s.listen(0, "127.0.0.1", () =>
  fs.writeFileSync(process.argv[1] + "/origin.port", String(s.address().port)));
' "$work" >"$work/origin.log" 2>&1 &
pids+=($!)
wait_until 10 test -s "$work/origin.port" || { cat "$work/origin.log"; echo "proxy_interim: FAIL: origin did not start"; exit 1; }

"$proxy_exe" --origin "http://127.0.0.1:$(cat "$work/origin.port")" \
  --listen 127.0.0.1:0 --port-file "$work/proxy.port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_until 10 test -s "$work/proxy.port" || { cat "$work/proxy.log"; echo "proxy_interim: FAIL: cache-proxy did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$work/proxy.port")/page"

fail() { echo "proxy_interim: FAIL: $*"; exit 1; }
# 1: a miss, the origin's 103 arrives ahead of the 200
curl -sS -m 10 -v "$url" >"$work/body1" 2>"$work/curl1" || fail "curl 1"
grep "^< " "$work/curl1"
grep -q '^< HTTP/1.1 103' "$work/curl1" || fail "no 103 relayed"
grep -qi '^< link: </style.css>; rel=preload; as=style' "$work/curl1" || fail "103 without its Link"
[ "$(grep -c '^< HTTP/1.1 ' "$work/curl1")" = 2 ] || fail "not one 103 and one final"
grep -q '^< HTTP/1.1 200 Fine Thanks' "$work/curl1" || fail "no final 200 with the origin's reason phrase"
[ "$(cat "$work/body1")" = "hello 1" ] || fail "body 1: $(cat "$work/body1")"
# 2: from the cache: the 200 alone
curl -sS -m 10 -v "$url" >"$work/body2" 2>"$work/curl2" || fail "curl 2"
grep -q '^< HTTP/1.1 103' "$work/curl2" && fail "a 103 on a cache hit"
[ "$(cat "$work/body2")" = "hello 1" ] || fail "body 2: $(cat "$work/body2")"
[ "$(cat "$work/origin.count")" = 1 ] || fail "origin saw $(cat "$work/origin.count") requests"
# 3: /metrics is answered by the proxy by default (not passed to the origin)
curl -sS -m 10 "${url%/page}/metrics" >"$work/metrics" || fail "curl metrics"
grep -q '^cache_proxy_responses_total{served="hit"} 1' "$work/metrics" ||
  fail "no metrics by default: $(head -c 200 "$work/metrics")"
[ "$(cat "$work/origin.count")" = 1 ] || fail "/metrics went to the origin"

kill -TERM "$proxy_pid"
wait "$proxy_pid"
prc=$?
[ $prc -eq 0 ] || { tail -20 "$work/proxy.log"; fail "cache-proxy exited with $prc"; }
echo "proxy_interim: OK"
