/* SPDX-License-Identifier: MIT */
/* test_env.c: the environment source, with botocore's EnvProvider rules. */
#include "creds/chain.h"
#include "creds/creds.h"
#include "creds/env.h"
#include "creds/profile.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <string.h>

static dsql_creds_ctx ctx;

static void setup(void)
{
    scratch_isolate_env(scratch_dir());
    memset(&ctx, 0, sizeof ctx);
    strcpy(ctx.profile, "default");
}

TestSuite(env, .init = setup);

Test(env, key_and_secret)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret/with+chars", 1);
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, &err), DSQL_OK, "%s", err.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "AKIDENV");
    cr_assert_str_eq(dsql_credentials_secret(c), "secret/with+chars");
    cr_assert_not(dsql_credentials_has_session_token(c));
    cr_assert_eq(dsql_credentials_expiration(c), 0);
    cr_assert_str_eq(dsql_credentials_source(c), "env");
    dsql_credentials_free(c);
}

Test(env, session_token_and_expiration)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("AWS_SESSION_TOKEN", "session", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", "2026-11-25T15:00:00Z", 1);
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, NULL), DSQL_OK);
    cr_assert_str_eq(dsql_credentials_session_token(c), "session");
    cr_assert_eq(dsql_credentials_expiration(c), 1795618800);
    dsql_credentials_free(c);
}

Test(env, security_token_comes_first)
{
    /* botocore's EnvProvider.TOKENS = ['AWS_SECURITY_TOKEN', 'AWS_SESSION_TOKEN']. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("AWS_SESSION_TOKEN", "session", 1);
    setenv("AWS_SECURITY_TOKEN", "security", 1);
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, NULL), DSQL_OK);
    cr_assert_str_eq(dsql_credentials_session_token(c), "security");
    dsql_credentials_free(c);
    setenv("AWS_SECURITY_TOKEN", "", 1);
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, NULL), DSQL_OK);
    cr_assert_str_eq(dsql_credentials_session_token(c), "session", "empty counts as unset");
    dsql_credentials_free(c);
}

Test(env, not_configured)
{
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, NULL), DSQL_ERR_NO_CREDENTIALS);
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, NULL), DSQL_ERR_NO_CREDENTIALS,
                 "an empty key id, or a secret alone, does not switch the source on (botocore)");
    cr_assert_null(c);
}

Test(env, key_without_secret_names_the_variable)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, &err), DSQL_ERR_CREDENTIALS);
    cr_assert_str_eq(err.message, "env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is "
                                  "not; set both or unset AWS_ACCESS_KEY_ID");
    cr_assert_null(c);
}

Test(env, bad_expiration)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_creds_source_env(&ctx, &c, &err), DSQL_ERR_CREDENTIALS);
    cr_assert(strstr(err.message, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time") != NULL);
}
