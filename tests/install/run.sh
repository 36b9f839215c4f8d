#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: run.sh BUILD_DIR CONSUMER_SRC WORK_DIR CC  (CFLAGS/LDFLAGS honoured)
set -eu
build=$1 src=$2 work=$3/install-test cc=$4
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
test -f "$work/prefix/share/doc/goio/LICENSE" || { echo "LICENSE not installed"; exit 1; }

echo "== find_package(goio)"
cmake -S "$src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_C_COMPILER="$cc" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer"

echo "== pkg-config goio"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
for d in "$work"/prefix/lib/*/pkgconfig; do
  [ -d "$d" ] && PKG_CONFIG_PATH="$d:$PKG_CONFIG_PATH"
done
# shellcheck disable=SC2046
"$cc" ${CFLAGS:-} -o "$work/pc-consumer" "$src/main.c" \
      $(pkg-config --cflags --libs goio) ${LDFLAGS:-}
"$work/pc-consumer"
