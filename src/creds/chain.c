/* SPDX-License-Identifier: MIT */
/* chain.c: botocore's default credential chain as a table, with a process-wide cache. */
#include "creds/chain.h"

#include "base/log.h"
#include "creds/assume.h"
#include "creds/container.h"
#include "creds/creds.h"
#include "creds/env.h"
#include "creds/imds.h"
#include "creds/process.h"
#include "creds/profile.h"
#include "creds/sso.h"
#include "creds/webid.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------ */
/* The chain                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Skip the row when the caller named the profile (botocore's disable_env_vars). */
#define SKIP_WHEN_PROFILE_FROM_ARG 1u

struct source_row {
    const char *name; /* as in logs */
    dsql_creds_source_fn fetch;
    unsigned flags;
};

/*
 * botocore's create_credential_resolver order: env, assume-role, web identity, SSO, shared
 * credentials file, credential_process, config file, container, IMDS.
 */
static const struct source_row chain[] = {
    {"environment", dsql_creds_source_env, SKIP_WHEN_PROFILE_FROM_ARG},
    {"assume-role profile", dsql_creds_source_assume_role, 0},
    {"web identity token", dsql_creds_source_webid, 0},
    {"SSO portal", dsql_creds_source_sso, 0},
    {"shared credentials file", dsql_creds_source_shared_file, 0},
    {"credential_process", dsql_creds_source_process, 0},
    {"config file", dsql_creds_source_config_file, 0},
    /* botocore's OriginalEC2Provider and BotoProvider (boto2 files) are not carried over. */
    {"container credentials endpoint", dsql_creds_source_container, 0},
    {"instance metadata service (IMDS)", dsql_creds_source_imds, 0},
};
#define CHAIN_LEN ((int)(sizeof chain / sizeof chain[0]))

static int64_t (*clock_fn)(void);

void dsql_creds_chain_set_clock(int64_t (*now)(void))
{
    clock_fn = now;
}

int64_t dsql_creds_chain_now(void)
{
    return clock_fn != NULL ? clock_fn() : (int64_t)time(NULL);
}

struct profile_ref {
    char name[DSQL_PROFILE_MAX];
    int named;
    int from_arg;
};

/*
 * Runs the chain (only_row < 0) or one row of it (a refresh) for a profile. On success *row is
 * the row that answered and *out a new reference.
 */
static int run_chain(const struct profile_ref *p, int only_row, int *row, dsql_credentials **out,
                     dsql_error *err)
{
    dsql_aws_files files;
    /* botocore reads both files before any source runs, so a broken file fails even when the
     * environment has credentials. */
    int rc = dsql_aws_files_load(&files, err);
    if (rc != DSQL_OK)
        return rc;
    if (p->named && !dsql_aws_profile_exists(&files, p->name)) {
        rc = dsql_aws_profile_not_found(&files, p->name, err);
        goto out;
    }
    dsql_creds_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    memcpy(ctx.profile, p->name, sizeof ctx.profile);
    ctx.profile_named = p->named;
    ctx.profile_from_arg = p->from_arg;
    ctx.files = &files;
    ctx.now = dsql_creds_chain_now();
    rc = DSQL_ERR_NO_CREDENTIALS;
    /* Why the metadata service, asked last, had none: an unreachable service is worth naming
     * (a role-less or broken instance, or no instance at all). Empty when it is turned off. */
    char imds_why[DSQL_ERROR_MAX + 2] = "";
    for (int i = 0; i < CHAIN_LEN; i++) {
        if (only_row >= 0 && i != only_row)
            continue;
        if ((chain[i].flags & SKIP_WHEN_PROFILE_FROM_ARG) && p->from_arg)
            continue;
        dsql_error e;
        memset(&e, 0, sizeof e);
        rc = chain[i].fetch(&ctx, out, &e);
        if (rc == DSQL_OK) {
            *row = i;
            char red[48];
            dsql_log(DSQL_LOG_DEBUG, "credentials for profile '%s' from the %s (%s)", p->name,
                     chain[i].name,
                     dsql_redact_key_id(dsql_credentials_access_key_id(*out), red, sizeof red));
            goto out;
        }
        if (rc == DSQL_ERR_NO_CREDENTIALS) {
            dsql_log(DSQL_LOG_DEBUG, "credentials for profile '%s': none from the %s (%s)", p->name,
                     chain[i].name, e.message);
            if (chain[i].fetch == dsql_creds_source_imds &&
                strcmp(e.message, DSQL_IMDS_DISABLED_MESSAGE) != 0)
                snprintf(imds_why, sizeof imds_why, "; %s", e.message);
        }
        if (rc != DSQL_ERR_NO_CREDENTIALS) {
            if (err != NULL)
                *err = e;
            dsql_log(DSQL_LOG_DEBUG, "credentials for profile '%s': the %s failed: %s", p->name,
                     chain[i].name, e.message);
            goto out;
        }
    }
    if (only_row >= 0)
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "refreshing credentials: the %s no longer has credentials for profile "
                         "'%s'",
                         chain[only_row].name, p->name);
    else
        rc = dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS,
                         "no AWS credentials found for profile '%s': set AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY, or configure the profile in %s or %s "
                         "(aws configure)%s",
                         p->name, files.config->path, files.credentials->path, imds_why);
