/* SPDX-License-Identifier: MIT */
/* creds.c: the reference-counted credential set, wiped on last release, with its key cache. */
#include "creds/creds.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define KEY_CACHE_SLOTS 4

struct key_slot {
    char date[DSQL_AMZ_DATE_LEN + 1];
    char region[DSQL_REGION_MAX];
    char service[32];
    unsigned char key[DSQL_SHA256_LEN];
    int used;
};

struct dsql_credentials {
    atomic_int refs;
    char *access_key_id;
    char *secret;
    char *session_token;         /* NULL when none */
    char *session_token_encoded; /* "" when none */
    char *source;
    int64_t expiration;
    pthread_mutex_t lock; /* guards the key cache */
    struct key_slot slots[KEY_CACHE_SLOTS];
    unsigned next_slot;
};

static int nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

int dsql_credentials_new(const char *access_key_id, const char *secret_access_key,
                         const char *session_token, int64_t expiration, const char *source,
                         dsql_credentials **out, dsql_error *err)
{
    if (!nonempty(access_key_id) || !nonempty(secret_access_key))
        return dsql_seterr(err, DSQL_ERR_INVALID,
                           "credentials need both an access key id and a secret access key");
    if (out == NULL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "credentials: no output pointer");
    dsql_credentials *c = calloc(1, sizeof *c);
    if (c == NULL)
        return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    c->access_key_id = strdup(access_key_id);
    c->secret = strdup(secret_access_key);
    c->source = strdup(nonempty(source) ? source : "static");
    c->expiration = expiration;
    dsql_buf enc;
    dsql_buf_init(&enc);
    if (nonempty(session_token)) {
        c->session_token = strdup(session_token);
        dsql_uri_encode(&enc, session_token, strlen(session_token));
    }
    c->session_token_encoded = dsql_buf_steal(&enc);
    dsql_buf_cleanup(&enc);
    if (c->access_key_id == NULL || c->secret == NULL || c->source == NULL ||
        c->session_token_encoded == NULL || (nonempty(session_token) && c->session_token == NULL)) {
        dsql_credentials_free(c);
        return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    }
    *out = c;
    return DSQL_OK;
}

dsql_credentials *dsql_credentials_ref(dsql_credentials *creds)
{
    if (creds != NULL)
        atomic_fetch_add_explicit(&creds->refs, 1, memory_order_relaxed);
    return creds;
}

void dsql_credentials_free(dsql_credentials *c)
{
    if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(c->access_key_id);
    dsql_free_secret(c->secret);
    dsql_free_secret(c->session_token);
    dsql_free_secret(c->session_token_encoded);
    free(c->source);
    pthread_mutex_destroy(&c->lock);
    dsql_wipe(c->slots, sizeof c->slots);
    free(c);
}

const char *dsql_credentials_access_key_id(const dsql_credentials *c)
{
    return c == NULL ? NULL : c->access_key_id;
}

int dsql_credentials_has_session_token(const dsql_credentials *c)
{
    return c != NULL && c->session_token != NULL;
}

int64_t dsql_credentials_expiration(const dsql_credentials *c)
{
    return c == NULL ? 0 : c->expiration;
}

const char *dsql_credentials_source(const dsql_credentials *c)
{
    return c == NULL ? NULL : c->source;
}

const char *dsql_credentials_secret(const dsql_credentials *c)
{
    return c->secret;
}

const char *dsql_credentials_session_token(const dsql_credentials *c)
{
    return c->session_token;
}

const char *dsql_credentials_session_token_encoded(const dsql_credentials *c)
{
    return c->session_token_encoded;
}

int dsql_credentials_signing_key(dsql_credentials *c, const char *date, const char *region,
                                 const char *service, unsigned char key[DSQL_SHA256_LEN])
{
    if (strlen(region) >= DSQL_REGION_MAX || strlen(service) >= sizeof c->slots[0].service ||
        strlen(date) != DSQL_AMZ_DATE_LEN)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < KEY_CACHE_SLOTS; i++) {
        struct key_slot *s = &c->slots[i];
        if (s->used && strcmp(s->date, date) == 0 && strcmp(s->region, region) == 0 &&
            strcmp(s->service, service) == 0) {
            memcpy(key, s->key, DSQL_SHA256_LEN);
            rc = 0;
            goto out;
        }
    }
    if (dsql_sigv4_signing_key(c->secret, date, region, service, key) != 0)
        goto out;
    struct key_slot *s = &c->slots[c->next_slot++ % KEY_CACHE_SLOTS];
    memcpy(s->date, date, sizeof s->date);
    strcpy(s->region, region);
    strcpy(s->service, service);
    memcpy(s->key, key, DSQL_SHA256_LEN);
    s->used = 1;
    rc = 0;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void dsql_credentials_after_fork(dsql_credentials *c)
{
    pthread_mutex_init(&c->lock, NULL);
    dsql_wipe(c->slots, sizeof c->slots);
    c->next_slot = 0;
}
