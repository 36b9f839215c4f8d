# SPDX-License-Identifier: MIT
# prometheus: registry, metrics and vectors, exposition (text 0.0.4,
# OpenMetrics, gzip), process metrics, collectors, request tracker.
goio_module_sources(
  buckets.c expose.c family.c format.c gzip.c labels.c names.c negotiate.c
  process.c reclaim.c registry.c sink.c tracker.c values.c vec.c http.c)
goio_module_deps(zlib)
