/* SPDX-License-Identifier: MIT */
/*
 * The extraction engine: libarchive parses, this file decides what is
 * allowed (see "safe extraction" in ioext.h) and feeds a sink (memory
 * here, a directory in extract_dir.c).
 *
 * tar.gz input is inflated here with zlib rather than by libarchive's
 * gzip filter: it gives exact compressed-byte counts for the ratio check,
 * a certain verdict on truncation (a gzip stream without its trailer) and
 * a CRC check of the whole stream even when the tar ends early.
 */
#include "extract_int.h"

#include <locale.h>
#include <pthread.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#define IN_CHUNK     (64 * 1024)
#define OUT_CHUNK    (64 * 1024)
#define NAME_MAX_LEN 4096

/* ---- tar.gz source: a goio_io_reader inflated for libarchive ---------------
 */

typedef struct gz_source {
    goio_io_reader *r;
    z_stream zs;
    bool zs_ready;
    bool in_eof;     /* r is at its end */
    bool member_end; /* between gzip members (or after the last) */
    bool started;
    uint8_t *in, *out;
    uint64_t in_total; /* compressed bytes read from r */
    int err;           /* what made the callback fail */
} gz_source;

/* Refills the compressed buffer; false at end of input or error. */
static bool gz_refill(gz_source *s)
{
    if (s->zs.avail_in || s->in_eof)
        return s->zs.avail_in > 0;
    ssize_t n = goio_io_read(s->r, s->in, IN_CHUNK);
    if (n < 0) {
        s->err = (int)n;
        return false;
    }
    if (n == 0) {
        s->in_eof = true;
        return false;
    }
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)n;
    s->in_total += (uint64_t)n;
    return true;
}

/*
 * After a gzip member: another member may follow (pigz -i, cat a.gz
 * b.gz), or zero padding, which gzip itself ignores. Anything else is
 * not a tar.gz. Returns 1 when a member starts, 0 at a clean end.
 */
static int gz_next_member(gz_source *s)
{
    while (gz_refill(s)) {
        if (s->zs.next_in[0] != 0) {
            if (s->zs.next_in[0] != 0x1f) {
                s->err = GOIO_EBADMSG;
                return -1;
            }
            int zrc = inflateReset(&s->zs);
            s->member_end = false;
            return zrc == Z_OK ? 1 : (s->err = GOIO_EBADMSG, -1);
        }
        s->zs.next_in++;
        s->zs.avail_in--;
    }
    return s->err ? -1 : 0;
}

/* Inflates up to OUT_CHUNK bytes; returns the count, 0 at the end of the
 * last member, -1 on error (s->err says which). */
static ssize_t gz_fill(gz_source *s)
{
    s->zs.next_out = s->out;
    s->zs.avail_out = OUT_CHUNK;
    while (s->zs.avail_out) {
        if (s->member_end) {
            int m = gz_next_member(s);
            if (m <= 0)
                break;
        }
        if (!gz_refill(s)) {
            if (s->err)
                return -1;
            if (!s->started || !s->member_end) {
                /* Input ended inside a member (or before any). */
                s->err = GOIO_ETRUNCATED;
                return -1;
            }
            break;
        }
        s->started = true;
        int zrc = inflate(&s->zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) {
            s->member_end = true;
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            s->err = zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EBADMSG;
            return -1;
        }
    }
    if (s->err)
        return -1;
    return (ssize_t)(OUT_CHUNK - s->zs.avail_out);
}

static la_ssize_t gz_archive_read(struct archive *a, void *data,
                                  const void **buf)
{
    (void)a;
    gz_source *s = data;
    *buf = s->out;
    ssize_t n = gz_fill(s);
    return n < 0 ? ARCHIVE_FATAL : n;
}

static int gz_source_init(gz_source *s, goio_io_reader *r)
{
    memset(s, 0, sizeof *s);
    s->r = r;
    s->in = goio_malloc(IN_CHUNK);
    s->out = goio_malloc(OUT_CHUNK);
    if (!s->in || !s->out)
        return GOIO_ENOMEM;
    int zrc = inflateInit2(&s->zs, 15 + 16); /* gzip wrapper only */
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? GOIO_ENOMEM : GOIO_EIO;
    s->zs_ready = true;
    return 0;
}

static void gz_source_destroy(gz_source *s)
{
    if (s->zs_ready)
        inflateEnd(&s->zs);
    goio_free(s->in);
    goio_free(s->out);
}

/* ---- names: the wanted list and the seen set ------------------------------
 */

