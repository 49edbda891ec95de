/* SPDX-License-Identifier: MIT */
/* dsqlauth-run.c: runs a program with libdsqlauth_preload.so in front of its LD_PRELOAD. */

/*
 * dsqlauth-run PROGRAM [ARGS...]: finds the preload (DSQLAUTH_PRELOAD, else next to this
 * program's prefix, else the configured libdir), refuses programs LD_PRELOAD cannot reach
 * (setuid/setgid, statically linked, another ELF class), prepends the preload to LD_PRELOAD,
 * keeping what is there, and execvp's. It never sees a token: signing happens in the program.
 */
#include "dsqlauth.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRELOAD_NAME "libdsqlauth_preload.so"

static void usage(FILE *f)
{
    fputs("Usage: dsqlauth-run PROGRAM [ARGS...]\n"
          "Runs PROGRAM with IAM authentication for Amazon Aurora DSQL added to every libpq\n"
          "connection it makes (psql, pg_dump, pgbench, psycopg2 applications, ...).\n\n"
          "  dsqlauth-run psql \"host=<cluster-id>.dsql.<region>.on.aws user=admin\"\n\n"
          "For a DSQL host (or a bare cluster id, or a host matched by DSQLAUTH_HOSTS) each\n"
          "connection gets a fresh token as its password, sslmode=verify-full and, for non-admin\n"
          "users, search_path=$DSQLAUTH_SCHEMA (default myschema). Other hosts are untouched.\n"
          "Credentials and region come from the usual AWS sources (AWS_PROFILE, ~/.aws, SSO,\n"
          "IMDS, ...).\n\n"
          "Environment: DSQLAUTH_LOG=error|warn|info|debug, DSQLAUTH_DISABLE=1, DSQLAUTH_REGION,\n"
          "DSQLAUTH_SCHEMA, DSQLAUTH_HOSTS, DSQLAUTH_SSLROOTCERT, DSQLAUTH_TOKEN_EXPIRES,\n"
          "DSQLAUTH_SSLMODE=verify-ca|require (weaker TLS verification, with a warning),\n"
          "DSQLAUTH_PRELOAD (the preload to use), DSQLAUTH_LIBRARY (libdsqlauth to load).\n\n"
          "  --print-preload  print the preload this would use (for LD_PRELOAD=$(...) by hand)\n"
          "  --help           this text\n"
          "  --version        the version\n",
          f);
}

__attribute__((format(printf, 1, 2))) static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dsqlauth-run: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 127;
}

static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/*
 * The preload: $DSQLAUTH_PRELOAD; else, when this program runs from its meson build tree (the
 * tree's meson-info folder two levels up), the preload built beside it; else
 * <prefix>/<libdir> from this program's place (<prefix>/bin/dsqlauth-run), so that a prefix
 * moved as a whole works; else the configured libdir. Writes it into out.
 */
static int find_preload(char *out, size_t len)
{
    const char *env = getenv("DSQLAUTH_PRELOAD");
    if (env != NULL && *env != '\0') {
        if (!readable(env))
            return -1;
        snprintf(out, len, "%s", env);
        return 0;
    }
    char self[PATH_MAX], marker[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = NULL;
    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
    }
    if (slash != NULL) {
        *slash = '\0'; /* this program's folder */
        char built[PATH_MAX];
        if (snprintf(marker, sizeof marker, "%s/" BUILD_TREE_ROOT "/meson-info", self) <
                (int)sizeof marker &&
            access(marker, F_OK) == 0 &&
            snprintf(marker, sizeof marker, "%s/" BUILD_TREE_PRELOAD, self) < (int)sizeof marker &&
            realpath(marker, built) != NULL && strlen(built) < len && readable(built)) {
            strcpy(out, built);
            return 0;
        }
        slash = strrchr(self, '/');
    }
    if (slash != NULL) {
        *slash = '\0'; /* the prefix */
        if (snprintf(out, len, "%s/%s/" PRELOAD_NAME, self, DSQLAUTH_LIBDIR) < (int)len &&
            readable(out))
            return 0;
    }
    snprintf(out, len, "%s/%s/" PRELOAD_NAME, DSQLAUTH_PREFIX, DSQLAUTH_LIBDIR);
    return readable(out) ? 0 : -1;
}

/* The file execvp would run for name, into out. */
static int resolve_program(const char *name, char *out, size_t len)
{
    if (strchr(name, '/') != NULL) {
        snprintf(out, len, "%s", name);
        return access(out, X_OK);
    }
    const char *path = getenv("PATH");
    if (path == NULL || *path == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t n = strcspn(path, ":");
        if (snprintf(out, len, "%.*s%s%s", (int)n, path, n ? "/" : "", name) < (int)len &&
            access(out, X_OK) == 0) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        }
        path += n + (path[n] == ':');
    }
    errno = ENOENT;
    return -1;
}

