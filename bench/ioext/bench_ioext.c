/* SPDX-License-Identifier: MIT */
/*
 * bench_ioext: goio's archives and Tee against the standard tools, on one
 * corpus this program makes (many files, text-like with some binary).
 *
 *   targz_write     goio tar.gz (1 thread) vs `tar czf` (gzip -6)
 *   targz_write_mt  goio tar.gz (N threads) vs `tar cf - | pigz -p N`
 *   zip_extract     goio_io_zip_extract from memory vs `unzip -q` to tmpfs
 *   zip_compress    goio_io_zip_compress (files read in the timing) vs
 *                   `zip -qr`, both writing to tmpfs
 *   zip_compress_mt the same with N threads (anchor still `zip -qr`)
 *   tee             Tee (main + secondary on another thread) vs a plain
 *                   goio_io_copy of the same file
 *
 * Environment: GOIO_BENCH_IOEXT_MB corpus size (default 100),
 * GOIO_BENCH_IOEXT_REPS rounds, best of (default 2; each round runs
 * goio and its anchors in turn),
 * GOIO_BENCH_IOEXT_THREADS N (default: online CPUs),
 * GOIO_BENCH_IOEXT_TEE_BUFFER the Tee's buffer (default the library's),
 * GOIO_BENCH_TMP where the corpus goes (default /tmp; outputs go to
 * /dev/shm). Throughputs are MiB/s of uncompressed corpus bytes.
 */
#include "bench.h"

#include <goio/ioext.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

typedef struct corpus {
    char dir[512];
    char **names; /* relative paths */
    size_t *sizes;
    size_t n;
    uint64_t total;
} corpus;

static int reps = 1;
static unsigned threads = 2;
static const char *shm = "/dev/shm";

static int run(const char *fmt, ...) GOIO_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc)
        fprintf(stderr, "bench_ioext: '%s' failed (%d)\n", cmd, rc);
    return rc;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_ioext: %s: %s\n", what, goio_strerror(rc));
    exit(1);
}

/* ---- the corpus ---------------------------------------------------------- */

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Text from a 512-word vocabulary (deflate -6 gets about 3-4x, like
 * source code or JSON); one file in ten is random bytes. */
static void fill(uint8_t *p, size_t n, bool binary)
{
    static char words[512][12];
    static bool made;
    if (!made) {
        for (int i = 0; i < 512; i++) {
            int len = 2 + (int)(next_rand() % 9);
            for (int k = 0; k < len; k++)
                words[i][k] = (char)('a' + next_rand() % 26);
            words[i][len] = '\0';
        }
        made = true;
    }
    size_t i = 0;
    while (i < n) {
        if (binary) {
            uint64_t r = next_rand();
            for (int k = 0; k < 8 && i < n; k++)
                p[i++] = (uint8_t)(r >> (8 * k));
            continue;
        }
        const char *w = words[next_rand() % 512];
        while (*w && i < n)
            p[i++] = (uint8_t)*w++;
        if (i < n)
            p[i++] = next_rand() % 12 ? ' ' : '\n';
    }
}

static void make_corpus(corpus *c, uint64_t bytes)
{
    const char *base = getenv("GOIO_BENCH_TMP");
    snprintf(c->dir, sizeof c->dir, "%s/goio-bench-ioext-%d",
             base ? base : "/tmp", (int)getpid());
    size_t cap = 1024;
    c->names = calloc(cap, sizeof *c->names);
    c->sizes = calloc(cap, sizeof *c->sizes);
    uint8_t *buf = malloc(1 << 20);
    run("mkdir -p '%s'", c->dir);
    while (c->total < bytes) {
        if (c->n == cap) {
            cap *= 2;
            c->names = realloc(c->names, cap * sizeof *c->names);
            c->sizes = realloc(c->sizes, cap * sizeof *c->sizes);
        }
        /* Sizes from 256 B to 1 MiB, most of them small (log-uniform). */
        size_t size = (size_t)256 << (next_rand() % 13);
        size += next_rand() % size;
        if (size > (1 << 20))
            size = 1 << 20;
        char rel[64], path[600];
        snprintf(rel, sizeof rel, "d%02zu/s%zu/f%05zu.%s", c->n % 17, c->n % 5,
                 c->n, c->n % 10 == 9 ? "bin" : "txt");
        snprintf(path, sizeof path, "%s/d%02zu", c->dir, c->n % 17);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/d%02zu/s%zu", c->dir, c->n % 17,
                 c->n % 5);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s", c->dir, rel);
        fill(buf, size, c->n % 10 == 9);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, size, f) != size || fclose(f)) {
            fprintf(stderr, "bench_ioext: cannot write %s\n", path);
            exit(1);
        }
        c->names[c->n] = strdup(rel);
        c->sizes[c->n] = size;
        c->n++;
        c->total += size;
    }
    free(buf);
}

