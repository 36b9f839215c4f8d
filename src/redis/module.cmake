# redis: the cache over Redis (hiredis), pool, cluster. Pub/sub
# (goio/pubsub.h) is listed in pubsub.cmake.
goio_module_deps(hiredis)
include(${CMAKE_CURRENT_LIST_DIR}/pubsub.cmake OPTIONAL)
