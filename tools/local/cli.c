/* SPDX-License-Identifier: MIT */
/* cli.c: dsqlauth-local's command line: usage, options, and the settings a command runs with. */
#include "cli.h"

#include "dsqlauth.h"
#include "occ.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_usage(FILE *f)
{
    fputs(
        "Usage: dsqlauth-local COMMAND [OPTIONS]\n"
        "A local Aurora DSQL-like endpoint: PostgreSQL behind a TLS front that verifies IAM\n"
        "auth tokens (SigV4) against a local keys file.\n\n"
        "Commands:\n"
        "  start    initialise on first use, start PostgreSQL and the TLS front\n"
        "  stop     stop both; no process is left behind\n"
        "  status   exit 0 when running, 3 when not (as pg_ctl)\n"
        "  env      print `export` lines: eval \"$(dsqlauth-local env)\"\n"
        "  token    print a token signed with the keys file's first pair (for scripts;\n"
        "           --token-user NAME (default admin), --expires S, --signing-time UNIX)\n\n"
        "Options:\n"
        "  --dir DIR            state directory (default $DSQLAUTH_LOCAL_DIR, else\n"
        "                       $XDG_RUNTIME_DIR/dsqlauth-local, else /tmp/dsqlauth-local-$UID)\n"
        "  --port N             TCP port on 127.0.0.1 (default: the last one, else a free one)\n"
        "  --cluster-id ID      26 characters [a-z0-9] (default " LOCAL_DEFAULT_CLUSTER_ID ")\n"
        "  --region R           (default " LOCAL_DEFAULT_REGION ")\n"
        "  --user NAME          a further non-admin role (repeatable; `app` always exists)\n"
        "  --strict             behave as Aurora DSQL: refuse what it refuses (its SQLSTATEs and\n"
        "                       messages; tools/local/rules.tsv), answer as its server does\n"
        "                       (version 16.15, REPEATABLE READ, UTC, CREATE INDEX ASYNC jobs),\n"
        "                       and settle write conflicts at COMMIT (40001 OC000) instead of\n"
        "                       making writers wait\n"
        "  --inject-conflict every=N[,app=NAME][,code=OC000|OC001]\n"
        "                       strict: fail every Nth COMMIT of a transaction block (of the\n"
        "                       sessions whose application_name is NAME) with DSQL's 40001, to\n"
        "                       test retry loops; a session may also SET application_name =\n"
        "                       'dsqlauth:fail-next-commit' to fail its next COMMIT once\n"
        "  --server-version dsql|backend  strict: the server version reported (startup,\n"
        "                       SHOW, current_setting): DSQL's 16.15 (default), or the\n"
        "                       backend's own, for clients that refuse a server newer than\n"
        "                       themselves (Debian 12's pg_dump 15)\n"
        "  --max-transaction-age S  strict: refuse the next statement of a transaction older\n"
        "                       than S seconds with 54000 (default 300, DSQL's 5 minutes; 0: no "
        "limit)\n"
        "  --connection-rate R[,B]  refuse new connections beyond R per second after a burst\n"
        "                       of B (default 10*R) with 53400, as DSQL's quota (100, 1000) does;\n"
        "                       default off, so benchmarks may connect freely\n"
        "  --max-lifetime S     close sessions after S seconds like DSQL (default 3600; 0: never)\n"
        "  --handshake-timeout S  seconds a client has for TLS, startup and password (10)\n"
        "  --max-failed-logins N  after N failed logins from one client address within the\n"
        "                       window, refuse its further attempts (SQLSTATE 53300) without\n"
        "                       verifying them until the window closes (default 10; 0: no limit)\n"
        "  --failed-login-window S  the window, in seconds from the first failure (default 60)\n"
        "  --foreground         run the front in the foreground (logs to stderr)\n"
        "  --help, --version\n\n"
        "`start` raises the open-files soft limit to the hard limit (a client holds two\n"
        "descriptors); PostgreSQL behind it allows 1000 connections.\n",
        f);
}

