/* SPDX-License-Identifier: MIT */
/* test_botocore.c: precedence cross-checked against Debian's botocore. For each environment in
 * the table, our chain and botocore (pointed at the same loopback STS, SSO, container and IMDS
 * servers) must pick the same source and the same access key id, or both find none, or both
 * fail. */
#include "creds/imds.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <jansson.h>
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

TestSuite(botocore, .fini = stop);

struct row {
    const char *name;
    const char *profile; /* given by the caller (botocore: Session(profile=...)), or NULL */
    const char *config;
    const char *credentials;
    const char *env[8]; /* NAME=value; @BASE@ is the server's URL, @DIR@ its directory */
    const char *expect; /* "<botocore method>:<access key id>", "none" or "error" */
};

#define ENV_KEYS "AWS_ACCESS_KEY_ID=AKIAENV", "AWS_SECRET_ACCESS_KEY=s"
#define CRED_DEFAULT "[default]\naws_access_key_id = AKIACREDFILE\naws_secret_access_key = s\n"
#define CRED_DEV "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n"
#define BASE_KEYS "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n"
#define PROCESS                                                                                    \
    "credential_process = /bin/echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "             \
    "\"SecretAccessKey\": \"s\"}'\n"
#define WEBID "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/jwt", "AWS_ROLE_ARN=arn:aws:iam::1:role/web"
#define ASSUME "role_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n"
#define SSO                                                                                        \
    "sso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"                                  \
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"                         \
    "sso_region = us-east-1\n"
#define CONTAINER "AWS_CONTAINER_CREDENTIALS_FULL_URI=@BASE@/c"
#define IMDS "AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=@BASE@"

static const struct row rows[] = {
    {"environment only", NULL, NULL, NULL, {ENV_KEYS}, "env:AKIAENV"},
    {"environment beats the credentials file", NULL, NULL, CRED_DEFAULT, {ENV_KEYS}, "env:AKIAENV"},
    {"AWS_PROFILE does not switch the environment off",
     NULL,
     NULL,
     CRED_DEV,
     {ENV_KEYS, "AWS_PROFILE=dev"},
     "env:AKIAENV"},
    {"a profile named by the caller does",
     "dev",
     NULL,
     CRED_DEV,
     {ENV_KEYS},
     "shared-credentials-file:AKIADEV"},
    {"credentials file beats config file",
     NULL,
     "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s\n",
     CRED_DEFAULT,
     {0},
     "shared-credentials-file:AKIACREDFILE"},
    {"config file alone",
     NULL,
     "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s\n",
     NULL,
     {0},
     "config-file:AKIACONFIG"},
    {"credential_process beats config file keys",
     NULL,
     "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s\n" PROCESS,
     NULL,
     {0},
     "custom-process:AKIAPROC"},
    {"credentials file beats credential_process",
     NULL,
     "[default]\n" PROCESS,
     CRED_DEFAULT,
     {0},
     "shared-credentials-file:AKIACREDFILE"},
    {"assume-role beats static keys of the same profile",
     NULL,
     "[default]\n" ASSUME,
     CRED_DEFAULT BASE_KEYS,
     {0},
     "assume-role:ASIAROLE"},
    {"assume-role with credential_source Environment",
     "ci",
     "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n",
     NULL,
     {ENV_KEYS},
     "assume-role:ASIAROLE"},
    {"web identity beats the credentials file",
     NULL,
     NULL,
     CRED_DEFAULT,
     {WEBID},
     "assume-role-with-web-identity:ASIAWEB"},
    {"environment beats web identity", NULL, NULL, NULL, {ENV_KEYS, WEBID}, "env:AKIAENV"},
    {"assume-role beats web identity",
     NULL,
     "[default]\n" ASSUME,
     BASE_KEYS,
     {WEBID},
     "assume-role:ASIAROLE"},
    {"web identity from the profile",
     NULL,
     "[default]\nweb_identity_token_file = @DIR@/jwt\nrole_arn = arn:aws:iam::1:role/w\n",
     NULL,
     {0},
     "assume-role-with-web-identity:ASIAWEB"},
    {"a named profile ignores web identity variables",
     "dev",
     NULL,
     CRED_DEV,
     {WEBID},
     "shared-credentials-file:AKIADEV"},
    {"SSO beats the credentials file", NULL, "[default]\n" SSO, CRED_DEFAULT, {0}, "sso:ASIASSO"},
    {"container when nothing else", NULL, NULL, NULL, {CONTAINER}, "container-role:ASIATASK"},
    {"config file beats container",
     NULL,
     "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s\n",
     NULL,
     {CONTAINER},
     "config-file:AKIACONFIG"},
    {"container beats IMDS", NULL, NULL, NULL, {CONTAINER, IMDS}, "container-role:ASIATASK"},
    {"IMDS last", NULL, NULL, NULL, {IMDS}, "iam-role:ASIAINSTANCE"},
    {"nothing at all", NULL, NULL, NULL, {"AWS_EC2_METADATA_DISABLED=true"}, "none"},
    {"a key id without a secret", NULL, NULL, CRED_DEFAULT, {"AWS_ACCESS_KEY_ID=AKIAENV"}, "error"},
    {"a named profile that does not exist", "ghost", NULL, CRED_DEFAULT, {0}, "error"},
    {"role_arn without a source",
     NULL,
     "[default]\nrole_arn = arn:aws:iam::1:role/x\n",
     NULL,
     {0},
     "error"},
};

