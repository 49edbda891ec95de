/* SPDX-License-Identifier: MIT */
/* test_assume.c: assume-role profiles through the chain: source_profile chains, loops,
 * credential_source, and what STS was sent. */
#include "creds/assume.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fake_server fs;

static void stop(void)
{
    dsql_credentials_cache_clear();
    fake_server_stop(&fs);
}

TestSuite(assume, .fini = stop);

static void start(const char *routes, const char *config, const char *credentials)
{
    char scenario[8192];
    snprintf(scenario, sizeof scenario, "{\"routes\":[%s]}", routes);
    fake_server_start(&fs, scenario);
    fake_isolate_env(&fs);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    fake_aws_files(&fs, config, credentials);
}

static void expect_resolved(const char *profile, const char *akid)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(profile, &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), akid);
    cr_assert_str_eq(dsql_credentials_source(c), "assume-role");
    dsql_credentials_free(c);
}

static void expect_error(const char *profile, int code, const char *message)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve(profile, &c, &e), code, "%s", e.message);
    cr_assert_str_eq(e.message, message);
}

static void expect_field_has(int index, const char *name, const char *needle)
{
    char *v = fake_server_field(&fs, index, name);
    cr_assert_not_null(v, "request %d has no %s", index, name);
    cr_assert(strstr(v, needle) != NULL, "request %d %s: %s lacks %s", index, name, v, needle);
    free(v);
}

#define BASE_KEYS "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n"

Test(assume, source_profile_with_static_keys)
{
    start(STS_ROUTE("AssumeRole", "ASIADEV"),
          "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = base\n"
          "role_session_name = me\nexternal_id = ext-1\nduration_seconds = 1800\n"
          "region = eu-north-1\n",
          BASE_KEYS);
    setenv("AWS_PROFILE", "dev", 1);
    expect_resolved(NULL, "ASIADEV");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 1);
    char *body = fake_server_field(&fs, 0, "body");
    cr_assert_str_eq(body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                           "123456789012%3Arole%2Fdev&RoleSessionName=me&DurationSeconds=1800"
                           "&ExternalId=ext-1");
    free(body);
    expect_field_has(0, "header:authorization",
                     "Credential=AKIABASE/"); /* signed by the source profile */
    expect_field_has(0, "header:authorization", "/eu-north-1/sts/aws4_request");
}

Test(assume, role_chain_signs_each_hop_with_the_previous_credentials)
{
    start("{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{\"body\":\"" STS_XML_KEY(
              "AssumeRole", "ASIAMID") "\"},{\"body\":\"" STS_XML_KEY("AssumeRole",
                                                                      "ASIATOP") "\"}]}",
          "[profile top]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = mid\n"
          "[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n",
          BASE_KEYS);
    expect_resolved("top", "ASIATOP");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 2);
    expect_field_has(0, "body", "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fmid&");
    expect_field_has(0, "header:authorization", "Credential=AKIABASE/");
    expect_field_has(1, "body", "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Ftop&");
    expect_field_has(1, "header:authorization", "Credential=ASIAMID/");
    expect_field_has(1, "header:x-amz-security-token", "tok-ASIAMID");
}

Test(assume, loop_is_detected)
{
    start(STS_ROUTE("AssumeRole", "X"),
          "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
          "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n",
          NULL);
    expect_error("a", DSQL_ERR_CONFIG, "assume-role: source_profile loop: a -> b -> a");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 0);
}

Test(assume, a_profile_may_source_its_own_static_keys)
{
    start(STS_ROUTE("AssumeRole", "ASIASELF"),
          "[profile self]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = self\n",
          "[self]\naws_access_key_id = AKIASELF\naws_secret_access_key = s\n");
    expect_resolved("self", "ASIASELF");
    expect_field_has(0, "header:authorization", "Credential=AKIASELF/");
}

Test(assume, self_reference_without_keys_is_a_loop)
{
    start(STS_ROUTE("AssumeRole", "X"),
          "[profile self]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = self\n", NULL);
    expect_error("self", DSQL_ERR_CONFIG, "assume-role: source_profile loop: self -> self");
}

Test(assume, credential_source_environment)
{
    start(STS_ROUTE("AssumeRole", "ASIAENV"),
          "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n",
          NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVSRC", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    /* Named by the caller: the environment is not a chain source, but it is this profile's
     * credential_source. */
    expect_resolved("ci", "ASIAENV");
    expect_field_has(0, "header:authorization", "Credential=AKIAENVSRC/");
}

Test(assume, credential_source_container)
{
    start(STS_ROUTE("AssumeRole", "ASIAFROMECS") "," CONTAINER_ROUTE("/ecs", "ASIAECSTASK"),
          "[profile task]\nrole_arn = arn:aws:iam::1:role/t\ncredential_source = EcsContainer\n",
          NULL);
    char uri[128];
    snprintf(uri, sizeof uri, "%s/ecs", fs.base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    expect_resolved("task", "ASIAFROMECS");
    cr_assert_eq(fake_server_count(&fs, "GET", "/ecs"), 1);
    expect_field_has(1, "header:authorization", "Credential=ASIAECSTASK/");
}

Test(assume, credential_source_imds)
{
    start(STS_ROUTE("AssumeRole", "ASIAFROMEC2") "," IMDS_ROUTES("ASIAINSTANCE"),
          "[profile ec2]\nrole_arn = arn:aws:iam::1:role/e\n"
          "credential_source = Ec2InstanceMetadata\n",
          NULL);
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fs.base, 1);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "5", 1);
    expect_resolved("ec2", "ASIAFROMEC2");
    expect_field_has(3, "header:authorization", "Credential=ASIAINSTANCE/");
}

