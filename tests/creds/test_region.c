/* SPDX-License-Identifier: MIT */
/* test_region.c: region resolution order and validation, and reading profile settings. */
#include "creds_test.h"
#include "creds/region.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.ap-northeast-1.on.aws"

static char *dir;

static void setup(void)
{
    dir = ct_tmpdir();
    ct_clean_env(dir);
    ct_write(dir, "config",
             "[default]\nregion = eu-west-1\n[profile dev]\nregion = us-west-2\n"
             "[profile bad]\nregion = US East 1\n[profile none]\noutput = json\n",
             0644);
}

TestSuite(region, .init = setup);
TestSuite(profile_value, .init = setup);

static const char *resolve(const char *explicit_region, const char *host, const char *profile)
{
    static char r[DSQL_REGION_MAX];
    dsql_error err = {0};
    int rc = dsql_region_resolve(explicit_region, host, profile, r, sizeof r, &err);
    cr_assert_eq(rc, DSQL_OK, "%s", err.message);
    return r;
}

static void fails(const char *explicit_region, const char *host, const char *profile, int code,
                  const char *message)
{
    char r[DSQL_REGION_MAX] = "untouched";
    dsql_error err = {0};
    int rc = dsql_region_resolve(explicit_region, host, profile, r, sizeof r, &err);
    cr_assert_eq(rc, code, "%d: %s", rc, err.message);
    cr_assert(strstr(err.message, message) != NULL, "'%s' lacks '%s'", err.message, message);
    cr_assert_str_eq(r, "untouched");
}

Test(region, order)
{
    setenv("AWS_REGION", "ca-central-1", 1);
    setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
    cr_assert_str_eq(resolve("us-east-2", HOST, NULL), "us-east-2");
    cr_assert_str_eq(resolve("", HOST, NULL), "ca-central-1", "an empty explicit region is none");
    cr_assert_str_eq(resolve(NULL, HOST, NULL), "ca-central-1");
    setenv("AWS_REGION", "", 1);
    cr_assert_str_eq(resolve(NULL, HOST, NULL), "sa-east-1");
    unsetenv("AWS_DEFAULT_REGION");
    cr_assert_str_eq(resolve(NULL, HOST, NULL), "eu-west-1");
    cr_assert_str_eq(resolve(NULL, HOST, "dev"), "us-west-2");
    setenv("AWS_PROFILE", "dev", 1);
    cr_assert_str_eq(resolve(NULL, HOST, NULL), "us-west-2");
    cr_assert_str_eq(resolve(NULL, HOST, "none"), "ap-northeast-1", "then the endpoint name");
    cr_assert_str_eq(
        resolve(NULL, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL-GAMMA.EU-SOUTH-2.ON.AWS.:5432", "none"),
        "eu-south-2");
}

Test(region, nothing_gives_one)
{
    fails(NULL, "db.example.com", "none", DSQL_ERR_REGION,
          "no region: pass one (--region), set AWS_REGION, set region in profile 'none'");
    fails(NULL, NULL, "none", DSQL_ERR_REGION, "no region");
}

Test(region, malformed_names_its_origin)
{
    fails("us_east_1", NULL, NULL, DSQL_ERR_REGION,
          "region: 'us_east_1' from the explicit region is not a region name");
    setenv("AWS_REGION", "Us-East-1", 1);
    fails(NULL, NULL, NULL, DSQL_ERR_REGION, "'Us-East-1' from AWS_REGION is not a region name");
    setenv("AWS_REGION", "", 1);
    setenv("AWS_DEFAULT_REGION", "x\ny", 1);
    fails(NULL, NULL, NULL, DSQL_ERR_REGION, "'(unprintable)' from AWS_DEFAULT_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    char want[800];
    snprintf(want, sizeof want, "'US East 1' from profile 'bad' in %s/config", dir);
    fails(NULL, HOST, "bad", DSQL_ERR_REGION, want);
}

Test(region, profile_errors)
{
    fails(NULL, HOST, "ghost", DSQL_ERR_CONFIG, "profile 'ghost' not found");
    ct_write(dir, "credentials", "[default]\nbroken\n", 0644);
    fails(NULL, HOST, NULL, DSQL_ERR_CONFIG, "/credentials: line 2:");
    /* The environment answers before any file is read, as botocore. */
    setenv("AWS_REGION", "us-east-1", 1);
    cr_assert_str_eq(resolve(NULL, NULL, NULL), "us-east-1");
}

Test(region, small_buffer)
{
    char r[4];
    dsql_error err = {0};
    cr_assert_eq(dsql_region_resolve("us-east-1", NULL, NULL, r, sizeof r, &err), DSQL_ERR_INVALID);
    cr_assert_eq(dsql_region_resolve("us-east-1", NULL, NULL, NULL, 0, &err), DSQL_ERR_INVALID);
}

Test(profile_value, reads_a_key_as_the_scoped_config)
{
    ct_write(dir, "credentials", "[dev]\noutput = text\n", 0644);
    char *v = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_profile_value("dev", "region", &v, &err), DSQL_OK, "%s", err.message);
    cr_assert_str_eq(v, "us-west-2");
    dsql_free_secret(v);
    cr_assert_eq(dsql_profile_value("dev", "output", &v, &err), DSQL_OK);
    cr_assert_str_eq(v, "text", "the credentials file overrides");
    dsql_free_secret(v);
    cr_assert_eq(dsql_profile_value("dev", "sso_session", &v, &err), DSQL_OK);
    cr_assert_null(v);
    setenv("AWS_PROFILE", "dev", 1);
    cr_assert_eq(dsql_profile_value(NULL, "region", &v, &err), DSQL_OK);
    cr_assert_str_eq(v, "us-west-2");
    dsql_free_secret(v);
    cr_assert_eq(dsql_profile_value("ghost", "region", &v, &err), DSQL_ERR_CONFIG);
}
