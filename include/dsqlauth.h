/* SPDX-License-Identifier: MIT */
/* dsqlauth.h: the public API of libdsqlauth (IAM auth tokens and credentials for Aurora DSQL). */
#ifndef DSQLAUTH_H
#define DSQLAUTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DSQL_API __attribute__((visibility("default")))
#else
#define DSQL_API
#endif

#define DSQL_VERSION "0.1.0"

/*
 * Status codes. Every function that can fail returns DSQL_OK (0) or one of the negative codes
 * below, and fills the optional caller-owned dsql_error with a sentence that says which step
 * failed and what to do. Messages never contain a secret (key, session token, auth token).
 * Out-parameters are set only on success.
 */
enum dsql_status {
    DSQL_OK = 0,
    DSQL_ERR_INVALID = -1,        /* an argument is out of range or malformed */
    DSQL_ERR_NOMEM = -2,          /* out of memory */
    DSQL_ERR_NO_CREDENTIALS = -3, /* no source in the chain had credentials */
    DSQL_ERR_CREDENTIALS = -4,    /* a configured credential source failed */
    DSQL_ERR_REGION = -5,         /* no region, or a malformed one */
    DSQL_ERR_CONFIG = -6,         /* a config/credentials file could not be read or parsed */
    DSQL_ERR_IO = -7,             /* a file, pipe or process failed */
    DSQL_ERR_HTTP = -8,           /* an HTTP credential endpoint failed */
    DSQL_ERR_CRYPTO = -9,         /* OpenSSL failed */
    DSQL_ERR_AUTH = -10,          /* a token did not verify */
};

#define DSQL_ERROR_MAX 512

/* Caller-owned error detail. Any function taking one accepts NULL. */
typedef struct dsql_error {
    int code;                     /* the same value the function returned */
    char message[DSQL_ERROR_MAX]; /* NUL-terminated, one line, no secret */
} dsql_error;

/* A static, constant description of a status code. Never NULL. */
DSQL_API const char *dsql_strerror(int code);

/* The library version, DSQL_VERSION of the build. */
DSQL_API const char *dsql_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Credentials                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * An immutable AWS credential set (access key id, secret access key, optional session token,
 * optional expiration). Reference counted and thread-safe: it may be shared between threads;
 * the secret parts are wiped with OPENSSL_cleanse when the last reference goes.
 */
typedef struct dsql_credentials dsql_credentials;

/*
 * Creates a credential set. access_key_id and secret_access_key are required and non-empty;
 * session_token may be NULL or "". expiration is a Unix time in seconds, 0 for none. source
 * names where the credentials came from ("env", "shared-credentials-file", ...; NULL: "static")
 * and is shown in logs. Copies every string. On success *out is a new reference.
 */
DSQL_API int dsql_credentials_new(const char *access_key_id, const char *secret_access_key,
                                  const char *session_token, int64_t expiration, const char *source,
                                  dsql_credentials **out, dsql_error *err);

/* Takes one more reference and returns creds. */
DSQL_API dsql_credentials *dsql_credentials_ref(dsql_credentials *creds);

/* Drops one reference; wipes and frees on the last. NULL is a no-op. */
DSQL_API void dsql_credentials_free(dsql_credentials *creds);

/* Borrowed views, valid while the caller holds a reference. The secret is never exposed. */
DSQL_API const char *dsql_credentials_access_key_id(const dsql_credentials *creds);
DSQL_API int dsql_credentials_has_session_token(const dsql_credentials *creds);
DSQL_API int64_t dsql_credentials_expiration(const dsql_credentials *creds); /* 0: none */
DSQL_API const char *dsql_credentials_source(const dsql_credentials *creds);

/*
 * Resolves credentials for a profile through the default chain, in botocore's order
 * (environment, shared credentials file, credential_process, config file, then the cloud
 * sources). profile NULL (or "") means AWS_DEFAULT_PROFILE, else AWS_PROFILE, else "default".
 * As with `aws --profile`, a profile passed here skips the environment credentials, and a
 * profile named here or in those variables must exist in one of the files. A source that is
 * configured but fails stops the chain with its error (DSQL_ERR_NO_CREDENTIALS only when no
 * source is configured). The result is cached process-wide per profile and refreshed ahead of
 * its expiry (botocore's windows: 15 minutes advisory, 10 mandatory); the call is thread-safe
 * and fork-safe. On success *out is a new reference the caller frees.
 */
