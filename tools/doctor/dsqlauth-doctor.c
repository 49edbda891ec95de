/* SPDX-License-Identifier: MIT */
/* dsqlauth-doctor: why a first connection to Aurora DSQL fails, the AWS side step by step. */
#include "checks.h"
#include "report.h"

#include "dsqlauth.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs("Usage: dsqlauth-doctor [options] [HOST]\n"
          "\n"
          "Checks, step by step, what a libpq program under dsqlauth (dsqlauth-run, or linked\n"
          "with dsqlauth-wrap) needs to log in to Aurora DSQL, and says what to do about the\n"
          "first step that fails:\n"
          "  endpoint     whether the shim treats HOST as Aurora DSQL's, and the name it signs\n"
          "               for\n"
          "  credentials  which source of the AWS chain answered, and when they expire\n"
          "  region       the region the token is signed for, and where it came from\n"
          "  dns          what the endpoint name resolves to (not looked up with hostaddr)\n"
          "  tcp          whether the address accepts connections on the port\n"
          "  tls          the handshake, verified with the CA the shim would give libpq\n"
          "  token        a token signed as the shim would (never shown)\n"
          "  login        a login through the shim's own connect path, DSQL's answer explained\n"
          "  search_path  the search_path the role's session gets\n"
          "A step is skipped only when a step it needs failed.\n"
          "\n"
          "HOST is the cluster endpoint (<id>.dsql.<region>.on.aws), a bare cluster id, or a\n"
          "name listed in DSQLAUTH_HOSTS; default $PGHOST.\n"
          "\n"
          "Options (as psql's; each defaults to its PG* variable, then libpq's default):\n"
          "  -h, --host HOST        the endpoint name (instead of the HOST argument)\n"
          "      --hostaddr ADDR    connect to this IP address, e.g. a tunnel's 127.0.0.1\n"
          "                         (PGHOSTADDR); HOST still names the endpoint for TLS and the\n"
          "                         token\n"
          "  -p, --port PORT        (PGPORT, default 5432)\n"
          "  -U, --user USER        the database role (PGUSER, default admin)\n"
          "  -d, --dbname NAME      (PGDATABASE, default postgres)\n"
          "      --region REGION    sign for this region (as DSQLAUTH_REGION)\n"
          "      --profile NAME     use this AWS profile (as AWS_PROFILE)\n"
          "      --json             one JSON object on standard output, for scripts\n"
          "  -?, --help             show this help and exit\n"
          "  -V, --version          show the version and exit\n"
          "\n"
          "The shim's variables apply as they do for dsqlauth-run: DSQLAUTH_HOSTS,\n"
          "DSQLAUTH_REGION, DSQLAUTH_SCHEMA, DSQLAUTH_SSLMODE, DSQLAUTH_SSLROOTCERT,\n"
          "DSQLAUTH_TOKEN_EXPIRES, and the standard AWS_* and PG* variables (PGSSLROOTCERT,\n"
          "PGSSLMODE, PGCONNECT_TIMEOUT, ...). No secret (key, session token, token, signature)\n"
          "is ever printed.\n"
          "\n"
          "Exit status: 0 when every step passed, 1 when one failed, 2 on a usage error.\n",
          f);
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dsqlauth-doctor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    enum { OPT_HOSTADDR = 256, OPT_REGION, OPT_PROFILE, OPT_JSON, OPT_HELP };
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'h'},
        {"hostaddr", required_argument, NULL, OPT_HOSTADDR},
        {"port", required_argument, NULL, 'p'},
        {"user", required_argument, NULL, 'U'},
        {"username", required_argument, NULL, 'U'},
        {"dbname", required_argument, NULL, 'd'},
        {"region", required_argument, NULL, OPT_REGION},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    doctor_target t = {0};
    const char *region = NULL, *profile = NULL;
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h:p:U:d:V?", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            t.host = optarg;
            break;
        case OPT_HOSTADDR:
            t.hostaddr = optarg;
            break;
        case 'U':
            t.user = optarg;
            break;
        case 'd':
            t.dbname = optarg;
            break;
        case OPT_REGION:
            region = optarg;
            break;
        case OPT_PROFILE:
            profile = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'V':
            printf("dsqlauth-doctor %s\n", dsql_version());
            return 0;
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 || v > 65535)
                return fail("--port '%s' is not a port number (1..65535)", optarg);
            t.port = optarg;
            break;
        }
        case OPT_HELP:
            usage(stdout);
            return 0;
        case '?': /* -? itself, or an option getopt does not know */
            if (strcmp(argv[optind - 1], "-?") == 0) {
                usage(stdout);
                return 0;
            }
            return fail("unknown option '%s'; see --help", argv[optind - 1]);
        case ':':
            return fail("option '%s' needs a value; see --help", argv[optind - 1]);
        default:
            return fail("unknown option '%s'; see --help", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        if (t.host != NULL)
            return fail("the host is given twice ('%s' and '%s')", t.host, argv[optind]);
        t.host = argv[optind++];
    }
    if (optind < argc)
        return fail("unexpected argument '%s'; see --help", argv[optind]);
    if (t.host == NULL || *t.host == '\0') {
        const char *env = getenv("PGHOST");
        t.host = env != NULL && *env != '\0' ? env : NULL;
    }
    if (t.host == NULL)
        return fail("%s", "name the endpoint: dsqlauth-doctor <id>.dsql.<region>.on.aws "
                          "(or set PGHOST); see --help");
    if (strchr(t.host, ',') != NULL)
        return fail("give one host at a time (not the list '%s')", t.host);
    /* Where the shim reads them, so that every step sees what a program under the shim sees.
     * AWS_DEFAULT_PROFILE would win over AWS_PROFILE in the credential chain. */
    if (region != NULL) {
        setenv("DSQLAUTH_REGION", region, 1);
        t.region_from_option = 1;
    }
    if (profile != NULL) {
        setenv("AWS_PROFILE", profile, 1);
        unsetenv("AWS_DEFAULT_PROFILE");
        t.profile_from_option = 1;
    }

    report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return fail("out of memory");
    int rc = doctor_run(&t, r);
    if (json)
        report_print_json(r, stdout);
    else
        report_print_text(r, stdout);
    free(r);
    if (fflush(stdout) != 0)
        return fail("cannot write the report to standard output");
    return rc;
}