/*
 * The names seen so far, as a tree: a node is one path component under its
 * parent node, so a name stores only the components no earlier name had
 * (a 2040-level prefix shared by 1000 entries is stored once), and adding
 * a name costs one lookup per component, each hashing that component
 * only: linear in the name's length, where a set of whole prefixes was
 * quadratic. Nodes live in one array (index 0 is the root), their
 * component bytes in one arena, and an open-addressing table maps
 * (parent, component) to a node.
 */
typedef struct seen_node {
    uint32_t parent;
    uint32_t len; /* component bytes */
    uint64_t off; /* in the arena */
    uint8_t type; /* xtype */
} seen_node;

typedef struct seen_set {
    seen_node *nodes;
    size_t count, alloc; /* nodes, the root included */
    uint32_t *slots;     /* node index, 0: empty */
    size_t cap;
    char *arena;
    size_t arena_len, arena_alloc;
    uint64_t max_bytes; /* the arena's bound (max_name_bytes) */
    /* Names come from untrusted archives: a secret seed keeps them from
     * being aimed at one probe chain. */
    uint64_t seed;
} seen_set;

static void seen_init(seen_set *set, uint64_t max_bytes)
{
    memset(set, 0, sizeof *set);
    set->seed = goio_random_u64();
    set->max_bytes = max_bytes;
}

static uint64_t seen_hash(const seen_set *set, uint32_t parent, const char *c,
                          size_t n)
{
    return goio_hash64(c, n, set->seed ^ (parent * 0x9e3779b97f4a7c15ULL));
}

/* The slot of (parent, c[0..n)): where it is, or where it would go. */
static size_t seen_slot(const seen_set *set, uint32_t parent, const char *c,
                        size_t n)
{
    size_t i = (size_t)seen_hash(set, parent, c, n) & (set->cap - 1);
    for (;;) {
        uint32_t k = set->slots[i];
        if (!k)
            return i;
        const seen_node *nd = &set->nodes[k];
        if (nd->parent == parent && nd->len == n &&
            !memcmp(set->arena + nd->off, c, n))
            return i;
        i = (i + 1) & (set->cap - 1);
    }
}

static int seen_grow(seen_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    uint32_t *slots = goio_calloc(cap, sizeof *slots);
    if (!slots)
        return GOIO_ENOMEM;
    uint32_t *old = set->slots;
    set->slots = slots;
    set->cap = cap;
    for (size_t k = 1; k < set->count; k++) {
        const seen_node *nd = &set->nodes[k];
        slots[seen_slot(set, nd->parent, set->arena + nd->off, nd->len)] =
            (uint32_t)k;
    }
    goio_free(old);
    return 0;
}

/* The node of (parent, c[0..n)), 0 when none; *slot for seen_put. */
static int seen_get(seen_set *set, uint32_t parent, const char *c, size_t n,
                    size_t *slot, uint32_t *node)
{
    if (set->count * 2 + 2 > set->cap) {
        int rc = seen_grow(set);
        if (rc)
            return rc;
    }
    *slot = seen_slot(set, parent, c, n);
    *node = set->slots[*slot];
    return 0;
}

/* A new node at slot; GOIO_ELIMIT when the names' bytes would pass the
 * bound. */
static int seen_put(seen_set *set, size_t slot, uint32_t parent, const char *c,
                    size_t n, xtype t, uint32_t *node)
{
    if (set->arena_len + n > set->max_bytes || set->count >= UINT32_MAX)
        return GOIO_ELIMIT;
    if (set->arena_len + n > set->arena_alloc) {
        size_t want = set->arena_alloc ? set->arena_alloc * 2 : 4096;
        while (want < set->arena_len + n)
            want *= 2;
        char *a = goio_realloc(set->arena, want);
        if (!a)
            return GOIO_ENOMEM;
        set->arena = a;
        set->arena_alloc = want;
    }
    if (set->count == set->alloc) {
        size_t want = set->alloc ? set->alloc * 2 : 64;
        seen_node *nd = goio_reallocarray(set->nodes, want, sizeof *nd);
        if (!nd)
            return GOIO_ENOMEM;
        set->nodes = nd;
        set->alloc = want;
    }
    memcpy(set->arena + set->arena_len, c, n);
    set->nodes[set->count] =
        (seen_node){parent, (uint32_t)n, set->arena_len, (uint8_t)t};
    set->arena_len += n;
    *node = (uint32_t)set->count;
    set->slots[slot] = (uint32_t)set->count++;
    return 0;
}

static void seen_free(seen_set *set)
{
    goio_free(set->nodes);
    goio_free(set->slots);
    goio_free(set->arena);
}