Test(assume, credential_source_without_credentials)
{
    start(STS_ROUTE("AssumeRole", "X"),
          "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n",
          NULL);
    expect_error("ci", DSQL_ERR_CREDENTIALS,
                 "assume-role: credential_source Environment referenced in profile 'ci' gave no "
                 "credentials: env: AWS_ACCESS_KEY_ID is not set");
}

Test(assume, configuration_errors)
{
    start(
        STS_ROUTE("AssumeRole", "X"),
        "[profile both]\nrole_arn = r\nsource_profile = base\ncredential_source = Environment\n"
        "[profile none]\nrole_arn = r\n"
        "[profile bad]\nrole_arn = r\ncredential_source = Laptop\n"
        "[profile ghost]\nrole_arn = r\nsource_profile = nowhere\n"
        "[profile empty]\nrole_arn = r\nsource_profile = hollow\n"
        "[profile hollow]\nregion = us-east-1\n"
        "[profile mfa]\nrole_arn = r\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n",
        BASE_KEYS);
    expect_error("both", DSQL_ERR_CONFIG,
                 "assume-role: profile 'both' has both source_profile "
                 "and credential_source; keep one");
    expect_error("none", DSQL_ERR_CONFIG,
                 "assume-role: profile 'none' has role_arn but neither "
                 "source_profile nor credential_source");
    expect_error("bad", DSQL_ERR_CONFIG,
                 "assume-role: credential_source 'Laptop' in profile "
                 "'bad' is not valid; use Environment, "
                 "Ec2InstanceMetadata or EcsContainer");
    expect_error("ghost", DSQL_ERR_CONFIG,
                 "assume-role: the source_profile 'nowhere' referenced "
                 "in profile 'ghost' does not exist");
    expect_error("empty", DSQL_ERR_CONFIG,
                 "assume-role: the source profile 'hollow' has no credentials");
    expect_error("mfa", DSQL_ERR_CONFIG,
                 "assume-role: profile 'mfa' needs an MFA code (mfa_serial), which a library "
                 "cannot prompt for; use a credential_process or session credentials instead");
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 0);
}

Test(assume, sts_error)
{
    start("{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{\"status\":403,\"body\":"
          "\"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
          "arn:aws:iam::1:user/base is not authorized to perform: sts:AssumeRole</Message>"
          "</Error></ErrorResponse>\"}]}",
          "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n", BASE_KEYS);
    expect_error("dev", DSQL_ERR_CREDENTIALS,
                 "assume-role: profile 'dev': STS AssumeRole: AccessDenied: User: "
                 "arn:aws:iam::1:user/base is not authorized to perform: sts:AssumeRole "
                 "(HTTP 403)");
}

Test(assume, web_identity_profile_is_not_assume_role)
{
    char token[256];
    start(STS_ROUTE("AssumeRoleWithWebIdentity", "ASIAWEB"), NULL, NULL);
    fake_server_write_file(&fs, "t", "jwt", token, sizeof token);
    char config[512];
    snprintf(config, sizeof config,
             "[profile w]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = %s\n",
             token);
    fake_aws_files(&fs, config, NULL);
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_credentials_resolve("w", &c, &e), DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_source(c), "assume-role-with-web-identity");
    dsql_credentials_free(c);
}

Test(assume, source_profile_from_web_identity)
{
    char token[256];
    start("{\"method\":\"POST\",\"path\":\"/\",\"body_contains\":\"Action=AssumeRoleWithWebIdentity"
          "&\",\"responses\":[{\"body\":\"" STS_XML_KEY(
              "AssumeRoleWithWebIdentity", "ASIAWEBSRC") "\"}]}," STS_ROUTE("AssumeRole",
                                                                            "ASIAFINAL"),
          NULL, NULL);
    fake_server_write_file(&fs, "t", "jwt", token, sizeof token);
    char config[512];
    snprintf(config, sizeof config,
             "[profile final]\nrole_arn = arn:aws:iam::1:role/final\nsource_profile = web\n"
             "[profile web]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = %s\n",
             token);
    fake_aws_files(&fs, config, NULL);
    expect_resolved("final", "ASIAFINAL");
    expect_field_has(1, "header:authorization", "Credential=ASIAWEBSRC/");
}