/* Replaces @BASE@ and @DIR@. */
static void expand(const char *in, char *out, size_t len)
{
    size_t o = 0;
    while (*in != '\0' && o + 1 < len) {
        const char *sub = NULL;
        size_t skip = 0;
        if (strncmp(in, "@BASE@", 6) == 0)
            sub = fs.base, skip = 6;
        else if (strncmp(in, "@DIR@", 5) == 0)
            sub = fs.dir, skip = 5;
        if (sub != NULL) {
            o += (size_t)snprintf(out + o, len - o, "%s", sub);
            in += skip;
        } else {
            out[o++] = *in++;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

static void prepare(const struct row *r)
{
    char text[2048], path[256];
    dsql_credentials_cache_clear();
    dsql_imds_reset();
    fake_isolate_env(&fs);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    setenv("AWS_ENDPOINT_URL_SSO", fs.base, 1);
    /* Both read it; a loaded machine must not turn a slow loopback answer into "no IMDS". */
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "10", 1);
    expand(r->config != NULL ? r->config : "", text, sizeof text);
    fake_server_write_file(&fs, "config", text, path, sizeof path);
    expand(r->credentials != NULL ? r->credentials : "", text, sizeof text);
    fake_server_write_file(&fs, "credentials", text, path, sizeof path);
    for (int i = 0; i < 8 && r->env[i] != NULL; i++) {
        expand(r->env[i], text, sizeof text);
        char *eq = strchr(text, '=');
        *eq = '\0';
        setenv(text, eq + 1, 1);
    }
}

/* Our chain's answer in the table's terms (credential_process is botocore's custom-process). */
static void ours(const struct row *r, char *out, size_t len, char *why, size_t why_len)
{
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    int rc = dsql_credentials_resolve(r->profile, &c, &e);
    snprintf(why, why_len, "%s", rc == DSQL_OK ? "" : e.message);
    if (rc == DSQL_ERR_NO_CREDENTIALS) {
        snprintf(out, len, "none");
    } else if (rc != DSQL_OK) {
        snprintf(out, len, "error");
    } else {
        const char *src = dsql_credentials_source(c);
        snprintf(out, len, "%s:%s", strcmp(src, "credential_process") == 0 ? "custom-process" : src,
                 dsql_credentials_access_key_id(c));
        dsql_credentials_free(c);
    }
}

static void botocores(const struct row *r, char *out, size_t len, char *why, size_t why_len)
{
    char cmd[1024], line[1024] = "";
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/cloud/botocore_chain.py' '%s'",
             getenv("DSQLAUTH_SOURCE_ROOT"), r->profile != NULL ? r->profile : "");
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *got = fgets(line, sizeof line, p);
    pclose(p);
    cr_assert_not_null(got, "botocore printed nothing for '%s'", r->name);
    json_t *j = json_loads(line, 0, NULL);
    cr_assert_not_null(j, "botocore: %s", line);
    if (json_object_get(j, "none") != NULL)
        snprintf(out, len, "none");
    else if (json_object_get(j, "error") != NULL)
        snprintf(out, len, "error");
    else
        snprintf(out, len, "%s:%s", json_string_value(json_object_get(j, "method")),
                 json_string_value(json_object_get(j, "access_key")));
    const char *cls = json_string_value(json_object_get(j, "error"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    snprintf(why, why_len, "%s %s", cls != NULL ? cls : "", msg != NULL ? msg : "");
    json_decref(j);
}

Test(botocore, precedence_table)
{
    fake_server_start(
        &fs,
        "{\"routes\":[" STS_ROUTE("AssumeRole", "ASIAROLE") "," STS_ROUTE(
            "AssumeRoleWithWebIdentity",
            "ASIAWEB") "," CONTAINER_ROUTE("/c",
                                           "ASIATASK") "," IMDS_ROUTES("ASIAINSTANCE") "," SSO_ROUTE("ASIASSO") "]}");
    char path[256];
    fake_server_write_file(&fs, "jwt", "header.payload.signature", path, sizeof path);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/.aws", fs.dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/.aws/sso", fs.dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/.aws/sso/cache", fs.dir);
    mkdir(dir, 0700);
    /* sha1("corp"): the sso-session's token. */
    fake_server_write_file(&fs, ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
                           "{\"startUrl\": \"https://corp.awsapps.com/start\", \"region\": "
                           "\"us-east-1\", \"accessToken\": \"sso-token\", \"expiresAt\": "
                           "\"2099-01-01T00:00:00Z\"}",
                           path, sizeof path);
    int mismatches = 0;
    char report[8192] = "";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        char a[256], b[256], wa[DSQL_ERROR_MAX], wb[256];
        prepare(r);
        ours(r, a, sizeof a, wa, sizeof wa);
        botocores(r, b, sizeof b, wb, sizeof wb);
        if (strcmp(a, r->expect) != 0 || strcmp(b, r->expect) != 0) {
            size_t n = strlen(report);
            snprintf(report + n, sizeof report - n,
                     "\n  %s: expected %s, dsqlauth %s (%s), botocore %s (%s)", r->name, r->expect,
                     a, wa, b, wb);
            mismatches++;
        }
    }
    cr_assert_eq(mismatches, 0, "%d of %zu environments differ:%s", mismatches,
                 sizeof rows / sizeof rows[0], report);
}