DSQL_API int dsql_credentials_resolve(const char *profile, dsql_credentials **out, dsql_error *err);

/* Forgets every cached credential set (wiping it). For tests and after a profile change. */
DSQL_API void dsql_credentials_cache_clear(void);

/* ------------------------------------------------------------------------------------------ */
/* Region and endpoint                                                                          */
/* ------------------------------------------------------------------------------------------ */

#define DSQL_REGION_MAX 64
#define DSQL_HOST_MAX 256

/*
 * Extracts the region from a DSQL endpoint name `<id>.dsql[-suffix].<region>.on.aws`
 * (case-insensitive). Returns 1 and fills region (lower-case) if hostname has that form, else 0.
 */
DSQL_API int dsql_hostname_region(const char *hostname, char *region, size_t region_len);

/* 1 if s is a bare cluster id (26 characters of [a-z0-9]), else 0. */
DSQL_API int dsql_is_cluster_id(const char *s);

/*
 * Resolves the region to sign for: explicit_region if non-empty, then AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's `region` in the config file, then the region inside a DSQL
 * hostname. Fails with DSQL_ERR_REGION when none gives one or the value is malformed.
 */
DSQL_API int dsql_region_resolve(const char *explicit_region, const char *hostname,
                                 const char *profile, char *region, size_t region_len,
                                 dsql_error *err);

/*
 * Turns a bare cluster id into `<id>.dsql.<region>.on.aws`; any other host is copied
 * lower-cased with a trailing dot and a `:port` removed. Fails if the result does not fit.
 */
DSQL_API int dsql_endpoint_resolve(const char *host_or_id, const char *region, char *endpoint,
                                   size_t endpoint_len, dsql_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Tokens                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define DSQL_TOKEN_EXPIRES_DEFAULT 900
#define DSQL_TOKEN_EXPIRES_MAX 604800

typedef struct dsql_token_params {
    const char *hostname; /* the endpoint; lower-cased, any `:port` dropped */
    const char *region;   /* e.g. "us-east-1" */
    int admin;            /* nonzero: Action=DbConnectAdmin, else DbConnect */
    int64_t expires_in;   /* seconds, 1..604800; 0 means 900 */
    int64_t signing_time; /* Unix seconds; 0 means now */
} dsql_token_params;

/*
 * Signs a DSQL auth token: `<host>/?Action=...&X-Amz-...&X-Amz-Signature=...`, the same
 * signature boto3 and @aws-sdk/dsql-signer produce. If creds expire before signing_time +
 * expires_in, X-Amz-Expires is capped at the credentials' remaining life. On success *token is
 * a new string the caller releases with dsql_token_free. Thread-safe.
 */
DSQL_API int dsql_token_generate(dsql_credentials *creds, const dsql_token_params *params,
                                 char **token, dsql_error *err);

/* Wipes and frees a token from this library. NULL is a no-op. */
DSQL_API void dsql_token_free(char *token);

/* ------------------------------------------------------------------------------------------ */
/* One call from a host name to a token: what the shim and dsql_connectdb* use                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * Like dsql_endpoint_resolve, with the region of a bare cluster id taken from DSQLAUTH_REGION,
 * else AWS_REGION, AWS_DEFAULT_REGION, the profile's region (AWS_PROFILE, else "default").
 */
DSQL_API int dsql_auth_endpoint(const char *host_or_id, char *endpoint, size_t endpoint_len,
                                dsql_error *err);

/*
 * Signs a fresh token for connecting to host (an endpoint name, a bare cluster id, or any name
 * the caller treats as DSQL) as user: DbConnectAdmin for "admin" or NULL, else DbConnect. The
 * region is DSQLAUTH_REGION, else the one in the endpoint name, else dsql_region_resolve's
 * chain; credentials come from dsql_credentials_resolve(NULL) (cached); the expiry is
 * DSQLAUTH_TOKEN_EXPIRES seconds if set, else 900. On success *token is a new string to
 * release with dsql_token_free. Thread-safe.
 */
DSQL_API int dsql_auth_token_for_host(const char *host, const char *user, char **token,
                                      dsql_error *err);

#ifdef __cplusplus
}
#endif

#endif /* DSQLAUTH_H */
