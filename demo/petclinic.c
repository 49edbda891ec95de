/* SPDX-License-Identifier: MIT */
/* petclinic.c: the pet clinic demo on Aurora DSQL in plain libpq: walk-through or workload. */
#include "conn.h"
#include "retry.h"
#include "schema.h"
#include "walkthrough.h"
#include "workload.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PC_VERSION
#define PC_VERSION "unknown"
#endif

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fputs("Usage: petclinic [OPTION]...                 run the pet clinic walk-through\n"
          "       petclinic --workload [OPTION]...      run the workload and print a summary\n"
          "\n"
          "The pet clinic of the SQLAlchemy example for Aurora DSQL, in C with plain libpq.\n"
          "It connects with host, user and dbname=postgres only: dsqlauth (linked in, or\n"
          "dsqlauth-run petclinic-plain) adds the IAM token, verified TLS and, for roles other\n"
          "than admin, search_path=myschema.\n"
          "\n"
          "Connection:\n"
          "  -h, --endpoint=HOST     cluster endpoint (default $CLUSTER_ENDPOINT, else $PGHOST)\n"
          "  -U, --user=NAME         database role (default $CLUSTER_USER, else admin)\n"
          "      --region=REGION     AWS region for the token when the endpoint does not name\n"
          "                          one (default $REGION); exported as DSQLAUTH_REGION\n"
          "Walk-through:\n"
          "  -q, --quiet             print only the result line and errors\n"
          "Workload:\n"
          "  -w, --workload          run the transaction mix instead of the walk-through\n"
          "  -c, --clients=N         client threads, one connection each (default 4)\n"
          "  -T, --duration=SECONDS  how long to run (default 10)\n"
          "  -t, --transactions=N    run N transactions in total instead of a duration\n"
          "  -k, --reconnect-every=K new connection after K transactions, as a pool recycles\n"
          "                          them (default 1000; 0: never)\n"
          "      --owners=N          owner pool that reads and updates pick from (default 1000)\n"
          "  -P, --progress=SECONDS  progress every SECONDS on stderr (default 1 on a terminal,\n"
          "                          10 otherwise; 0: none)\n"
          "      --json              write the summary as JSON on stdout\n"
          "      --pgbench-scripts=DIR  write the mix as pgbench scripts to DIR, print the\n"
          "                          matching pgbench -f arguments, and exit\n"
          "Both:\n"
          "      --max-attempts=N    tries per transaction on conflicts (default 10)\n"
          "  -V, --version           print the version and exit\n"
          "      --help              print this help and exit\n"
          "\n"
          "Exit status: 0 when everything committed and every read returned what was written,\n"
          "1 otherwise, 2 for a usage error.\n",
          f);
}

/* Parses a whole decimal number in [min, max]; exits with a usage error otherwise. */
static long number(const char *arg, long min, long max, const char *option)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "petclinic: %s wants a whole number from %ld to %ld, not \"%s\"\n", option,
                min, max, arg);
        exit(EXIT_USAGE);
    }
    return v;
}

static double seconds(const char *arg, const char *option)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= 0) || v > 31536000) {
        fprintf(stderr, "petclinic: %s wants seconds (0 to 31536000), not \"%s\"\n", option, arg);
        exit(EXIT_USAGE);
    }
    return v;
}

