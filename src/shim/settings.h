/* SPDX-License-Identifier: MIT */
/* settings.h: what the shim's rewrite reads from the environment, read once into one struct. */
#ifndef DSQL_SHIM_SETTINGS_H
#define DSQL_SHIM_SETTINGS_H

#include "base/attrs.h"

#include <stdint.h>

/* libpq's sslmodes, weakest to strongest (the rank is the index). */
enum dsql_sslmode {
    DSQL_SSL_DISABLE = 0,
    DSQL_SSL_ALLOW,
    DSQL_SSL_PREFER,
    DSQL_SSL_REQUIRE,
    DSQL_SSL_VERIFY_CA,
    DSQL_SSL_VERIFY_FULL,
};

/* The rank of an sslmode value; -1 for one libpq does not know (libpq will refuse it). */
DSQL_LOCAL int dsql_sslmode_rank(const char *mode);

/* The name of a rank (DSQL_SSL_*). */
DSQL_LOCAL const char *dsql_sslmode_name(int rank);

/*
 * Everything the rewrite reads from outside the caller's parameters. Every string is NULL when
 * unset or empty (libpq treats an empty variable as unset), never "". The rewrite's steps take
 * this struct and nothing else from the environment, so tests build one by hand.
 */
typedef struct dsql_settings {
    /* DSQLAUTH_* */
    int disabled;                /* DSQLAUTH_DISABLE set to anything but "" or "0" */
    int pgdump;                  /* DSQLAUTH_PGDUMP: answer pg_dump's bookkeeping (default 1;
                                    "0", "off", "no" or "false": 0) */
    const char *hosts;           /* DSQLAUTH_HOSTS: extra host patterns (fnmatch, comma/space) */
    const char *schema;          /* DSQLAUTH_SCHEMA, else "myschema" (never NULL) */
    int ssl_floor;               /* DSQLAUTH_SSLMODE as a rank (default DSQL_SSL_VERIFY_FULL);
                                    -1: a value the shim refuses, see ssl_floor_value */
    const char *ssl_floor_value; /* DSQLAUTH_SSLMODE as given, for the message */
    const char *sslrootcert;     /* DSQLAUTH_SSLROOTCERT */
    const char *ca_bundle;       /* the system CA bundle file for libpq < 16 (SSL_CERT_FILE, else
                                    the first readable of the usual places), NULL if none */
    /* libpq's own environment defaults, which libpq applies to what the caller left unset */
    const char *pghost;
    const char *pguser;
    const char *pgdatabase;
    const char *pgpassword;
    const char *pgoptions;
    const char *pgsslmode;
    const char *pgsslrootcert;
    const char *pgsslnegotiation;
    const char *pgappname;
} dsql_settings;

/*
 * The settings of this process now. Read once, and again only when the environment changed
 * since (a program's setenv/putenv, Python's os.environ, ...: noticed by a fingerprint of the
 * environment's entries, which libc replaces on every change), so a connection pays for one
 * scan of environ's pointers. The result is a new reference to an immutable snapshot, shared
 * between threads; release it with dsql_settings_release. NULL only when out of memory.
 * Thread-safe and fork-safe.
 */
DSQL_LOCAL const dsql_settings *dsql_settings_acquire(void);
DSQL_LOCAL void dsql_settings_release(const dsql_settings *s);

/*
 * 1 when DSQLAUTH_DISABLE turns the shim off. Cheaper than a snapshot: for the paths that need
 * nothing else (a PQreset on a connection that is not DSQL's, ...).
 */
DSQL_LOCAL int dsql_settings_disabled(void);

#endif /* DSQL_SHIM_SETTINGS_H */
