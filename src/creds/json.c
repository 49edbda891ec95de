/* SPDX-License-Identifier: MIT */
/* json.c: the only file that includes jansson; credential documents in, credential sets out. */
#include "creds/json.h"

#include "creds/iso8601.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

const dsql_json_cred_fields dsql_json_fields_process = {
    .version = "Version",
    .access_key_id = "AccessKeyId",
    .secret_access_key = "SecretAccessKey",
    .session_token = "SessionToken",
    .expiration = "Expiration",
};

const dsql_json_cred_fields dsql_json_fields_metadata = {
    .access_key_id = "AccessKeyId",
    .secret_access_key = "SecretAccessKey",
    .session_token = "Token",
    .expiration = "Expiration",
};

/*
 * jansson frees its strings without wiping them; the values we read are secrets, so overwrite
 * every string in the tree before the last reference goes. The buffers are jansson's own
 * malloc'd copies, so writing through the const pointer is sound.
 */
static void wipe_tree(json_t *v)
{
    if (json_is_string(v)) {
        dsql_wipe((void *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) wipe_tree(m);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) wipe_tree(m);
    }
}

static void release(json_t *root)
{
    if (root != NULL) {
        wipe_tree(root);
        json_decref(root);
    }
}

static int load_object(const char *text, size_t len, const char *source, json_t **out,
                       dsql_error *err)
{
    json_error_t jerr;
    /* No JSON_REJECT_DUPLICATES: a repeated member's last value wins, as in Python. */
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (root == NULL)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "%s: the response is not valid JSON (line %d, column %d)", source,
                           jerr.line, jerr.column);
    if (!json_is_object(root)) {
        release(root);
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: the response is not a JSON object",
                           source);
    }
    *out = root;
    return DSQL_OK;
}

/* A string member: DSQL_OK with *s (borrowed) or NULL when absent or null; else an error. */
static int get_string(json_t *obj, const char *name, const char *source, int required,
                      const char **s, dsql_error *err)
{
    json_t *v = json_object_get(obj, name);
    *s = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is missing", source, name);
        return DSQL_OK;
    }
    if (!json_is_string(v))
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is not a string", source, name);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s contains a NUL character", source,
                           name);
    if (required && json_string_length(v) == 0)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is empty", source, name);
    *s = json_string_value(v);
    return DSQL_OK;
}

static int get_expiration(json_t *obj, const dsql_json_cred_fields *f, const char *source,
                          int64_t *exp, dsql_error *err)
{
    *exp = 0;
    if (f->expiration == NULL)
        return DSQL_OK;
    json_t *v = json_object_get(obj, f->expiration);
    if (v == NULL || json_is_null(v)) {
        if (f->expiration_required)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is missing", source,
                               f->expiration);
        return DSQL_OK;
    }
    if (f->expiration_epoch_ms) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is not a time in milliseconds",
                               source, f->expiration);
        *exp = (int64_t)(json_integer_value(v) / 1000);
    } else if (!json_is_string(v) || dsql_iso8601_parse(json_string_value(v), exp) != 0) {
        /* The timestamp is not secret, but it is not ours to print either: say what was wrong. */
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "%s: %s is not an ISO 8601 time with an offset "
                           "(e.g. 2026-11-25T15:00:00Z)",
                           source, f->expiration);
    }
    /* 0 means "never expires" to a credential set; a document's time that lands on the epoch
     * (or within its first second) is long past, and stays so. */
    if (*exp == 0)
        *exp = 1;
    return DSQL_OK;
}

/* botocore checks `parsed.get('Version') != 1`, which Python also passes for 1.0 and true. */
static int version_is_one(json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) == 1) ||
           (json_is_real(v) && json_real_value(v) == 1.0) || json_is_true(v);
}

