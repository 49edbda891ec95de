/* SPDX-License-Identifier: MIT */
/* json.c: the library's only use of jansson: credential documents in, credential sets out. */
#include "json.h"

#include "sigv4.h"

#include <jansson.h>
#include <string.h>

/* Wipes every string value in the tree (keys are not secret), then frees it. */
static void wipe_strings(json_t *j)
{
    if (json_is_string(j)) {
        dsql_wipe((void *)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
            wipe_strings(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            wipe_strings(v);
    }
}

static void free_tree(json_t *j)
{
    if (j != NULL) {
        wipe_strings(j);
        json_decref(j);
    }
}

/* Parses an object; on failure fills err with the position (never the text: it may be secret). */
static json_t *load_object(const char *text, size_t len, dsql_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        dsql_seterr(err, DSQL_ERR_CREDENTIALS, "malformed JSON at line %d, column %d", je.line,
                    je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        free_tree(j);
        dsql_seterr(err, DSQL_ERR_CREDENTIALS, "the JSON document is not an object");
        return NULL;
    }
    return j;
}

/* A string member, NULL when absent; sets *bad when present but not a non-empty string. */
static const char *member(json_t *obj, const char *key, int *bad)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

int dsql_json_metadata_credentials(const char *text, size_t len, int require_token_and_expiration,
                                   const char *source_name, dsql_credentials **out,
                                   dsql_error *err)
{
    int rc, bad = 0;
    json_t *j = load_object(text, len, err);
    if (j == NULL)
        return DSQL_ERR_CREDENTIALS;
    const char *code = member(j, "Code", &bad);
    if (code != NULL && strcmp(code, "Success") != 0) {
        const char *msg = member(j, "Message", &bad);
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s: %s", code, msg ? msg : "no message");
        goto out;
    }
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"};
    const char *v[4];
    for (int i = 0; i < 4; i++) {
        int b = 0;
        v[i] = member(j, names[i], &b);
        if (b) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s is not a non-empty string",
                             names[i]);
            goto out;
        }
        if (v[i] == NULL && (i < 2 || require_token_and_expiration)) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "missing %s", names[i]);
            goto out;
        }
    }
    int64_t exp = 0;
    if (v[3] != NULL && dsql_iso8601_parse(v[3], &exp) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "unreadable Expiration '%s'", v[3]);
        goto out;
    }
    rc = dsql_credentials_new(v[0], v[1], v[2], exp, source_name, out, err);
out:
    free_tree(j);
    return rc;
}

int dsql_json_sso_token(const char *text, size_t len, char **access_token, int64_t *expires_at,
                        dsql_error *err)
{
    int rc, bad = 0;
    json_t *j = load_object(text, len, err);
    if (j == NULL)
        return DSQL_ERR_CREDENTIALS;
    const char *tok = member(j, "accessToken", &bad);
    const char *exp = member(j, "expiresAt", &bad);
    int64_t t;
    if (tok == NULL || exp == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "missing %s",
                         tok == NULL ? "accessToken" : "expiresAt");
        goto out;
    }
    if (dsql_iso8601_parse(exp, &t) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "unreadable expiresAt '%s'", exp);
        goto out;
    }
    char *copy = strdup(tok);
    if (copy == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    *access_token = copy;
    *expires_at = t;
    rc = DSQL_OK;
out:
    free_tree(j);
    return rc;
}

int dsql_json_sso_role_credentials(const char *text, size_t len, const char *source_name,
                                   dsql_credentials **out, dsql_error *err)
{
    int rc, bad = 0;
    json_t *j = load_object(text, len, err);
    if (j == NULL)
        return DSQL_ERR_CREDENTIALS;
    json_t *rcj = json_object_get(j, "roleCredentials");
    if (!json_is_object(rcj)) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "missing roleCredentials");
        goto out;
    }
    const char *akid = member(rcj, "accessKeyId", &bad);
    const char *secret = member(rcj, "secretAccessKey", &bad);
    const char *token = member(rcj, "sessionToken", &bad);
    json_t *exp = json_object_get(rcj, "expiration");
    if (akid == NULL || secret == NULL || bad || !json_is_integer(exp)) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "roleCredentials lacks accessKeyId, secretAccessKey or expiration");
        goto out;
    }
    rc = dsql_credentials_new(akid, secret, token, (int64_t)(json_integer_value(exp) / 1000),
                              source_name, out, err);
out:
    free_tree(j);
    return rc;
}
