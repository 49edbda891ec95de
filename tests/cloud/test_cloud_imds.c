/* SPDX-License-Identifier: MIT */
/* test_imds.c: IMDSv2/IMDSv1 against the loopback server: every step and its failures. */
#include "creds/imds.h"
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

TestSuite(imds, .fini = stop);

#define ROLE "/latest/meta-data/iam/security-credentials/"
#define DOC(exp_in)                                                                                \
    "{\"body\":\"{\\\"Code\\\":\\\"Success\\\",\\\"Type\\\":\\\"AWS-HMAC\\\",\\\"AccessKeyId\\\":" \
    "\\\"ASIAIMDS0001\\\",\\\"SecretAccessKey\\\":\\\"imds/secret+key\\\",\\\"Token\\\":"          \
    "\\\"imds-session-token\\\",\\\"Expiration\\\":\\\"{{EXPIRATION}}\\\"}\",\"expires_"           \
    "in\":" #exp_in "}"
#define TOKEN_OK                                                                                   \
    "{\"method\":\"PUT\",\"path\":\"/latest/api/token\",\"responses\":[{\"body\":\"TOKEN-1\"}]}"
#define ROLE_OK "{\"path\":\"" ROLE "\",\"responses\":[{\"body\":\"my-role\\n\"}]}"
#define CREDS_OK "{\"path\":\"" ROLE "my-role\",\"responses\":[" DOC(21600) "]}"

static dsql_imds_options opts(void)
{
    /* Generous: a loaded machine must not turn a slow loopback answer into a failure. The
     * timeout tests set their own. */
    dsql_imds_options o = {.endpoint = fs.base, .disabled = -1, .timeout_ms = 5000};
    return o;
}

static void expect_ok(const dsql_imds_options *o)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_imds(o, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIAIMDS0001");
    cr_assert_str_eq(dsql_credentials_secret(c), "imds/secret+key");
    cr_assert_str_eq(dsql_credentials_session_token(c), "imds-session-token");
    cr_assert_str_eq(dsql_credentials_source(c), "iam-role");
    int64_t left = dsql_credentials_expiration(c) - time(NULL);
    /* +1: the server and this check read the clock in different whole seconds. */
    cr_assert(left > 21500 && left <= 21601, "expires in %lld s", (long long)left);
    dsql_credentials_free(c);
}

static void expect_err(const dsql_imds_options *o, int code, const char *message)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_imds(o, &c, &e), code, "%s", e.message);
    cr_assert_null(c);
    cr_assert_str_eq(e.message, message);
}

Test(imds, v2_fetches_token_role_and_credentials)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 1);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE), 1);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 1);
    cr_assert(fake_server_log_has(&fs, "\"x-aws-ec2-metadata-token-ttl-seconds\": \"21600\""));
    cr_assert(fake_server_log_has(&fs, "\"x-aws-ec2-metadata-token\": \"TOKEN-1\""));
}

Test(imds, token_is_reused_until_near_its_ttl)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    o.token_ttl_seconds = 300;
    o.now = 1000000;
    expect_ok(&o);
    o.now += 200;
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 1);
    o.now += 41; /* 241 s: within 60 s of the 300 s TTL */
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 2);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 3);
}

Test(imds, token_403_falls_back_to_v1)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                           "\"responses\":[{\"status\":403}]}," ROLE_OK "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 1);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 1);
    cr_assert(!fake_server_log_has(&fs, "x-aws-ec2-metadata-token\":"),
              "IMDSv1 requests carry no token");
}

Test(imds, token_404_and_405_fall_back_too)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                           "\"responses\":[{\"status\":404},{\"status\":405}]}," ROLE_OK
                           "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 2);
}

Test(imds, v1_fallback_can_be_disabled)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                           "\"responses\":[{\"status\":403}]}," ROLE_OK "," CREDS_OK "]}");
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "IMDS: token request: HTTP 403; falling back to IMDSv1 is disabled "
               "(AWS_EC2_METADATA_V1_DISABLED)");
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE), 0);
}