enum elf_verdict { ELF_OK, ELF_STATIC, ELF_OTHER_CLASS, ELF_NOT_ELF };

/* Whether the dynamic loader (and so LD_PRELOAD) takes part in running the file. */
static enum elf_verdict inspect_elf(const char *path, char *interp, size_t interp_len)
{
    enum elf_verdict v = ELF_NOT_ELF;
    interp[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return v;
    unsigned char ident[EI_NIDENT];
    if (pread(fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident)
        goto out;
    if (ident[0] == '#' && ident[1] == '!') { /* a script: judge its interpreter */
        char line[PATH_MAX];
        ssize_t n = pread(fd, line, sizeof line - 1, 2);
        if (n > 0) {
            line[n] = '\0';
            char *p = line + strspn(line, " \t");
            p[strcspn(p, " \t\n")] = '\0';
            snprintf(interp, interp_len, "%s", p);
        }
        goto out;
    }
    if (memcmp(ident, ELFMAG, SELFMAG) != 0)
        goto out;
    if (ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)) {
        v = ELF_OTHER_CLASS;
        goto out;
    }
    ElfW(Ehdr) eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || eh.e_phentsize != sizeof(ElfW(Phdr)))
        goto out;
    v = ELF_STATIC;
    for (unsigned i = 0; i < eh.e_phnum && i < 4096; i++) {
        ElfW(Phdr) ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
            break;
        if (ph.p_type == PT_INTERP) { /* a static-pie has PT_DYNAMIC but no interpreter */
            v = ELF_OK;
            break;
        }
    }
out:
    close(fd);
    return v;
}

/* Refuses what LD_PRELOAD cannot reach. 0: fine. Follows one #! interpreter. */
static int check_program(const char *name)
{
    char path[PATH_MAX], interp[PATH_MAX];
    if (resolve_program(name, path, sizeof path) != 0)
        return die("%s: %s", name, strerror(errno));
    for (int depth = 0; depth < 2; depth++) {
        struct stat st;
        if (stat(path, &st) != 0)
            return die("%s: %s", path, strerror(errno));
        if (st.st_mode & (S_ISUID | S_ISGID))
            return die("%s is set-user-ID or set-group-ID: the dynamic loader ignores "
                       "LD_PRELOAD for it. Run an unprivileged copy, or link the program with "
                       "`pkg-config --libs dsqlauth-wrap`",
                       path);
        switch (inspect_elf(path, interp, sizeof interp)) {
        case ELF_STATIC:
            return die("%s is statically linked: LD_PRELOAD cannot reach it. Link it "
                       "dynamically with libpq, or with `pkg-config --libs dsqlauth-wrap`",
                       path);
        case ELF_OTHER_CLASS:
            return die("%s is built for another ELF class (32/64-bit) than %s", path, PRELOAD_NAME);
        case ELF_NOT_ELF:
            if (interp[0] == '\0')
                return 0; /* not for us to judge: the kernel will say */
            snprintf(path, sizeof path, "%s", interp);
            continue;
        case ELF_OK:
            return 0;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dsqlauth-run %s\n", DSQL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--print-preload") == 0) {
        char path[PATH_MAX];
        if (argc > 2)
            return die("--print-preload takes no program; see dsqlauth-run --help");
        if (find_preload(path, sizeof path) != 0)
            return die("cannot find " PRELOAD_NAME "; set DSQLAUTH_PRELOAD to its path");
        printf("%s\n", path);
        return 0;
    }
    int first = 1;
    if (strcmp(argv[1], "--") == 0)
        first = 2;
    else if (argv[1][0] == '-')
        return die("unknown option %s; see dsqlauth-run --help", argv[1]);
    if (first >= argc) {
        usage(stderr);
        return 2;
    }

    char preload[PATH_MAX];
    if (find_preload(preload, sizeof preload) != 0)
        return die("cannot find " PRELOAD_NAME "; set DSQLAUTH_PRELOAD to its path");
    int rc = check_program(argv[first]);
    if (rc != 0)
        return rc;

    /* Ours first, then whatever was there (without a second copy of ours). */
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(preload) + (old != NULL ? strlen(old) : 0) + 2;
    char *value = malloc(len);
    if (value == NULL)
        return die("out of memory");
    snprintf(value, len, "%s", preload);
    if (old != NULL) {
        const char *p = old;
        while (*p != '\0') {
            size_t n = strcspn(p, ": ");
            if (n > 0 && !(n == strlen(preload) && strncmp(p, preload, n) == 0)) {
                strcat(value, " ");
                strncat(value, p, n);
            }
            p += n;
            p += strspn(p, ": ");
        }
    }
    if (setenv("LD_PRELOAD", value, 1) != 0)
        return die("cannot set LD_PRELOAD: %s", strerror(errno));
    free(value);
    execvp(argv[first], argv + first);
    return die("%s: %s", argv[first], strerror(errno));
}
