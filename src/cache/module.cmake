# SPDX-License-Identifier: MIT
# cache: the interface, memory cache, stale-on-error, hybrid, get-or-set.
goio_module_sources(cache.c typed.c envelope.c stale.c hybrid.c memory.c
                    memory_table.c memory_policy.c memory_rcu.c)
