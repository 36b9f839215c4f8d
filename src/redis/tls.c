/* SPDX-License-Identifier: MIT */
/*
 * TLS for the blocking connections (pool, cluster nodes) with OpenSSL.
 *
 * hiredis 0.14 has no TLS: it still formats requests (rc->obuf) and parses
 * replies (rc->reader), but goio moves the bytes: SSL_write of obuf,
 * SSL_read into redisReaderFeed. The socket keeps the SO_RCVTIMEO /
 * SO_SNDTIMEO the plaintext path uses, so a read timeout shows up as an
 * SSL "want read" on a blocking socket and is reported as EAGAIN, which
 * conn.c maps to GOIO_ETIMEDOUT like any other. The handshake runs on the
 * socket switched to non-blocking, polled until the connect deadline.
 */
#include "redis_internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <hiredis/sds.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* OpenSSL's first queued reason, for log records. */
static void ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "no OpenSSL reason");
}

static int config_error(const char *what, const char *file)
{
    char why[256];
    ssl_reason(why, sizeof why);
    ERR_clear_error();
    goio_log(GOIO_LOG_ERROR, "redis", "redis_tls_config", file, GOIO_EINVAL,
             "TLS %s%s%s: %s", what, file ? " " : "", file ? file : "", why);
    return GOIO_EINVAL;
}

int goio__redis_tls_setup(const goio_redis_config *cfg, goio__redis_opts *o)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return GOIO_ENOMEM;
    o->tls_ctx = ctx;
    o->tls = true;
    int min = cfg->tls_min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (!SSL_CTX_set_min_proto_version(ctx, min))
        return config_error("minimum version", NULL);
    if (cfg->tls_ca_file || cfg->tls_ca_dir) {
        if (!SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file,
                                           cfg->tls_ca_dir))
            return config_error("CA", cfg->tls_ca_file ? cfg->tls_ca_file
                                                       : cfg->tls_ca_dir);
    } else if (!SSL_CTX_set_default_verify_paths(ctx)) {
        return config_error("system CA store", NULL);
    }
    if (cfg->tls_cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
            return config_error("client certificate", cfg->tls_cert_file);
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file,
                                        SSL_FILETYPE_PEM) != 1)
            return config_error("client key", cfg->tls_key_file);
        if (SSL_CTX_check_private_key(ctx) != 1)
            return config_error("client key does not match", cfg->tls_key_file);
    }
    /* One recv per burst of records instead of two per record (header,
     * then body). */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_verify(
        ctx, cfg->tls_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    o->tls_check_name = !cfg->tls_skip_verify && !cfg->tls_skip_hostname;
    if (cfg->tls_server_name && *cfg->tls_server_name) {
        o->tls_server_name = goio_strdup(cfg->tls_server_name);
        if (!o->tls_server_name)
            return GOIO_ENOMEM;
    }
    return 0;
}

void goio__redis_tls_free(goio__redis_opts *o)
{
    if (o->tls_ctx)
        SSL_CTX_free(o->tls_ctx);
    o->tls_ctx = NULL;
    goio_free(o->tls_server_name);
    o->tls_server_name = NULL;
}

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Whether an OpenSSL failure is about a certificate (ours or theirs). */
static bool certificate_problem(const SSL *ssl, unsigned long e)
{
    if (SSL_get_verify_result(ssl) != X509_V_OK)
        return true;
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return false;
    switch (ERR_GET_REASON(e)) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return true;
    default:
        return false;
    }
}

/* Records a failed SSL call on c (rc->err, errstr, tls_err) and returns
 * the GOIO_E* code. `ret` is the call's return value. */
static int fail(goio__redis_conn *c, int ret, const char *what)
{
    SSL *ssl = c->ssl;
    int saved = errno;
    int kind = SSL_get_error(ssl, ret);
    redisContext *rc = c->rc;
    switch (kind) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        /* A blocking socket: SO_RCVTIMEO / SO_SNDTIMEO expired. */
        rc->err = REDIS_ERR_IO;
        snprintf(rc->errstr, sizeof rc->errstr, "%s", strerror(EAGAIN));
        return GOIO_ETIMEDOUT;
    case SSL_ERROR_ZERO_RETURN:
        rc->err = REDIS_ERR_EOF;
        snprintf(rc->errstr, sizeof rc->errstr, "Server closed the connection");
        return GOIO_ECONNRESET;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (saved == 0) {
                rc->err = REDIS_ERR_EOF;
                snprintf(rc->errstr, sizeof rc->errstr,
                         "Server closed the connection");
                return GOIO_ECONNRESET;
            }
            rc->err = REDIS_ERR_IO;
            snprintf(rc->errstr, sizeof rc->errstr, "TLS %.12s: %s", what,
                     strerror(saved));
            return goio__redis_conn_error(c);
        }
        /* OpenSSL queued a reason: as below */
        __attribute__((fallthrough));
    default: {
        char why[200];
        c->tls_err = goio__redis_tls_classify(ssl, why, sizeof why);
        rc->err = REDIS_ERR_OTHER;
        snprintf(rc->errstr, sizeof rc->errstr, "TLS %.12s: %.100s", what, why);
        return c->tls_err;
    }
    }
}

