/* ioext internals shared between its files (private: not installed). */
#ifndef GOIO_IOEXT_INT_H
#define GOIO_IOEXT_INT_H

#include <goio/ioext.h>

#include <string.h>

/* -errno for a system error number, GOIO_EIO when it is 0. */
int goio__ioext_errno(int e);

#endif
