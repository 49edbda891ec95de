/* SPDX-License-Identifier: MIT */
/* dsqlauth-token: prints one Aurora DSQL IAM auth token, like `aws dsql generate-db-connect-*`. */
#include "dsqlauth.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs(
        "Usage: dsqlauth-token --hostname HOST [options]\n"
        "\n"
        "Prints an Aurora DSQL IAM authentication token on standard output, the same token\n"
        "`aws dsql generate-db-connect-auth-token` (or, with --admin,\n"
        "`generate-db-connect-admin-auth-token`) prints for the same inputs.\n"
        "\n"
        "Options:\n"
        "  -H, --hostname HOST    cluster endpoint (<id>.dsql.<region>.on.aws) or bare cluster id\n"
        "  -r, --region REGION    region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION,\n"
        "                         the profile's region, then the region in HOST)\n"
        "  -e, --expires-in SECS  token lifetime, 1..604800 (default 900)\n"
        "  -a, --admin            sign for the admin role (Action=DbConnectAdmin)\n"
        "  -p, --profile NAME     AWS profile (default: AWS_PROFILE, else \"default\")\n"
        "  -t, --signing-time T   sign as of T: Unix seconds, YYYY-MM-DDTHH:MM:SSZ or\n"
        "                         YYYYMMDDTHHMMSSZ (default: now)\n"
        "  -d, --debug            log to stderr which source supplied the credentials\n"
        "                         (same as DSQLAUTH_LOG=debug; never prints a secret)\n"
        "  -h, --help             show this help and exit\n"
        "  -V, --version          show the version and exit\n"
        "\n"
        "Credentials come from the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/\n"
        "AWS_SESSION_TOKEN, the shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE,\n"
        "AWS_CONFIG_FILE), credential_process, and the cloud sources.\n"
        "\n"
        "Exit status: 0 on success, 2 on any error (the reason is printed on stderr).\n",
        f);
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dsqlauth-token: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* Unix seconds, or an ISO-8601 UTC time in extended or basic form. */
static int parse_time(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s != '\0' && *end == '\0' && errno == 0 && v > 0) {
        *out = v;
        return 0;
    }
    char basic[32];
    size_t n = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '-' || *p == ':')
            continue;
        if (n + 1 >= sizeof basic)
            return -1;
        basic[n++] = *p;
    }
    basic[n] = '\0';
    struct tm tm = {0};
    char *rest = strptime(basic, "%Y%m%dT%H%M%SZ", &tm);
    if (rest == NULL || *rest != '\0')
        return -1;
    time_t t = timegm(&tm);
    if (t <= 0)
        return -1;
    *out = (int64_t)t;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hostname", required_argument, NULL, 'H'},
        {"region", required_argument, NULL, 'r'},
        {"expires-in", required_argument, NULL, 'e'},
        {"admin", no_argument, NULL, 'a'},
        {"profile", required_argument, NULL, 'p'},
        {"signing-time", required_argument, NULL, 't'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *hostname = NULL, *region_arg = NULL, *profile = NULL;
    dsql_token_params params = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":H:r:e:ap:t:dhV", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            hostname = optarg;
            break;
        case 'r':
            region_arg = optarg;
            break;
        case 'a':
            params.admin = 1;
            break;
        case 'p':
            profile = optarg;
            break;
        case 'd':
            setenv("DSQLAUTH_LOG", "debug", 1);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("dsqlauth-token %s\n", dsql_version());
            return 0;
        case 'e': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || v < 1 ||
                v > DSQL_TOKEN_EXPIRES_MAX)
                return fail("--expires-in '%s' is not a whole number of seconds from 1 to 604800",
                            optarg);
            params.expires_in = v;
            break;
        }
        case 't':
            if (parse_time(optarg, &params.signing_time) != 0)
                return fail("--signing-time '%s' is neither Unix seconds nor "
                            "YYYY-MM-DDTHH:MM:SSZ",
                            optarg);
            break;
        case ':':
            return fail("option '%s' needs a value; see --help", argv[optind - 1]);
        default:
            return fail("unknown option '%s'; see --help", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail("unexpected argument '%s'; see --help", argv[optind]);
    if (hostname == NULL || *hostname == '\0')
        return fail("%s", "--hostname is required (the cluster endpoint, "
                          "e.g. <id>.dsql.us-east-1.on.aws); see --help");

    int rc = EXIT_USAGE;
    dsql_error err = {0};
    dsql_credentials *creds = NULL;
    char region[DSQL_REGION_MAX], endpoint[DSQL_HOST_MAX];
    char *token = NULL;
    if (dsql_region_resolve(region_arg, hostname, profile, region, sizeof region, &err) !=
            DSQL_OK ||
        dsql_endpoint_resolve(hostname, region, endpoint, sizeof endpoint, &err) != DSQL_OK ||
        dsql_credentials_resolve(profile, &creds, &err) != DSQL_OK)
        goto out;
    params.hostname = endpoint;
    params.region = region;
    if (dsql_token_generate(creds, &params, &token, &err) != DSQL_OK)
        goto out;
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        snprintf(err.message, sizeof err.message, "cannot write the token to standard output");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "dsqlauth-token: %s\n", err.message);
    dsql_token_free(token);
    dsql_credentials_free(creds);
    return rc;
}