Test(imds, token_timeout_falls_back_within_the_budget)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                           "\"responses\":[{\"delay_ms\":5000}]}," ROLE_OK "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    o.timeout_ms = 400;
    long long t0 = fake_now_ms();
    expect_ok(&o);
    long long took = fake_now_ms() - t0;
    cr_assert_lt(took, 400 + TIMING_MARGIN_MS, "took %lld ms", took);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 1);
}

Test(imds, slow_role_name_times_out)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK ",{\"path\":\"" ROLE "\",\"responses\":[{"
                           "\"delay_ms\":5000,\"body\":\"my-role\"}]}]}");
    dsql_imds_options o = opts();
    o.timeout_ms = 300;
    long long t0 = fake_now_ms();
    expect_err(&o, DSQL_ERR_HTTP,
               "IMDS: role name: timed out waiting for the response after 300 ms (127.0.0.1)");
    cr_assert_lt(fake_now_ms() - t0, 300 + TIMING_MARGIN_MS);
}

Test(imds, default_timeout_is_one_second)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK ",{\"path\":\"" ROLE "\",\"responses\":[{"
                           "\"delay_ms\":5000,\"body\":\"my-role\"}]}]}");
    dsql_imds_options o = {.endpoint = fs.base, .disabled = -1};
    long long t0 = fake_now_ms();
    expect_err(&o, DSQL_ERR_HTTP,
               "IMDS: role name: timed out waiting for the response after 1000 ms (127.0.0.1)");
    long long took = fake_now_ms() - t0;
    cr_assert(took >= 950 && took < 1000 + TIMING_MARGIN_MS, "took %lld ms", took);
}

Test(imds, no_role_is_no_credentials)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK ",{\"path\":\"" ROLE "\",\"responses\":[{"
                           "\"status\":404}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_NO_CREDENTIALS,
               "IMDS: role name: HTTP 404: no IAM role is attached to this instance");
}

Test(imds, malformed_json)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[{\"body\":\"{\\\"AccessKeyId\\\": \\\"A\\\",\"}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "IMDS: role credentials: the response is not valid JSON (line 1, column 20)");
}

Test(imds, error_document)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[{\"json\":{\"Code\":\"AssumeRoleUnauthorizedAccess\","
                           "\"Message\":\"EC2 cannot assume the role my-role.\"}}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "IMDS: role credentials: AssumeRoleUnauthorizedAccess: EC2 cannot assume the "
               "role my-role.");
}

Test(imds, missing_field)
{
    fake_server_start(&fs,
                      "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                      "\"responses\":[{\"json\":{\"Code\":\"Success\",\"AccessKeyId\":\"A\","
                      "\"SecretAccessKey\":\"S\",\"Expiration\":\"2030-01-01T00:00:00Z\"}}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_CREDENTIALS, "IMDS: role credentials: Token is missing");
}

Test(imds, truncated_body)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[{\"body\":\"{\\\"Code\\\":\",\"truncate\":true}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_HTTP,
               "IMDS: role credentials: response truncated (connection "
               "closed early) (127.0.0.1)");
}

Test(imds, oversized_body)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[{\"oversize\":100000}]}]}");
    dsql_imds_options o = opts();
    expect_err(&o, DSQL_ERR_HTTP,
               "IMDS: role credentials: response larger than 65536 bytes (127.0.0.1)");
}

Test(imds, refused_connection_is_no_credentials_and_fast)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fake_unused_port());
    dsql_imds_options o = {.endpoint = base, .disabled = -1};
    long long t0 = fake_now_ms();
    expect_err(&o, DSQL_ERR_NO_CREDENTIALS, "IMDS: token request: connection refused (127.0.0.1)");
    cr_assert_lt(fake_now_ms() - t0, TIMING_MARGIN_MS);
}

Test(imds, retries_when_asked)
{
    fake_server_start(
        &fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
             "\"responses\":[{\"status\":500},{\"status\":200,\"body\":\"\"}," DOC(21600) "]}]}");
    dsql_imds_options o = opts();
    o.attempts = 3;
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 3);
}

