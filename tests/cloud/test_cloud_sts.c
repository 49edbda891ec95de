/* SPDX-License-Identifier: MIT */
/* test_sts.c: STS AssumeRole / AssumeRoleWithWebIdentity over loopback, and the XML reader. */
#include "creds/sts.h"
#include "fake_aws.h"
#include "scenarios.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fake_server fs;

static void stop(void)
{
    fake_server_stop(&fs);
}

TestSuite(sts, .fini = stop);

static const char *first_body(void)
{
    static char body[4096];
    char *log = fake_server_log(&fs);
    json_t *j = json_loads(log, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(j, "%s", log);
    snprintf(body, sizeof body, "%s", json_string_value(json_object_get(j, "body")));
    json_decref(j);
    free(log);
    return body;
}

Test(sts, web_identity_ok)
{
    fake_server_start(&fs,
                      "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"body_contains\":"
                      "\"Action=AssumeRoleWithWebIdentity\",\"responses\":[{\"body\":\"" OK_XML(
                          "AssumeRoleWithWebIdentity") "\"}]}]}");
    dsql_sts_options o = {.endpoint = fs.base, .region = "eu-west-1", .now = 1700000000};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::123456789012:role/web",
                          .role_session_name = "my session",
                          .duration_seconds = 900};
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(
        dsql_sts_assume_role_with_web_identity(&o, &role, "eyJ.tok+en/x", "web-identity", &c, &e),
        DSQL_OK, "%s", e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIAROLE0001");
    cr_assert_str_eq(dsql_credentials_secret(c), "wJalr/XUtnFEMI+K7MDENG");
    cr_assert_str_eq(dsql_credentials_session_token(c), "FQoGZXIvYXdzE+/token=");
    cr_assert_eq(dsql_credentials_expiration(c), 1893553445);
    cr_assert_str_eq(dsql_credentials_source(c), "web-identity");
    dsql_credentials_free(c);
    cr_assert_eq(fake_server_count(&fs, "POST", "/"), 1);
    cr_assert_str_eq(first_body(),
                     "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam"
                     "%3A%3A123456789012%3Arole%2Fweb&RoleSessionName=my%20session"
                     "&DurationSeconds=900&WebIdentityToken=eyJ.tok%2Ben%2Fx");
    char *log = fake_server_log(&fs);
    cr_assert(strstr(log, "authorization") == NULL, "web identity calls are unsigned: %s", log);
    free(log);
}

Test(sts, default_session_name)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{"
                           "\"body\":\"" OK_XML("AssumeRoleWithWebIdentity") "\"}]}]}");
    dsql_sts_options o = {.endpoint = fs.base, .now = 1700000000};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::1:role/r"};
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(&o, &role, "t", "x", &c, NULL), DSQL_OK);
    dsql_credentials_free(c);
    cr_assert(strstr(first_body(), "&RoleSessionName=dsqlauth-session-1700000000&") != NULL);
}

Test(sts, expired_web_identity_token)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{"
                           "\"status\":400,\"body\":\"" EXPIRED_XML "\"}]}]}");
    dsql_sts_options o = {.endpoint = fs.base};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::1:role/r"};
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(&o, &role, "t", "x", &c, &e),
                 DSQL_ERR_CREDENTIALS);
    cr_assert_null(c);
    cr_assert_str_eq(e.message, "STS AssumeRoleWithWebIdentity: ExpiredTokenException: Token "
                                "expired: current date/time 1700000000 must be before the "
                                "expiration date/time 1600000000 (HTTP 400)");
}

Test(sts, error_without_xml_and_missing_credentials)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"responses\":["
                           "{\"status\":503,\"body\":\"busy\"},"
                           "{\"body\":\"<AssumeRoleResponse><Credentials><AccessKeyId>A"
                           "</AccessKeyId></Credentials></AssumeRoleResponse>\"}]}]}");
    dsql_sts_options o = {.endpoint = fs.base};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::1:role/r"};
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(&o, &role, "t", "x", &c, &e),
                 DSQL_ERR_CREDENTIALS);
    cr_assert_str_eq(e.message, "STS AssumeRoleWithWebIdentity: HTTP 503");
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(&o, &role, "t", "x", &c, &e),
                 DSQL_ERR_CREDENTIALS);
    cr_assert_str_eq(e.message, "STS AssumeRoleWithWebIdentity: the response has no complete "
                                "Credentials element");
}

Test(sts, refused_connection)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fake_unused_port());
    dsql_sts_options o = {.endpoint = url};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::1:role/r"};
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(&o, &role, "t", "x", &c, &e),
                 DSQL_ERR_HTTP);
    cr_assert_str_eq(e.message,
                     "STS AssumeRoleWithWebIdentity: request: connection refused (127.0.0.1)");
}