int local_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dsqlauth-local: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_valid_role(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 63 || strcmp(u, "admin") == 0 || strncmp(u, "pg_", 3) == 0)
        return 0;
    if (!((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '_'))
            return 0;
    return 1;
}

int cli_parse(int argc, char **argv, cli_args *a)
{
    settings s = {.max_lifetime = -1, .strict = -1};
    memset(a, 0, sizeof *a);
    const char *cluster_id = NULL, *region = NULL;
    char extra_users[LOCAL_MAX_USERS][64];
    size_t nextra = 0;
    int port = -1, foreground = 0, strict = 0, handshake = 10, max_failed = 10, window = 60;
    int txn_age = 300, rate = 0, burst = 0;
    const char *inject = "";
    long long lifetime = -1, expires = 0, signing_time = 0;
    int backend_version = 0;
    const char *token_user = "admin";
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},
        {"port", required_argument, 0, 'p'},
        {"cluster-id", required_argument, 0, 'c'},
        {"region", required_argument, 0, 'r'},
        {"user", required_argument, 0, 'u'},
        {"strict", no_argument, 0, 's'},
        {"max-lifetime", required_argument, 0, 'l'},
        {"foreground", no_argument, 0, 'f'},
        {"handshake-timeout", required_argument, 0, 'H'},
        {"token-user", required_argument, 0, 'U'},
        {"expires", required_argument, 0, 'e'},
        {"signing-time", required_argument, 0, 't'},
        {"max-failed-logins", required_argument, 0, 'F'},
        {"failed-login-window", required_argument, 0, 'W'},
        {"inject-conflict", required_argument, 0, 'I'},
        {"max-transaction-age", required_argument, 0, 'A'},
        {"connection-rate", required_argument, 0, 'R'},
        {"server-version", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    statedir_default(s.dir, sizeof s.dir);
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char *end;
        switch (o) {
        case 'd':
            if (optarg[0] != '/') {
                char cwd[400];
                if (getcwd(cwd, sizeof cwd) == NULL)
                    return local_die("cannot resolve %s", optarg);
                snprintf(s.dir, sizeof s.dir, "%s/%s", cwd, optarg);
            } else {
                snprintf(s.dir, sizeof s.dir, "%s", optarg);
            }
            break;
        case 'p':
            port = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535)
                return local_die("--port: expected 1..65535, got %s", optarg);
            break;
        case 'c':
            if (!dsql_is_cluster_id(optarg))
                return local_die("--cluster-id: expected 26 characters of [a-z0-9], got %s",
                                 optarg);
            cluster_id = optarg;
            break;
        case 'r':
            if (!dsql_valid_region(optarg))
                return local_die("--region: expected a region name such as us-east-1, got %s",
                                 optarg);
            region = optarg;
            break;
        case 'u':
            if (!cli_valid_role(optarg))
                return local_die(
                    "--user: %s is not a usable role name ([a-z_][a-z0-9_]*, not admin)", optarg);
            if (nextra == LOCAL_MAX_USERS - 1)
                return local_die("--user: at most %s extra roles", "15");
            snprintf(extra_users[nextra++], sizeof extra_users[0], "%s", optarg);
            break;
        case 's':
            strict = 1;
            break;
        case 'l':
            lifetime = strtoll(optarg, &end, 10);
            if (*end != '\0' || lifetime < 0)
                return local_die("--max-lifetime: expected seconds, got %s", optarg);
            break;
        case 'f':
            foreground = 1;
            break;
        case 'H':
            handshake = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || handshake < 1 || handshake > 600)
                return local_die("--handshake-timeout: expected 1..600 seconds, got %s", optarg);
            break;
        case 'F':
            max_failed = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || max_failed < 0 || max_failed > 1000000)
                return local_die("--max-failed-logins: expected 0..1000000, got %s", optarg);
            break;
        case 'W':
            window = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || window < 1 || window > 86400)
                return local_die("--failed-login-window: expected 1..86400 seconds, got %s",
                                 optarg);
            break;
        case 'I': {
            occ_inject parsed;
            char why[256];
            if (occ_inject_parse(optarg, &parsed, why, sizeof why) != 0)
                return local_die("%s", why);
            inject = optarg;
            break;
        }
        case 'A':
            txn_age = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || txn_age < 0 || txn_age > 86400)
                return local_die("--max-transaction-age: expected 0..86400 seconds, got %s",
                                 optarg);
            break;
        case 'R':
            rate = (int)strtol(optarg, &end, 10);
            burst = rate * 10;
            if (*end == ',')
                burst = (int)strtol(end + 1, &end, 10);
            if (*optarg == '\0' || *end != '\0' || rate < 1 || rate > 1000000 || burst < 1 ||
                burst > 10000000)
                return local_die("--connection-rate: expected R[,B] with R 1..1000000 and B "
                                 "1..10000000, got %s",
                                 optarg);
            break;
        case 'S':
            if (strcmp(optarg, "dsql") != 0 && strcmp(optarg, "backend") != 0)
                return local_die("--server-version: expected dsql or backend, got %s", optarg);
            backend_version = strcmp(optarg, "backend") == 0;
            break;
        case 'U':
            token_user = optarg;
            break;
        case 'e':
            expires = strtoll(optarg, &end, 10);
            break;
        case 't':
            signing_time = strtoll(optarg, &end, 10);
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        case 'V':
            printf("dsqlauth-local %s\n", dsql_version());
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        cli_usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    size_t len = strlen(s.dir);
    while (len > 1 && s.dir[len - 1] == '/')
        s.dir[--len] = '\0';

    /* Settings: the last start's, then this command line's. */
    int had_state = statedir_load(&s) == 0;
    settings last = s; /* what the last start used */
    if (strcmp(cmd, "start") == 0) {
        s.nusers = 0; /* roles: app plus this start's --user names (old roles stay in the DB) */
        snprintf(s.users[s.nusers++], sizeof s.users[0], "app");
        for (size_t i = 0; i < nextra; i++)
            if (strcmp(extra_users[i], "app") != 0)
                snprintf(s.users[s.nusers++], sizeof s.users[0], "%.63s", extra_users[i]);
        s.strict = strict;
        s.backend_version = backend_version;
        s.max_lifetime = lifetime >= 0 ? lifetime : LOCAL_DEFAULT_LIFETIME;
        s.handshake_timeout = handshake;
        s.max_failed_logins = max_failed;
        s.failed_login_window = window;
        snprintf(s.inject_conflict, sizeof s.inject_conflict, "%s", inject);
        s.max_txn_age = txn_age;
        s.conn_rate = rate;
        s.conn_burst = burst;
    }
    if (cluster_id != NULL)
        snprintf(s.cluster_id, sizeof s.cluster_id, "%s", cluster_id);
    if (region != NULL)
        snprintf(s.region, sizeof s.region, "%s", region);
    if (s.cluster_id[0] == '\0')
        snprintf(s.cluster_id, sizeof s.cluster_id, LOCAL_DEFAULT_CLUSTER_ID);
    if (s.region[0] == '\0')
        snprintf(s.region, sizeof s.region, LOCAL_DEFAULT_REGION);
    if (port > 0)
        s.port = port;
    dsql_error err;
    if (dsql_endpoint_resolve(s.cluster_id, s.region, s.endpoint, sizeof s.endpoint, &err) != 0)
        return local_die("%s", err.message);
    if (had_state)
        dsql_endpoint_resolve(last.cluster_id, last.region, last.endpoint, sizeof last.endpoint,
                              NULL);
    a->cmd = cmd;
    a->s = s;
    a->last = last;
    a->had_state = had_state;
    a->foreground = foreground;
    a->explicit_port = port > 0;
    a->token_user = token_user;
    a->expires = expires;
    a->signing_time = signing_time;
    return -1;
}