/* What seen_add counts against the limits and says about a refusal. */
typedef struct seen_budget {
    uint64_t *entries; /* incremented per implicit directory */
    uint64_t max_entries;
    const char *why; /* set on a refusal */
} seen_budget;

/*
 * Records `name` as type t and its parents as directories, applying the
 * duplicate rules; sets *replace when a file or link is to be replaced.
 * A parent directory seen for the first time counts as an entry.
 */
static int seen_add(seen_set *set, const char *name, xtype t,
                    goio_io_dup_policy dup, bool *replace, seen_budget *bud)
{
    *replace = false;
    if (!set->count) { /* the root node: index 0 means "no node" */
        if (!(set->nodes = goio_calloc(64, sizeof *set->nodes)))
            return GOIO_ENOMEM;
        set->alloc = 64;
        set->nodes[set->count++] = (seen_node){0, 0, 0, X_DIR};
    }
    uint32_t parent = 0, node;
    size_t slot;
    const char *c = name;
    for (const char *p = strchr(c, '/'); p; c = p + 1, p = strchr(c, '/')) {
        size_t n = (size_t)(p - c);
        int rc = seen_get(set, parent, c, n, &slot, &node);
        if (rc)
            return rc;
        if (!node) {
            if (++*bud->entries > bud->max_entries) {
                bud->why = "max_entries (implicit directory)";
                return GOIO_ELIMIT;
            }
            if ((rc = seen_put(set, slot, parent, c, n, X_DIR, &node))) {
                bud->why = rc == GOIO_ELIMIT ? "max_name_bytes" : NULL;
                return rc;
            }
        } else if (set->nodes[node].type == X_LINK) {
            bud->why = "through link"; /* would be created through a link */
            return GOIO_EUNSAFEPATH;
        } else if (set->nodes[node].type == X_FILE) {
            bud->why = "duplicate"; /* a file cannot be a directory too */
            return GOIO_EEXIST;
        }
        parent = node;
    }
    size_t n = strlen(c);
    int rc = seen_get(set, parent, c, n, &slot, &node);
    if (rc)
        return rc;
    if (!node) {
        rc = seen_put(set, slot, parent, c, n, t, &node);
        bud->why = rc == GOIO_ELIMIT ? "max_name_bytes" : NULL;
        return rc;
    }
    int have = set->nodes[node].type;
    if (have == X_DIR || t == X_DIR) {
        if (have != (int)t) {
            bud->why = "duplicate";
            return GOIO_EEXIST;
        }
    } else {
        if (dup != GOIO_DUP_LAST_WINS) {
            bud->why = "duplicate";
            return GOIO_EEXIST;
        }
        *replace = true;
    }
    set->nodes[node].type = (uint8_t)t;
    return 0;
}

static bool wanted(const xjob *job, const char *name)
{
    if (!job->names || !job->nnames)
        return true;
    for (size_t i = 0; i < job->nnames; i++)
        if (job->names[i] && !strcmp(job->names[i], name))
            return true;
    return false;
}

/* ---- the engine ------------------------------------------------------------
 */

typedef struct xrun {
    const xjob *job;
    goio_io_extract_config opt;
    struct archive *a;
    gz_source gz;
    bool gz_used;
    bool empty; /* nothing to read */
    uint64_t entries, total;
    seen_set seen;
    char name[NAME_MAX_LEN];
    const char *what; /* for the log record */
} xrun;

static int refuse(xrun *x, int code, const char *why)
{
    x->what = why;
    return code;
}

/* A libarchive failure as a goio code: what our source saw first, else
 * libarchive's verdict. */
static int archive_fail(xrun *x)
{
    if (x->gz_used && x->gz.err)
        return refuse(x, x->gz.err, "compressed stream");
    int e = archive_errno(x->a);
    const char *msg = archive_error_string(x->a);
    x->what = msg ? msg : "archive error";
    if (e == ENOMEM)
        return GOIO_ENOMEM;
    /* Deflate64, and methods this libarchive lacks or does not know. */
    if (msg && strstr(msg, "Unsupported ZIP compression method"))
        return GOIO_EUNSUPPORTED_ENTRY;
    if (msg && (strstr(msg, "runcat") || strstr(msg, "remature end")))
        return GOIO_ETRUNCATED;
    return GOIO_EBADMSG;
}

static uint64_t archive_bytes_in(xrun *x)
{
    return x->gz_used ? x->gz.in_total : x->job->len;
}

