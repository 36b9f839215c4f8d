# SPDX-License-Identifier: MIT
# Pub/sub (include/goio/pubsub.h): the handle, its libuv loop thread and
# coherent local caches. Included by module.cmake.
goio_module_sources(pubsub.c pubsub_loop.c pubsub_registry.c
                    pubsub_coherence.c)
goio_module_deps(libuv)
