/* SPDX-License-Identifier: MIT */
/* sso.c: SSO role credentials from the cached `aws sso login` token. */
#include "creds/sso.h"

#include "creds/http.h"
#include "creds/iso8601.h"
#include "creds/json.h"
#include "sign/endpoint.h"
#include "sign/sigv4.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_FILE_MAX (64 * 1024)

void dsql_sso_cache_name(const char *key, char name[46])
{
    unsigned char md[20];
    unsigned int len = 0;
    if (EVP_Digest(key, strlen(key), md, &len, EVP_sha1(), NULL) != 1 || len != 20)
        memset(md, 0, sizeof md);
    dsql_hex(md, 20, name);
    memcpy(name + 40, ".json", 6);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* Loads the cached access token into *token (new, secret). */
static int load_token(const dsql_sso_options *o, const char *login, char **token, dsql_error *err)
{
    int rc;
    const char *key = o->session_name != NULL ? o->session_name : o->start_url;
    const char *what = o->session_name != NULL ? "SSO session" : "SSO start URL";
    char name[46], *dir = NULL, *path = NULL;
    dsql_buf text;
    dsql_buf_init(&text);
    dsql_sso_cache_name(key, name);
    dir = o->cache_dir != NULL ? strdup(o->cache_dir) : dsql_expand_path("~/.aws/sso/cache");
    if (dir == NULL || (path = malloc(strlen(dir) + sizeof name + 1)) == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    sprintf(path, "%s/%s", dir, name);
    if (dsql_read_file(path, CACHE_FILE_MAX, &text) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "SSO: %s for %s '%s' (%s); %s",
                         errno == ENOENT ? "no cached token" : "cannot read the cached token", what,
                         key, path, login);
        goto out;
    }
    static const char *const keys[] = {"accessToken", "expiresAt"};
    char *v[2] = {NULL, NULL};
    rc = dsql_json_object_strings(text.data, text.len, "SSO: token cache", 2, keys, v, err);
    if (rc != DSQL_OK)
        goto out;
    int64_t expires = 0;
    if (v[0] == NULL || *v[0] == '\0' || v[1] == NULL || dsql_iso8601_parse(v[1], &expires) != 0)
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "SSO: the cached token %s lacks accessToken or a valid expiresAt; %s",
                         path, login);
    else if (expires <= (o->now != 0 ? o->now : (int64_t)time(NULL)))
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "SSO: the cached token for %s '%s' has expired; %s", what, key, login);
    if (rc == DSQL_OK) {
        *token = v[0];
        v[0] = NULL;
    }
    dsql_free_secret(v[0]);
    dsql_free_secret(v[1]);
out:
    dsql_buf_cleanup(&text);
    free(dir);
    free(path);
    return rc;
}

const dsql_json_cred_fields dsql_sso_fields = {
    .object = "roleCredentials",
    .access_key_id = "accessKeyId",
    .secret_access_key = "secretAccessKey",
    .session_token = "sessionToken",
    .expiration = "expiration",
    .expiration_required = 1,
    .expiration_epoch_ms = 1,
};

