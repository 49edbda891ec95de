/* SPDX-License-Identifier: MIT */
/* scratch.c: temporary folders and files, and an environment isolated from the machine's. */
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char *dirs[64];
static int ndirs;

static void cleanup(void)
{
    for (int i = 0; i < ndirs; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dirs[i]);
        free(dirs[i]);
    }
    ndirs = 0;
}

char *scratch_dir(void)
{
    char tmpl[] = "/tmp/dsqlauth-scratch-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d == NULL)
        abort();
    if (ndirs == 0)
        atexit(cleanup);
    if (ndirs < 64)
        dirs[ndirs++] = strdup(d);
    return dirs[ndirs - 1];
}

static void mkparents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
}

const char *scratch_write(const char *dir, const char *name, const char *text, int mode)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkparents(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    chmod(path, (mode_t)mode);
    return path;
}

char *scratch_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t n;
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            s = realloc(s, cap *= 2);
    }
    s[len] = '\0';
    fclose(f);
    return s;
}

/* The library's and the shim's own settings: what a test must not inherit. */
static const char *const settings[] = {
    "DSQLAUTH_LOG",    "DSQLAUTH_REGION",  "DSQLAUTH_TOKEN_EXPIRES", "DSQLAUTH_HOSTS",
    "DSQLAUTH_SCHEMA", "DSQLAUTH_SSLMODE", "DSQLAUTH_SSLROOTCERT",   "DSQLAUTH_DISABLE",
    "DSQLAUTH_PGDUMP", "DSQLAUTH_LIBRARY", "DSQLAUTH_PRELOAD",
};

void scratch_isolate_env(const char *dir)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        unsetenv(settings[i]);
    for (;;) {
        int found = 0;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "AWS_", 4) == 0) {
                char name[256];
                size_t n = strcspn(*e, "=");
                if (n >= sizeof name)
                    n = sizeof name - 1;
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                found = 1;
                break;
            }
        }
        if (!found)
            break;
    }
    /* The chain ends with IMDS: never let a test reach the real metadata address. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    char buf[1024];
    setenv("HOME", dir, 1);
    snprintf(buf, sizeof buf, "%s/config", dir);
    setenv("AWS_CONFIG_FILE", buf, 1);
    snprintf(buf, sizeof buf, "%s/credentials", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", buf, 1);
}

char *scratch_subst(const char *s, const char *dir)
{
    size_t cap = strlen(s) * 2 + 1;
    int count = 0;
    for (const char *p = s; (p = strstr(p, "@DIR@")) != NULL; p += 5)
        count++;
    cap = strlen(s) + (size_t)count * strlen(dir) + 1;
    char *out = malloc(cap);
    char *o = out;
    while (*s) {
        if (strncmp(s, "@DIR@", 5) == 0) {
            strcpy(o, dir);
            o += strlen(dir);
            s += 5;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

int scratch_count_lines(const char *path)
{
    char *s = scratch_read(path);
    if (s == NULL)
        return 0;
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}
