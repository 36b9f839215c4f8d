# SPDX-License-Identifier: MIT
# Helpers modules use from their src/<module>/module.cmake.
include_guard(GLOBAL)

# Warnings for goio's own targets; never exported to users.
function(goio_project_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wno-missing-field-initializers>)
endfunction()

# goio_module_sources(<file>...) adds a module's sources (relative to the
# calling module.cmake) to libgoio.a.
macro(goio_module_sources)
  foreach(_src ${ARGN})
    target_sources(goio PRIVATE ${CMAKE_CURRENT_LIST_DIR}/${_src})
  endforeach()
endmacro()

# goio_module_deps(<dep>...) links system libraries (see GoioDeps.cmake)
# and records them for goioConfig.cmake and goio.pc.
function(goio_module_deps)
  foreach(dep ${ARGN})
    goio_find_dep(${dep})
    target_link_libraries(goio PRIVATE goio_deps::${dep})
    set_property(GLOBAL APPEND PROPERTY GOIO_USED_DEPS ${dep})
  endforeach()
endfunction()