static int set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return GOIO_EIO;
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, fl) ? GOIO_EIO : 0;
}

static int handshake(goio__redis_conn *c, int64_t deadline_ms, goio_ctx *ctx)
{
    SSL *ssl = c->ssl;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int ret = SSL_connect(ssl);
        if (ret == 1)
            return 0;
        int kind = SSL_get_error(ssl, ret);
        if (kind != SSL_ERROR_WANT_READ && kind != SSL_ERROR_WANT_WRITE)
            return fail(c, ret, "handshake");
        int rc = goio_ctx_err(ctx);
        if (rc)
            return rc;
        int64_t left = deadline_ms == GOIO_NO_DEADLINE
                           ? 50
                           : deadline_ms - goio_now_mono_ms();
        if (left <= 0) {
            c->rc->err = REDIS_ERR_IO;
            snprintf(c->rc->errstr, sizeof c->rc->errstr, "TLS handshake: %s",
                     strerror(ETIMEDOUT));
            return GOIO_ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = c->rc->fd,
                             .events = kind == SSL_ERROR_WANT_READ ? POLLIN
                                                                   : POLLOUT};
        /* Slices of 50 ms so that a ctx cancel is seen. */
        int r = poll(&pfd, 1, (int)(left < 50 ? left : 50));
        if (r < 0 && errno != EINTR) {
            c->rc->err = REDIS_ERR_IO;
            snprintf(c->rc->errstr, sizeof c->rc->errstr, "%s",
                     strerror(errno));
            return GOIO_EIO;
        }
    }
}

int goio__redis_tls_ssl_new(const goio__redis_opts *o,
                            const goio__redis_addr *a, void **out)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(o->tls_ctx);
    *out = ssl;
    if (!ssl)
        return GOIO_ENOMEM;
    const char *name = o->tls_server_name ? o->tls_server_name : a->host;
    bool ip = is_ip(name);
    if (!ip && !SSL_set_tlsext_host_name(ssl, name))
        return GOIO_ENOMEM;
    if (o->tls_check_name) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(vp,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                    : X509_VERIFY_PARAM_set1_host(vp, name, 0);
        if (!ok)
            return GOIO_ENOMEM;
    }
    return 0;
}

int goio__redis_tls_classify(void *ssl_, char *why, size_t len)
{
    SSL *ssl = ssl_;
    unsigned long e = ERR_peek_last_error();
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK)
        snprintf(why, len, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else
        ssl_reason(why, len);
    int rc = certificate_problem(ssl, e) ? GOIO_EACCES : GOIO_EPROTO;
    ERR_clear_error();
    return rc;
}

int goio__redis_tls_connect(const goio__redis_opts *o,
                            const goio__redis_addr *a, goio__redis_conn *c,
                            int64_t deadline_ms, goio_ctx *ctx)
{
    int rc = goio__redis_tls_ssl_new(o, a, &c->ssl);
    if (rc)
        return rc;
    if (!SSL_set_fd(c->ssl, c->rc->fd))
        return GOIO_ENOMEM;
    rc = set_nonblocking(c->rc->fd, true);
    if (!rc)
        rc = handshake(c, deadline_ms, ctx);
    int rc2 = set_nonblocking(c->rc->fd, false);
    if (!rc)
        rc = rc2;
    if (rc)
        goio_log(GOIO_LOG_WARN, "redis", "redis_tls_failed", a->name, rc,
                 "TLS with %s failed: %s", a->name, c->rc->errstr);
    return rc;
}

void goio__redis_tls_close(goio__redis_conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    c->ssl = NULL;
}

/* A write failed because the server closed the connection: it may have
 * said why first (TLS 1.3 refuses a client certificate after the
 * handshake, with an alert that is still queued on our side). If so, that
 * reason replaces the bare "connection reset". */
static void harvest_alert(goio__redis_conn *c)
{
    if (set_nonblocking(c->rc->fd, true))
        return;
    char b[256];
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(c->ssl, b, sizeof b);
    if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_SSL)
        fail(c, n, "read");
    ERR_clear_error();
    set_nonblocking(c->rc->fd, false);
}

int goio__redis_tls_flush(goio__redis_conn *c, int *done)
{
    redisContext *rc = c->rc;
    if (done)
        *done = 0;
    if (rc->err)
        return REDIS_ERR;
    size_t len = sdslen(rc->obuf);
    size_t off = 0;
    while (off < len) {
        ERR_clear_error();
        errno = 0;
        size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
        int n = SSL_write(c->ssl, rc->obuf + off, (int)chunk);
        if (n <= 0) {
            int kind = SSL_get_error(c->ssl, n);
            fail(c, n, "write");
            if (kind == SSL_ERROR_SYSCALL)
                harvest_alert(c);
            return REDIS_ERR;
        }
        off += (size_t)n;
    }
    sdsclear(rc->obuf);
    if (done)
        *done = 1;
    return REDIS_OK;
}