int dsql_creds_fetch_sso(const dsql_sso_options *o, dsql_credentials **out, dsql_error *err)
{
    int rc;
    char *token = NULL, login[DSQL_PROFILE_MAX + 64];
    dsql_buf url, hdr;
    dsql_http_response resp = {0};
    dsql_buf_init(&url);
    dsql_buf_init(&hdr);
    if (o == NULL || o->start_url == NULL || o->sso_region == NULL || o->account_id == NULL ||
        o->role_name == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID,
                         "SSO: start URL, region, account id and role name are required");
        goto out;
    }
    if (!dsql_valid_region(o->sso_region)) {
        rc = dsql_seterr(err, DSQL_ERR_CONFIG, "SSO: sso_region '%s' is not a region name",
                         o->sso_region);
        goto out;
    }
    snprintf(login, sizeof login, "run aws sso login --profile %s",
             o->profile != NULL ? o->profile : "default");
    if ((rc = load_token(o, login, &token, err)) != DSQL_OK)
        goto out;

    const char *ep = o->endpoint != NULL ? o->endpoint : env_nonempty("AWS_ENDPOINT_URL_SSO");
    if (ep == NULL)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    if (ep != NULL) {
        size_t n = strlen(ep);
        while (n > 0 && ep[n - 1] == '/')
            n--;
        dsql_buf_append(&url, ep, n);
    } else {
        dsql_buf_printf(&url, "https://portal.sso.%s.amazonaws.com%s", o->sso_region,
                        strncmp(o->sso_region, "cn-", 3) == 0 ? ".cn" : "");
    }
    dsql_buf_puts(&url, "/federation/credentials?role_name=");
    dsql_uri_encode(&url, o->role_name, strlen(o->role_name));
    dsql_buf_puts(&url, "&account_id=");
    dsql_uri_encode(&url, o->account_id, strlen(o->account_id));
    dsql_buf_printf(&hdr, "x-amz-sso_bearer_token: %s", token);
    if (dsql_buf_failed(&url) || dsql_buf_failed(&hdr)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *headers[] = {hdr.data, "Accept: application/json", NULL};
    dsql_http_request q = {.step = "GetRoleCredentials",
                           .url = url.data,
                           .headers = headers,
                           .connect_timeout_ms = 3000,
                           .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000};
    if ((rc = dsql_http_perform(&q, &resp, err)) != DSQL_OK) {
        dsql_err_prefix(err, "SSO");
        goto out;
    }
    if (resp.status == 401 || resp.status == 403) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "SSO: GetRoleCredentials: HTTP %ld: the SSO session has expired or is "
                         "invalid; %s",
                         resp.status, login);
        goto out;
    }
    if (resp.status != 200) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "SSO: GetRoleCredentials: HTTP %ld",
                         resp.status);
        goto out;
    }
    rc = dsql_json_parse_credentials_in(resp.body, resp.body_len, &dsql_sso_fields, "sso",
                                        "SSO: GetRoleCredentials", out, err);
out:
    dsql_free_secret(token);
    dsql_buf_cleanup(&url);
    dsql_buf_cleanup(&hdr);
    dsql_http_response_cleanup(&resp);
    return rc;
}

int dsql_creds_source_sso(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    const dsql_aws_files *f = ctx->files;
    const char *p = ctx->profile;
    const char *role = dsql_aws_profile_get(f, p, "sso_role_name", NULL);
    const char *account = dsql_aws_profile_get(f, p, "sso_account_id", NULL);
    if (role == NULL && account == NULL)
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "SSO: not configured");
    static const char *const keys[] = {"sso_start_url", "sso_region"};
    const char *v[2];
    const char *session = dsql_aws_profile_get(f, p, "sso_session", NULL);
    const dsql_ini_section *s = NULL;
    if (session != NULL) {
        s = dsql_aws_config_sso_session(f->config, session);
        if (s == NULL)
            return dsql_seterr(err, DSQL_ERR_CONFIG,
                               "SSO: profile '%s' names sso_session '%s', but %s has no "
                               "[sso-session %s] section",
                               p, session, f->config->path, session);
    }
    for (int i = 0; i < 2; i++) {
        v[i] = dsql_aws_profile_get(f, p, keys[i], NULL);
        const dsql_ini_entry *e = s != NULL ? dsql_ini_lookup(f->config, s, keys[i]) : NULL;
        if (e != NULL && e->value != NULL) {
            if (v[i] != NULL && strcmp(v[i], e->value) != 0)
                return dsql_seterr(err, DSQL_ERR_CONFIG,
                                   "SSO: %s differs between profile '%s' and sso-session '%s'",
                                   keys[i], p, session);
            v[i] = e->value;
        }
    }
    char missing[128] = "";
    const char *names[] = {"sso_role_name", "sso_account_id", "sso_start_url", "sso_region"};
    const char *vals[] = {role, account, v[0], v[1]};
    for (int i = 0; i < 4; i++)
        if (vals[i] == NULL) {
            strcat(missing, missing[0] ? ", " : "");
            strcat(missing, names[i]);
        }
    if (missing[0] != '\0')
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "SSO: profile '%s' is configured for SSO but lacks %s", p, missing);
    dsql_sso_options o = {.profile = p,
                          .start_url = v[0],
                          .sso_region = v[1],
                          .account_id = account,
                          .role_name = role,
                          .session_name = session,
                          .now = ctx->now};
    return dsql_creds_fetch_sso(&o, out, err);
}
