# SPDX-License-Identifier: MIT
# Finds goio's system libraries and wraps each in an imported target
# goio_deps::<name>. The installed goioConfig.cmake includes this same file,
# so consumers of an installed goio find exactly what the build used.
#
# goio_find_dep(<name>) defines goio_deps::<name> for one of:
#   hiredis libuv zlib libarchive libcurl http_parser openssl
include_guard(GLOBAL)
find_package(PkgConfig REQUIRED)

set(_goio_pc_hiredis hiredis)
set(_goio_pc_libuv libuv)
set(_goio_pc_zlib zlib)
set(_goio_pc_libarchive libarchive)
set(_goio_pc_libcurl libcurl)
set(_goio_pc_openssl openssl)

function(goio_find_dep name)
  if(TARGET goio_deps::${name})
    return()
  endif()
  if(name STREQUAL "http_parser")
    # Debian's libhttp-parser-dev ships no pkg-config file.
    find_path(GOIO_HTTP_PARSER_INCLUDE http_parser.h REQUIRED)
    find_library(GOIO_HTTP_PARSER_LIB http_parser REQUIRED)
    add_library(goio_deps::http_parser UNKNOWN IMPORTED GLOBAL)
    set_target_properties(goio_deps::http_parser PROPERTIES
      IMPORTED_LOCATION ${GOIO_HTTP_PARSER_LIB}
      INTERFACE_INCLUDE_DIRECTORIES ${GOIO_HTTP_PARSER_INCLUDE})
    return()
  endif()
  if(NOT DEFINED _goio_pc_${name})
    message(FATAL_ERROR "goio: unknown dependency '${name}'")
  endif()
  pkg_check_modules(GOIO_PC_${name} REQUIRED IMPORTED_TARGET GLOBAL
                    ${_goio_pc_${name}})
  add_library(goio_deps::${name} INTERFACE IMPORTED GLOBAL)
  set_target_properties(goio_deps::${name} PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::GOIO_PC_${name})
endfunction()
