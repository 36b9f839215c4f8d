#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: bench/prometheus/run.sh [case...]
# Builds the Go anchor (client_golang 1.14, offline, from Debian's
# golang-github-prometheus-client-golang-dev) and runs bench_prometheus
# against it. Env: GOIO_ROOT, GOIO_BUILD (default build/release);
# GOIO_PROM_BENCH_OPS and GOIO_PROM_BENCH_EXPO size the runs (see
# bench_prometheus.c).
set -euo pipefail
root=${GOIO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GOIO_BUILD:-$root/build/release}
anchor=$build/bench/prometheus/anchor_prometheus
"$root/scripts/go-anchor" goio_bench_prometheus "$anchor"
GOIO_PROM_ANCHOR=$anchor exec "$build/bench/prometheus/bench_prometheus" "$@"
