/* SPDX-License-Identifier: MIT */
/*
 * A main for a libFuzzer target without libFuzzer: feeds it every file
 * named on the command line, or found in a directory named there (sorted,
 * one level), once, then an empty input. Prints what it replayed; any
 * crash or sanitizer report ends the process and fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    /* An exact-size copy: reads past the input's end are caught. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int inputs = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            printf("replay: %s missing: no corpus yet\n", argv[i]);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += replay_file(argv[i]) != 0;
            inputs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            return 2;
        char **names = NULL;
        size_t count = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char **more = realloc(names, (count + 1) * sizeof *names);
            if (!more)
                return 2;
            names = more;
            size_t n = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[count] = malloc(n);
            if (!names[count])
                return 2;
            snprintf(names[count++], n, "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(names, count, sizeof *names, by_name);
        for (size_t k = 0; k < count; k++) {
            printf("replay: %s\n", names[k]);
            fflush(stdout);
            bad += replay_file(names[k]) != 0;
            inputs++;
            free(names[k]);
        }
        free(names);
    }
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    printf("replay: %d inputs and the empty one, %d unreadable\n", inputs, bad);
    return bad ? 1 : 0;
}
