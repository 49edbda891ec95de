/* SPDX-License-Identifier: MIT */
/* replay.c: the main() of a fuzz target in ordinary builds: every file of the given folders. */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir through the target; returns how many, or -1 on error. */
static long replay_dir(const char *dir, int required)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (!required)
            return 0;
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            FUZZ_CHECK(names != NULL);
        }
        names[n] = strdup(e->d_name);
        FUZZ_CHECK(names[n] != NULL);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        FUZZ_CHECK(f != NULL);
        uint8_t *buf = malloc((size_t)st.st_size + 1);
        FUZZ_CHECK(buf != NULL);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        FUZZ_CHECK(got == (size_t)st.st_size);
        /* An exact-size copy, so ASan sees a read past the end as libFuzzer would. */
        uint8_t *exact = malloc(got ? got : 1);
        FUZZ_CHECK(exact != NULL);
        memcpy(exact, buf, got);
        free(buf);
        fprintf(stderr, "replay: %s\n", path);
        LLVMFuzzerTestOneInput(exact, got);
        free(exact);
        done++;
    }
    free(names);
    return done;
}

/* Usage: fuzz_x CORPUS_DIR [REGRESS_DIR...]. The corpus must exist and hold files. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [REGRESS_DIR...]\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long n = replay_dir(argv[i], i == 1);
        if (n < 0 || (i == 1 && n == 0)) {
            fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[i]);
            return 1;
        }
        printf("%s: %ld inputs from %s\n", argv[0], n, argv[i]);
        total += n;
    }
    printf("%s: %ld inputs, no failure\n", argv[0], total);
    return 0;
}