out:
    dsql_aws_files_cleanup(&files);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The cache                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * One entry per (profile, named by the caller or not): the two can resolve differently, since
 * a caller-named profile skips the environment. Entries live until dsql_credentials_cache_clear.
 */
struct entry {
    struct entry *next;
    struct profile_ref profile;
    dsql_credentials *creds; /* NULL until a fetch succeeds */
    int row;                 /* the chain row that supplied creds: refreshes ask it again */
    int busy;                /* a thread is fetching for this entry (without the lock) */
    int users;               /* threads inside dsql_credentials_resolve holding this entry */
    unsigned long gen;       /* counts finished fetches, so waiters see the outcome */
    int last_rc;             /* the outcome of the last finished fetch */
    dsql_error last_err;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cond = PTHREAD_COND_INITIALIZER;
static struct entry *cache;
static unsigned long cache_epoch; /* bumped by a clear: fetches begun before it are not kept */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&cache_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&cache_lock);
}

/* The child has one thread: nobody is fetching any more, and the locks start afresh. The
 * credentials themselves stay valid and are reused (pg_dump -j forks, then connects). */
static void atfork_child(void)
{
    pthread_mutex_init(&cache_lock, NULL);
    pthread_cond_init(&cache_cond, NULL);
    for (struct entry *e = cache; e != NULL; e = e->next) {
        e->busy = 0;
        e->users = 0;
        if (e->creds != NULL)
            dsql_credentials_after_fork(e->creds);
    }
}

static void register_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static struct entry *find_entry(const struct profile_ref *p)
{
    for (struct entry *e = cache; e != NULL; e = e->next)
        if (e->profile.from_arg == p->from_arg && e->profile.named == p->named &&
            strcmp(e->profile.name, p->name) == 0)
            return e;
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->profile = *p;
    e->next = cache;
    cache = e;
    return e;
}

static int copy_out(dsql_credentials *c, dsql_credentials **out)
{
    *out = dsql_credentials_ref(c);
    return DSQL_OK;
}

