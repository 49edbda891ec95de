/* SPDX-License-Identifier: MIT */
/* checks.h: the doctor's steps, from credentials to the search_path, each the shim's own way. */
#ifndef DSQL_DOCTOR_CHECKS_H
#define DSQL_DOCTOR_CHECKS_H

#include "report.h"

/*
 * What to diagnose: a host as psql takes it (an endpoint name, a bare cluster id, a PrivateLink
 * name or a name listed in DSQLAUTH_HOSTS) and the libpq settings given on the command line
 * (NULL: not given, so libpq's environment (PGUSER, PGPORT, PGHOSTADDR, ...) and defaults apply,
 * exactly as for the shim). The region and profile options are set in the environment by the
 * caller (DSQLAUTH_REGION, AWS_PROFILE), where the shim reads them.
 */
typedef struct doctor_target {
    const char *host;
    const char *user;
    const char *dbname;
    const char *port;
    const char *hostaddr;
    int region_from_option; /* --region was given: name it as the region's origin */
    int profile_from_option;
} doctor_target;

/*
 * Runs the steps in order (endpoint, credentials, region, dns, tcp, tls, token, login,
 * search_path) into r; a step is skipped, with the reason, only when a step it needs failed
 * (tcp needs dns, tls tcp and region, token credentials and region, login tls and token). Returns 0
 * when every step passed, 1 otherwise. Never prints; never puts a secret into r.
 */
int doctor_run(const doctor_target *t, report *r);

#endif /* DSQL_DOCTOR_CHECKS_H */
