/* SPDX-License-Identifier: MIT */
/*
 * Archive entry names: cleaning for the writers and safety checks for
 * extraction. Both work on '/'-separated names, lexically.
 */
#include "ioext_int.h"

/*
 * Cleans `name` like Go's path.Clean, without a leading '/': empty and "."
 * components go, ".." removes the previous component. Writes the result
 * (no trailing '/') to out, which has room for strlen(name) + 1 bytes.
 * Returns 0, or GOIO_EUNSAFEPATH when a ".." would climb above the start
 * (also for rooted names: "/../x" escapes, it is not "/x").
 */
static int clean_into(const char *name, char *out, size_t *len_out)
{
    size_t len = 0;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0)
                return GOIO_EUNSAFEPATH;
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the separator before the removed component */
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    out[len] = '\0';
    *len_out = len;
    return 0;
}

int goio__ioext_clean_name(const char *name, bool dot_slash, char **out)
{
    *out = NULL;
    if (!name)
        return GOIO_EINVAL;
    size_t n = strlen(name);
    char *c = goio_malloc(n + 3);
    if (!c)
        return GOIO_ENOMEM;
    size_t len;
    int rc = clean_into(name, c + 2, &len);
    if (!rc && len == 0)
        rc = GOIO_EINVAL; /* "", "/", "." or "a/..": names nothing */
    if (rc) {
        goio_free(c);
        return rc;
    }
    if (dot_slash) {
        c[0] = '.';
        c[1] = '/';
    } else {
        memmove(c, c + 2, len + 1);
    }
    *out = c;
    return 0;
}

/*
 * An entry name from an archive, made relative and checked: absolute
 * names and any ".." component are refused (even "a/../b", which stays
 * inside: refusing it costs nothing real and keeps the rule simple).
 * "./a//b/" becomes "a/b"; the root itself ("./", ".") becomes "".
 */
int goio__ioext_entry_name(const char *name, char *out, size_t cap)
{
    if (!name || !*name)
        return GOIO_EUNSAFEPATH;
    if (name[0] == '/')
        return GOIO_EUNSAFEPATH;
    size_t n = strlen(name);
    if (n >= cap)
        return GOIO_ENAMETOOLONG;
    for (const char *p = name; *p;) {
        const char *end = strchr(p, '/');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return GOIO_EUNSAFEPATH;
        p += k;
        if (*p == '/')
            p++;
    }
    size_t len;
    return clean_into(name, out, &len);
}

/*
 * Whether a symlink at entry `name` (already checked and cleaned) pointing
 * to `target` stays inside the root. Lexical cleaning is not enough once
 * links exist: with "l" -> ".", the target "l/.." looks inside but the
 * kernel resolves it to the root's parent. So a target may climb only
 * with leading ".." (through the link's own folders, which are real
 * directories: extraction never creates anything through a symlink), no
 * further than the root, and then only descend. Each accepted link thus
 * lands inside the root, and so does any path made of them.
 */
bool goio__ioext_link_inside(const char *name, const char *target)
{
    if (!target || !*target || target[0] == '/')
        return false;
    int depth = 0; /* folders between the root and the link */
    for (const char *p = name; *p; p++)
        if (*p == '/')
            depth++;
    bool descending = false;
    for (const char *p = target; *p;) {
        const char *end = strchr(p, '/');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k == 2 && p[0] == '.' && p[1] == '.') {
            if (descending || --depth < 0)
                return false;
        } else if (k && !(k == 1 && p[0] == '.')) {
            descending = true;
        }
        p += k;
        if (*p == '/')
            p++;
    }
    return true;
}
