/* SPDX-License-Identifier: MIT */
/* settings.c: the shim's settings, read from the environment once and again when it changes. */
#include "shim/settings.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

int dsql_sslmode_rank(const char *mode)
{
    for (int i = 0; i < (int)(sizeof sslmodes / sizeof sslmodes[0]); i++)
        if (strcmp(mode, sslmodes[i]) == 0)
            return i;
    return -1;
}

const char *dsql_sslmode_name(int rank)
{
    return rank >= 0 && rank < (int)(sizeof sslmodes / sizeof sslmodes[0]) ? sslmodes[rank] : "?";
}

/* A snapshot: the public struct, whose strings point into text[] behind it. */
struct snapshot {
    dsql_settings pub; /* first: a const dsql_settings * is a struct snapshot * */
    atomic_int refs;
    uint64_t fingerprint;
    char text[];
};

/*
 * Every change libc makes to the environment replaces an entry's pointer (setenv, putenv) or
 * the count (unsetenv), or moves the array: a hash of the array's address, its length and its
 * pointers changes with it. (Writing into an entry's text in place is not seen; nothing in libc
 * does that.)
 */
static uint64_t environment_fingerprint(void)
{
    uint64_t h = 1469598103934665603ULL;
    char **e = environ;
    h = (h ^ (uint64_t)(uintptr_t)e) * 1099511628211ULL;
    for (; e != NULL && *e != NULL; e++)
        h = (h ^ (uint64_t)(uintptr_t)*e) * 1099511628211ULL;
    return h;
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* The system CA bundle for libpq < 16, which has no sslrootcert=system. */
static const char *system_ca_bundle(void)
{
    static const char *const candidates[] = {
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* Fedora, RHEL 7+ */
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, CentOS */
        "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
        "/etc/ssl/cert.pem",                                 /* Alpine, macOS, BSD */
    };
    const char *env = env_value("SSL_CERT_FILE");
    if (env != NULL && access(env, R_OK) == 0)
        return env;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

/* The variables a snapshot copies, and where each goes. */
#define FIELD(f) offsetof(dsql_settings, f)
static const struct {
    const char *name;
    size_t offset;
} variables[] = {
    {"DSQLAUTH_HOSTS", FIELD(hosts)},
    {"DSQLAUTH_SCHEMA", FIELD(schema)},
    {"DSQLAUTH_SSLMODE", FIELD(ssl_floor_value)},
    {"DSQLAUTH_SSLROOTCERT", FIELD(sslrootcert)},
    {"PGHOST", FIELD(pghost)},
    {"PGUSER", FIELD(pguser)},
    {"PGDATABASE", FIELD(pgdatabase)},
    {"PGPASSWORD", FIELD(pgpassword)},
    {"PGOPTIONS", FIELD(pgoptions)},
    {"PGSSLMODE", FIELD(pgsslmode)},
    {"PGSSLROOTCERT", FIELD(pgsslrootcert)},
    {"PGSSLNEGOTIATION", FIELD(pgsslnegotiation)},
    {"PGAPPNAME", FIELD(pgappname)},
    {NULL, FIELD(ca_bundle)}, /* system_ca_bundle() */
};
#define NVARIABLES (sizeof variables / sizeof variables[0])

/*
 * Reads the environment into a new snapshot (one reference). The strings are copied: a
 * program may free what it handed to putenv once it replaces it.
 */
static struct snapshot *snapshot_read(uint64_t fingerprint)
{
    const char *values[NVARIABLES];
    size_t size = 0;
    for (size_t i = 0; i < NVARIABLES; i++) {
        values[i] = variables[i].name != NULL ? env_value(variables[i].name) : system_ca_bundle();
        size += values[i] != NULL ? strlen(values[i]) + 1 : 0;
    }
    struct snapshot *s = calloc(1, sizeof *s + size);
    if (s == NULL)
        return NULL;
    char *p = s->text;
    for (size_t i = 0; i < NVARIABLES; i++) {
        if (values[i] == NULL)
            continue;
        size_t n = strlen(values[i]) + 1;
        memcpy(p, values[i], n);
        *(const char **)(void *)((char *)&s->pub + variables[i].offset) = p;
        p += n;
    }
    const char *off = env_value("DSQLAUTH_DISABLE");
    s->pub.disabled = off != NULL && strcmp(off, "0") != 0;
    const char *dump = env_value("DSQLAUTH_PGDUMP");
    s->pub.pgdump =
        dump == NULL || !(strcmp(dump, "0") == 0 || strcasecmp(dump, "off") == 0 ||
                          strcasecmp(dump, "no") == 0 || strcasecmp(dump, "false") == 0);
    if (s->pub.schema == NULL)
        s->pub.schema = "myschema";
    s->pub.ssl_floor = DSQL_SSL_VERIFY_FULL;
    if (s->pub.ssl_floor_value != NULL) {
        int r = dsql_sslmode_rank(s->pub.ssl_floor_value);
        /* Never below require: Aurora DSQL refuses unencrypted connections. */
        s->pub.ssl_floor = r >= DSQL_SSL_REQUIRE ? r : -1;
    }
    atomic_init(&s->refs, 1);
    s->fingerprint = fingerprint;
    return s;
}

static void snapshot_unref(struct snapshot *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

/* The current snapshot (one reference held here), guarded by lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread held the lock leaves it held in the child, for good. */
static void atfork_child(void)
{
    pthread_mutex_init(&lock, NULL);
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

const dsql_settings *dsql_settings_acquire(void)
{
    pthread_once(&atfork_once, atfork_register);
    uint64_t fp = environment_fingerprint();
    pthread_mutex_lock(&lock);
    if (current == NULL || current->fingerprint != fp) {
        /* Reading under the lock keeps two threads from building the same snapshot, and getenv
         * is no safer against a concurrent setenv outside it. */
        struct snapshot *fresh = snapshot_read(fp);
        if (fresh != NULL) {
            snapshot_unref(current);
            current = fresh;
        }
    }
    struct snapshot *s = current;
    if (s != NULL && s->fingerprint == fp)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    else
        s = NULL; /* out of memory */
    pthread_mutex_unlock(&lock);
    return s != NULL ? &s->pub : NULL;
}

void dsql_settings_release(const dsql_settings *s)
{
    snapshot_unref((struct snapshot *)(uintptr_t)s);
}

int dsql_settings_disabled(void)
{
    const char *off = env_value("DSQLAUTH_DISABLE");
    return off != NULL && strcmp(off, "0") != 0;
}
