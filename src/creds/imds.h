/* SPDX-License-Identifier: MIT */
/* imds.h: the EC2 instance metadata service (IMDSv2, IMDSv1 fallback): role credentials
 * and the instance's region. */
#ifndef DSQL_CREDS_IMDS_H
#define DSQL_CREDS_IMDS_H

#include "creds/chain.h"
#include "creds/creds.h"
#include "creds/json.h"

/* The error message when IMDS is turned off (the chain does not repeat it). */
#define DSQL_IMDS_DISABLED_MESSAGE "IMDS: disabled (AWS_EC2_METADATA_DISABLED)"

/* A zeroed struct means "as the AWS SDKs read the environment". Strings are borrowed. */
typedef struct dsql_imds_options {
    /* Base URL, e.g. "http://127.0.0.1:8080". NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else
     * http://169.254.169.254 or, in IPv6 mode, http://[fd00:ec2::254]. */
    const char *endpoint;
    /* "IPv4" or "IPv6" (case-insensitive). NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, else
     * IPv4. Ignored when an endpoint is set. */
    const char *endpoint_mode;
    /* Per-request limit (connect and response) in ms. 0: AWS_METADATA_SERVICE_TIMEOUT
     * (seconds, as botocore reads it), else 1000. */
    long timeout_ms;
    /* Tries per request. 0: AWS_METADATA_SERVICE_NUM_ATTEMPTS, else 1. */
    int attempts;
    /* >0: disabled; <0: enabled whatever the environment; 0: AWS_EC2_METADATA_DISABLED=true
     * disables. */
    int disabled;
    /* >0: never fall back to IMDSv1; <0: always may; 0: AWS_EC2_METADATA_V1_DISABLED=true
     * forbids the fallback. */
    int v1_disabled;
    /* Session token lifetime requested (X-aws-ec2-metadata-token-ttl-seconds). 0: 21600. The
     * token is cached process-wide per endpoint and reused until 60 s before it ends. */
    int token_ttl_seconds;
    /* The clock in Unix seconds. 0: time(NULL). */
    int64_t now;
} dsql_imds_options;

/*
 * Fetches the instance role's credentials: token (PUT /latest/api/token), role name (GET
 * /latest/meta-data/iam/security-credentials/) and the role's document. IMDSv1 is used when
 * the token request answers 403/404/405, times out or keeps failing, unless disabled.
 *
 * Returns DSQL_ERR_NO_CREDENTIALS when IMDS is disabled, not reachable (refused, unroutable,
 * connect timeout) or the instance has no role (404): "no credentials" for the chain.
 * Other failures (slow or broken answers, malformed documents) are DSQL_ERR_CREDENTIALS or
 * DSQL_ERR_HTTP, "IMDS: <step>: <reason>".
 *
 * Static stability, as the SDKs do: credentials that arrive expired or with less than 15
 * minutes left get their expiration moved 20 to 25 minutes ahead (so the chain's cache asks
 * again every 5 to 10 minutes, not on every call), and when a fetch fails after an earlier one
 * succeeded (same endpoint, same process) the earlier credentials are returned, extended the
 * same way. On success *out is new, its source "iam-role" (botocore's method name). Thread-safe.
 */
DSQL_LOCAL int dsql_creds_fetch_imds(const dsql_imds_options *opts, dsql_credentials **out,
                                     dsql_error *err);

/*
 * The instance's region from /latest/meta-data/placement/region, for the region resolver
 * when nothing else names one. Same options and error rules as above.
 */
DSQL_LOCAL int dsql_imds_region(const dsql_imds_options *opts, char *region, size_t region_len,
                                dsql_error *err);

/* The chain's source: dsql_creds_fetch_imds with each setting from its environment variable,
 * else from the profile (ec2_metadata_service_endpoint, ec2_metadata_service_endpoint_mode,
 * metadata_service_timeout, metadata_service_num_attempts, ec2_metadata_v1_disabled), and the
 * chain's clock. */
DSQL_LOCAL int dsql_creds_source_imds(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                      dsql_error *err);

/* Forgets the cached IMDS session token and last credentials (tests; after fork it is done
 * automatically). */
DSQL_LOCAL void dsql_imds_reset(void);

/* The IMDS role-credentials document: all four members required, as botocore has it. */
DSQL_LOCAL extern const dsql_json_cred_fields dsql_imds_fields;

#endif /* DSQL_CREDS_IMDS_H */