int dsql_json_parse_credentials(const char *text, size_t len, const dsql_json_cred_fields *f,
                                const char *source, dsql_credentials **out, dsql_error *err)
{
    json_t *root = NULL;
    int rc = load_object(text, len, source, &root, err);
    if (rc != DSQL_OK)
        return rc;
    json_t *obj = root;
    if (f->version != NULL) {
        json_t *v = json_object_get(root, f->version);
        if (v == NULL) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "%s: %s is missing; only version 1 is supported", source, f->version);
            goto out;
        }
        if (!version_is_one(v)) {
            if (json_is_integer(v))
                rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                                 "%s: %s is %" JSON_INTEGER_FORMAT "; only 1 is supported", source,
                                 f->version, json_integer_value(v));
            else
                rc =
                    dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                                "%s: %s is not 1; only version 1 is supported", source, f->version);
            goto out;
        }
    }
    if (f->object != NULL) {
        obj = json_object_get(root, f->object);
        if (!json_is_object(obj)) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s is missing or not an object",
                             source, f->object);
            goto out;
        }
    }
    const char *akid, *secret, *token = NULL;
    int64_t exp = 0;
    if ((rc = get_string(obj, f->access_key_id, source, 1, &akid, err)) != DSQL_OK ||
        (rc = get_string(obj, f->secret_access_key, source, 1, &secret, err)) != DSQL_OK)
        goto out;
    if (f->session_token != NULL &&
        (rc = get_string(obj, f->session_token, source, f->session_token_required, &token, err)) !=
            DSQL_OK)
        goto out;
    if ((rc = get_expiration(obj, f, source, &exp, err)) != DSQL_OK)
        goto out;
    rc = dsql_credentials_new(akid, secret, token, exp, source, out, err);
out:
    release(root);
    return rc;
}

int dsql_json_object_strings(const char *text, size_t len, const char *source, size_t n,
                             const char *const *keys, char **values, dsql_error *err)
{
    json_t *root = NULL;
    int rc = load_object(text, len, source, &root, err);
    if (rc != DSQL_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(root, keys[i]);
        if (!json_is_string(v))
            continue;
        values[i] = strdup(json_string_value(v));
        if (values[i] == NULL) {
            for (size_t k = 0; k < i; k++) {
                dsql_free_secret(values[k]);
                values[k] = NULL;
            }
            rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
            break;
        }
    }
    release(root);
    return rc;
}

/* ---- Appended for the cloud sources ------------------------------------------------------ */

int dsql_json_parse_credentials_in(const char *text, size_t len, const dsql_json_cred_fields *f,
                                   const char *source, const char *context, dsql_credentials **out,
                                   dsql_error *err)
{
    int rc = dsql_json_parse_credentials(text, len, f, source, out, err);
    size_t n = strlen(source);
    if (rc != DSQL_OK && err != NULL && strncmp(err->message, source, n) == 0 &&
        err->message[n] == ':') {
        char tail[DSQL_ERROR_MAX];
        snprintf(tail, sizeof tail, "%s", err->message + n);
        dsql_seterr(err, rc, "%s%s", context, tail);
    }
    return rc;
}

int dsql_json_parse_metadata_credentials(const char *text, size_t len,
                                         const dsql_json_cred_fields *fields, const char *source,
                                         const char *context, dsql_credentials **out,
                                         dsql_error *err)
{
    json_t *root = NULL;
    int rc = load_object(text, len, context, &root, err);
    if (rc != DSQL_OK)
        return rc;
    json_t *code = json_object_get(root, "Code");
    if (json_is_string(code) && strcmp(json_string_value(code), "Success") != 0) {
        json_t *msg = json_object_get(root, "Message");
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s: %s", context, json_string_value(code),
                         json_is_string(msg) ? json_string_value(msg) : "no message");
    }
    release(root);
    if (rc != DSQL_OK)
        return rc;
    return dsql_json_parse_credentials_in(
        text, len, fields != NULL ? fields : &dsql_json_fields_metadata, source, context, out, err);
}
