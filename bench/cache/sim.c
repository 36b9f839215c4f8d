/* SPDX-License-Identifier: MIT */
#include "sim.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- an id -> index map (open addressing, backward-shift deletion) ---- */

typedef struct idmap {
    uint64_t *keys;
    int32_t *vals; /* -1: empty */
    size_t mask;
} idmap;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static void map_init(idmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(m->vals, 0xff, cap * sizeof *m->vals);
    m->mask = cap - 1;
}

static void map_free(idmap *m)
{
    free(m->keys);
    free(m->vals);
}

static int32_t map_get(const idmap *m, uint64_t k)
{
    for (size_t i = mix64(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->vals[i] < 0)
            return -1;
        if (m->keys[i] == k)
            return m->vals[i];
    }
}

static void map_put(idmap *m, uint64_t k, int32_t v)
{
    for (size_t i = mix64(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->vals[i] < 0 || m->keys[i] == k) {
            m->keys[i] = k;
            m->vals[i] = v;
            return;
        }
    }
}

static void map_del(idmap *m, uint64_t k)
{
    size_t i = mix64(k) & m->mask;
    while (m->vals[i] >= 0 && m->keys[i] != k)
        i = (i + 1) & m->mask;
    if (m->vals[i] < 0)
        return;
    m->vals[i] = -1;
    for (size_t j = (i + 1) & m->mask; m->vals[j] >= 0; j = (j + 1) & m->mask) {
        size_t home = mix64(m->keys[j]) & m->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->vals[j] = -1;
            i = j;
        }
    }
}

/* ---- LRU ---------------------------------------------------------------- */

typedef struct node {
    uint64_t key;
    uint32_t weight;
    int32_t prev, next;
} node;

double sim_lru(const uint64_t *keys, size_t n, size_t cap_entries,
               uint64_t cap_bytes, const uint32_t *weights)
{
    size_t max_nodes = cap_entries ? cap_entries + 1 : n + 1;
    if (max_nodes > n + 1)
        max_nodes = n + 1;
    node *nodes = malloc(max_nodes * sizeof *nodes);
    int32_t *free_list = malloc(max_nodes * sizeof *free_list);
    size_t nfree = 0, used = 0, count = 0, hits = 0;
    uint64_t bytes = 0;
    int32_t head = -1, tail = -1;
    idmap m;
    map_init(&m, max_nodes);
#define UNLINK(x)                                                              \
    do {                                                                       \
        if (nodes[x].prev >= 0)                                                \
            nodes[nodes[x].prev].next = nodes[x].next;                         \
        else                                                                   \
            head = nodes[x].next;                                              \
        if (nodes[x].next >= 0)                                                \
            nodes[nodes[x].next].prev = nodes[x].prev;                         \
        else                                                                   \
            tail = nodes[x].prev;                                              \
    } while (0)
#define PUSH(x)                                                                \
    do {                                                                       \
        nodes[x].prev = -1;                                                    \
        nodes[x].next = head;                                                  \
        if (head >= 0)                                                         \
            nodes[head].prev = x;                                              \
        else                                                                   \
            tail = x;                                                          \
        head = x;                                                              \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        uint32_t w = weights ? weights[i] : 1;
        int32_t x = map_get(&m, keys[i]);
        if (x >= 0) {
            hits++;
            UNLINK(x);
            PUSH(x);
            continue;
        }
        if (cap_bytes && w > cap_bytes)
            continue;
        while (count && ((cap_entries && count >= cap_entries) ||
                         (cap_bytes && bytes + w > cap_bytes))) {
            int32_t v = tail;
            UNLINK(v);
            map_del(&m, nodes[v].key);
            bytes -= nodes[v].weight;
            count--;
            free_list[nfree++] = v;
        }
        x = nfree ? free_list[--nfree] : (int32_t)used++;
        nodes[x].key = keys[i];
        nodes[x].weight = w;
        PUSH(x);
        map_put(&m, keys[i], x);
        bytes += w;
        count++;
    }
#undef UNLINK
#undef PUSH
    map_free(&m);
    free(nodes);
    free(free_list);
    return n ? (double)hits / (double)n : 0;
}

