/* SPDX-License-Identifier: MIT */
/* statedir.h: the state directory: its paths, the state file of the last start, the pid file. */
#ifndef DSQL_LOCAL_STATEDIR_H
#define DSQL_LOCAL_STATEDIR_H

#include "sign/endpoint.h"

#include <stddef.h>
#include <sys/types.h>

#define LOCAL_MAX_USERS 16

/* What a start uses, kept in <dir>/state so that later commands find the same instance. */
typedef struct settings {
    char dir[512];
    char cluster_id[64];
    char region[DSQL_REGION_MAX];
    char endpoint[DSQL_HOST_MAX];
    int port;
    int strict;
    int backend_version; /* --server-version backend: strict reports its backend's */
    long long max_lifetime;
    int handshake_timeout;
    int max_failed_logins;
    int failed_login_window;
    char inject_conflict[128]; /* --inject-conflict, "" when off */
    int max_txn_age;           /* --max-transaction-age seconds, strict; 0: no limit */
    int conn_rate;             /* --connection-rate per second; 0: no limit */
    int conn_burst;
    size_t nusers;
    char users[LOCAL_MAX_USERS][64];
} settings;

/* The default state directory: $DSQLAUTH_LOCAL_DIR, $XDG_RUNTIME_DIR/dsqlauth-local, or /tmp. */
void statedir_default(char *out, size_t n);

/* <dir>/<name> into out. */
void statedir_path(const settings *s, const char *name, char *out, size_t n);

/* Creates the directory (and its parents), owner-only. 0 or -1 (errno). */
int statedir_make(const settings *s);

/* Reads <dir>/state into s (fields it names); 0, or -1 when there is none. */
int statedir_load(settings *s);

/* Writes <dir>/state atomically; 0 or -1. */
int statedir_save(const settings *s);

/* Whether pid runs (a zombie does not count). */
int statedir_alive(pid_t pid);

/* The front's pid from <dir>/front.pid when that process runs and is dsqlauth-local, else 0. */
pid_t statedir_front_pid(const settings *s);

/* Writes <dir>/front.pid. */
void statedir_write_pid(const settings *s, pid_t pid);

#endif /* DSQL_LOCAL_STATEDIR_H */
