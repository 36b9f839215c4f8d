# SPDX-License-Identifier: MIT
# reflext: type descriptors and checked assignment.
goio_module_sources(reflext.c builtin_types.c json_enc.c json_dec.c json_time.c
                    json_envelope.c)
