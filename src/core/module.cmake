# SPDX-License-Identifier: MIT
# core: errors, logging, allocator, goio_buf, goio_ctx, clocks.
goio_module_sources(alloc.c buf.c clock.c ctx.c errors.c hash.c log.c)
