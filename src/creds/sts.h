/* SPDX-License-Identifier: MIT */
/* sts.h: the two STS calls the credential sources need (AssumeRole, ...WithWebIdentity). */
#ifndef DSQL_CREDS_STS_H
#define DSQL_CREDS_STS_H

#include "creds/chain.h"
#include "creds/creds.h"

/* Where and how to reach STS. A zeroed struct means "as the AWS SDKs decide from the env". */
typedef struct dsql_sts_options {
    /* Base URL, e.g. "https://sts.eu-west-1.amazonaws.com". NULL: AWS_ENDPOINT_URL_STS, then
     * AWS_ENDPOINT_URL, then the regional endpoint https://sts.<region>.amazonaws.com
     * (.amazonaws.com.cn for cn-*), then the global https://sts.amazonaws.com. */
    const char *endpoint;
    /* Region to call and sign for. NULL: AWS_REGION, AWS_DEFAULT_REGION; none: us-east-1
     * with the global endpoint. The callers pass the profile's `region` here. */
    const char *region;
    long connect_timeout_ms; /* 0: 3000 */
    long timeout_ms;         /* whole request; 0: 10000 */
    int64_t now;             /* signing time and default session name (Unix s); 0: the clock */
} dsql_sts_options;

/*
 * The STS settings for a source running in the chain: the region botocore's session would use
 * (AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`; may stay NULL) and the chain's
 * clock. The endpoint stays NULL (environment overrides, then the regional endpoint). Strings
 * point into ctx and the environment.
 */
DSQL_LOCAL void dsql_sts_options_for(const dsql_creds_ctx *ctx, dsql_sts_options *opts);

/* The role to assume. Strings are borrowed. */
typedef struct dsql_sts_role {
    const char *role_arn;          /* required */
    const char *role_session_name; /* NULL or "": "dsqlauth-session-<unix time>" */
    const char *external_id;       /* AssumeRole only; NULL: none */
    int duration_seconds;          /* 0: the role's default (one hour) */
} dsql_sts_role;

/*
 * AssumeRole, signed with SigV4 header signing by `source` (which stays the caller's). On
 * success *out is a new credential set whose source is source_name (for logs). Errors read
 * "STS AssumeRole: <reason>", with STS's own error code and message when it sent them.
 */
DSQL_LOCAL int dsql_sts_assume_role(const dsql_sts_options *opts, const dsql_sts_role *role,
                                    dsql_credentials *source, const char *source_name,
                                    dsql_credentials **out, dsql_error *err);

/*
 * AssumeRoleWithWebIdentity: an unsigned query-API POST carrying web_identity_token (secret;
 * the request body holding it is wiped). As dsql_sts_assume_role otherwise.
 */
DSQL_LOCAL int dsql_sts_assume_role_with_web_identity(const dsql_sts_options *opts,
                                                      const dsql_sts_role *role,
                                                      const char *web_identity_token,
                                                      const char *source_name,
                                                      dsql_credentials **out, dsql_error *err);

/*
 * The text of the first element `name` inside xml[0..len) (entities decoded), appended to out.
 * Returns 1 if found, 0 if not, -1 if the element is malformed (unterminated, or holding markup)
 * or out of memory. A small, bounded reader for STS's flat responses, not a general XML parser.
 */
DSQL_LOCAL int dsql_xml_text(const char *xml, size_t len, const char *name, dsql_buf *out);

/*
 * Reads an STS response: with status 200 the AssumeRole*Result's Credentials element into a new
 * *out (source source_name), else the Error document's Code and Message into err ("STS <what>:
 * <Code>: <Message> (HTTP <status>)"). Returns DSQL_OK or DSQL_ERR_CREDENTIALS (NOMEM).
 */
DSQL_LOCAL int dsql_sts_parse_response(const char *what, long status, const char *body,
                                       size_t body_len, const char *source_name,
                                       dsql_credentials **out, dsql_error *err);

#endif /* DSQL_CREDS_STS_H */
