/* SPDX-License-Identifier: MIT */
/* test_chain.c: the cloud sources inside the chain: order, caching (a connection storm makes
 * one fetch), what DSQLAUTH_LOG=debug shows, and the region from IMDS. */
#include "creds/imds.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fake_server fs;

static void stop(void)
{
    dsql_credentials_cache_clear();
    dsql_imds_reset();
    fake_server_stop(&fs);
}

TestSuite(chain, .fini = stop);

static void start(const char *routes)
{
    char scenario[8192];
    snprintf(scenario, sizeof scenario, "{\"routes\":[%s]}", routes);
    fake_server_start(&fs, scenario);
    fake_isolate_env(&fs);
}

static void use_imds(void)
{
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fs.base, 1);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "5", 1);
}

static void use_container(const char *path)
{
    char uri[128];
    snprintf(uri, sizeof uri, "%s%s", fs.base, path);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
}

/* 1000 connections: resolve the credentials and sign a token each time. */
static void storm(const char *akid, const char *source)
{
    for (int i = 0; i < 1000; i++) {
        dsql_credentials *c = NULL;
        dsql_error e = {0};
        cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), DSQL_OK, "%s", e.message);
        cr_assert_str_eq(dsql_credentials_access_key_id(c), akid);
        cr_assert_str_eq(dsql_credentials_source(c), source);
        dsql_token_params p = {.hostname = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
                               .region = "us-east-1",
                               .admin = 1};
        char *token = NULL;
        cr_assert_eq(dsql_token_generate(c, &p, &token, &e), DSQL_OK, "%s", e.message);
        dsql_token_free(token);
        dsql_credentials_free(c);
    }
}

static void expect_resolved(const char *akid, const char *source)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), akid);
    cr_assert_str_eq(dsql_credentials_source(c), source);
    dsql_credentials_free(c);
}

static void expect_error(int code, const char *message)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), code, "%s", e.message);
    cr_assert_str_eq(e.message, message);
}

Test(chain, imds_storm_makes_one_fetch)
{
    start(IMDS_ROUTES("ASIAINSTANCE"));
    use_imds();
    storm("ASIAINSTANCE", "iam-role");
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 1);
    cr_assert_eq(fake_server_count(&fs, "GET", "/latest/meta-data/iam/security-credentials/"), 1);
    cr_assert_eq(fake_server_count(&fs, "GET", "/latest/meta-data/iam/security-credentials/role"),
                 1);
}

Test(chain, container_storm_makes_one_fetch)
{
    start(CONTAINER_ROUTE("/c", "ASIATASK"));
    use_container("/c");
    storm("ASIATASK", "container-role");
    cr_assert_eq(fake_server_count(&fs, "GET", "/c"), 1);
}

Test(chain, web_identity_storm_makes_one_fetch)
{
    char token[256];
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAPOD"));
    fake_server_write_file(&fs, "jwt", "header.payload.sig", token, sizeof token);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/pod", 1);
    storm("ASIAPOD", "assume-role-with-web-identity");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 1);
}

Test(chain, assume_role_storm_makes_one_fetch)
{
    start(STS_ROUTE("AssumeRole", "ASIADEV"));
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    fake_aws_files(&fs, "[default]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n",
                   "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n");
    storm("ASIADEV", "assume-role");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 1);
}

Test(chain, imds_settings_from_the_profile)
{
    start(IMDS_ROUTES("ASIAINSTANCE"));
    char config[512];
    snprintf(config, sizeof config,
             "[default]\nec2_metadata_service_endpoint = %s\nmetadata_service_timeout = 5\n"
             "metadata_service_num_attempts = 2\n",
             fs.base);
    fake_aws_files(&fs, config, NULL);
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    expect_resolved("ASIAINSTANCE", "iam-role");
}

Test(chain, order_env_then_profile_then_container_then_imds)
{
    start(CONTAINER_ROUTE("/c", "ASIATASK") "," IMDS_ROUTES("ASIAINSTANCE"));
    use_imds();
    expect_resolved("ASIAINSTANCE", "iam-role");
    dsql_credentials_cache_clear();
    use_container("/c");
    expect_resolved("ASIATASK", "container-role");
    dsql_credentials_cache_clear();
    fake_aws_files(&fs, NULL,
                   "[default]\naws_access_key_id = AKIAFILE\n"
                   "aws_secret_access_key = s\n");
    expect_resolved("AKIAFILE", "shared-credentials-file");
    dsql_credentials_cache_clear();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    expect_resolved("AKIAENV", "env");
    cr_assert_eq(fake_server_count(&fs, "GET", "/c"), 1);
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 1);
}

Test(chain, a_configured_container_that_fails_stops_the_chain)
{
    start(IMDS_ROUTES("ASIAINSTANCE"));
    use_imds();
    char uri[128];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/c", fake_unused_port());
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    expect_error(DSQL_ERR_HTTP, "container: credentials request: connection refused (127.0.0.1)");
    cr_assert_eq(fake_server_count(&fs, "PUT", "/latest/api/token"), 0);
}

