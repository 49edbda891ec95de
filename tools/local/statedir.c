/* SPDX-License-Identifier: MIT */
/* statedir.c: the state directory: its paths, the state file of the last start, the pid file. */
#include "statedir.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void statedir_default(char *out, size_t n)
{
    const char *e = getenv("DSQLAUTH_LOCAL_DIR");
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (e != NULL && *e != '\0')
        snprintf(out, n, "%s", e);
    else if (x != NULL && *x == '/' && geteuid() != 0 && access(x, W_OK) == 0)
        snprintf(out, n, "%s/dsqlauth-local", x);
    else
        snprintf(out, n, "/tmp/dsqlauth-local-%u", (unsigned)getuid());
}

void statedir_path(const settings *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", s->dir, name);
}

int statedir_make(const settings *s)
{
    char p[600];
    snprintf(p, sizeof p, "%s", s->dir);
    for (char *q = p + 1; *q != '\0'; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return -1;
    /* As root the postgres user must pass through to pgdata/ and run/ (files here stay 0600). */
    return chmod(p, geteuid() == 0 ? 0711 : 0700);
}

int statedir_load(settings *s)
{
    char path[600];
    statedir_path(s, "state", path, sizeof path);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq++ = '\0';
        if (strcmp(line, "cluster_id") == 0)
            snprintf(s->cluster_id, sizeof s->cluster_id, "%s", eq);
        else if (strcmp(line, "region") == 0)
            snprintf(s->region, sizeof s->region, "%s", eq);
        else if (strcmp(line, "port") == 0)
            s->port = atoi(eq);
        else if (strcmp(line, "strict") == 0)
            s->strict = atoi(eq);
        else if (strcmp(line, "backend_version") == 0)
            s->backend_version = atoi(eq);
        else if (strcmp(line, "max_lifetime") == 0)
            s->max_lifetime = atoll(eq);
        else if (strcmp(line, "handshake_timeout") == 0)
            s->handshake_timeout = atoi(eq);
        else if (strcmp(line, "max_failed_logins") == 0)
            s->max_failed_logins = atoi(eq);
        else if (strcmp(line, "failed_login_window") == 0)
            s->failed_login_window = atoi(eq);
        else if (strcmp(line, "inject_conflict") == 0)
            snprintf(s->inject_conflict, sizeof s->inject_conflict, "%s", eq);
        else if (strcmp(line, "max_transaction_age") == 0)
            s->max_txn_age = atoi(eq);
        else if (strcmp(line, "connection_rate") == 0)
            s->conn_rate = atoi(eq);
        else if (strcmp(line, "connection_burst") == 0)
            s->conn_burst = atoi(eq);
        else if (strcmp(line, "user") == 0 && s->nusers < LOCAL_MAX_USERS)
            snprintf(s->users[s->nusers++], sizeof s->users[0], "%s", eq);
    }
    fclose(f);
    return 0;
}

int statedir_save(const settings *s)
{
    char path[600], tmp[620];
    statedir_path(s, "state", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (f == NULL)
        return -1;
    fprintf(f,
            "cluster_id=%s\nregion=%s\nport=%d\nstrict=%d\nmax_lifetime=%lld\n"
            "handshake_timeout=%d\nmax_failed_logins=%d\nfailed_login_window=%d\n"
            "inject_conflict=%s\nmax_transaction_age=%d\nconnection_rate=%d\n"
            "connection_burst=%d\nbackend_version=%d\n",
            s->cluster_id, s->region, s->port, s->strict, s->max_lifetime, s->handshake_timeout,
            s->max_failed_logins, s->failed_login_window, s->inject_conflict, s->max_txn_age,
            s->conn_rate, s->conn_burst, s->backend_version);
    for (size_t i = 0; i < s->nusers; i++)
        fprintf(f, "user=%s\n", s->users[i]);
    return (fclose(f) == 0 && rename(tmp, path) == 0) ? 0 : -1;
}

int statedir_alive(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

pid_t statedir_front_pid(const settings *s)
{
    char path[600];
    statedir_path(s, "front.pid", path, sizeof path);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (!statedir_alive((pid_t)pid))
        return 0;
    /* A stale pid file could name an unrelated process: check it is one of ours. */
    char comm[64], cpath[64];
    snprintf(cpath, sizeof cpath, "/proc/%ld/cmdline", pid);
    FILE *c = fopen(cpath, "re");
    size_t n = c ? fread(comm, 1, sizeof comm - 1, c) : 0;
    if (c)
        fclose(c);
    comm[n] = '\0';
    return strstr(comm, "dsqlauth-local") != NULL ? (pid_t)pid : 0;
}

void statedir_write_pid(const settings *s, pid_t pid)
{
    char path[600];
    statedir_path(s, "front.pid", path, sizeof path);
    FILE *f = fopen(path, "we");
    if (f != NULL) {
        fprintf(f, "%ld\n", (long)pid);
        fclose(f);
    }
}