static int count_bytes(xrun *x, size_t n)
{
    x->total += n;
    if (x->total > x->opt.max_total_bytes)
        return refuse(x, GOIO_ELIMIT, "max_total_bytes");
    if (x->opt.max_ratio && x->total > x->opt.ratio_grace_bytes &&
        x->total / x->opt.max_ratio > archive_bytes_in(x))
        return refuse(x, GOIO_ELIMIT, "max_ratio");
    return 0;
}

/* How many more bytes the limits allow right now: what a header's size
 * may make a sink reserve. */
static uint64_t bytes_left(xrun *x)
{
    uint64_t cap = x->opt.max_total_bytes;
    if (x->opt.max_ratio) {
        uint64_t in = archive_bytes_in(x);
        uint64_t by_ratio = in > UINT64_MAX / x->opt.max_ratio
                                ? UINT64_MAX
                                : in * x->opt.max_ratio;
        if (by_ratio < x->opt.ratio_grace_bytes)
            by_ratio = x->opt.ratio_grace_bytes;
        if (by_ratio < cap)
            cap = by_ratio;
    }
    return cap > x->total ? cap - x->total : 0;
}

/* Decides the entry's type; refuses what is not allowed. */
static int classify(xrun *x, struct archive_entry *e, xentry *out)
{
    const char *hard = archive_entry_hardlink(e);
    if (hard) {
        char tmp[NAME_MAX_LEN];
        if (goio__ioext_entry_name(hard, tmp, sizeof tmp))
            return refuse(x, GOIO_EUNSAFEPATH, "hard link outside");
        return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "hard link");
    }
    if (archive_entry_is_encrypted(e))
        return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "encrypted");
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        out->type = X_FILE;
        return 0;
    case AE_IFDIR:
        out->type = X_DIR;
        return 0;
    case AE_IFLNK:
        out->type = X_LINK;
        out->link = archive_entry_symlink(e);
        if (!goio__ioext_link_inside(out->name, out->link))
            return refuse(x, GOIO_EUNSAFEPATH, "symlink outside");
        if (!x->opt.allow_symlinks)
            return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "symlink");
        return 0;
    default:
        return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "special file");
    }
}

/*
 * Reads the entry's data, counted against the limits and checked against
 * its header's size; handed to the sink only when `deliver` (entries not
 * wanted, directories and links are read and checked all the same).
 */
static int read_entry_data(xrun *x, struct archive_entry *e, bool deliver)
{
    const xjob *job = x->job;
    uint64_t got = 0;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(x->a, &buf, &size, &off);
        if (r == ARCHIVE_EOF) {
            /* A sparse file's trailing hole shows only here: its end
             * offset lies past the data. */
            if (off > 0 && (uint64_t)off > got)
                return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "sparse file");
            break;
        }
        if (r != ARCHIVE_OK) /* warnings included */
            return archive_fail(x);
        if (off < 0 || (uint64_t)off != got)
            return refuse(x, GOIO_EUNSUPPORTED_ENTRY, "sparse file");
        int rc = count_bytes(x, size);
        if (!rc && size && deliver)
            rc = job->ops->data(job->sink, buf, size);
        if (rc)
            return rc;
        got += size;
    }
    if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e) &&
        (uint64_t)archive_entry_size(e) != got)
        return refuse(x, GOIO_ETRUNCATED, "size differs from header");
    return 0;
}

/* The refused entry's name for the log record when it could not be
 * cleaned: the raw name, cut to fit. */
static void keep_raw_name(xrun *x, const char *raw)
{
    size_t n = raw ? strnlen(raw, sizeof x->name - 1) : 0;
    memcpy(x->name, raw ? raw : "", n);
    x->name[n] = '\0';
}

