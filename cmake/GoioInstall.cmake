# SPDX-License-Identifier: MIT
# cmake --install: headers, libgoio.a, goio::goio for find_package, goio.pc.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/goio DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(TARGETS goio EXPORT goioTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(GOIO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/goio)
get_property(_deps GLOBAL PROPERTY GOIO_USED_DEPS)
list(REMOVE_DUPLICATES _deps)
set(GOIO_CONFIG_DEPS "${_deps}")

install(EXPORT goioTargets NAMESPACE goio:: DESTINATION ${GOIO_CMAKE_DIR})
configure_package_config_file(cmake/goioConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/goioConfig.cmake
  INSTALL_DESTINATION ${GOIO_CMAKE_DIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/goioConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/goioConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/goioConfigVersion.cmake
  cmake/GoioDeps.cmake
  DESTINATION ${GOIO_CMAKE_DIR})

# goio.pc. libgoio.a is static, so every consumer links its dependencies:
# they go under Requires/Libs, and a plain `pkg-config --libs goio` links.
# (Requires.private would force --static, which on Debian also drags in
# the dependencies' own private libraries, e.g. libarchive's acl, zstd and
# lz4, whose static archives are not installed.)
set(GOIO_PC_REQUIRES "")
set(GOIO_PC_LIBS "-lpthread")
foreach(dep IN LISTS _deps)
  if(dep STREQUAL "http_parser")
    string(APPEND GOIO_PC_LIBS " -lhttp_parser")
  else()
    list(APPEND GOIO_PC_REQUIRES ${_goio_pc_${dep}})
  endif()
endforeach()
list(JOIN GOIO_PC_REQUIRES " " GOIO_PC_REQUIRES)
# The prefix is found relative to the .pc file, so `cmake --install --prefix`
# anywhere gives a working goio.pc.
file(RELATIVE_PATH GOIO_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/goio.pc.in ${CMAKE_CURRENT_BINARY_DIR}/goio.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/goio.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
