/* SPDX-License-Identifier: MIT */
/* cmd_env.c: `dsqlauth-local env` and `token`: how clients reach the instance. */
#include "cmd_env.h"

#include "cli.h"
#include "keys.h"

#include "dsqlauth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static void put_export(const char *name, const char *value)
{
    printf("export %s='", name);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    puts("'");
}

int cmd_env(const settings *s)
{
    char path[600], id[256], secret[256], port[16];
    statedir_path(s, "keys", path, sizeof path);
    if (keys_first(path, id, sizeof id, secret, sizeof secret) != 0) {
        fprintf(stderr, "dsqlauth-local: not initialised in %s; run `dsqlauth-local start`\n",
                s->dir);
        return 1;
    }
    char ca[600];
    statedir_path(s, "ca.crt", ca, sizeof ca);
    snprintf(port, sizeof port, "%d", s->port);
    put_export("PGHOST", s->endpoint);
    put_export("PGHOSTADDR", "127.0.0.1");
    put_export("PGPORT", port);
    put_export("PGSSLROOTCERT", ca);
    put_export("PGSSLMODE", "verify-full");
    put_export("PGDATABASE", "postgres");
    put_export("PGUSER", "admin");
    put_export("AWS_REGION", s->region);
    put_export("AWS_ACCESS_KEY_ID", id);
    put_export("AWS_SECRET_ACCESS_KEY", secret);
    puts("unset AWS_SESSION_TOKEN");
    put_export("CLUSTER_ENDPOINT", s->endpoint);
    put_export("CLUSTER_USER", "admin");
    put_export("REGION", s->region);
    put_export("DSQLAUTH_SSLROOTCERT", ca);
    put_export("DSQLAUTH_LOCAL_DIR", s->dir);
    OPENSSL_cleanse(secret, sizeof secret);
    return 0;
}

/* A token for role user, signed with the keys file's first pair (for scripts and tests). */
int cmd_token(const settings *s, const char *user, long long expires, long long at)
{
    char path[600], id[256], secret[256];
    statedir_path(s, "keys", path, sizeof path);
    if (keys_first(path, id, sizeof id, secret, sizeof secret) != 0)
        return local_die("not initialised in %s; run `dsqlauth-local start`", s->dir);
    dsql_credentials *creds = NULL;
    dsql_error err;
    char *token = NULL;
    int rc = dsql_credentials_new(id, secret, NULL, 0, "keys-file", &creds, &err);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc == DSQL_OK) {
        dsql_token_params tp = {.hostname = s->endpoint,
                                .region = s->region,
                                .admin = strcmp(user, "admin") == 0,
                                .expires_in = expires,
                                .signing_time = at};
        rc = dsql_token_generate(creds, &tp, &token, &err);
    }
    dsql_credentials_free(creds);
    if (rc != DSQL_OK)
        return local_die("%s", err.message);
    puts(token);
    dsql_token_free(token);
    return 0;
}