static int handle_entry(xrun *x, struct archive_entry *e)
{
    const xjob *job = x->job;
    const char *raw = archive_entry_pathname(e);
    int rc = goio__ioext_entry_name(raw, x->name, sizeof x->name);
    if (rc) {
        keep_raw_name(x, raw);
        return refuse(x, rc, "name");
    }
    if (++x->entries > x->opt.max_entries)
        return refuse(x, GOIO_ELIMIT, "max_entries");
    xentry xe = {.name = x->name};
    if ((rc = classify(x, e, &xe)))
        return rc;
    if (!x->name[0]) /* the root itself ("./") */
        return xe.type == X_DIR ? read_entry_data(x, e, false)
                                : refuse(x, GOIO_EUNSAFEPATH, "name");
    seen_budget bud = {&x->entries, x->opt.max_entries, NULL};
    if ((rc = seen_add(&x->seen, x->name, xe.type, x->opt.duplicates,
                       &xe.replace, &bud)))
        return bud.why ? refuse(x, rc, bud.why) : rc;
    if (xe.type == X_FILE && !wanted(job, x->name))
        return read_entry_data(x, e, false); /* checked all the same */
    xe.mode = (uint32_t)archive_entry_perm(e);
    xe.mtime = archive_entry_mtime_is_set(e) ? archive_entry_mtime(e) : 0;
    xe.size_hint =
        archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
    uint64_t left = bytes_left(x);
    if (xe.size_hint > left)
        xe.size_hint = left; /* headers can lie: never trust them further */
    rc = job->ops->begin(job->sink, &xe);
    if (!rc)
        rc = read_entry_data(x, e, xe.type == X_FILE);
    if (!rc)
        rc = job->ops->end(job->sink);
    else
        job->ops->abort(job->sink);
    return rc;
}

/* An empty zip is just its end record; libarchive's seekable reader does
 * not recognize it. */
static bool zip_is_empty(const uint8_t *p, size_t len)
{
    return len >= 22 && !memcmp(p, "PK\5\6", 4) && !p[10] && !p[11] &&
           (size_t)(22 + (p[20] | p[21] << 8)) == len;
}

/* ---- zip: central and local names agree ------------------------------- */

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return le16(p) | le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The extra field `id` in x[0..n): its data and size, or NULL. */
static const uint8_t *zip_extra(const uint8_t *x, size_t n, uint32_t id,
                                size_t *size)
{
    while (n >= 4) {
        size_t k = le16(x + 2);
        if (k > n - 4)
            return NULL;
        if (le16(x) == id) {
            *size = k;
            return x + 4;
        }
        x += 4 + k;
        n -= 4 + k;
    }
    return NULL;
}

/* Whether both or neither extra blocks carry field id, with equal data. */
static bool zip_extra_same(const uint8_t *a, size_t an, const uint8_t *b,
                           size_t bn, uint32_t id)
{
    size_t as = 0, bs = 0;
    const uint8_t *pa = zip_extra(a, an, id, &as);
    const uint8_t *pb = zip_extra(b, bn, id, &bs);
    if (!pa || !pb)
        return !pa && !pb;
    return as == bs && !memcmp(pa, pb, as);
}

/* The central directory entry's local header offset (zip64 aware);
 * UINT64_MAX when it cannot be read. */
static uint64_t zip_local_offset(const uint8_t *c)
{
    uint64_t off = le32(c + 42);
    if (off != 0xFFFFFFFFu)
        return off;
    size_t n;
    const uint8_t *z =
        zip_extra(c + 46 + le16(c + 28), le16(c + 30), 0x0001, &n);
    if (!z)
        return UINT64_MAX;
    size_t at = (le32(c + 24) == 0xFFFFFFFFu ? 8 : 0) +
                (le32(c + 20) == 0xFFFFFFFFu ? 8 : 0);
    return at + 8 <= n ? le64(z + at) : UINT64_MAX;
}

/*
 * libarchive takes entry names from the local headers, but the central
 * directory is what unzip and most tools list: an archive whose two
 * disagree ("../../x.txt" in one, "safe.txt" in the other) means
 * different things to different readers and is refused (GOIO_EBADMSG),
 * as mismatched sizes and CRCs are. The Info-ZIP Unicode path field,
 * which overrides the name, must agree too. Structures this pass cannot
 * read are left to libarchive, which refuses them on its own.
 */
