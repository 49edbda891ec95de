/* SPDX-License-Identifier: MIT */
/* container.h: the ECS / EKS Pod Identity container credentials endpoint. */
#ifndef DSQL_CREDS_CONTAINER_H
#define DSQL_CREDS_CONTAINER_H

#include "creds/chain.h"
#include "creds/creds.h"

/* A zeroed struct means "as the AWS SDKs read the environment". Strings are borrowed. */
typedef struct dsql_container_options {
    /* Path (and query) on the ECS agent, e.g. "/v2/credentials/<id>"; must start with '/'.
     * NULL: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI. Wins over full_uri, as in botocore. */
    const char *relative_uri;
    /* Absolute URL. NULL: AWS_CONTAINER_CREDENTIALS_FULL_URI. Over http the host must be a
     * loopback address (127.0.0.0/8, ::1, localhost), 169.254.170.2 (ECS), 169.254.170.23 or
     * fd00:ec2::23 (EKS Pod Identity); https may name any host. */
    const char *full_uri;
    /* Sent as the Authorization header. NULL: AWS_CONTAINER_AUTHORIZATION_TOKEN. */
    const char *authorization_token;
    /* A file holding the Authorization value, read again on every fetch (EKS rotates it);
     * wins over authorization_token. Trailing white space is dropped; a CR or LF inside is an
     * error. NULL: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. */
    const char *authorization_token_file;
    /* Where a relative URI is sent. NULL: "http://169.254.170.2". A test seam. */
    const char *relative_base;
    long timeout_ms;     /* per request (connect and response); 0: 2000, as botocore */
    int attempts;        /* 0: 3, as botocore */
    long retry_delay_ms; /* pause between attempts; 0: 200 ms; negative: none */
} dsql_container_options;

/*
 * Fetches credentials from the container endpoint: GET with "Accept: application/json" (and
 * Authorization when configured), no proxy, then the {AccessKeyId, SecretAccessKey, Token,
 * Expiration} document. DSQL_ERR_NO_CREDENTIALS when neither URI is configured; any other
 * failure stops the chain with "container: <step>: <reason>". On success *out is new, its
 * source "container-role" (botocore's method name). Thread-safe.
 */
DSQL_LOCAL int dsql_creds_fetch_container(const dsql_container_options *opts,
                                          dsql_credentials **out, dsql_error *err);

/* The chain's source: dsql_creds_fetch_container with everything from the environment. */
DSQL_LOCAL int dsql_creds_source_container(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                           dsql_error *err);

#endif /* DSQL_CREDS_CONTAINER_H */