static void free_corpus(corpus *c)
{
    run("rm -rf '%s'", c->dir);
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->sizes);
}

/* Reads a whole file into one buffer of its size (as zip does, a read
 * per file, no regrowing). */
static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *p = goio_malloc((size_t)st.st_size + 1);
    goio_io_reader *r;
    size_t got = 0;
    int rc = goio_io_reader_new_fd(fd, true, &r);
    if (!rc)
        rc = goio_io_read_full(r, p, (size_t)st.st_size, &got);
    goio_io_reader_close(r);
    if (rc || got != (size_t)st.st_size) {
        goio_free(p);
        return NULL;
    }
    *len = got;
    return p;
}

/* ---- timing ----------------------------------------------------------- */

typedef void (*work_fn)(corpus *c, void *arg);

/* One contender of a case: what it runs and its best rate so far. */
typedef struct contender {
    work_fn fn;
    void *arg;
    double best; /* MiB/s of the corpus' bytes */
} contender;

/* Best of `reps` rounds; each round runs every contender once, in turn,
 * so a busy spell on the machine hits them alike. */
static void race(corpus *c, contender *k, int n)
{
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n; i++) {
            double t0 = bench_now_s();
            k[i].fn(c, k[i].arg);
            double mibs = (double)c->total / MIB / (bench_now_s() - t0);
            if (mibs > k[i].best)
                k[i].best = mibs;
        }
    }
}

static void shell(corpus *c, void *cmd)
{
    (void)c;
    if (run("%s", (const char *)cmd))
        exit(1);
}

/* ---- targz_write ----------------------------------------------------------
 */

static void goio_targz(corpus *c, void *arg)
{
    unsigned nthreads = *(unsigned *)arg;
    char out[256];
    snprintf(out, sizeof out, "%s/goio-bench.tgz", shm);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    goio_io_writer *w;
    goio_io_targz_writer *t;
    goio_io_targz_config opt;
    goio_io_targz_config_init(&opt);
    opt.gzip.threads = nthreads;
    if (fd < 0 || goio_io_writer_new_fd(fd, true, &w))
        die("open output", GOIO_EIO);
    int rc = goio_io_targz_writer_new(w, &opt, &t);
    for (size_t i = 0; !rc && i < c->n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", c->dir, c->names[i]);
        goio_io_reader *r;
        rc = goio_io_reader_new_fd(open(path, O_RDONLY), true, &r);
        if (!rc)
            rc =
                goio_io_targz_writer_add_reader(t, c->names[i], r, c->sizes[i]);
        goio_io_reader_close(r);
    }
    int crc = goio_io_targz_writer_close(t);
    if (rc || crc)
        die("targz", rc ? rc : crc);
    goio_io_writer_close(w);
}

