/* SPDX-License-Identifier: MIT */
/* test_webid.c: web identity from the environment or a profile, through the chain, over
 * loopback STS. */
#include "creds/webid.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fake_server fs;
static char token_path[256];

static void stop(void)
{
    dsql_credentials_cache_clear();
    fake_server_stop(&fs);
}

TestSuite(webid, .fini = stop);

static void start(const char *routes)
{
    char scenario[8192];
    snprintf(scenario, sizeof scenario, "{\"routes\":[%s]}", routes);
    fake_server_start(&fs, scenario);
    fake_isolate_env(&fs);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    fake_server_write_file(&fs, "oidc-token", "eyJhbGciOi.first\n", token_path, sizeof token_path);
}

static void expect_resolved(const char *profile, const char *akid, const char *source)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(profile, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), akid);
    cr_assert_str_eq(dsql_credentials_source(c), source);
    dsql_credentials_free(c);
}

Test(webid, from_environment)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB1"));
    fake_aws_files(&fs, NULL,
                   "[default]\naws_access_key_id = AKIAFILE\n"
                   "aws_secret_access_key = s\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
    setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
    expect_resolved(NULL, "ASIAWEB1", "assume-role-with-web-identity");
    char *body = fake_server_field(&fs, 0, "body");
    cr_assert_str_eq(body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws"
                           "%3Aiam%3A%3A123456789012%3Arole%2Firsa&RoleSessionName=pod-1"
                           "&WebIdentityToken=eyJhbGciOi.first");
    free(body);
}

Test(webid, from_profile)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB2"));
    char config[1024];
    snprintf(config, sizeof config,
             "[profile eks]\nweb_identity_token_file = %s\nrole_arn = arn:aws:iam::1:role/p\n"
             "role_session_name = from-profile\nregion = eu-west-1\n",
             token_path);
    fake_aws_files(&fs, config, NULL);
    setenv("AWS_PROFILE", "eks", 1);
    expect_resolved(NULL, "ASIAWEB2", "assume-role-with-web-identity");
    char *body = fake_server_field(&fs, 0, "body");
    cr_assert(strstr(body, "&RoleSessionName=from-profile&") != NULL, "%s", body);
    free(body);
}

Test(webid, environment_beats_profile_key_by_key)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB3"));
    char config[1024];
    snprintf(config, sizeof config,
             "[default]\nweb_identity_token_file = %s\nrole_arn = arn:aws:iam::1:role/file\n",
             token_path);
    fake_aws_files(&fs, config, NULL);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/env", 1);
    expect_resolved(NULL, "ASIAWEB3", "assume-role-with-web-identity");
    char *body = fake_server_field(&fs, 0, "body");
    cr_assert(strstr(body, "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fenv&") != NULL, "%s", body);
    free(body);
}

Test(webid, a_profile_named_by_the_caller_ignores_the_environment)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB4"));
    fake_aws_files(&fs, "[profile dev]\nregion = us-east-1\n",
                   "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/env", 1);
    expect_resolved("dev", "AKIADEV", "shared-credentials-file");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 0);
}

Test(webid, expired_token_stops_the_chain)
{
    start(
        "{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{\"status\":400,\"body\":\"" EXPIRED_XML
        "\"}]}");
    fake_aws_files(&fs, NULL,
                   "[default]\naws_access_key_id = AKIAFILE\n"
                   "aws_secret_access_key = s\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), DSQL_ERR_CREDENTIALS);
    cr_assert_str_eq(e.message, "STS AssumeRoleWithWebIdentity: ExpiredTokenException: Token "
                                "expired: current date/time 1700000000 must be before the "
                                "expiration date/time 1600000000 (HTTP 400)");
}

Test(webid, token_file_without_role_arn)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "X"));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), DSQL_ERR_CONFIG);
    cr_assert_str_eq(e.message, "web identity: a token file is configured but no role ARN; set "
                                "AWS_ROLE_ARN or the profile's role_arn");
}

Test(webid, missing_token_file)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "X"));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &e), DSQL_ERR_CREDENTIALS);
    cr_assert_str_eq(e.message, "web identity: cannot read the token file /nonexistent/token: No "
                                "such file or directory");
}

Test(webid, token_is_read_again_on_every_fetch)
{
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB5"));
    dsql_webid_options o = {.token_file = token_path,
                            .role_arn = "arn:aws:iam::1:role/r",
                            .sts = {.endpoint = fs.base}};
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_creds_fetch_webid(&o, &c, NULL), DSQL_OK);
    dsql_credentials_free(c);
    fake_server_write_file(&fs, "oidc-token", "eyJhbGciOi.rotated", token_path, sizeof token_path);
    cr_assert_eq(dsql_creds_fetch_webid(&o, &c, NULL), DSQL_OK);
    dsql_credentials_free(c);
    char *b0 = fake_server_field(&fs, 0, "body"), *b1 = fake_server_field(&fs, 1, "body");
    cr_assert(strstr(b0, "WebIdentityToken=eyJhbGciOi.first") != NULL);
    cr_assert(strstr(b1, "WebIdentityToken=eyJhbGciOi.rotated") != NULL);
    free(b0);
    free(b1);
}
