/* SPDX-License-Identifier: MIT */
/* http.h: one synchronous, bounded HTTP request for the credential sources (libcurl inside). */
#ifndef DSQL_HTTP_H
#define DSQL_HTTP_H

#include "base/util.h"

/* The default cap on a response body. Credential documents are a few KiB. */
#define DSQL_HTTP_MAX_BODY (64 * 1024)

/*
 * One request. Every pointer is borrowed for the duration of the call. Not thread-affine: each
 * call uses its own curl handle, so concurrent calls from many threads are fine.
 */
typedef struct dsql_http_request {
    const char *step;   /* names the step in errors ("token request"); NULL: "request" */
    const char *method; /* "GET", "PUT" or "POST"; NULL: "GET" */
    const char *url;    /* absolute http:// or https:// URL; other schemes are refused */
    /* "Name: value" lines, NULL-terminated, or NULL for none. May hold secrets (tokens): the
     * copies libcurl makes are wiped before they are freed. */
    const char *const *headers;
    const char *body;        /* request body, or NULL for none (a PUT/POST then sends none) */
    size_t body_len;         /* bytes of body */
    long connect_timeout_ms; /* 0: same as timeout_ms */
    long timeout_ms;         /* whole-request limit; 0: 5000 */
    size_t max_body;         /* response cap in bytes; 0: DSQL_HTTP_MAX_BODY. Larger = error */
    int no_proxy;            /* nonzero: never use a proxy (link-local and loopback metadata) */
} dsql_http_request;

/* What went wrong below HTTP, so callers can tell "not there" from "there but slow". */
enum dsql_http_failure {
    DSQL_HTTP_FAIL_NONE = 0,  /* a complete response arrived (any status) */
    DSQL_HTTP_FAIL_CONNECT,   /* refused, unreachable, DNS, or connect timed out */
    DSQL_HTTP_FAIL_TIMEOUT,   /* connected, but the response did not finish in time */
    DSQL_HTTP_FAIL_TOO_LARGE, /* the body passed max_body */
    DSQL_HTTP_FAIL_TRUNCATED, /* the connection closed before the announced body ended */
    DSQL_HTTP_FAIL_OTHER,     /* TLS, protocol, out of memory... */
};

/* The response. body is owned by the response, NUL-terminated, and wiped on cleanup. */
typedef struct dsql_http_response {
    long status; /* HTTP status, 0 when no response arrived */
    char *body;  /* never NULL after a successful call ("" for an empty body) */
    size_t body_len;
    int failure; /* enum dsql_http_failure */
} dsql_http_response;

/*
 * Performs req. Returns DSQL_OK when a complete response arrived, whatever its status (the
 * caller judges the status); otherwise DSQL_ERR_HTTP (or DSQL_ERR_NOMEM / DSQL_ERR_INVALID)
 * with err = "<step>: <reason> (<host>)", e.g. "token request: connection refused (127.0.0.1)",
 * and resp->failure set. resp is always initialised; release it with dsql_http_response_cleanup.
 * Never follows redirects. Thread-safe.
 */
DSQL_LOCAL int dsql_http_perform(const dsql_http_request *req, dsql_http_response *resp,
                                 dsql_error *err);

/* Wipes and frees the body. Safe on a zeroed or already cleaned response. */
DSQL_LOCAL void dsql_http_response_cleanup(dsql_http_response *resp);

/*
 * Splits an absolute URL the way libcurl will read it: scheme (lower-case) and host (without
 * brackets for IPv6). Returns 0, or -1 if the URL does not parse or a part does not fit.
 */
DSQL_LOCAL int dsql_http_url_parts(const char *url, char *scheme, size_t scheme_len, char *host,
                                   size_t host_len);

#endif /* DSQL_HTTP_H */