static void on_interrupt(int sig)
{
    (void)sig;
    pc_workload_stop = 1;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Who and where we are, as the server sees it; a missing schema is explained, not hidden. */
static int session_info(pc_txn *t, void *arg)
{
    char(*info)[64] = arg;
    PGresult *res = pc_exec(t, "SELECT current_user, current_schema()", 0, NULL);
    if (!res)
        return t->status;
    snprintf(info[0], 64, "%s", PQgetvalue(res, 0, 0));
    snprintf(info[1], 64, "%s", PQgetisnull(res, 0, 1) ? "(none)" : PQgetvalue(res, 0, 1));
    PQclear(res);
    return PC_OK;
}

static int walk_through(const pc_conn_opts *copts, const pc_retry_policy *policy, int quiet)
{
    FILE *out = quiet ? NULL : stdout;
    char err[400];
    char info[2][64];
    pc_rng rng;
    pc_txn t;
    pc_walk_totals totals = {0, 0};
    long schema_retries = 0;

    pc_rng_seed(&rng, 0);
    PGconn *conn = pc_connect(copts, err, sizeof err);
    if (!conn) {
        fprintf(stderr, "petclinic: connect to %s as %s: %s\n",
                copts->endpoint ? copts->endpoint : "(PGHOST)", copts->user, err);
        return 1;
    }
    int rc = pc_txn_run(conn, policy, &rng, session_info, info, &t);
    if (rc != PC_OK) {
        fprintf(stderr, "petclinic: session: %s\n", t.message);
        PQfinish(conn);
        return 1;
    }
    if (out) {
        fprintf(out, "petclinic %s: connected to %s as %s, schema %s, %s%s, server %d.%d\n",
                PC_VERSION, PQhost(conn), info[0], info[1], PQsslInUse(conn) ? "TLS " : "no TLS",
                PQsslInUse(conn) ? PQsslAttribute(conn, "protocol") : "",
                PQserverVersion(conn) / 10000, PQserverVersion(conn) % 10000);
    }

    if (out)
        fprintf(out, "Schema: five tables of the seed's models, each DDL its own transaction\n");
    rc = pc_schema_ensure(conn, policy, &rng, out, &schema_retries);
    if (rc == PC_OK)
        rc = pc_walkthrough(conn, policy, &rng, out, &totals);
    PQfinish(conn);
    if (rc != PC_OK) {
        printf("Walk-through FAILED as %s in schema %s\n", info[0], info[1]);
        return 1;
    }
    printf("Walk-through passed as %s in schema %s: %ld transactions, %ld retries\n", info[0],
           info[1], totals.transactions, totals.retries + schema_retries);
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_REGION = 256, OPT_OWNERS, OPT_JSON, OPT_PGBENCH, OPT_MAX_ATTEMPTS, OPT_HELP };
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'h'},
        {"user", required_argument, NULL, 'U'},
        {"region", required_argument, NULL, OPT_REGION},
        {"quiet", no_argument, NULL, 'q'},
        {"workload", no_argument, NULL, 'w'},
        {"clients", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'T'},
        {"transactions", required_argument, NULL, 't'},
        {"reconnect-every", required_argument, NULL, 'k'},
        {"owners", required_argument, NULL, OPT_OWNERS},
        {"progress", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, OPT_JSON},
        {"pgbench-scripts", required_argument, NULL, OPT_PGBENCH},
        {"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    pc_workload_opts w = {
        .conn = {.endpoint = env_or("CLUSTER_ENDPOINT", NULL),
                 .user = env_or("CLUSTER_USER", "admin"),
                 .dbname = "postgres"},
        .clients = 4,
        .duration_s = 10,
        .reconnect_every = 1000,
        .owners = 1000,
        .progress_s = -1,
        .policy = PC_RETRY_DEFAULT,
    };
    const char *region = env_or("REGION", NULL);
    const char *pgbench_dir = NULL;
    int workload = 0, quiet = 0, opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h:U:qwc:T:t:k:P:V", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            w.conn.endpoint = optarg;
            break;
        case 'U':
            w.conn.user = optarg;
            break;
        case OPT_REGION:
            region = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'w':
            workload = 1;
            break;
        case 'c':
            w.clients = (int)number(optarg, 1, 1000, "--clients");
            break;
        case 'T':
            w.duration_s = seconds(optarg, "--duration");
            break;
        case 't':
            w.transactions = number(optarg, 1, LONG_MAX, "--transactions");
            break;
        case 'k':
            w.reconnect_every = number(optarg, 0, LONG_MAX, "--reconnect-every");
            break;
        case OPT_OWNERS:
            w.owners = number(optarg, 1, 100000000, "--owners");
            break;
        case 'P':
            w.progress_s = seconds(optarg, "--progress");
            break;
        case OPT_JSON:
            w.json = 1;
            break;
        case OPT_PGBENCH:
            pgbench_dir = optarg;
            break;
        case OPT_MAX_ATTEMPTS:
            w.policy.max_attempts = (int)number(optarg, 1, 1000, "--max-attempts");
            break;
        case 'V':
            printf("petclinic (dsqlauth) %s\n", PC_VERSION);
            return 0;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case '?':
            fprintf(stderr, "petclinic: unknown or incomplete option \"%s\"; see --help\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "petclinic: see --help\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "petclinic: unexpected argument \"%s\"; see --help\n", argv[optind]);
        return EXIT_USAGE;
    }

    if (pgbench_dir)
        return pc_workload_write_pgbench(&w, pgbench_dir, stdout);

    if (!w.conn.endpoint && !env_or("PGHOST", NULL)) {
        fprintf(stderr, "petclinic: no endpoint: set CLUSTER_ENDPOINT (or PGHOST) or pass "
                        "--endpoint; see --help\n");
        return EXIT_USAGE;
    }
    /* The token's region comes from the endpoint's name when it has one; a bare cluster id or
     * a custom name needs it from here. */
    if (region) {
        setenv("DSQLAUTH_REGION", region, 1);
        setenv("AWS_REGION", region, 0);
    }

    if (!workload)
        return walk_through(&w.conn, &w.policy, quiet);

    if (w.progress_s < 0)
        w.progress_s = isatty(STDERR_FILENO) ? 1 : 10;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return pc_workload_run(&w, stdout, stderr);
}
