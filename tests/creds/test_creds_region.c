/* SPDX-License-Identifier: MIT */
/* test_region.c: region resolution order and validation, and reading profile settings. */
#include "creds/region.h"
#include "scratch.h"
#include "token/auth.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.ap-northeast-1.on.aws"

static char *dir;

static void setup(void)
{
    dir = scratch_dir();
    scratch_isolate_env(dir);
    scratch_write(dir, "config",
                  "[default]\nregion = eu-west-1\n[profile dev]\nregion = us-west-2\n"
                  "[profile bad]\nregion = US East 1\n[profile none]\noutput = json\n",
                  0644);
}

TestSuite(region, .init = setup);
TestSuite(profile_value, .init = setup);
TestSuite(region_origin, .init = setup);

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
    scratch_write(dir, "credentials", "[default]\nbroken\n", 0644);
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
    scratch_write(dir, "credentials", "[dev]\noutput = text\n", 0644);
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

/* Where the region came from: the step of the chain that gave it. */
static const char *origin_of(const char *host, const char *profile)
{
    static char origin[1024];
    char r[DSQL_REGION_MAX];
    dsql_error err = {0};
    snprintf(origin, sizeof origin, "untouched");
    cr_assert_eq(
        dsql_region_resolve_origin(NULL, host, profile, r, sizeof r, origin, sizeof origin, &err),
        DSQL_OK, "%s", err.message);
    return origin;
}

Test(region_origin, names_each_step)
{
    char want[800];
    snprintf(want, sizeof want, "profile 'dev' in %s/config", dir);
    cr_assert_str_eq(origin_of(HOST, "dev"), want);
    cr_assert_str_eq(origin_of(HOST, "none"), "the endpoint name");
    setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
    cr_assert_str_eq(origin_of(HOST, NULL), "AWS_DEFAULT_REGION");
    setenv("AWS_REGION", "ca-central-1", 1);
    cr_assert_str_eq(origin_of(HOST, NULL), "AWS_REGION");
    char r[DSQL_REGION_MAX], origin[64] = "untouched";
    dsql_error err = {0};
    cr_assert_eq(dsql_region_resolve_origin("us-east-2", NULL, NULL, r, sizeof r, origin,
                                            sizeof origin, &err),
                 DSQL_OK);
    cr_assert_str_eq(origin, "the explicit region");
    cr_assert_eq(
        dsql_region_resolve_origin(NULL, NULL, "none", r, sizeof r, origin, sizeof origin, &err),
        DSQL_OK, "AWS_REGION still answers");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    strcpy(origin, "untouched");
    cr_assert_eq(
        dsql_region_resolve_origin(NULL, NULL, "none", r, sizeof r, origin, sizeof origin, &err),
        DSQL_ERR_REGION);
    cr_assert_str_eq(origin, "untouched", "left alone on failure");
}

/* The signer's order: DSQLAUTH_REGION, the endpoint name, then the chain (NULL: a cluster id). */
Test(region_origin, the_signers_order)
{
    char r[DSQL_REGION_MAX], origin[1024];
    dsql_error err = {0};
    setenv("AWS_REGION", "ca-central-1", 1);
    cr_assert_eq(dsql_auth_region(HOST, r, sizeof r, origin, sizeof origin, &err), DSQL_OK);
    cr_assert_str_eq(r, "ap-northeast-1", "an endpoint name wins over AWS_REGION");
    cr_assert_str_eq(origin, "the endpoint name");
    cr_assert_eq(dsql_auth_region(NULL, r, sizeof r, origin, sizeof origin, &err), DSQL_OK);
    cr_assert_str_eq(r, "ca-central-1");
    cr_assert_str_eq(origin, "AWS_REGION");
    setenv("DSQLAUTH_REGION", "eu-north-1", 1);
    cr_assert_eq(dsql_auth_region(HOST, r, sizeof r, origin, sizeof origin, &err), DSQL_OK);
    cr_assert_str_eq(r, "eu-north-1");
    cr_assert_str_eq(origin, "DSQLAUTH_REGION");
    setenv("DSQLAUTH_REGION", "EU north", 1);
    cr_assert_eq(dsql_auth_region(HOST, r, sizeof r, origin, sizeof origin, &err), DSQL_ERR_REGION);
    unsetenv("DSQLAUTH_REGION");
    unsetenv("AWS_REGION");
    cr_assert_eq(dsql_auth_region(NULL, r, sizeof r, NULL, 0, &err), DSQL_OK, "%s", err.message);
    cr_assert_str_eq(r, "eu-west-1", "the default profile's region");
}
