/* SPDX-License-Identifier: MIT */
/* pgctl.h: the private PostgreSQL behind the front: find, initdb, start, stop, roles. */
#ifndef DSQL_LOCAL_PGCTL_H
#define DSQL_LOCAL_PGCTL_H

#include <stddef.h>
#include <sys/types.h>

#define PG_BACKEND_PORT 5432     /* only names the socket file; nothing listens on TCP */
#define PGCTL_LOCK_TIMEOUT_MS 60 /* strict: a lock wait longer than this is a conflict */

typedef struct pgctl {
    char bindir[1024];
    char datadir[1024];
    char sockdir[1024];
    char logfile[1024];
    uid_t uid; /* the user PostgreSQL runs as (ourselves, or `postgres` when we are root) */
    gid_t gid;
    int strict;           /* run as DSQL: the module preloaded, DSQL's defaults (pgctl_strict) */
    int backend_version;  /* strict: report the backend's own server version, not DSQL's */
    char module[1024];    /* the module's copy in the state directory, when strict */
    int settings_changed; /* the last pgctl_ensure_cluster rewrote the settings file */
} pgctl;

/* Fills pg for the state directory dir: finds the server binaries and the user to run as. */
int pgctl_init(pgctl *pg, const char *dir, char *msg, size_t msglen);

/*
 * Strict mode: copies the backend module (pgmodule.h) from module_src into the state
 * directory dir, where the server's user can read it, and makes the settings file preload it
 * with DSQL's defaults (REPEATABLE READ, time zone UTC). Call before pgctl_ensure_cluster.
 */
int pgctl_strict(pgctl *pg, const char *dir, const char *module_src, char *msg, size_t msglen);

/* Runs initdb unless datadir holds a cluster; writes the settings file. */
int pgctl_ensure_cluster(pgctl *pg, char *msg, size_t msglen);

/* The postmaster's pid when it runs, else 0. */
pid_t pgctl_running(const pgctl *pg);

/* Starts PostgreSQL (waits until it accepts connections) unless it runs; restarts it when the
 * settings file changed since it started. */
int pgctl_start(const pgctl *pg, char *msg, size_t msglen);

/* Stops it (fast shutdown, waits). 0 also when it was not running. */
int pgctl_stop(const pgctl *pg, char *msg, size_t msglen);

/*
 * Creates the non-admin roles (idempotent): each can log in and use and create in schema
 * myschema (owned by the first), none can create in public, which admin owns. In strict mode
 * also DSQL's own objects: schema sys with sys.jobs and sys.wait_for_job, and version()
 * answering as DSQL's; otherwise PostgreSQL's own version() is put back.
 */
int pgctl_setup(const pgctl *pg, const char *const *users, size_t n, char *msg, size_t msglen);

/* 1 if the user PostgreSQL runs as can reach path (every parent searchable). */
int pgctl_can_traverse(const pgctl *pg, const char *path);

#endif /* DSQL_LOCAL_PGCTL_H */
