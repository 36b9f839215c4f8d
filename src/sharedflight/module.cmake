# SPDX-License-Identifier: MIT
# sharedflight: one execution per key, a shared result, shared cancellation.
goio_module_sources(group.c flight.c async.c)
# The cleanup handlers that publish a flight when fn ends its thread
# (pthread_exit, cancellation, a C++ exception) only run during unwinding
# when the code has unwind landing pads.
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/flight.c ${CMAKE_CURRENT_LIST_DIR}/async.c
  PROPERTIES COMPILE_OPTIONS -fexceptions)
