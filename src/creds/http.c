/* SPDX-License-Identifier: MIT */
/* http.c: the library's only use of libcurl: one bounded, synchronous request at a time. */
#include "creds/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS 5000L

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* Once per process; the library never calls curl_global_cleanup (the host may use curl too). */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    dsql_buf buf;
    size_t max;
    int too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;
    size_t rc = n;
    if (n > s->max || s->buf.len > s->max - n) {
        s->too_large = 1;
        rc = 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    } else {
        dsql_buf_append(&s->buf, data, n);
        if (dsql_buf_failed(&s->buf))
            rc = 0;
    }
    /*
     * data lies in libcurl's download buffer, which it frees unwiped when the handle goes:
     * the body holds the credentials, so wipe what was delivered (libcurl does not read it
     * again; we neither ask for decompression nor pause transfers).
     */
    dsql_wipe(data, n);
    return rc;
}

int dsql_http_url_parts(const char *url, char *scheme, size_t scheme_len, char *host,
                        size_t host_len)
{
    int rc = -1;
    char *sch = NULL, *h = NULL;
    pthread_once(&global_once, global_init);
    CURLU *u = curl_url();
    if (u == NULL || url == NULL)
        goto out;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
        goto out;
    size_t hl = strlen(h);
    const char *hp = h;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        hp = h + 1;
        hl -= 2;
    }
    if (strlen(sch) >= scheme_len || hl >= host_len)
        goto out;
    for (size_t i = 0; sch[i] != '\0'; i++)
        scheme[i] = (char)((sch[i] >= 'A' && sch[i] <= 'Z') ? sch[i] - 'A' + 'a' : sch[i]);
    scheme[strlen(sch)] = '\0';
    memcpy(host, hp, hl);
    host[hl] = '\0';
    rc = 0;
out:
    curl_free(sch);
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        dsql_wipe(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

static const char *connect_reason(long os_errno)
{
    switch (os_errno) {
    case ECONNREFUSED:
        return "connection refused";
    case ENETUNREACH:
        return "network unreachable";
    case EHOSTUNREACH:
        return "host unreachable";
    case ETIMEDOUT:
        return "connect timed out";
    case EADDRNOTAVAIL:
        return "address not available";
    default:
        return "could not connect";
    }
}

static void reset_response(dsql_http_response *resp)
{
    resp->status = 0;
    resp->body = NULL;
    resp->body_len = 0;
    resp->failure = DSQL_HTTP_FAIL_NONE;
}

int dsql_http_perform(const dsql_http_request *req, dsql_http_response *resp, dsql_error *err)
{
    int rc;
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    struct sink sink;
    char host[DSQL_HOST_MAX] = "?", scheme[16];
    dsql_buf_init(&sink.buf);
    sink.too_large = 0;
    if (resp == NULL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "http: no response pointer");
    reset_response(resp);
    if (req == NULL || req->url == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "http: no URL");
        goto out;
    }
    const char *step = req->step != NULL ? req->step : "request";
    const char *method = req->method != NULL ? req->method : "GET";
    if (dsql_http_url_parts(req->url, scheme, sizeof scheme, host, sizeof host) != 0 ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "%s: not an http or https URL", step);
        goto out;
    }
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK || (h = curl_easy_init()) == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_HTTP, "%s: libcurl failed to initialise", step);
        resp->failure = DSQL_HTTP_FAIL_OTHER;
        goto out;
    }
    for (const char *const *p = req->headers; p != NULL && *p != NULL; p++) {
        struct curl_slist *n = curl_slist_append(hdrs, *p);
        if (n == NULL) {
            rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
            goto out;
        }
        hdrs = n;
    }
    /* A large body (web identity tokens) must not wait for "100 Continue". */
    struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
    if (n == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    hdrs = n;

    long timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    long ctimeout = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : timeout;
    sink.max = req->max_body > 0 ? req->max_body : DSQL_HTTP_MAX_BODY;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ctimeout);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "dsqlauth/" DSQL_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
    if (req->no_proxy)
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (strcasecmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body != NULL ? req->body_len : 0));
        if (strcasecmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        long os_errno = 0;
        curl_off_t connected_us = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected_us);
        const char *reason;
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
            resp->failure = DSQL_HTTP_FAIL_CONNECT;
            reason = connect_reason(os_errno);
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            resp->failure = DSQL_HTTP_FAIL_CONNECT;
            reason = "could not resolve host";
            break;
        case CURLE_OPERATION_TIMEDOUT:
            if (connected_us > 0) {
                resp->failure = DSQL_HTTP_FAIL_TIMEOUT;
                reason = "timed out waiting for the response";
            } else {
                resp->failure = DSQL_HTTP_FAIL_CONNECT;
                reason = "connect timed out";
            }
            break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
            if (sink.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
                resp->failure = DSQL_HTTP_FAIL_TOO_LARGE;
                rc = dsql_seterr(err, DSQL_ERR_HTTP, "%s: response larger than %zu bytes (%s)",
                                 step, sink.max, host);
                goto out;
            }
            resp->failure = DSQL_HTTP_FAIL_OTHER;
            reason = "out of memory reading the response";
            break;
        case CURLE_PARTIAL_FILE:
            resp->failure = DSQL_HTTP_FAIL_TRUNCATED;
            reason = "response truncated (connection closed early)";
            break;
        case CURLE_GOT_NOTHING:
            resp->failure = DSQL_HTTP_FAIL_TRUNCATED;
            reason = "connection closed without a response";
            break;
        default:
            resp->failure = DSQL_HTTP_FAIL_OTHER;
            reason = curl_easy_strerror(cc);
            break;
        }
        if (timeout > 0 && resp->failure == DSQL_HTTP_FAIL_TIMEOUT)
            rc = dsql_seterr(err, DSQL_ERR_HTTP, "%s: %s after %ld ms (%s)", step, reason, timeout,
                             host);
        else
            rc = dsql_seterr(err, DSQL_ERR_HTTP, "%s: %s (%s)", step, reason, host);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body_len = sink.buf.len;
    resp->body = dsql_buf_steal(&sink.buf);
    if (resp->body == NULL) {
        resp->body_len = 0;
        resp->status = 0;
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = DSQL_OK;
out:
    if (h != NULL)
        curl_easy_cleanup(h);
    free_headers(hdrs);
    dsql_buf_cleanup(&sink.buf);
    return rc;
}

void dsql_http_response_cleanup(dsql_http_response *resp)
{
    if (resp == NULL)
        return;
    if (resp->body != NULL) {
        dsql_wipe(resp->body, resp->body_len);
        free(resp->body);
    }
    reset_response(resp);
}