static int zip_check_names(xrun *x)
{
    const uint8_t *p = x->job->data;
    size_t len = x->job->len;
    if (len < 22)
        return 0;
    size_t eocd = len - 22, stop = len > 22 + 65535 ? len - 22 - 65535 : 0;
    while (memcmp(p + eocd, "PK\5\6", 4)) {
        if (eocd == stop)
            return 0;
        eocd--;
    }
    uint64_t count = le16(p + eocd + 10), cd_size = le32(p + eocd + 12);
    uint64_t cd_off = le32(p + eocd + 16), cd_end = eocd;
    if ((count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) &&
        eocd >= 20 && !memcmp(p + eocd - 20, "PK\6\7", 4)) {
        uint64_t z = le64(p + eocd - 20 + 8);
        if (z > len || len - z < 56 || memcmp(p + z, "PK\6\6", 4))
            return 0;
        count = le64(p + z + 32);
        cd_size = le64(p + z + 40);
        cd_off = le64(p + z + 48);
        cd_end = z;
    }
    if (cd_size > cd_end || cd_end - cd_size < cd_off)
        return 0;
    /* Bytes prepended to the zip (a self-extractor) shift every offset. */
    uint64_t shift = cd_end - cd_size - cd_off;
    const uint8_t *c = p + (cd_end - cd_size), *end = p + cd_end;
    for (uint64_t i = 0; i < count; i++) {
        if (end - c < 46 || memcmp(c, "PK\1\2", 4))
            return 0;
        size_t nlen = le16(c + 28), xlen = le16(c + 30);
        size_t rec = 46 + nlen + xlen + le16(c + 32);
        if ((size_t)(end - c) < rec)
            return 0;
        uint64_t lo = zip_local_offset(c);
        if (lo == UINT64_MAX || lo > len - shift)
            return 0;
        lo += shift;
        const uint8_t *l = p + lo;
        bool same = len - lo >= 30 && !memcmp(l, "PK\3\4", 4) &&
                    le16(l + 26) == nlen && len - lo - 30 >= nlen &&
                    !memcmp(l + 30, c + 46, nlen);
        if (same) {
            size_t lx = le16(l + 28);
            same =
                len - lo - 30 - nlen >= lx &&
                zip_extra_same(c + 46 + nlen, xlen, l + 30 + nlen, lx, 0x7075);
        }
        if (!same) {
            size_t n = nlen < sizeof x->name - 1 ? nlen : sizeof x->name - 1;
            memcpy(x->name, c + 46, n);
            x->name[n] = '\0';
            return refuse(x, GOIO_EBADMSG, "central and local names differ");
        }
        c += rec;
    }
    return 0;
}

static int open_archive(xrun *x)
{
    const xjob *job = x->job;
    x->a = archive_read_new();
    if (!x->a)
        return GOIO_ENOMEM;
    if (job->format == X_ZIP && zip_is_empty(job->data, job->len)) {
        x->empty = true;
        return 0;
    }
    if (job->format == X_ZIP) {
        /* The central directory is the truth (as for unzip): a cut zip,
         * which lacks it, is refused rather than half-read. */
        archive_read_support_format_zip_seekable(x->a);
        int rc = zip_check_names(x);
        if (rc)
            return rc;
        if (archive_read_open_memory(x->a, job->data, job->len) != ARCHIVE_OK)
            return archive_fail(x);
        return 0;
    }
    archive_read_support_format_tar(x->a);
    /* A valid gzip of nothing is an empty archive. */
    archive_read_support_format_empty(x->a);
    int rc = gz_source_init(&x->gz, job->reader);
    x->gz_used = true;
    if (rc)
        return rc;
    if (archive_read_open(x->a, &x->gz, NULL, gz_archive_read, NULL) !=
        ARCHIVE_OK)
        return archive_fail(x);
    return 0;
}

/*
 * After the tar's end-of-archive blocks: the rest of the gzip stream is
 * read so its CRC and length are checked too (libarchive stops at the end
 * marker). What it inflates to counts as extracted bytes, against
 * max_total_bytes and max_ratio: a few KiB of zeros that tar writers pad
 * with pass, a gigabyte hidden after the end marker does not.
 */
static int drain_trailing(xrun *x)
{
    ssize_t n;
    while ((n = gz_fill(&x->gz)) > 0) {
        int rc = count_bytes(x, (size_t)n);
        if (rc)
            return refuse(x, rc,
                          !strcmp(x->what, "max_ratio")
                              ? "max_ratio (data after the end of the tar)"
                              : "max_total_bytes (data after the end of the "
                                "tar)");
    }
    return n < 0 ? refuse(x, x->gz.err, "compressed stream") : 0;
}