static void bench_targz(corpus *c, int argc, char **argv)
{
    char cmd[2048], pigz[2048];
    unsigned one = 1;
    snprintf(cmd, sizeof cmd, "tar czf %s/anchor.tgz -C '%s' .", shm, c->dir);
    snprintf(pigz, sizeof pigz,
             "tar cf - -C '%s' . | pigz -p %u > %s/anchor.tgz", c->dir, threads,
             shm);
    if (bench_selected(argc, argv, "targz_write")) {
        contender k[] = {
            {goio_targz, &one, 0}, {shell, cmd, 0}, {shell, pigz, 0}};
        race(c, k, 3);
        char extra[96];
        snprintf(extra, sizeof extra, "pigz_p%u=%.1f", threads, k[2].best);
        bench_line("targz_write", k[0].best, k[1].best, "MiB/s", true, extra);
    }
    if (bench_selected(argc, argv, "targz_write_mt")) {
        contender k[] = {{goio_targz, &threads, 0}, {shell, pigz, 0}};
        race(c, k, 2);
        char extra[64];
        snprintf(extra, sizeof extra, "threads=%u anchor=pigz", threads);
        bench_line("targz_write_mt", k[0].best, k[1].best, "MiB/s", true,
                   extra);
    }
    run("rm -f %s/goio-bench.tgz %s/anchor.tgz", shm, shm);
}

/* ---- zip ------------------------------------------------------------------
 */

typedef struct zip_arg {
    const uint8_t *zip;
    size_t len;
    unsigned threads;
} zip_arg;

static void goio_unzip(corpus *c, void *arg)
{
    zip_arg *z = arg;
    goio_io_extract_config opt;
    goio_io_extract_config_init(&opt);
    opt.max_entries = c->n * 2 + 100;
    opt.max_total_bytes = c->total * 2;
    goio_io_archive_files *out;
    int rc = goio_io_zip_extract(z->zip, z->len, NULL, 0, &opt, &out);
    if (rc)
        die("zip extract", rc);
    if (out->count != c->n)
        die("zip extract count", GOIO_EIO);
    goio_io_archive_files_free(out);
}

static void goio_zip(corpus *c, void *arg)
{
    zip_arg *z = arg;
    /* Read the files in the timing, as zip does. */
    goio_io_zip_input *in = calloc(c->n, sizeof *in);
    for (size_t i = 0; i < c->n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", c->dir, c->names[i]);
        size_t len;
        uint8_t *d = read_file(path, &len);
        if (!d)
            die(path, GOIO_EIO);
        in[i] = (goio_io_zip_input){c->names[i], d, len};
    }
    char out[256];
    snprintf(out, sizeof out, "%s/goio-bench.zip", shm);
    FILE *f = fopen(out, "wb");
    goio_io_writer *w;
    if (!f || goio_io_writer_new_file(f, true, &w))
        die("open output", GOIO_EIO);
    goio_io_zip_config opt;
    goio_io_zip_config_init(&opt);
    opt.threads = z->threads;
    int rc = goio_io_zip_compress(w, in, c->n, &opt);
    int crc = goio_io_writer_close(w);
    if (rc || crc)
        die("zip compress", rc ? rc : crc);
    for (size_t i = 0; i < c->n; i++)
        goio_free((void *)in[i].data);
    free(in);
}

static void bench_zip(corpus *c, int argc, char **argv)
{
    char cmd[2048], zpath[256];
    snprintf(zpath, sizeof zpath, "%s/anchor.zip", shm);
    if (bench_selected(argc, argv, "zip_extract")) {
        if (run("cd '%s' && zip -qr %s .", c->dir, zpath))
            exit(1);
        zip_arg z = {0};
        z.zip = read_file(zpath, &z.len);
        snprintf(cmd, sizeof cmd,
                 "rm -rf %s/unz && unzip -q %s -d %s/unz && rm -rf %s/unz", shm,
                 zpath, shm, shm);
        contender k[] = {{goio_unzip, &z, 0}, {shell, cmd, 0}};
        race(c, k, 2);
        bench_line("zip_extract", k[0].best, k[1].best, "MiB/s", true,
                   "goio=memory");
        goio_free((void *)z.zip);
    }
    snprintf(cmd, sizeof cmd, "rm -f %s && cd '%s' && zip -qr %s .", zpath,
             c->dir, zpath);
    if (bench_selected(argc, argv, "zip_compress")) {
        zip_arg z = {NULL, 0, 1};
        contender k[] = {{goio_zip, &z, 0}, {shell, cmd, 0}};
        race(c, k, 2);
        bench_line("zip_compress", k[0].best, k[1].best, "MiB/s", true, NULL);
    }
    if (bench_selected(argc, argv, "zip_compress_mt")) {
        zip_arg z = {NULL, 0, threads};
        contender k[] = {{goio_zip, &z, 0}, {shell, cmd, 0}};
        race(c, k, 2);
        char extra[32];
        snprintf(extra, sizeof extra, "threads=%u", threads);
        bench_line("zip_compress_mt", k[0].best, k[1].best, "MiB/s", true,
                   extra);
    }
    run("rm -f %s %s/goio-bench.zip", zpath, shm);
}

