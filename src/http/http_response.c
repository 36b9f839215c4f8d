/* SPDX-License-Identifier: MIT */
/*
 * The response-writer interface's public side: argument checks over the
 * vtable (so a user's implementation gets the same validation), helpers
 * built only on the ops, and the goio_io_writer adapter.
 */
#include "http_int.h"

#include <string.h>

void goio_http_handler_call(goio_http_handler h, goio_http_request *req,
                            goio_http_response *res)
{
    if (h.fn)
        h.fn(req, res, h.data);
}

static bool ok(const goio_http_response *res)
{
    return res && res->ops;
}

const char *goio_http_response_get_header(goio_http_response *res,
                                          const char *name)
{
    if (!ok(res) || !name)
        return NULL;
    return res->ops->get_header(res, name);
}

int goio_http_response_set_header(goio_http_response *res, const char *name,
                                  const char *value)
{
    if (!ok(res) || !name)
        return GOIO_EINVAL;
    return res->ops->set_header(res, name, value);
}

int goio_http_response_add_header(goio_http_response *res, const char *name,
                                  const char *value)
{
    if (!ok(res) || !name || !value)
        return GOIO_EINVAL;
    return res->ops->add_header(res, name, value);
}

int goio_http_response_default_content_type(goio_http_response *res,
                                            const char *type)
{
    if (!ok(res) || !type)
        return GOIO_EINVAL;
    const char *cur = res->ops->get_header(res, "Content-Type");
    if (cur && *cur)
        return 0;
    return res->ops->set_header(res, "Content-Type", type);
}

int goio_http_response_write_header(goio_http_response *res, int status)
{
    if (!ok(res) || status < 200 || status > 999)
        return GOIO_EINVAL;
    return res->ops->write_header(res, status);
}

int goio_http_response_write(goio_http_response *res, const void *p, size_t len)
{
    if (!ok(res) || (!p && len))
        return GOIO_EINVAL;
    const uint8_t *b = p;
    while (len) {
        ssize_t n = res->ops->write(res, b, len);
        if (n < 0)
            return (int)n;
        if (n == 0 || (size_t)n > len)
            return GOIO_EIO; /* a broken implementation */
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int goio_http_response_write_borrowed(goio_http_response *res, const void *p,
                                      size_t len,
                                      goio_http_response_release_fn release,
                                      void *data)
{
    int rc = 0;
    if (!ok(res) || (!p && len))
        rc = GOIO_EINVAL;
    else if (len && res->ops->write_borrowed)
        return res->ops->write_borrowed(res, p, len, release, data);
    else if (len)
        rc = goio_http_response_write(res, p, len);
    if (release)
        release(data);
    return rc;
}

int goio_http_response_printf(goio_http_response *res, const char *fmt, ...)
{
    if (!ok(res) || !fmt)
        return GOIO_EINVAL;
    goio_buf b = GOIO_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = goio_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (!rc)
        rc = goio_http_response_write(res, b.data, b.len);
    goio_buf_deinit(&b);
    return rc;
}

int goio_http_response_flush(goio_http_response *res)
{
    if (!ok(res))
        return GOIO_EINVAL;
    return res->ops->flush(res);
}

void goio_http_response_abort(goio_http_response *res, int error)
{
    if (ok(res))
        res->ops->abort(res, error);
}

int goio_http_response_status(goio_http_response *res)
{
    if (!ok(res))
        return GOIO_EINVAL;
    return res->ops->status(res);
}

/* A header name: an RFC 9110 token. */
static bool field_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

/* A field value or reason phrase: no CTL but HTAB (obs-text allowed). */
static bool text_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

int goio_http_response_write_interim(goio_http_response *res, int status,
                                     const char *const *fields, size_t n)
{
    if (!ok(res) || status < 100 || status > 199 || status == 101 ||
        (n && !fields) || n > 1024)
        return GOIO_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fields[2 * i] || !fields[2 * i + 1] ||
            !field_name_ok(fields[2 * i]) || !text_ok(fields[2 * i + 1]))
            return GOIO_EINVAL;
    if (!res->ops->write_interim)
        return GOIO_ENOTSUP;
    return res->ops->write_interim(res, status, fields, n);
}

int goio_http_response_set_reason(goio_http_response *res, const char *reason)
{
    if (!ok(res) || (reason && (!text_ok(reason) || strlen(reason) > 256)))
        return GOIO_EINVAL;
    if (!res->ops->set_reason)
        return GOIO_ENOTSUP;
    return res->ops->set_reason(res, reason);
}

int goio_http_respond(goio_http_response *res, int status,
                      const char *content_type, const void *body, size_t len)
{
    if (!ok(res) || (!body && len))
        return GOIO_EINVAL;
    int rc = content_type
                 ? goio_http_response_default_content_type(res, content_type)
                 : 0;
    if (!rc)
        rc = goio_http_response_write_header(res, status);
    if (!rc && len)
        rc = goio_http_response_write(res, body, len);
    return rc;
}

/* ---- goio_io_writer adapter -------------------------------------------------
 */

typedef struct res_writer {
    goio_io_writer w;
    goio_http_response *res;
} res_writer;

static ssize_t rw_write(goio_io_writer *w, const void *p, size_t len)
{
    goio_http_response *res = ((res_writer *)w)->res;
    return res->ops->write(res, p, len);
}

static int rw_flush(goio_io_writer *w)
{
    goio_http_response *res = ((res_writer *)w)->res;
    return res->ops->flush(res);
}

static int rw_close(goio_io_writer *w)
{
    goio_free(w);
    return 0;
}

static const goio_io_writer_ops res_writer_ops = {
    .write = rw_write,
    .flush = rw_flush,
    .close = rw_close,
};

int goio_http_response_writer_new(goio_http_response *res, goio_io_writer **out)
{
    if (out)
        *out = NULL;
    if (!ok(res) || !out)
        return GOIO_EINVAL;
    res_writer *w = goio_calloc(1, sizeof *w);
    if (!w)
        return GOIO_ENOMEM;
    w->w.ops = &res_writer_ops;
    w->res = res;
    *out = &w->w;
    return 0;
}
