/* SPDX-License-Identifier: MIT */
#include "prom_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

goio_prom_metric_config prom_opts(const char *name, const char *help)
{
    goio_prom_metric_config o;
    goio_prom_metric_config_init(&o);
    o.name = name;
    o.help = help;
    return o;
}

int prom_promtool(const char *text, char **out)
{
    char *dir = goio_test_mkdtemp("promtool");
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    assert_int_equal(goio_test_write_file(path, text, strlen(text)), 0);
    int status = -1;
    char *o =
        goio_test_capture(&status, "promtool check metrics < '%s' 2>&1", path);
    goio_test_rm_rf(dir);
    goio_free(dir);
    if (out)
        *out = o;
    else
        goio_free(o);
    return status;
}

void prom_assert_promtool_clean(const char *text)
{
    char *o = NULL;
    int st = prom_promtool(text, &o);
    if (st != 0)
        fail_msg("promtool exit %d: %s\n--- input ---\n%s", st, o, text);
    goio_free(o);
}

/* ---- parsing sample lines ------------------------------------------------ */

typedef struct parsed {
    char name[256];
    char group[4096]; /* label pairs without le */
    char le[64];
    bool has_le;
    double value;
} parsed;

/* Parses `name{a="x",le="1"} 3` (labels optional). False on malformed. */
static bool parse_line(const char *line, size_t len, parsed *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0, g = 0;
    while (i < len && line[i] != '{' && line[i] != ' ' && i < 255) {
        p->name[i] = line[i];
        i++;
    }
    if (i < len && line[i] == '{') {
        i++;
        while (i < len && line[i] != '}') {
            size_t ns = i;
            while (i < len && line[i] != '=')
                i++;
            if (i + 1 >= len || line[i + 1] != '"')
                return false;
            size_t nlen = i - ns, vs = i + 2;
            i += 2;
            while (i < len && line[i] != '"')
                i += line[i] == '\\' ? 2 : 1;
            if (i >= len)
                return false;
            bool is_le = nlen == 2 && !strncmp(line + ns, "le", 2);
            if (is_le) {
                snprintf(p->le, sizeof p->le, "%.*s", (int)(i - vs), line + vs);
                p->has_le = true;
            } else if (g + (i + 1 - ns) + 2 < sizeof p->group) {
                g += (size_t)snprintf(p->group + g, sizeof p->group - g,
                                      "%s%.*s", g ? "," : "", (int)(i + 1 - ns),
                                      line + ns);
            }
            i++; /* closing quote */
            if (i < len && line[i] == ',')
                i++;
        }
        i++; /* '}' */
    }
    if (i >= len || line[i] != ' ')
        return false;
    char num[64];
    snprintf(num, sizeof num, "%.*s", (int)(len - i - 1), line + i + 1);
    p->value = strtod(num, NULL);
    return true;
}

typedef struct hgroup {
    char key[4400]; /* family + group */
    double last_le;
    double last_cum;
    int buckets;
    bool inf, sum, count;
    double inf_val, count_val;
} hgroup;

static hgroup *group_for(hgroup *gs, int *n, const char *fam, const char *group)
{
    char key[4400];
    if ((size_t)snprintf(key, sizeof key, "%s|%s", fam, group) >= sizeof key)
        return NULL;
    for (int i = 0; i < *n; i++)
        if (!strcmp(gs[i].key, key))
            return &gs[i];
    if (*n >= 256)
        return NULL;
    hgroup *h = &gs[(*n)++];
    memset(h, 0, sizeof *h);
    memcpy(h->key, key, sizeof key);
    h->last_le = -INFINITY;
    return h;
}

/* Which histogram family (from # TYPE lines) a sample name belongs to. */
static const char *hist_family(char fams[][256], int nf, const char *name,
                               const char **suffix)
{
    static const char *const sufs[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < nf; i++) {
        size_t fl = strlen(fams[i]);
        for (int s = 0; s < 3; s++)
            if (!strncmp(name, fams[i], fl) && !strcmp(name + fl, sufs[s])) {
                *suffix = sufs[s];
                return fams[i];
            }
    }
    return NULL;
}

static const char *apply(hgroup *h, const char *suffix, const parsed *p)
{
    if (!strcmp(suffix, "_sum")) {
        h->sum = true;
        return NULL;
    }
    if (!strcmp(suffix, "_count")) {
        h->count = true;
        h->count_val = p->value;
        return NULL;
    }
    if (!p->has_le)
        return "bucket without le";
    if (h->inf)
        return "bucket after +Inf";
    double le = strtod(p->le, NULL);
    if (le <= h->last_le)
        return "le not increasing";
    if (p->value < h->last_cum)
        return "cumulative count decreased";
    h->last_le = le;
    h->last_cum = p->value;
    h->buckets++;
    if (isinf(le) && le > 0) {
        h->inf = true;
        h->inf_val = p->value;
    }
    return NULL;
}

const char *prom_histograms_ok(const char *text)
{
    static char fams[64][256];
    static hgroup groups[256];
    int nf = 0, ng = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char fam[256];
        if (sscanf(line, "# TYPE %255s histogram", fam) == 1 && nf < 64)
            snprintf(fams[nf++], 256, "%s", fam);
        parsed p;
        const char *suffix;
        if (line[0] != '#' && len && parse_line(line, len, &p)) {
            const char *f = hist_family(fams, nf, p.name, &suffix);
            hgroup *h = f ? group_for(groups, &ng, f, p.group) : NULL;
            const char *err = h ? apply(h, suffix, &p) : NULL;
            if (err)
                return err;
        }
        line = nl ? nl + 1 : line + len;
    }
    for (int i = 0; i < ng; i++) {
        if (!groups[i].inf)
            return "no +Inf bucket";
        if (!groups[i].sum)
            return "no _sum";
        if (!groups[i].count)
            return "no _count";
        if (groups[i].count_val != groups[i].inf_val)
            return "_count differs from the +Inf bucket";
    }
    return NULL;
}

bool prom_sample(const char *text, const char *series, double *value)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (!strncmp(line, series, n) && line[n] == ' ') {
            if (value)
                *value = strtod(line + n + 1, NULL);
            return true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

char *prom_render_text(goio_prom_registry *reg, goio_prom_format fmt)
{
    goio_buf b = GOIO_BUF_INIT;
    assert_ok(goio_prom_registry_write(reg, NULL, fmt, &b));
    assert_ok(goio_buf_reserve(&b, 1));
    goio_buf_cstr(&b);
    return (char *)goio_buf_detach(&b, NULL);
}

char *prom_gunzip(const uint8_t *p, size_t n)
{
    goio_buf out = GOIO_BUF_INIT;
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    int zrc;
    do {
        assert_ok(goio_buf_reserve(&out, 65536));
        zs.next_out = out.data + out.len;
        zs.avail_out = 65536;
        zrc = inflate(&zs, Z_NO_FLUSH);
        out.len = (size_t)(zs.next_out - out.data);
    } while (zrc == Z_OK);
    assert_int_equal(zrc, Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
    goio_buf_cstr(&out);
    return (char *)goio_buf_detach(&out, NULL);
}
