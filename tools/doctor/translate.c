/* SPDX-License-Identifier: MIT */
/* translate.c: what Aurora DSQL's (or dsqlauth-local's) refusal of a login means and what to do. */
#include "translate.h"

#include <stdio.h>
#include <string.h>

/*
 * Where the wording comes from. Aurora DSQL (AWS troubleshooting guide, and clients that
 * recorded a live cluster's answers): every refused login is FATAL "unable to accept
 * connection, <reason>", SQLSTATE 28000 for "access denied", whose HINT then names the cause:
 * "Signature expired: ..." for a token past its X-Amz-Expires, "Wrong user to action mapping.
 * user: admin, action: DbConnect" for the wrong action; no hint when IAM refused (no
 * dsql:DbConnect* in the policy, no `AWS IAM GRANT` for the role, another account's keys). The
 * guide also lists "IAM authentication failed for user" (an expired token or an expired assumed
 * role), "Role <role> does not exist", "waking up cluster, please retry later" (an inactive
 * cluster), "too many open connections" (53300), "rate exceeded" (53400) and "sni was not
 * received". No recording of a login to a cluster id that does not exist was found: such a name
 * does not resolve, which the DNS step reports. dsqlauth-local (tools/local/front.c,
 * token_verify.c) answers 28P01 "password authentication failed for user "<u>": <part>", the
 * part being "token expired N s ago", "wrong action for role ...", "unknown access key id ...",
 * "signature mismatch", "wrong session token ...", "token is for host X, not Y", "token is for
 * region X, not Y", "token is dated N s in the future ...", or "malformed token: ...".
 */
struct rule {
    const char *needle; /* case-insensitive, anywhere in the message */
    enum doctor_refusal kind;
};

/* First match wins: the specific hints before the general "access denied". */
static const struct rule rules[] = {
    {"signature expired", REFUSAL_EXPIRED},
    {"token expired", REFUSAL_EXPIRED},
    {"iam authentication failed", REFUSAL_EXPIRED},
    {"is dated", REFUSAL_CLOCK},
    {"wrong user to action mapping", REFUSAL_WRONG_ACTION},
    {"wrong action for role", REFUSAL_WRONG_ACTION},
    {"token is for host", REFUSAL_UNKNOWN_CLUSTER},
    {"token is for region", REFUSAL_WRONG_REGION},
    {"unknown access key id", REFUSAL_ACCESS_DENIED},
    {"signature mismatch", REFUSAL_ACCESS_DENIED},
    {"wrong session token", REFUSAL_ACCESS_DENIED},
    {"access denied", REFUSAL_ACCESS_DENIED},
    {"waking up cluster", REFUSAL_BUSY},
    {"too many open connections", REFUSAL_BUSY},
    {"rate exceeded", REFUSAL_BUSY},
    {"too many failed logins", REFUSAL_BUSY},
    {"too many clients", REFUSAL_BUSY},
    {"sni was not received", REFUSAL_TLS},
    {"tls is required", REFUSAL_TLS},
    {"database \"", REFUSAL_UNKNOWN_DATABASE}, /* PostgreSQL: database "x" does not exist */
    {"role \"", REFUSAL_UNKNOWN_ROLE},         /* PostgreSQL: role "x" does not exist */
    {"does not exist", REFUSAL_UNKNOWN_ROLE},  /* DSQL: Role x does not exist */
    {"not supported", REFUSAL_SETTING},
};

static const char *const names[REFUSAL_COUNT] = {
    [REFUSAL_OTHER] = "other",
    [REFUSAL_EXPIRED] = "expired",
    [REFUSAL_CLOCK] = "clock",
    [REFUSAL_WRONG_ACTION] = "wrong-action",
    [REFUSAL_ACCESS_DENIED] = "access-denied",
    [REFUSAL_UNKNOWN_CLUSTER] = "unknown-cluster",
    [REFUSAL_WRONG_REGION] = "wrong-region",
    [REFUSAL_UNKNOWN_ROLE] = "unknown-role",
    [REFUSAL_UNKNOWN_DATABASE] = "unknown-database",
    [REFUSAL_SETTING] = "setting",
    [REFUSAL_TLS] = "tls",
    [REFUSAL_BUSY] = "busy",
};

const char *doctor_refusal_name(enum doctor_refusal kind)
{
    return kind >= 0 && kind < REFUSAL_COUNT ? names[kind] : "other";
}

