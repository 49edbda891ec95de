/* SPDX-License-Identifier: MIT */
/* json.h: the credential documents the sources receive, read with jansson (only json.c has it). */
#ifndef DSQL_JSON_H
#define DSQL_JSON_H

#include "base/util.h"

#include <stdint.h>

/*
 * Where the members of one kind of credential document are. Every source that gets JSON
 * credentials describes its document with one of these and calls dsql_json_parse_credentials.
 */
typedef struct dsql_json_cred_fields {
    const char *object;            /* NULL: members are top level; else inside this object
                                      ("roleCredentials" for SSO GetRoleCredentials) */
    const char *version;           /* NULL: not checked; else must be the number 1 */
    const char *access_key_id;     /* required, a non-empty string */
    const char *secret_access_key; /* required, a non-empty string */
    const char *session_token;     /* NULL: not read; else an optional string (or null) */
    const char *expiration;        /* NULL: not read; else an optional timestamp (or null) */
    int session_token_required;    /* the session token must be present */
    int expiration_required;       /* the expiration must be present */
    int expiration_epoch_ms;       /* the expiration is a number of milliseconds since the epoch
                                      (SSO); else an ISO 8601 string */
} dsql_json_cred_fields;

/* credential_process output: Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration. */
DSQL_LOCAL extern const dsql_json_cred_fields dsql_json_fields_process;
/* IMDS and container documents: AccessKeyId, SecretAccessKey, Token, Expiration. */
DSQL_LOCAL extern const dsql_json_cred_fields dsql_json_fields_metadata;

/*
 * Parses len bytes of JSON (a top-level object) into a new credential set named source
 * ("custom-process", "iam-role", ...), whose expiration is 0 when the document gives none.
 * Never checks whether the credentials have expired (each source has its own rule). Errors
 * (DSQL_ERR_CREDENTIALS) name the source and the member, never a value: "credential_process:
 * the output is not valid JSON (line 1, column 3)", "...: Version is 2; only 1 is supported",
 * "...: AccessKeyId is missing". String values jansson copied are wiped before they are freed.
 */
DSQL_LOCAL int dsql_json_parse_credentials(const char *text, size_t len,
                                           const dsql_json_cred_fields *fields, const char *source,
                                           dsql_credentials **out, dsql_error *err);

/*
 * Parses a JSON object and copies the top-level string members named keys[0..n) into
 * values[0..n) (new strings, NULL where absent, null or not a string); for documents that are
 * not credentials (the SSO token cache, ...). The caller frees each value with
 * dsql_free_secret. Errors name source.
 */
DSQL_LOCAL int dsql_json_object_strings(const char *text, size_t len, const char *source, size_t n,
                                        const char *const *keys, char **values, dsql_error *err);

/* ---- Appended for the cloud sources (IMDS, container endpoint, SSO) ---------------------- */

/*
 * As dsql_json_parse_credentials, with errors that start with context (e.g. "IMDS: role
 * credentials") instead of the source name, so they name the service and the step.
 */
DSQL_LOCAL int dsql_json_parse_credentials_in(const char *text, size_t len,
                                              const dsql_json_cred_fields *fields,
                                              const char *source, const char *context,
                                              dsql_credentials **out, dsql_error *err);

/*
 * An IMDS or container credentials document: first its optional "Code" (anything but
 * "Success" is the error "<context>: <Code>: <Message>", as IMDS reports a role it cannot
 * assume), then fields (NULL: dsql_json_fields_metadata) as dsql_json_parse_credentials_in.
 */
DSQL_LOCAL int dsql_json_parse_metadata_credentials(const char *text, size_t len,
                                                    const dsql_json_cred_fields *fields,
                                                    const char *source, const char *context,
                                                    dsql_credentials **out, dsql_error *err);

#endif /* DSQL_JSON_H */