/* ---- Belady ------------------------------------------------------------- */

typedef struct heap_item {
    int64_t next_use;
    uint64_t key;
} heap_item;

static void heap_push(heap_item *h, size_t *n, heap_item it)
{
    size_t i = (*n)++;
    h[i] = it;
    while (i && h[(i - 1) / 2].next_use < h[i].next_use) {
        heap_item t = h[(i - 1) / 2];
        h[(i - 1) / 2] = h[i];
        h[i] = t;
        i = (i - 1) / 2;
    }
}

static heap_item heap_pop(heap_item *h, size_t *n)
{
    heap_item top = h[0];
    h[0] = h[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, b = i;
        if (l < *n && h[l].next_use > h[b].next_use)
            b = l;
        if (r < *n && h[r].next_use > h[b].next_use)
            b = r;
        if (b == i)
            break;
        heap_item t = h[b];
        h[b] = h[i];
        h[i] = t;
        i = b;
    }
    return top;
}

double sim_opt(const uint64_t *keys, size_t n, size_t cap)
{
    /* next[i]: when keys[i] is used again (INT32_MAX: never). */
    int32_t *next = malloc(n * sizeof *next);
    idmap last;
    map_init(&last, n);
    for (size_t i = n; i-- > 0;) {
        int32_t v = map_get(&last, keys[i]);
        next[i] = v < 0 ? INT32_MAX : v;
        map_put(&last, keys[i], (int32_t)i);
    }
    map_free(&last);
    /* The cache maps a key to its next use; the max-heap holds (next use,
     * key) pairs, stale ones skipped when they surface. */
    idmap in;
    map_init(&in, cap + 1);
    heap_item *heap = malloc((n + 1) * sizeof *heap);
    size_t hn = 0, size = 0, hits = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t nu = next[i];
        if (map_get(&in, keys[i]) >= 0) {
            hits++;
        } else if (size >= cap) {
            while (map_get(&in, heap[0].key) != heap[0].next_use)
                heap_pop(heap, &hn);
            if (nu >= heap[0].next_use)
                continue; /* keeping this key would be the worse choice */
            map_del(&in, heap_pop(heap, &hn).key);
            size--;
        }
        if (map_get(&in, keys[i]) < 0)
            size++;
        map_put(&in, keys[i], nu);
        heap_push(heap, &hn, (heap_item){nu, keys[i]});
    }
    map_free(&in);
    free(heap);
    free(next);
    return n ? (double)hits / (double)n : 0;
}

/* ---- traces ------------------------------------------------------------- */

static const char *trace_dir(void)
{
    const char *d = getenv("GOIO_TRACES");
    return d && *d ? d : GOIO_DEFAULT_TRACES;
}

uint64_t *trace_load(const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", trace_dir(), name);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        printf("# trace %s not found (set GOIO_TRACES); skipping\n", path);
        return NULL;
    }
    /* ARC traces (oltp) list runs "start count x y"; LIRS ones one key
     * per line. */
    bool runs = !strcmp(name, "oltp");
    size_t cap = 1 << 20, len = 0;
    uint64_t *keys = malloc(cap * sizeof *keys);
    char line[256];
    while (keys && gzgets(f, line, sizeof line)) {
        unsigned long long start, count = 1;
        if (runs ? sscanf(line, "%llu %llu", &start, &count) != 2
                 : sscanf(line, "%llu", &start) != 1)
            continue;
        for (unsigned long long k = 0; k < count; k++) {
            if (len == cap) {
                uint64_t *grown = realloc(keys, (cap *= 2) * sizeof *keys);
                if (!grown) {
                    free(keys);
                    keys = NULL;
                    break;
                }
                keys = grown;
            }
            keys[len++] = start + k;
        }
    }
    gzclose(f);
    *n = len;
    return keys;
}
