#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The public HTTP-cache conformance suite (npm http-cache-tests 0.4.5, the
# suite behind cache-tests.fyi) against examples/cache-proxy:
#   conformance.sh PROXY_EXE WORK_DIR BASELINE_FILE
# Installs the suite into WORK_DIR when missing (skips, exit 77, when npm
# cannot reach the registry and CI is not "true"; fails in CI), starts its
# origin server and the proxy on free loopback ports, runs the suite
# through the proxy, prints the summary table and checks the baseline
# (conformance.mjs). Results: WORK_DIR/results.json, logs in WORK_DIR.
set -u
proxy_exe=$1 work=$2 baseline=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=$work/node_modules/http-cache-tests
version=0.4.5

skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "conformance: FAIL (CI=true): $1"
    exit 1
  fi
  echo "conformance: SKIPPED: $1"
  exit 77
}

command -v node >/dev/null || skip_or_fail "node is not installed"
mkdir -p "$work"
if ! grep -qs "\"version\": \"$version\"" "$suite/package.json"; then
  command -v npm >/dev/null || skip_or_fail "npm is not installed"
  echo "conformance: npm install http-cache-tests@$version into $work"
  if ! timeout 120 npm install --prefix "$work" --no-audit --no-fund \
    --no-save "http-cache-tests@$version" >"$work/npm-install.log" 2>&1; then
    tail -5 "$work/npm-install.log"
    skip_or_fail "npm install http-cache-tests@$version failed (registry unreachable?)"
  fi
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms until it
# succeeds or the deadline passes.
wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# The suite's origin (it listens on a port it is given): a free port, and
# another one if something took it in between.
origin_port=
for attempt in 1 2 3; do
  port=$(free_port)
  (cd "$suite" && exec env npm_config_protocol=http npm_config_port="$port" \
    npm_config_pidfile="$work/origin.pid" node server/server.mjs) \
    >"$work/origin.log" 2>&1 &
  opid=$!
  if wait_until 10 grep -q Listening "$work/origin.log"; then
    if kill -0 "$opid" 2>/dev/null; then
      pids+=("$opid")
      origin_port=$port
      break
    fi
  fi
  kill "$opid" 2>/dev/null
  wait "$opid" 2>/dev/null
done
[ -n "$origin_port" ] || { cat "$work/origin.log"; echo "conformance: FAIL: the suite's origin server did not start"; exit 1; }

rm -f "$work/proxy.port"
"$proxy_exe" --origin "http://127.0.0.1:$origin_port" --listen 127.0.0.1:0 \
  --port-file "$work/proxy.port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
if ! wait_until 10 test -s "$work/proxy.port"; then
  cat "$work/proxy.log"
  echo "conformance: FAIL: cache-proxy did not start"
  exit 1
fi
proxy_port=$(cat "$work/proxy.port")
echo "conformance: suite $version, origin :$origin_port, cache-proxy :$proxy_port"

timeout 110 node "$here/conformance.mjs" "$suite" "http://127.0.0.1:$proxy_port" \
  "$baseline" "$work/results.json"
rc=$?
[ $rc -eq 124 ] && echo "conformance: FAIL: the suite did not finish in 110 s"
# The proxy must stop cleanly on SIGTERM (a sanitizer report or a leak
# makes its exit code non-zero).
kill -TERM "$proxy_pid"
wait "$proxy_pid"
prc=$?
if [ $prc -ne 0 ]; then
  grep -v "^level=" "$work/proxy.log" | tail -40
  echo "conformance: FAIL: cache-proxy exited with $prc"
  rc=1
fi
exit $rc