Test(chain, absent_imds_means_no_credentials)
{
    start("");
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fake_unused_port());
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    long long t0 = fake_now_ms();
    char expected[1024];
    snprintf(expected, sizeof expected,
             "no AWS credentials found for profile 'default': set AWS_ACCESS_KEY_ID and "
             "AWS_SECRET_ACCESS_KEY, or configure the profile in %s/config or %s/credentials "
             "(aws configure); IMDS: token request: connection refused (127.0.0.1)",
             fs.dir, fs.dir);
    expect_error(DSQL_ERR_NO_CREDENTIALS, expected);
    cr_assert_lt(fake_now_ms() - t0, TIMING_MARGIN_MS);
}

/* Runs resolve with stderr sent to a file; returns what was written there. */
static char *resolve_logged(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/stderr", fs.dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int saved = dup(2);
    dup2(fd, 2);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    int rc = dsql_credentials_resolve(NULL, &c, &e);
    dup2(saved, 2);
    close(saved);
    cr_assert_eq(rc, DSQL_OK, "%s", e.message);
    dsql_credentials_free(c);
    static char buf[16384];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = '\0';
    close(fd);
    return buf;
}

Test(chain, debug_log_names_the_source_and_no_secret)
{
    start("{\"method\":\"PUT\",\"path\":\"/latest/api/token\",\"responses\":[{\"body\":"
          "\"IMDS-SESSION-TOKEN-SECRET\"}]},{\"path\":\"/latest/meta-data/iam/security-"
          "credentials/\",\"responses\":[{\"body\":\"role\"}]},{\"path\":\"/latest/meta-data/iam/"
          "security-credentials/role\",\"responses\":[{\"json\":{\"Code\":\"Success\","
          "\"AccessKeyId\":\"ASIAEXAMPLEKEY1234\",\"SecretAccessKey\":\"SECRET-ACCESS-KEY-VALUE\","
          "\"Token\":\"SESSION-TOKEN-VALUE\",\"Expiration\":\"2099-01-01T00:00:00Z\"}}]}");
    use_imds();
    setenv("DSQLAUTH_LOG", "debug", 1);
    const char *log = resolve_logged();
    cr_assert(strstr(log, "dsqlauth: debug: credentials for profile 'default' from the instance "
                          "metadata service (IMDS) (****************1234)") != NULL,
              "%s", log);
    cr_assert(strstr(log, "none from the environment") != NULL, "%s", log);
    cr_assert(strstr(log, "SECRET-ACCESS-KEY-VALUE") == NULL, "%s", log);
    cr_assert(strstr(log, "SESSION-TOKEN-VALUE") == NULL, "%s", log);
    cr_assert(strstr(log, "IMDS-SESSION-TOKEN-SECRET") == NULL, "%s", log);
    cr_assert(strstr(log, "ASIAEXAMPLEKEY1234") == NULL, "%s", log);
}

Test(chain, debug_log_for_a_failed_fetch_has_no_secret)
{
    char token[256];
    start(
        "{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{\"status\":400,\"body\":\"" EXPIRED_XML
        "\"}]}");
    fake_server_write_file(&fs, "jwt", "WEB-IDENTITY-TOKEN-SECRET", token, sizeof token);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/pod", 1);
    setenv("DSQLAUTH_LOG", "debug", 1);
    char path[256];
    snprintf(path, sizeof path, "%s/stderr", fs.dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int saved = dup(2);
    dup2(fd, 2);
    dsql_credentials *c = NULL;
    int rc = dsql_credentials_resolve(NULL, &c, NULL);
    dup2(saved, 2);
    close(saved);
    cr_assert_eq(rc, DSQL_ERR_CREDENTIALS);
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = '\0';
    close(fd);
    cr_assert(strstr(buf, "the web identity token failed: STS AssumeRoleWithWebIdentity: "
                          "ExpiredTokenException") != NULL,
              "%s", buf);
    cr_assert(strstr(buf, "WEB-IDENTITY-TOKEN-SECRET") == NULL, "%s", buf);
}

Test(chain, region_from_imds_when_nothing_else_names_one)
{
    start("{\"method\":\"PUT\",\"path\":\"/latest/api/token\",\"responses\":[{\"body\":\"T\"}]},"
          "{\"path\":\"/latest/meta-data/placement/region\",\"responses\":[{\"body\":"
          "\"ap-southeast-2\"}]}");
    use_imds();
    char region[DSQL_REGION_MAX];
    dsql_error e = {0};
    cr_assert_eq(
        dsql_region_resolve(NULL, "abcdefghijklmnopqrstuvwxyz", NULL, region, sizeof region, &e),
        DSQL_OK, "%s", e.message);
    cr_assert_str_eq(region, "ap-southeast-2");
    /* The endpoint name wins over IMDS. */
    cr_assert_eq(dsql_region_resolve(NULL, "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-3.on.aws", NULL,
                                     region, sizeof region, &e),
                 DSQL_OK, "%s", e.message);
    cr_assert_str_eq(region, "eu-west-3");
    cr_assert_eq(fake_server_count(&fs, "GET", "/latest/meta-data/placement/region"), 1);
}