enum doctor_refusal doctor_translate_login(const char *message, const char *user, char *advice,
                                           size_t advice_len)
{
    enum doctor_refusal kind = REFUSAL_OTHER;
    const char *m = message != NULL ? message : "";
    const char *u = user != NULL && *user != '\0' ? user : "admin";
    int admin = strcmp(u, "admin") == 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strcasestr(m, rules[i].needle) != NULL) {
            kind = rules[i].kind;
            break;
        }
    }
    switch (kind) {
    case REFUSAL_EXPIRED:
        snprintf(advice, advice_len,
                 "the server found the token (or the role session that signed it) expired; "
                 "dsqlauth signs a fresh one per connection, so check this machine's clock "
                 "(timedatectl; NTP), DSQLAUTH_TOKEN_EXPIRES, that the credentials have not "
                 "expired (aws sts get-caller-identity), and that no old token is passed as "
                 "the password");
        break;
    case REFUSAL_CLOCK:
        snprintf(advice, advice_len,
                 "the server found the token dated in the future: this machine's clock is ahead; "
                 "set it right (timedatectl; NTP)");
        break;
    case REFUSAL_WRONG_ACTION:
        snprintf(advice, advice_len,
                 "the token's action does not fit role %s: admin needs a DbConnectAdmin token "
                 "and every other role a DbConnect token. dsqlauth signs the right one for the "
                 "user it connects as, so a token passed as the password (PGPASSWORD, "
                 "password=) was made for another role: remove it",
                 u);
        break;
    case REFUSAL_ACCESS_DENIED:
        if (admin)
            snprintf(advice, advice_len,
                     "the cluster does not accept these credentials for admin: their IAM "
                     "identity needs dsql:DbConnectAdmin on this cluster (check the IAM policy, "
                     "the cluster's resource policy, and that the keys belong to the cluster's "
                     "account: aws sts get-caller-identity)");
        else
            snprintf(advice, advice_len,
                     "the cluster does not accept these credentials for role %s: their IAM "
                     "identity needs dsql:DbConnect on this cluster, and admin must have run "
                     "AWS IAM GRANT %s TO '<the identity's ARN>' (check with aws sts "
                     "get-caller-identity and sys.iam_pg_role_mappings)",
                     u, u);
        break;
    case REFUSAL_UNKNOWN_CLUSTER:
        snprintf(advice, advice_len,
                 "the endpoint that answered is not the cluster the token names: the host name "
                 "and where you connect (hostaddr, port, a tunnel) lead to different clusters, "
                 "or the cluster id is wrong; check both (aws dsql get-cluster)");
        break;
    case REFUSAL_WRONG_REGION:
        snprintf(advice, advice_len,
                 "the token is signed for another region than the cluster's: unset "
                 "DSQLAUTH_REGION (or --region), or use the endpoint name "
                 "<id>.dsql.<region>.on.aws, whose region dsqlauth then signs for");
        break;
    case REFUSAL_UNKNOWN_ROLE:
        snprintf(advice, advice_len,
                 "role %s does not exist in the cluster: as admin run CREATE ROLE %s WITH "
                 "LOGIN; AWS IAM GRANT %s TO '<IAM role or user ARN>'",
                 u, u, u);
        break;
    case REFUSAL_UNKNOWN_DATABASE:
        snprintf(advice, advice_len,
                 "Aurora DSQL has one database, postgres: connect with dbname=postgres (or unset "
                 "PGDATABASE)");
        break;
    case REFUSAL_SETTING:
        snprintf(advice, advice_len,
                 "a startup setting is outside Aurora DSQL's allowlist: remove it from options "
                 "and PGOPTIONS (DSQL takes application_name, client_encoding, DateStyle, "
                 "extra_float_digits, IntervalStyle, TimeZone, search_path, role, enable_*)");
        break;
    case REFUSAL_TLS:
        snprintf(advice, advice_len,
                 "the server wants TLS with the endpoint name as SNI: connect with "
                 "host=<endpoint> (and hostaddr= for a tunnel), sslmode verify-full, and libpq "
                 "14 or later");
        break;
    case REFUSAL_BUSY:
        snprintf(advice, advice_len,
                 "the server is refusing new connections for now (a connection or rate limit, or "
                 "a cluster waking up): retry in a while with backoff, and close idle "
                 "connections");
        break;
    default:
        snprintf(advice, advice_len, "the server refused the login; its answer is quoted here");
        break;
    }
    return kind;
}

/* 1 if s holds anything shaped like part of a token. */
static int looks_secret(const char *s)
{
    static const char *const marks[] = {"x-amz-", "signature=", "action=dbconnect",
                                        "security-token", "credential="};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strcasestr(s, marks[i]) != NULL)
            return 1;
    return 0;
}

/* Appends the line of m that starts at p (after its label) to out, white space folded. */
static void append_line(char *out, size_t out_len, const char *p)
{
    size_t n = strlen(out);
    int space = n > 0 && out[n - 1] == ' ';
    for (; *p != '\0' && *p != '\n' && n + 1 < out_len; p++) {
        int blank = *p == ' ' || *p == '\t' || *p == '\r';
        if (blank && space)
            continue;
        out[n++] = blank ? ' ' : *p;
        space = blank;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

void doctor_server_words(const char *message, char *out, size_t out_len)
{
    if (out_len == 0)
        return;
    out[0] = '\0';
    const char *m = message != NULL ? message : "";
    const char *p = strstr(m, "FATAL:");
    if (p == NULL)
        p = strstr(m, "ERROR:");
    if (p != NULL)
        p += 6;
    else
        p = m;
    while (*p == ' ')
        p++;
    append_line(out, out_len, p);
    const char *hint = strstr(p, "HINT:");
    if (hint != NULL) {
        hint += 5;
        while (*hint == ' ')
            hint++;
        size_t n = strlen(out);
        snprintf(out + n, out_len - n, "; HINT: ");
        append_line(out, out_len, hint);
    }
    if (looks_secret(out))
        snprintf(out, out_len, "(withheld: the server's message quotes part of a token)");
}