static int run_entries(xrun *x)
{
    while (!x->empty) {
        struct archive_entry *e;
        x->name[0] = '\0'; /* no entry yet: the log record names none */
        int r = archive_read_next_header(x->a, &e);
        if (r == ARCHIVE_EOF)
            return x->gz_used ? drain_trailing(x) : 0;
        if (r != ARCHIVE_OK) /* warnings included */
            return archive_fail(x);
        int rc = handle_entry(x, e);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * libarchive converts entry names to the current locale's charset and
 * warns (which we treat as fatal) when it cannot: in the C locale every
 * non-ASCII name would fail. Extraction runs in C.UTF-8 on this thread
 * only (uselocale), so names come out as UTF-8 whatever the process
 * locale is.
 */
static locale_t loc_utf8;

static void make_utf8_locale(void)
{
    /* Never freed: one per process, like the C library's own. */
    loc_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_utf8_locale);
    return loc_utf8;
}

int goio__ioext_extract(const xjob *job)
{
    xrun *x = goio_calloc(1, sizeof *x);
    if (!x)
        return GOIO_ENOMEM;
    locale_t utf8 = utf8_locale();
    locale_t saved = utf8 ? uselocale(utf8) : (locale_t)0;
    x->job = job;
    if (job->opt)
        x->opt = *job->opt;
    else
        goio_io_extract_config_init(&x->opt);
    if (!x->opt.max_name_bytes)
        x->opt.max_name_bytes = GOIO_EXTRACT_NAME_BYTES;
    seen_init(&x->seen, x->opt.max_name_bytes);
    int rc = open_archive(x);
    if (!rc)
        rc = run_entries(x);
    if (rc && rc != GOIO_ENOMEM)
        goio_log(GOIO_LOG_WARN, "ioext", "archive_refused",
                 x->name[0] ? x->name : NULL, rc, "archive refused: %s (%s)",
                 goio_strerror(rc), x->what ? x->what : "sink");
    if (x->a)
        archive_read_free(x->a);
    if (x->gz_used)
        gz_source_destroy(&x->gz);
    seen_free(&x->seen);
    goio_free(x);
    if (utf8)
        uselocale(saved);
    return rc;
}

void goio_io_extract_config_init(goio_io_extract_config *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->max_entries = 10000;
    opt->max_total_bytes = 1ULL << 30;
    opt->max_ratio = 200;
    opt->ratio_grace_bytes = 1 << 20;
    opt->max_name_bytes = GOIO_EXTRACT_NAME_BYTES;
    opt->allow_symlinks = false;
    opt->duplicates = GOIO_DUP_ERROR;
}

/* ---- the memory sink ---------------------------------------------------- */

typedef struct mem_sink {
    goio_io_archive_files *list;
    goio_io_bufpool *pool;
    goio_io_archive_file cur; /* the file being read */
    size_t replace_at;        /* index of the file it replaces, or SIZE_MAX */
} mem_sink;

static void file_release(goio_io_bufpool *pool, goio_io_archive_file *f);

/* The index of the listed file named `name`, or SIZE_MAX. */
static size_t mem_index(const goio_io_archive_files *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->files[i].name, name))
            return i;
    return SIZE_MAX;
}

static int mem_begin(void *sink, const xentry *e)
{
    mem_sink *m = sink;
    goio_io_archive_files *l = m->list;
    m->replace_at = e->replace ? mem_index(l, e->name) : SIZE_MAX;
    if (e->type == X_LINK && m->replace_at != SIZE_MAX) {
        /* A link replacing a file: on disk the file is gone, so here. */
        file_release(m->pool, &l->files[m->replace_at]);
        memmove(&l->files[m->replace_at], &l->files[m->replace_at + 1],
                (l->count - m->replace_at - 1) * sizeof *l->files);
        l->count--;
    }
    if (e->type != X_FILE)
        return 0; /* directories and links have no place in memory */
    m->cur.name = goio_strdup(e->name);
    /* The hint is within the limits: big files get their exact size at
     * once (no regrowing), small ones a pool buffer. */
    size_t want = e->size_hint > SIZE_MAX ? SIZE_MAX : (size_t)e->size_hint;
    m->cur.data = goio_io_bufpool_get(m->pool, want, &m->cur._cap);
    m->cur.len = 0;
    if (!m->cur.name || !m->cur.data)
        return GOIO_ENOMEM;
    return 0;
}

static int mem_data(void *sink, const void *p, size_t n)
{
    mem_sink *m = sink;
    goio_io_archive_file *f = &m->cur;
    if (f->_cap - f->len < n) {
        size_t want = f->_cap * 2 > f->len + n ? f->_cap * 2 : f->len + n;
        size_t cap;
        uint8_t *bigger = goio_io_bufpool_get(m->pool, want, &cap);
        if (!bigger)
            return GOIO_ENOMEM;
        memcpy(bigger, f->data, f->len);
        goio_io_bufpool_put(m->pool, f->data, f->_cap);
        f->data = bigger;
        f->_cap = cap;
    }
    memcpy(f->data + f->len, p, n);
    f->len += n;
    return 0;
}

static void file_release(goio_io_bufpool *pool, goio_io_archive_file *f)
{
    goio_free(f->name);
    goio_io_bufpool_put(pool, f->data, f->_cap);
    memset(f, 0, sizeof *f);
}

static void mem_abort(void *sink)
{
    mem_sink *m = sink;
    file_release(m->pool, &m->cur);
}