int goio__redis_tls_get_reply(goio__redis_conn *c, void **reply)
{
    redisContext *rc = c->rc;
    *reply = NULL;
    if (rc->err)
        return REDIS_ERR;
    if (redisReaderGetReply(rc->reader, reply) != REDIS_OK)
        goto protocol;
    if (*reply) {
        goio__redis_conn_reply_done(c);
        return REDIS_OK;
    }
    if (goio__redis_tls_flush(c, NULL) != REDIS_OK)
        return REDIS_ERR;
    char buf[16 * 1024];
    /* As for plaintext (conn.c): the whole reply within the read timeout
     * and the ctx, not each read. */
    int64_t due = goio__redis_conn_reply_due(c);
    while (!*reply) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, buf, sizeof buf);
        if (n <= 0) {
            fail(c, n, "read");
            return REDIS_ERR;
        }
        if (redisReaderFeed(rc->reader, buf, (size_t)n) != REDIS_OK ||
            redisReaderGetReply(rc->reader, reply) != REDIS_OK)
            goto protocol;
        if (!*reply && goio__redis_conn_reply_going(c, due) != REDIS_OK)
            return REDIS_ERR;
    }
    goio__redis_conn_reply_done(c);
    return REDIS_OK;
protocol:
    if (c->refused)
        return goio__redis_conn_reader_failed(c);
    rc->err = REDIS_ERR_PROTOCOL;
    snprintf(rc->errstr, sizeof rc->errstr, "%s", rc->reader->errstr);
    return REDIS_ERR;
}

redisReply *goio__redis_tls_command(goio__redis_conn *c, int argc,
                                    const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(c->rc, argc, argv, lens) != REDIS_OK)
        return NULL;
    void *reply = NULL;
    if (goio__redis_tls_get_reply(c, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/*
 * OpenSSL writes with write(2), also inside SSL_read (an alert, a reply to
 * the peer's close): a peer that is gone would raise SIGPIPE. The
 * multiplexed connections' calls run with it blocked, and one it raised is
 * taken back before it is unblocked.
 */
typedef struct nopipe {
    sigset_t pipe, old;
} nopipe;

static void nopipe_begin(nopipe *np)
{
    sigemptyset(&np->pipe);
    sigaddset(&np->pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &np->pipe, &np->old);
}

static void nopipe_end(nopipe *np)
{
    int saved = errno;
    if (!sigismember(&np->old, SIGPIPE)) {
        sigset_t pending;
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&np->pipe, NULL, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &np->old, NULL);
    }
    errno = saved;
}

/* The result of a non-blocking SSL call (see the _nb functions). */
static long nb_result(goio__redis_conn *c, int n, short *want, const char *what)
{
    if (n > 0)
        return n;
    int kind = SSL_get_error(c->ssl, n);
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
        *want = kind == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return 0;
    }
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    unsigned long e = ERR_peek_error();
    if (kind == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        /* OpenSSL 3's name for a peer that closed without a TLS close */
        ERR_clear_error();
        c->rc->err = REDIS_ERR_EOF;
        snprintf(c->rc->errstr, sizeof c->rc->errstr,
                 "Server closed the connection");
        return GOIO_ECONNRESET;
    }
#endif
    return fail(c, n, what);
}

long goio__redis_tls_read_nb(goio__redis_conn *c, void *buf, size_t len,
                             short *want)
{
    nopipe np;
    nopipe_begin(&np);
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    nopipe_end(&np);
    return nb_result(c, n, want, "read");
}

long goio__redis_tls_write_nb(goio__redis_conn *c, const void *buf, size_t len,
                              short *want)
{
    nopipe np;
    nopipe_begin(&np);
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(c->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len);
    nopipe_end(&np);
    return nb_result(c, n, want, "write");
}

bool goio__redis_tls_alive_nb(goio__redis_conn *c)
{
    char b;
    nopipe np;
    nopipe_begin(&np);
    ERR_clear_error();
    int n = SSL_peek(c->ssl, &b, 1);
    int kind = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
    nopipe_end(&np);
    ERR_clear_error();
    return n <= 0 && kind == SSL_ERROR_WANT_READ;
}

bool goio__redis_tls_buffered(const goio__redis_conn *c)
{
    return SSL_has_pending(c->ssl) == 1;
}

bool goio__redis_tls_alive(const goio__redis_conn *c)
{
    /* Bytes on an idle TLS socket may be a session ticket (TLS 1.3 sends
     * them after the handshake) rather than a reply nobody asked for or a
     * close: let OpenSSL look, without blocking. */
    int fd = c->rc->fd;
    if (set_nonblocking(fd, true))
        return false;
    char b;
    ERR_clear_error();
    int n = SSL_peek(c->ssl, &b, 1);
    int kind = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
    ERR_clear_error();
    bool ok = set_nonblocking(fd, false) == 0 && n <= 0 &&
              kind == SSL_ERROR_WANT_READ;
    return ok;
}
