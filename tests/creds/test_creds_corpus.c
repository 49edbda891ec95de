/* SPDX-License-Identifier: MIT */
/* test_corpus.c: every case of tests/creds/corpus through the public API, exact messages. */
#include "dsqlauth.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct corpus_case {
    char name[256];
};

static const char *corpus_dir(void)
{
    static char path[1024];
    const char *root = getenv("DSQLAUTH_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/creds/corpus", root != NULL ? root : ".");
    return path;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct corpus_case *)a)->name, ((const struct corpus_case *)b)->name);
}

ParameterizedTestParameters(corpus, cases)
{
    DIR *d = opendir(corpus_dir());
    cr_assert_not_null(d, "no corpus at %s (set DSQLAUTH_SOURCE_ROOT)", corpus_dir());
    size_t n = 0;
    struct corpus_case *cases = cr_malloc(sizeof *cases * 256);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256) {
        char path[1400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", corpus_dir(), de->d_name);
        if (de->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        snprintf(cases[n++].name, sizeof cases[0].name, "%s", de->d_name);
    }
    closedir(d);
    qsort(cases, n, sizeof *cases, by_name);
    return cr_make_param_array(struct corpus_case, cases, n);
}

/* Copies src (a case folder) to dst, substituting @DIR@ with dst in every file. */
static void copy_case(const char *src, const char *dst, const char *rel)
{
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s%s", src, rel);
    DIR *d = opendir(from);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (*rel == '\0' && (strcmp(de->d_name, "README") == 0 || strcmp(de->d_name, "env") == 0 ||
                             strcmp(de->d_name, "expect") == 0))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", rel, de->d_name);
        snprintf(from, sizeof from, "%s%s", src, sub);
        struct stat st;
        stat(from, &st);
        if (S_ISDIR(st.st_mode)) {
            snprintf(to, sizeof to, "%s%s", dst, sub);
            mkdir(to, 0755);
            copy_case(src, dst, sub);
            continue;
        }
        char *text = scratch_read(from);
        char *out = scratch_subst(text, dst);
        scratch_write(dst, sub + 1, out, (int)(st.st_mode & 0777));
        free(text);
        free(out);
    }
    closedir(d);
}

/* The value of key in an expect/env file (NULL: absent); @DIR@ substituted. */
static char *lookup(char *text, const char *key, const char *dir)
{
    size_t kl = strlen(key);
    for (char *line = text; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (len > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
            char *v = strndup(line + kl + 1, len - kl - 1);
            char *r = scratch_subst(v, dir);
            free(v);
            return r;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

static void apply_env(char *text, const char *dir)
{
    for (char *line = text; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
            char *v = scratch_subst(eq + 1, dir);
            setenv(line, v, 1);
            free(v);
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

ParameterizedTest(struct corpus_case *c, corpus, cases, .timeout = 60)
{
    char src[1400], path[1500];
    snprintf(src, sizeof src, "%s/%s", corpus_dir(), c->name);
    char *dir = scratch_dir();
    scratch_isolate_env(dir);
    copy_case(src, dir, "");
    snprintf(path, sizeof path, "%s/env", src);
    char *env = scratch_read(path);
    if (env != NULL)
        apply_env(env, dir);
    snprintf(path, sizeof path, "%s/expect", src);
    char *expect = scratch_read(path);
    cr_assert_not_null(expect, "%s: no expect file", c->name);

    char *profile = lookup(expect, "profile_arg", dir);
    dsql_credentials *cr = NULL;
    dsql_error err = {0};
    int rc = dsql_credentials_resolve(profile, &cr, &err);
    char *key = lookup(expect, "access_key", dir);
    char *error = lookup(expect, "error", dir);
    char *none = lookup(expect, "credentials", dir);
    if (key != NULL) {
        cr_assert_eq(rc, DSQL_OK, "%s: %s", c->name, err.message);
        cr_assert_str_eq(dsql_credentials_access_key_id(cr), key, "%s", c->name);
    } else if (error != NULL) {
        cr_assert(rc != DSQL_OK && rc != DSQL_ERR_NO_CREDENTIALS, "%s: rc %d", c->name, rc);
        cr_assert(strstr(err.message, error) != NULL, "%s: '%s' lacks '%s'", c->name, err.message,
                  error);
    } else if (none != NULL) {
        cr_assert_eq(rc, DSQL_ERR_NO_CREDENTIALS, "%s: rc %d %s", c->name, rc, err.message);
    }
    dsql_credentials_free(cr);

    char region[DSQL_REGION_MAX];
    memset(&err, 0, sizeof err);
    rc = dsql_region_resolve(NULL, NULL, profile, region, sizeof region, &err);
    char *want_region = lookup(expect, "region", dir);
    char *region_error = lookup(expect, "region_error", dir);
    if (want_region != NULL && strcmp(want_region, "none") == 0) {
        cr_assert_eq(rc, DSQL_ERR_REGION, "%s: %s", c->name, err.message);
        cr_assert(strncmp(err.message, "no region", 9) == 0, "%s: %s", c->name, err.message);
    } else if (want_region != NULL) {
        cr_assert_eq(rc, DSQL_OK, "%s: %s", c->name, err.message);
        cr_assert_str_eq(region, want_region, "%s", c->name);
    } else if (region_error != NULL) {
        cr_assert_neq(rc, DSQL_OK, "%s", c->name);
        cr_assert(strstr(err.message, region_error) != NULL, "%s: '%s' lacks '%s'", c->name,
                  err.message, region_error);
    }

    char *absent = lookup(expect, "absent", dir);
    if (absent != NULL)
        cr_assert_eq(access(absent, F_OK), -1, "%s: %s exists", c->name, absent);
    free(profile);
    free(key);
    free(error);
    free(none);
    free(want_region);
    free(region_error);
    free(absent);
    free(env);
    free(expect);
}