Test(imds, attempts_from_environment)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[{\"status\":500}," DOC(21600) "]}]}");
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fs.base, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "5", 1);
    expect_ok(NULL);
    cr_assert_eq(fake_server_count(&fs, "GET", ROLE "my-role"), 2);
}

Test(imds, revoked_token_is_renewed)
{
    fake_server_start(&fs,
                      "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                      "\"responses\":[{\"body\":\"T1\"},{\"body\":\"T2\"}]},{\"path\":\"" ROLE
                      "\",\"responses\":[{\"status\":401},{\"body\":\"my-role\"}]}," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 2);
    cr_assert(fake_server_log_has(&fs, "\"x-aws-ec2-metadata-token\": \"T2\""));
}

Test(imds, expired_credentials_are_extended)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[" DOC(-60) "]}]}");
    dsql_imds_options o = opts();
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_imds(&o, &c, &e), DSQL_OK, "%s", e.message);
    int64_t left = dsql_credentials_expiration(c) - time(NULL);
    cr_assert(left >= 1195 && left <= 1500, "extended by %lld s", (long long)left);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIAIMDS0001");
    dsql_credentials_free(c);
}

Test(imds, outage_after_success_reuses_the_last_credentials)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK ",{\"path\":\"" ROLE "my-role\","
                           "\"responses\":[" DOC(21600) ",{\"status\":503}]}]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_creds_fetch_imds(&o, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIAIMDS0001");
    int64_t left = dsql_credentials_expiration(c) - time(NULL);
    cr_assert(left >= 1195 && left <= 1500, "extended by %lld s", (long long)left);
    dsql_credentials_free(c);
    dsql_imds_reset();
    expect_err(&o, DSQL_ERR_CREDENTIALS, "IMDS: role credentials: HTTP 503");
}

Test(imds, disabled_by_environment)
{
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    expect_err(NULL, DSQL_ERR_NO_CREDENTIALS, "IMDS: disabled (AWS_EC2_METADATA_DISABLED)");
}

Test(imds, endpoint_mode)
{
    dsql_imds_options o = {.endpoint_mode = "IPv5", .disabled = -1};
    expect_err(&o, DSQL_ERR_INVALID, "IMDS: endpoint mode 'IPv5' is neither IPv4 nor IPv6");
}

Test(imds, ipv6_loopback_endpoint)
{
    fake_server_start6(&fs, "{\"routes\":[" TOKEN_OK "," ROLE_OK "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o);
}

Test(imds, region)
{
    fake_server_start(&fs, "{\"routes\":[" TOKEN_OK ",{\"path\":\"/latest/meta-data/placement/"
                           "region\",\"responses\":[{\"body\":\"eu-central-1\"}]}]}");
    dsql_imds_options o = opts();
    char region[DSQL_REGION_MAX];
    dsql_error e = {0};
    cr_assert_eq(dsql_imds_region(&o, region, sizeof region, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(region, "eu-central-1");
    cr_assert(fake_server_log_has(&fs, "\"x-aws-ec2-metadata-token\": \"TOKEN-1\""));
}

Test(imds, a_token_that_is_not_one_is_not_sent)
{
    /* A token with a line break would smuggle a header into the next requests. */
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"PUT\",\"path\":\"/latest/api/token\","
                           "\"responses\":[{\"body\":\"T\\r\\nX-Injected: yes\"}]}," ROLE_OK
                           "," CREDS_OK "]}");
    dsql_imds_options o = opts();
    expect_ok(&o); /* as after any failed token request: IMDSv1 */
    cr_assert(!fake_server_log_has(&fs, "x-injected"), "a header was smuggled in");
    cr_assert(!fake_server_log_has(&fs, "x-aws-ec2-metadata-token\":"), "the garbage was sent");
    o.v1_disabled = 1;
    dsql_imds_reset(); /* no earlier credentials to fall back on */
    expect_err(&o, DSQL_ERR_CREDENTIALS,
               "IMDS: token request: the answer is not a session token; falling back to IMDSv1 "
               "is disabled (AWS_EC2_METADATA_V1_DISABLED)");
}
