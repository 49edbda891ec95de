/* SPDX-License-Identifier: MIT */
/* test_http.c: the bounded HTTP client against a real loopback server, failure by failure. */
#include "creds/http.h"
#include "fake_aws.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static fake_server fs;

static void stop(void)
{
    fake_server_stop(&fs);
}

TestSuite(http, .fini = stop);

static int get(const char *path, long timeout_ms, size_t max, dsql_http_response *r, dsql_error *e)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", fs.base, path);
    const char *hdrs[] = {"X-Test: yes", NULL};
    dsql_http_request q = {.step = "probe",
                           .url = url,
                           .headers = hdrs,
                           .timeout_ms = timeout_ms,
                           .max_body = max,
                           .no_proxy = 1};
    return dsql_http_perform(&q, r, e);
}

Test(http, get_ok_with_headers)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/a\",\"responses\":[{\"body\":\"hello\"}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(get("/a", 2000, 0, &r, &e), DSQL_OK, "%s", e.message);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello");
    cr_assert_eq(r.body_len, 5);
    dsql_http_response_cleanup(&r);
    cr_assert_eq(fake_server_count(&fs, "GET", "/a"), 1);
    char *log = fake_server_log(&fs);
    cr_assert(strstr(log, "\"x-test\": \"yes\"") != NULL, "%s", log);
    free(log);
}

Test(http, status_is_returned_not_judged)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/a\",\"responses\":[{\"status\":403,"
                           "\"body\":\"no\"}]}]}");
    dsql_http_response r;
    cr_assert_eq(get("/a", 2000, 0, &r, NULL), DSQL_OK);
    cr_assert_eq(r.status, 403);
    cr_assert_str_eq(r.body, "no");
    dsql_http_response_cleanup(&r);
}

Test(http, put_and_post_bodies)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/t\"},"
                           "{\"method\":\"POST\",\"path\":\"/p\"}]}");
    char url[256];
    dsql_http_response r;
    snprintf(url, sizeof url, "%s/t", fs.base);
    dsql_http_request q = {.method = "PUT", .url = url, .no_proxy = 1};
    cr_assert_eq(dsql_http_perform(&q, &r, NULL), DSQL_OK);
    dsql_http_response_cleanup(&r);
    snprintf(url, sizeof url, "%s/p", fs.base);
    dsql_http_request p = {.method = "POST", .url = url, .body = "a=1&b=2", .body_len = 7};
    cr_assert_eq(dsql_http_perform(&p, &r, NULL), DSQL_OK);
    dsql_http_response_cleanup(&r);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/t"), 1);
    cr_assert_eq(fake_server_count(&fs, "POST", "/p"), 1);
    char *log = fake_server_log(&fs);
    cr_assert(strstr(log, "\"body\": \"a=1&b=2\"") != NULL, "%s", log);
    free(log);
}

Test(http, refused_connection)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", fake_unused_port());
    dsql_http_request q = {.step = "token request", .url = url, .timeout_ms = 1000};
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(dsql_http_perform(&q, &r, &e), DSQL_ERR_HTTP);
    cr_assert_eq(r.failure, DSQL_HTTP_FAIL_CONNECT);
    cr_assert_str_eq(e.message, "token request: connection refused (127.0.0.1)");
    dsql_http_response_cleanup(&r);
}

Test(http, slow_response_times_out_on_time)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/slow\",\"responses\":[{\"delay_ms\":3000,"
                           "\"body\":\"late\"}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    long long t0 = fake_now_ms();
    cr_assert_eq(get("/slow", 300, 0, &r, &e), DSQL_ERR_HTTP);
    long long took = fake_now_ms() - t0;
    cr_assert_lt(took, 300 + TIMING_MARGIN_MS, "took %lld ms", took);
    cr_assert_eq(r.failure, DSQL_HTTP_FAIL_TIMEOUT);
    cr_assert_str_eq(e.message, "probe: timed out waiting for the response after 300 ms "
                                "(127.0.0.1)");
}

Test(http, oversized_body_is_an_error)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/big\",\"responses\":[{\"oversize\":70000}]},"
                           "{\"path\":\"/fits\",\"responses\":[{\"oversize\":65536}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(get("/big", 2000, 0, &r, &e), DSQL_ERR_HTTP);
    cr_assert_eq(r.failure, DSQL_HTTP_FAIL_TOO_LARGE);
    cr_assert_str_eq(e.message, "probe: response larger than 65536 bytes (127.0.0.1)");
    cr_assert_eq(get("/fits", 2000, 0, &r, &e), DSQL_OK, "%s", e.message);
    cr_assert_eq(r.body_len, 65536);
    dsql_http_response_cleanup(&r);
    cr_assert_eq(get("/fits", 2000, 100, &r, &e), DSQL_ERR_HTTP);
    cr_assert_str_eq(e.message, "probe: response larger than 100 bytes (127.0.0.1)");
}

Test(http, truncated_body)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/t\",\"responses\":[{\"body\":\"{\\\"a\\\":\","
                           "\"truncate\":true}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(get("/t", 2000, 0, &r, &e), DSQL_ERR_HTTP);
    cr_assert_eq(r.failure, DSQL_HTTP_FAIL_TRUNCATED);
    cr_assert_str_eq(e.message, "probe: response truncated (connection closed early) (127.0.0.1)");
}

Test(http, dropped_connection)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/c\",\"responses\":[{\"close\":true}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(get("/c", 2000, 0, &r, &e), DSQL_ERR_HTTP);
    cr_assert_str_eq(e.message, "probe: connection closed without a response (127.0.0.1)");
}

Test(http, only_http_and_https)
{
    dsql_http_request q = {.step = "s", .url = "file:///etc/passwd"};
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(dsql_http_perform(&q, &r, &e), DSQL_ERR_INVALID);
    cr_assert_str_eq(e.message, "s: not an http or https URL");
    q.url = "ftp://127.0.0.1/x";
    cr_assert_eq(dsql_http_perform(&q, &r, &e), DSQL_ERR_INVALID);
}

Test(http, ipv6_loopback)
{
    fake_server_start6(&fs, "{\"routes\":[{\"path\":\"/a\",\"responses\":[{\"body\":\"six\"}]}]}");
    dsql_http_response r;
    dsql_error e = {0};
    cr_assert_eq(get("/a", 2000, 0, &r, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(r.body, "six");
    dsql_http_response_cleanup(&r);
}

Test(http, url_parts)
{
    char s[16], h[64];
    cr_assert_eq(dsql_http_url_parts("HTTP://[fd00:ec2::23]:80/x", s, sizeof s, h, sizeof h), 0);
    cr_assert_str_eq(s, "http");
    cr_assert_str_eq(h, "fd00:ec2::23");
    cr_assert_eq(dsql_http_url_parts("https://user@Example.com:8443/p?q", s, sizeof s, h, sizeof h),
                 0);
    cr_assert_str_eq(h, "Example.com");
    cr_assert_eq(dsql_http_url_parts("not a url", s, sizeof s, h, sizeof h), -1);
}