static int mem_end(void *sink)
{
    mem_sink *m = sink;
    goio_io_archive_files *l = m->list;
    if (!m->cur.name)
        return 0; /* not a file */
    if (m->replace_at != SIZE_MAX) {
        file_release(m->pool, &l->files[m->replace_at]);
        l->files[m->replace_at] = m->cur;
        memset(&m->cur, 0, sizeof m->cur);
        return 0;
    }
    if (l->count == l->_alloc) {
        size_t n = l->_alloc ? l->_alloc * 2 : 8;
        goio_io_archive_file *f = goio_reallocarray(l->files, n, sizeof *f);
        if (!f) {
            mem_abort(sink);
            return GOIO_ENOMEM;
        }
        l->files = f;
        l->_alloc = n;
    }
    l->files[l->count++] = m->cur;
    memset(&m->cur, 0, sizeof m->cur);
    return 0;
}

static const xsink_ops mem_ops = {mem_begin, mem_data, mem_end, mem_abort};

void goio_io_archive_files_free(goio_io_archive_files *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        file_release(list->_pool, &list->files[i]);
    goio_free(list->files);
    goio_free(list);
}

const goio_io_archive_file *
goio_io_archive_files_find(const goio_io_archive_files *l, const char *name)
{
    if (!l || !name)
        return NULL;
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->files[i].name, name))
            return &l->files[i];
    return NULL;
}

static int extract_to_memory(xjob *job, goio_io_archive_files **out)
{
    goio_io_archive_files *list = goio_calloc(1, sizeof *list);
    if (!list)
        return GOIO_ENOMEM;
    goio_io_bufpool *pool =
        job->opt && job->opt->pool ? job->opt->pool : goio_io_bufpool_default();
    list->_pool = pool;
    mem_sink m = {list, pool, {0}, SIZE_MAX};
    job->ops = &mem_ops;
    job->sink = &m;
    int rc = goio__ioext_extract(job);
    if (rc) {
        goio_io_archive_files_free(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* ---- public entry points ------------------------------------------------- */

/* The memory entry points' shared checks; *out is NULL on any error. */
static int check_common(bool input_ok, const char *const *names, size_t nnames,
                        goio_io_archive_files **out)
{
    if (out)
        *out = NULL;
    return !out || !input_ok || (nnames && !names) ? GOIO_EINVAL : 0;
}

int goio_io_zip_extract(const void *data, size_t len, const char *const *names,
                        size_t nnames, const goio_io_extract_config *opt,
                        goio_io_archive_files **out)
{
    int rc = check_common(data || !len, names, nnames, out);
    if (rc)
        return rc;
    xjob job = {X_ZIP, data, len, NULL, names, nnames, opt, NULL, NULL};
    return extract_to_memory(&job, out);
}

int goio_io_targz_extract_reader(goio_io_reader *r, const char *const *names,
                                 size_t nnames,
                                 const goio_io_extract_config *opt,
                                 goio_io_archive_files **out)
{
    int rc = check_common(r != NULL, names, nnames, out);
    if (rc)
        return rc;
    xjob job = {X_TARGZ, NULL, 0, r, names, nnames, opt, NULL, NULL};
    return extract_to_memory(&job, out);
}

int goio_io_targz_extract(const void *data, size_t len,
                          const char *const *names, size_t nnames,
                          const goio_io_extract_config *opt,
                          goio_io_archive_files **out)
{
    int rc = check_common(data || !len, names, nnames, out);
    if (rc)
        return rc;
    goio_io_reader *r;
    if ((rc = goio_io_reader_new_mem(data, len, &r)))
        return rc;
    rc = goio_io_targz_extract_reader(r, names, nnames, opt, out);
    goio_io_reader_close(r);
    return rc;
}

int goio_io_zip_extract_to_dir(const void *data, size_t len, const char *dir,
                               const goio_io_extract_config *opt)
{
    if (!dir || !*dir || (!data && len))
        return GOIO_EINVAL;
    xjob job = {X_ZIP, data, len, NULL, NULL, 0, opt, NULL, NULL};
    return goio__ioext_extract_dir(&job, dir);
}

int goio_io_targz_extract_to_dir(goio_io_reader *r, const char *dir,
                                 const goio_io_extract_config *opt)
{
    if (!r || !dir || !*dir)
        return GOIO_EINVAL;
    xjob job = {X_TARGZ, NULL, 0, r, NULL, 0, opt, NULL, NULL};
    return goio__ioext_extract_dir(&job, dir);
}