Test(sts, endpoint_from_environment)
{
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/sts\",\"responses\":[{"
                           "\"body\":\"" OK_XML("AssumeRoleWithWebIdentity") "\"}]}]}");
    char url[128];
    snprintf(url, sizeof url, "%s/sts", fs.base);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
    setenv("AWS_ENDPOINT_URL_STS", url, 1);
    dsql_sts_role role = {.role_arn = "arn:aws:iam::1:role/r"};
    dsql_credentials *c = NULL;
    dsql_error e = {0};
    cr_assert_eq(dsql_sts_assume_role_with_web_identity(NULL, &role, "t", "x", &c, &e), DSQL_OK,
                 "%s", e.message);
    dsql_credentials_free(c);
    cr_assert_eq(fake_server_count(&fs, "POST", "/sts"), 1);
}

static void botocore_authorization(const char *url, const char *body, const char *region,
                                   const char *amzdate, const char *akid, const char *secret,
                                   const char *token, char *out, size_t out_len)
{
    char cmd[4096];
    snprintf(
        cmd, sizeof cmd,
        "/usr/bin/python3 '%s/tests/cloud/botocore_sign.py' '%s' '%s' '%s' '%s' '%s' '%s' '%s'",
        getenv("DSQLAUTH_SOURCE_ROOT"), url, body, region, amzdate, akid, secret,
        token != NULL ? token : "");
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_not_null(fgets(out, (int)out_len, p));
    out[strcspn(out, "\n")] = '\0';
    cr_assert_eq(pclose(p), 0);
}

static void check_signed_like_botocore(const char *token)
{
    fake_server_start(
        &fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"body_contains\":"
             "\"Action=AssumeRole&\",\"responses\":[{\"body\":\"" OK_XML("AssumeRole") "\"}]}]}");
    dsql_credentials *src = NULL, *c = NULL;
    cr_assert_eq(dsql_credentials_new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      token, 0, "test", &src, NULL),
                 DSQL_OK);
    dsql_sts_options o = {.endpoint = fs.base, .region = "us-west-2", .now = 1700000000};
    dsql_sts_role role = {.role_arn = "arn:aws:iam::123456789012:role/admin",
                          .role_session_name = "s1",
                          .external_id = "ext id/1",
                          .duration_seconds = 3600};
    dsql_error e = {0};
    cr_assert_eq(dsql_sts_assume_role(&o, &role, src, "assume-role", &c, &e), DSQL_OK, "%s",
                 e.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "ASIAROLE0001");
    dsql_credentials_free(c);

    char *log = fake_server_log(&fs);
    json_t *j = json_loads(log, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *h = json_object_get(j, "headers");
    const char *auth = json_string_value(json_object_get(h, "authorization"));
    const char *date = json_string_value(json_object_get(h, "x-amz-date"));
    const char *body = json_string_value(json_object_get(j, "body"));
    cr_assert_not_null(auth, "%s", log);
    cr_assert_str_eq(date, "20231114T221320Z");
    cr_assert_str_eq(body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                           "123456789012%3Arole%2Fadmin&RoleSessionName=s1&DurationSeconds=3600"
                           "&ExternalId=ext%20id%2F1");
    if (token != NULL)
        cr_assert_str_eq(json_string_value(json_object_get(h, "x-amz-security-token")), token);
    char url[128], expected[1024];
    snprintf(url, sizeof url, "%s/", fs.base);
    botocore_authorization(url, body, "us-west-2", date, "AKIDEXAMPLE",
                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token, expected,
                           sizeof expected);
    cr_assert_str_eq(auth, expected);
    json_decref(j);
    free(log);
    dsql_credentials_free(src);
}

Test(sts, assume_role_signed_like_botocore)
{
    check_signed_like_botocore(NULL);
}

Test(sts, assume_role_with_session_token_signed_like_botocore)
{
    check_signed_like_botocore("IQoJb3JpZ2luX2VjE/session+token=");
}

Test(sts, xml_reader)
{
    static const char doc[] = "<a><Code>X&amp;Y</Code><CodeX>no</CodeX><Message lang=\"en\">"
                              "it&apos;s &lt;bad&gt; &#65;&#x42;</Message><Empty/><Open>x</a>";
    dsql_buf b;
    dsql_buf_init(&b);
    cr_assert_eq(dsql_xml_text(doc, sizeof doc - 1, "Code", &b), 1);
    cr_assert_str_eq(b.data, "X&Y");
    dsql_buf_cleanup(&b);
    cr_assert_eq(dsql_xml_text(doc, sizeof doc - 1, "Message", &b), 1);
    cr_assert_str_eq(b.data, "it's <bad> AB");
    dsql_buf_cleanup(&b);
    cr_assert_eq(dsql_xml_text(doc, sizeof doc - 1, "Missing", &b), 0);
    cr_assert_eq(dsql_xml_text(doc, sizeof doc - 1, "Empty", &b), 0);
    cr_assert_eq(dsql_xml_text(doc, sizeof doc - 1, "Open", &b), -1);
    /* Bounded: the length given is respected even without a NUL. */
    cr_assert_eq(dsql_xml_text(doc, 12, "Code", &b), -1);
    dsql_buf_cleanup(&b);
}
