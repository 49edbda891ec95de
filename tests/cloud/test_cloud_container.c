/* SPDX-License-Identifier: MIT */
/* test_container.c: the ECS/EKS container endpoint over loopback, its URI rules and token file. */
#include "creds/container.h"
#include "fake_aws.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static fake_server fs;

static void stop(void)
{
    fake_server_stop(&fs);
}

TestSuite(container, .fini = stop);

#define DOC                                                                                        \
    "{\"body\":\"{\\\"AccessKeyId\\\":\\\"ASIACONT0001\\\",\\\"SecretAccessKey\\\":"               \
    "\\\"cont/secret\\\",\\\"Token\\\":\\\"cont-token\\\",\\\"AccountId\\\":\\\"123\\\","          \
    "\\\"Expiration\\\":\\\"{{EXPIRATION}}\\\"}\",\"expires_in\":3600}"
#define ROUTE(path) "{\"routes\":[{\"path\":\"" path "\",\"responses\":[" DOC "]}]}"

static void expect_ok(const dsql_container_options *o)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_container(o, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIACONT0001");
    cr_assert_str_eq(dsql_credentials_secret(c), "cont/secret");
    cr_assert_str_eq(dsql_credentials_session_token(c), "cont-token");
    cr_assert_str_eq(dsql_credentials_source(c), "container-role");
    int64_t left = dsql_credentials_expiration(c) - time(NULL);
    cr_assert(left > 3500 && left <= 3601); /* +1: the clock read in different whole seconds */
    dsql_credentials_free(c);
}

static void expect_err(const dsql_container_options *o, int code, const char *message)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_container(o, &c, &e), code, "%s", e.message);
    cr_assert_null(c);
    cr_assert_str_eq(e.message, message);
}

Test(container, not_configured)
{
    expect_err(NULL, DSQL_ERR_NO_CREDENTIALS,
               "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set");
}

Test(container, relative_uri_from_environment)
{
    fake_server_start(&fs, ROUTE("/v2/credentials/abc"));
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/ignored", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc==", 1);
    dsql_container_options o = {.relative_base = fs.base};
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "GET", "/v2/credentials/abc"), 1);
    cr_assert(fake_server_log_has(&fs, "\"authorization\": \"Basic abc==\""));
    cr_assert(fake_server_log_has(&fs, "\"accept\": \"application/json\""));
}

Test(container, full_uri_on_loopback)
{
    fake_server_start(&fs, ROUTE("/creds"));
    char uri[128];
    snprintf(uri, sizeof uri, "%s/creds?x=1", fs.base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    expect_ok(NULL);
    cr_assert_eq(fake_server_count(&fs, "GET", "/creds?x=1"), 1);
    cr_assert(!fake_server_log_has(&fs, "\"authorization\""));
}

Test(container, full_uri_ipv6_loopback)
{
    fake_server_start6(&fs, ROUTE("/creds"));
    char uri[128];
    snprintf(uri, sizeof uri, "%s/creds", fs.base);
    dsql_container_options o = {.full_uri = uri};
    expect_ok(&o);
}

Test(container, full_uri_host_not_allowed)
{
    dsql_container_options o = {.full_uri = "http://192.0.2.7/creds"};
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host '192.0.2.7' is not allowed "
               "over http; use https, a loopback address, 169.254.170.2, 169.254.170.23 or "
               "fd00:ec2::23");
    o.full_uri = "http://169.254.170.2.example.com/creds";
    dsql_error e = {0};
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_creds_fetch_container(&o, &c, &e), DSQL_ERR_CREDENTIALS);
    o.full_uri = "ftp://127.0.0.1/creds";
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http or https URL");
}

Test(container, token_file_is_read_on_every_fetch)
{
    fake_server_start(&fs, ROUTE("/c"));
    char uri[128], path[256];
    snprintf(uri, sizeof uri, "%s/c", fs.base);
    fake_server_write_file(&fs, "token", "first-token\n", path, sizeof path);
    dsql_container_options o = {
        .full_uri = uri, .authorization_token = "env-token", .authorization_token_file = path};
    expect_ok(&o);
    cr_assert(fake_server_log_has(&fs, "\"authorization\": \"first-token\""));
    fake_server_write_file(&fs, "token", "second-token", path, sizeof path);
    expect_ok(&o);
    cr_assert(fake_server_log_has(&fs, "\"authorization\": \"second-token\""));
    cr_assert(!fake_server_log_has(&fs, "env-token"));
}

Test(container, token_file_errors)
{
    dsql_container_options o = {.full_uri = "http://127.0.0.1:1/c",
                                .authorization_token_file = "/nonexistent/token"};
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
               "/nonexistent/token: No such file or directory");
    o.authorization_token_file = NULL;
    o.authorization_token = "a\r\nX-Injected: 1";
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "container: the authorization token contains a line break");
}

Test(container, http_error_stops_without_retry)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/c\",\"responses\":[{\"status\":403,"
                           "\"body\":\"denied\"}]}]}");
    char uri[128];
    snprintf(uri, sizeof uri, "%s/c", fs.base);
    dsql_container_options o = {.full_uri = uri};
    expect_err(&o, DSQL_ERR_CREDENTIALS, "container: credentials request: HTTP 403");
    cr_assert_eq(fake_server_count(&fs, "GET", "/c"), 1);
}

Test(container, server_errors_are_retried)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/c\",\"responses\":[{\"status\":500},"
                           "{\"close\":true}," DOC "]}]}");
    char uri[128];
    snprintf(uri, sizeof uri, "%s/c", fs.base);
    dsql_container_options o = {.full_uri = uri, .retry_delay_ms = -1};
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "GET", "/c"), 3);
}

Test(container, malformed_and_oversized)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/c\",\"responses\":[{\"body\":\"not json\"},"
                           "{\"oversize\":65537},{\"json\":{\"AccessKeyId\":\"A\"}}]}]}");
    char uri[128];
    snprintf(uri, sizeof uri, "%s/c", fs.base);
    dsql_container_options o = {.full_uri = uri, .attempts = 1};
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "container: credentials: the response is not valid JSON (line 1, column 3)");
    expect_err(&o, DSQL_ERR_HTTP,
               "container: credentials request: response larger than 65536 "
               "bytes (127.0.0.1)");
    expect_err(&o, DSQL_ERR_CREDENTIALS, "container: credentials: SecretAccessKey is missing");
}

Test(container, refused_connection)
{
    char uri[128];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/c", fake_unused_port());
    dsql_container_options o = {.full_uri = uri, .attempts = 2, .retry_delay_ms = 50};
    long long t0 = fake_now_ms();
    expect_err(&o, DSQL_ERR_HTTP, "container: credentials request: connection refused (127.0.0.1)");
    cr_assert_lt(fake_now_ms() - t0, 50 + TIMING_MARGIN_MS);
}

Test(container, slow_response_times_out)
{
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/c\",\"responses\":[{\"delay_ms\":4000}]}]}");
    char uri[128];
    snprintf(uri, sizeof uri, "%s/c", fs.base);
    dsql_container_options o = {.full_uri = uri, .attempts = 1, .timeout_ms = 300};
    long long t0 = fake_now_ms();
    expect_err(&o, DSQL_ERR_HTTP,
               "container: credentials request: timed out waiting for the "
               "response after 300 ms (127.0.0.1)");
    cr_assert_lt(fake_now_ms() - t0, 300 + TIMING_MARGIN_MS);
}
