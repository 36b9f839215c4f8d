#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_headers.sh CC CXX INCLUDE_DIR
# Compiles each include/goio/*.h on its own in C11 and C++17.
set -u
cc=$1 cxx=$2 inc=$3
failed=0 count=0
for h in "$inc"/goio/*.h; do
  name=goio/$(basename "$h")
  count=$((count + 1))
  for lang in c c++; do
    if [ $lang = c ]; then comp=$cc std=-std=c11; else comp=$cxx std=-std=c++17; fi
    if ! printf '#include <%s>\n#include <%s>\n' "$name" "$name" |
        "$comp" -x $lang $std -Wall -Wextra -Werror -pedantic -Wno-variadic-macros \
          -I"$inc" -fsyntax-only - ; then
      echo "FAIL: $name does not compile alone as $lang" >&2
      failed=1
    fi
  done
done
echo "checked $count headers"
[ "$count" -gt 0 ] && [ $failed -eq 0 ]
