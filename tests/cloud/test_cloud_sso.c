/* SPDX-License-Identifier: MIT */
/* test_sso.c: SSO profiles (sso-session and legacy) through the chain, with a loopback portal. */
#include "creds/sso.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static fake_server fs;

static void stop(void)
{
    dsql_credentials_cache_clear();
    fake_server_stop(&fs);
}

TestSuite(sso, .fini = stop);

#define SESSION_CONFIG                                                                             \
    "[profile s]\nsso_session = corp\nsso_account_id = 123456789012\n"                             \
    "sso_role_name = ReadOnly\n"                                                                   \
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = "            \
    "eu-west-1\nsso_registration_scopes = sso:account:access\n"
#define LEGACY_CONFIG                                                                              \
    "[profile old]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-2\n"      \
    "sso_account_id = 123456789012\nsso_role_name = Admin\n"
/* sha1("corp") and sha1("https://corp.awsapps.com/start"), as botocore names the files. */
#define CORP_FILE "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
#define URL_FILE "a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json"

static void start(const char *routes, const char *config)
{
    char scenario[4096];
    snprintf(scenario, sizeof scenario, "{\"routes\":[%s]}", routes);
    fake_server_start(&fs, scenario);
    fake_isolate_env(&fs);
    setenv("AWS_ENDPOINT_URL_SSO", fs.base, 1);
    fake_aws_files(&fs, config, NULL);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/.aws", fs.dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/.aws/sso", fs.dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/.aws/sso/cache", fs.dir);
    mkdir(dir, 0700);
}

static void cache_token(const char *file, const char *expires_at)
{
    char name[128], text[512], path[256];
    snprintf(name, sizeof name, ".aws/sso/cache/%s", file);
    snprintf(text, sizeof text,
             "{\"startUrl\": \"https://corp.awsapps.com/start\", \"region\": \"eu-west-1\", "
             "\"accessToken\": \"sso-access-token-1\", \"expiresAt\": \"%s\"}",
             expires_at);
    fake_server_write_file(&fs, name, text, path, sizeof path);
}

static void expect_error(const char *profile, int code, const char *message)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(profile, &c, &e), code, "%s", e.message);
    /* "%s" in message stands for the test's directory. */
    char expected[1024];
    const char *mark = strstr(message, "%s");
    if (mark != NULL)
        snprintf(expected, sizeof expected, "%.*s%s%s", (int)(mark - message), message, fs.dir,
                 mark + 2);
    else
        snprintf(expected, sizeof expected, "%s", message);
    cr_assert_str_eq(e.message, expected);
}

Test(sso, cache_file_names_match_botocore)
{
    char name[46];
    dsql_sso_cache_name("corp", name);
    cr_assert_str_eq(name, CORP_FILE);
    dsql_sso_cache_name("https://corp.awsapps.com/start", name);
    cr_assert_str_eq(name, URL_FILE);
}

Test(sso, sso_session_profile)
{
    start(SSO_ROUTE("ASIASSO1"), SESSION_CONFIG);
    cache_token(CORP_FILE, "2099-01-01T00:00:00Z");
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve("s", &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIASSO1");
    cr_assert_str_eq(dsql_credentials_source(c), "sso");
    cr_assert_eq(dsql_credentials_expiration(c), 1893553445);
    dsql_credentials_free(c);
    cr_assert_eq(fake_server_count(&fs, "GET",
                                   "/federation/credentials?role_name=ReadOnly&account_id="
                                   "123456789012"),
                 1);
    char *bearer = fake_server_field(&fs, 0, "header:x-amz-sso_bearer_token");
    cr_assert_str_eq(bearer, "sso-access-token-1");
    free(bearer);
}

Test(sso, legacy_profile)
{
    start(SSO_ROUTE("ASIASSO2"), LEGACY_CONFIG);
    cache_token(URL_FILE, "2099-01-01T00:00:00+00:00");
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve("old", &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIASSO2");
    dsql_credentials_free(c);
    cr_assert_eq(fake_server_count(&fs, "GET",
                                   "/federation/credentials?role_name=Admin&"
                                   "account_id=123456789012"),
                 1);
}

Test(sso, expired_token)
{
    start(SSO_ROUTE("X"), SESSION_CONFIG);
    cache_token(CORP_FILE, "2020-01-01T00:00:00Z");
    expect_error("s", DSQL_ERR_CREDENTIALS,
                 "SSO: the cached token for SSO session 'corp' has "
                 "expired; run aws sso login --profile s");
    cr_assert_eq(fake_server_count(&fs, "GET", "/federation/credentials"), 0);
}

Test(sso, no_cached_token)
{
    start(SSO_ROUTE("X"), LEGACY_CONFIG);
    expect_error("old", DSQL_ERR_CREDENTIALS,
                 "SSO: no cached token for SSO start URL 'https://corp.awsapps.com/start' "
                 "(%s/.aws/sso/cache/" URL_FILE "); run aws sso login --profile old");
}

Test(sso, portal_rejects_the_token)
{
    start("{\"path\":\"/federation/credentials\",\"responses\":[{\"status\":401,\"json\":{"
          "\"message\":\"Session token not found or invalid\"}}]}",
          SESSION_CONFIG);
    cache_token(CORP_FILE, "2099-01-01T00:00:00Z");
    expect_error("s", DSQL_ERR_CREDENTIALS,
                 "SSO: GetRoleCredentials: HTTP 401: the SSO session has expired or is invalid; "
                 "run aws sso login --profile s");
}

Test(sso, malformed_answer)
{
    start("{\"path\":\"/federation/credentials\",\"responses\":[{\"json\":{\"roleCredentials\":"
          "{\"accessKeyId\":\"A\",\"secretAccessKey\":\"S\"}}}]}",
          SESSION_CONFIG);
    cache_token(CORP_FILE, "2099-01-01T00:00:00Z");
    expect_error("s", DSQL_ERR_CREDENTIALS, "SSO: GetRoleCredentials: expiration is missing");
}

Test(sso, configuration_errors)
{
    start(SSO_ROUTE("X"),
          "[profile partial]\nsso_account_id = 1\n"
          "[profile nosession]\nsso_session = gone\nsso_role_name = R\n"
          "[profile clash]\nsso_session = corp\nsso_account_id = 1\n"
          "sso_role_name = R\nsso_region = us-west-2\n"
          "[sso-session corp]\nsso_start_url = https://x\nsso_region = eu-west-1\n");
    expect_error("partial", DSQL_ERR_CONFIG,
                 "SSO: profile 'partial' is configured for SSO but "
                 "lacks sso_role_name, sso_start_url, sso_region");
    expect_error("nosession", DSQL_ERR_CONFIG,
                 "SSO: profile 'nosession' names sso_session 'gone', but %s/config has no "
                 "[sso-session gone] section");
    expect_error("clash", DSQL_ERR_CONFIG,
                 "SSO: sso_region differs between profile 'clash' and sso-session 'corp'");
}
