/* SPDX-License-Identifier: MIT */
/* fuzz_json.c: credential documents (process, IMDS, container, SSO, SSO cache) through json.c. */
#include "fuzz.h"

#include "creds/creds.h"
#include "creds/imds.h"
#include "creds/json.h"
#include "creds/sso.h"

#include <jansson.h>
#include <string.h>

/* The string member name of obj (or of obj[object] when object is set), or NULL. */
static const char *member(json_t *root, const char *object, const char *name)
{
    json_t *o = object != NULL ? json_object_get(root, object) : root;
    json_t *v = name != NULL && json_is_object(o) ? json_object_get(o, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The messages' own words (json.c's texts and member names): a "secret" made of them is no leak. */
static const char fixed_text[] =
    "fuzz: document: contains a NUL character; is empty; is missing or not an object; is missing;"
    " only version 1 is supported; is not 1; is not a string; is not a time in milliseconds; is "
    "not an ISO 8601 time with an offset (e.g. 2026-11-25T15:00:00Z); the response is not a JSON "
    "object; the response is not valid JSON (line, column); no message; out of memory; Version "
    "AccessKeyId SecretAccessKey SessionToken Token Expiration Code Message roleCredentials "
    "accessKeyId secretAccessKey sessionToken expiration";

/*
 * A secret the document carries must never show in an error message, unless it is made of the
 * message's own words or the document also puts it in Code or Message, which the IMDS error
 * deliberately shows.
 */
static void no_secret_in(const char *message, json_t *root, const dsql_json_cred_fields *f)
{
    const char *secrets[] = {member(root, f->object, f->secret_access_key),
                             member(root, f->object, f->session_token)};
    const char *shown[] = {member(root, NULL, "Code"), member(root, NULL, "Message")};
    for (size_t i = 0; i < 2; i++) {
        const char *x = secrets[i];
        if (x == NULL || strlen(x) < 8 || strstr(fixed_text, x) != NULL)
            continue;
        if ((shown[0] != NULL && strstr(shown[0], x) != NULL) ||
            (shown[1] != NULL && strstr(shown[1], x) != NULL))
            continue;
        FUZZ_CHECK(strstr(message, x) == NULL);
    }
}

static void one_table(const uint8_t *data, size_t size, json_t *root,
                      const dsql_json_cred_fields *f, int metadata)
{
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    int rc = metadata ? dsql_json_parse_metadata_credentials((const char *)data, size, f, "fuzz",
                                                             "fuzz: document", &c, &err)
                      : dsql_json_parse_credentials((const char *)data, size, f, "fuzz", &c, &err);
    if (rc != DSQL_OK) {
        FUZZ_CHECK(c == NULL);
        FUZZ_CHECK(rc == DSQL_ERR_CREDENTIALS || rc == DSQL_ERR_NOMEM);
        if (root != NULL)
            no_secret_in(err.message, root, f);
        return;
    }
    /* Accepted: jansson read the same document, and what we keep is what it says. */
    FUZZ_CHECK(c != NULL && root != NULL);
    const char *akid = member(root, f->object, f->access_key_id);
    const char *secret = member(root, f->object, f->secret_access_key);
    FUZZ_CHECK(akid != NULL && strcmp(akid, dsql_credentials_access_key_id(c)) == 0);
    FUZZ_CHECK(secret != NULL && strcmp(secret, dsql_credentials_secret(c)) == 0);
    FUZZ_CHECK(akid[0] != '\0' && secret[0] != '\0');
    const char *session = dsql_credentials_session_token(c);
    if (f->session_token_required)
        FUZZ_CHECK(session != NULL && session[0] != '\0');
    if (session != NULL && session[0] != '\0')
        FUZZ_CHECK(strcmp(session, member(root, f->object, f->session_token)) == 0);
    if (f->expiration_required)
        FUZZ_CHECK(dsql_credentials_expiration(c) != 0);
    if (f->expiration == NULL)
        FUZZ_CHECK(dsql_credentials_expiration(c) == 0);
    dsql_credentials_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    one_table(data, size, root, &dsql_json_fields_process, 0);  /* credential_process */
    one_table(data, size, root, &dsql_json_fields_metadata, 1); /* container endpoint */
    one_table(data, size, root, &dsql_imds_fields, 1);          /* IMDS role credentials */
    one_table(data, size, root, &dsql_sso_fields, 0);           /* SSO GetRoleCredentials */

    /* The SSO token cache. */
    static const char *const keys[] = {"accessToken", "expiresAt", "region", "startUrl"};
    char *v[4] = {0};
    dsql_error err = {0};
    if (dsql_json_object_strings((const char *)data, size, "fuzz", 4, keys, v, &err) == DSQL_OK) {
        for (size_t i = 0; i < 4; i++) {
            const char *want = member(root, NULL, keys[i]);
            FUZZ_CHECK((v[i] == NULL) == (want == NULL));
            if (v[i] != NULL)
                FUZZ_CHECK(strcmp(v[i], want) == 0);
            dsql_free_secret(v[i]);
        }
    } else {
        const char *token = member(root, NULL, "accessToken");
        if (token != NULL && strlen(token) >= 8)
            FUZZ_CHECK(strstr(err.message, token) == NULL);
    }
    json_decref(root);
    return 0;
}
