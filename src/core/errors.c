/* SPDX-License-Identifier: MIT */
/* Error names and messages, generated from the one list in core.h. */
#include <goio/core.h>

#define GOIO__STRINGIFY(x)  #x
#define GOIO__XSTRINGIFY(x) GOIO__STRINGIFY(x)

const char *goio_version_string(void)
{
    return GOIO__XSTRINGIFY(GOIO_VERSION_MAJOR) "." GOIO__XSTRINGIFY(
        GOIO_VERSION_MINOR) "." GOIO__XSTRINGIFY(GOIO_VERSION_PATCH);
}

const char *goio_strerror(int code)
{
    if (code == 0)
        return "success";
    switch (code) {
#define GOIO__ERR_MSG(name, value, msg)                                        \
    case value:                                                                \
        return msg;
        GOIO_ERRNO_MAP(GOIO__ERR_MSG)
#undef GOIO__ERR_MSG
    }
    return "unknown error";
}

const char *goio_err_name(int code)
{
    if (code == 0)
        return "GOIO_OK";
    switch (code) {
#define GOIO__ERR_NAME(name, value, msg)                                       \
    case value:                                                                \
        return "GOIO_" #name;
        GOIO_ERRNO_MAP(GOIO__ERR_NAME)
#undef GOIO__ERR_NAME
    }
    return "GOIO_UNKNOWN";
}