/* ---- tee --------------------------------------------------------------------
 */

typedef struct tee_arg {
    const char *path;
    bool tee;
} tee_arg;

static void *drain(void *arg)
{
    goio_io_writer *w;
    goio_io_writer_new_discard(NULL, &w);
    int rc = goio_io_copy(w, arg, NULL);
    if (rc)
        die("tee secondary", rc);
    goio_io_writer_close(w);
    return NULL;
}

static void tee_once(corpus *c, void *arg)
{
    (void)c;
    tee_arg *t = arg;
    goio_io_reader *in, *main_r, *sec;
    goio_io_writer *w;
    if (goio_io_reader_new_fd(open(t->path, O_RDONLY), true, &in))
        die("open tee source", GOIO_EIO);
    goio_io_writer_new_discard(NULL, &w);
    pthread_t th;
    if (t->tee) {
        goio_io_tee_config tc;
        goio_io_tee_config_init(&tc);
        if (getenv("GOIO_BENCH_IOEXT_TEE_BUFFER"))
            tc.buffer_size =
                (size_t)atol(getenv("GOIO_BENCH_IOEXT_TEE_BUFFER"));
        if (goio_io_tee_new(in, &tc, &main_r, &sec))
            die("tee", GOIO_ENOMEM);
        pthread_create(&th, NULL, drain, sec);
    } else {
        main_r = in;
    }
    int rc = goio_io_copy(w, main_r, NULL);
    if (rc)
        die("tee main", rc);
    goio_io_reader_close(main_r);
    if (t->tee) {
        pthread_join(th, NULL);
        goio_io_reader_close(sec);
    }
    goio_io_writer_close(w);
}

static void bench_tee(corpus *c, int argc, char **argv)
{
    if (!bench_selected(argc, argv, "tee"))
        return;
    /* One file of the corpus' size, in tmpfs: the source costs little,
     * so the Tee's own cost shows. */
    char path[256];
    snprintf(path, sizeof path, "%s/goio-bench-tee", shm);
    if (run("find '%s' -type f -exec cat {} + > %s", c->dir, path))
        exit(1);
    tee_arg plain = {path, false}, tee = {path, true};
    int saved = reps;
    reps = reps < 5 ? 5 : reps; /* short runs: best of five at least */
    contender k[] = {{tee_once, &tee, 0}, {tee_once, &plain, 0}};
    race(c, k, 2);
    reps = saved;
    bench_line("tee", k[0].best, k[1].best, "MiB/s", true, "anchor=plain_copy");
    unlink(path);
}

int main(int argc, char **argv)
{
    const char *mb = getenv("GOIO_BENCH_IOEXT_MB");
    const char *r = getenv("GOIO_BENCH_IOEXT_REPS");
    const char *t = getenv("GOIO_BENCH_IOEXT_THREADS");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    threads = t ? (unsigned)atoi(t) : (unsigned)(cpus > 1 ? cpus : 2);
    reps = r && atoi(r) > 0 ? atoi(r) : 2;
    uint64_t bytes = (uint64_t)(mb ? atof(mb) : 100) * 1024 * 1024;
    goio_log_set_sink(NULL, NULL);
    corpus c = {0};
    make_corpus(&c, bytes);
    /* Warm the page cache so every contender reads from memory. */
    run("find '%s' -type f -exec cat {} + > /dev/null", c.dir);
    printf("# corpus: %zu files, %.1f MiB in %s; threads=%u reps=%d\n", c.n,
           (double)c.total / MIB, c.dir, threads, reps);
    bench_targz(&c, argc, argv);
    bench_zip(&c, argc, argv);
    bench_tee(&c, argc, argv);
    free_corpus(&c);
    return 0;
}