/* Called with the lock held and e->busy set by us; fetches without the lock. */
static int fetch(struct entry *e, int refresh, dsql_credentials **got, dsql_error *err)
{
    struct profile_ref p = e->profile;
    int row = refresh ? e->row : -1;
    unsigned long epoch = cache_epoch;
    pthread_mutex_unlock(&cache_lock);

    dsql_credentials *c = NULL;
    int new_row = row;
    int rc = run_chain(&p, row, &new_row, &c, err);
    if (rc == DSQL_OK && dsql_credentials_expiration(c) != 0 &&
        dsql_credentials_expiration(c) <= dsql_creds_chain_now()) {
        dsql_credentials_free(c);
        c = NULL;
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "the credentials from the %s for profile '%s' have already expired",
                         chain[new_row].name, p.name);
    }

    pthread_mutex_lock(&cache_lock);
    e->busy = 0;
    e->gen++;
    e->last_rc = rc;
    if (rc != DSQL_OK) {
        if (err != NULL)
            e->last_err = *err;
        else
            dsql_seterr(&e->last_err, rc, "credentials: %s", dsql_strerror(rc));
    } else if (epoch == cache_epoch) {
        dsql_credentials_free(e->creds);
        e->creds = dsql_credentials_ref(c);
        e->row = new_row;
    }
    pthread_cond_broadcast(&cache_cond);
    *got = c;
    return rc;
}

int dsql_credentials_resolve(const char *profile, dsql_credentials **out, dsql_error *err)
{
    if (out == NULL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "credentials: no output pointer");
    struct profile_ref p;
    if (dsql_aws_profile_name(profile, p.name, sizeof p.name, &p.named, &p.from_arg) != 0)
        return dsql_seterr(err, DSQL_ERR_INVALID, "credentials: the profile name is too long");
    pthread_once(&atfork_once, register_atfork);

    int rc;
    pthread_mutex_lock(&cache_lock);
    struct entry *e = find_entry(&p);
    if (e == NULL) {
        pthread_mutex_unlock(&cache_lock);
        return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    }
    e->users++;
    for (;;) {
        int64_t now = dsql_creds_chain_now();
        int64_t exp = e->creds != NULL ? dsql_credentials_expiration(e->creds) : 0;
        int64_t left = exp - now;
        if (e->creds != NULL && (exp == 0 || left >= DSQL_REFRESH_ADVISORY)) {
            rc = copy_out(e->creds, out);
            break;
        }
        int mandatory = e->creds == NULL || left < DSQL_REFRESH_MANDATORY;
        if (e->busy) {
            /* Someone is fetching. Inside the advisory window keep using what we have, as
             * botocore's non-blocking refresh; otherwise wait for their outcome. */
            if (!mandatory) {
                rc = copy_out(e->creds, out);
                break;
            }
            unsigned long gen = e->gen;
            while (e->busy && e->gen == gen)
                pthread_cond_wait(&cache_cond, &cache_lock);
            if (e->gen != gen && e->last_rc != DSQL_OK) {
                if (err != NULL)
                    *err = e->last_err;
                rc = e->last_rc;
                break;
            }
            continue;
        }
        e->busy = 1;
        int refresh = e->creds != NULL;
        dsql_credentials *c = NULL;
        dsql_error ferr;
        memset(&ferr, 0, sizeof ferr);
        rc = fetch(e, refresh, &c, &ferr);
        if (rc == DSQL_OK) {
            *out = c;
            if (refresh)
                dsql_log(DSQL_LOG_DEBUG, "credentials for profile '%s' refreshed", p.name);
            break;
        }
        if (refresh && !mandatory && e->creds != NULL) {
            dsql_log(DSQL_LOG_WARN,
                     "refreshing credentials for profile '%s' failed inside the advisory "
                     "window; using the current ones until the mandatory window: %s",
                     p.name, ferr.message);
            rc = copy_out(e->creds, out);
            break;
        }
        if (err != NULL)
            *err = ferr;
        break;
    }
    e->users--;
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void dsql_credentials_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    cache_epoch++;
    struct entry **pp = &cache;
    while (*pp != NULL) {
        struct entry *e = *pp;
        dsql_credentials_free(e->creds);
        e->creds = NULL;
        if (e->users > 0) { /* a resolve still holds it; it stays, empty */
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        dsql_wipe(&e->last_err, sizeof e->last_err);
        free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}
