/* SPDX-License-Identifier: MIT */
/* front.h: the TLS front: accepts clients, checks startup and token, relays to PostgreSQL. */
#ifndef DSQL_LOCAL_FRONT_H
#define DSQL_LOCAL_FRONT_H

#include "occ.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

typedef struct front_config {
    const char *endpoint;  /* the certificate's and the tokens' host name */
    const char *region;    /* the tokens' region */
    const char *state_dir; /* holds server.crt/server.key */
    const char *keys_path; /* the keys file */
    char backend_socket[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* .s.PGSQL.5432 path */
    int strict;                /* reject what Aurora DSQL rejects */
    int64_t max_lifetime;      /* seconds a session may last; 0: unlimited */
    int handshake_timeout;     /* seconds for TLS + startup + password */
    int ready_fd;              /* written "1" and closed once serving; -1: none */
    int max_failed_logins;     /* failed logins per client address within the window; 0: no limit */
    int failed_login_window;   /* seconds */
    occ_inject inject;         /* strict: conflicts to inject (every 0: none) */
    int max_txn_age;           /* strict: seconds a transaction may last; 0: no limit */
    int conn_rate, conn_burst; /* new connections per second after a burst; 0: no limit */
} front_config;

/*
 * Serves clients on listen_fd (a bound, listening TCP socket) until SIGTERM or SIGINT, a thread
 * per connection. Returns 0 after a clean stop, or -1 with a message when it cannot start.
 */
int front_serve(int listen_fd, const front_config *cfg, char *msg, size_t msglen);

#endif /* DSQL_LOCAL_FRONT_H */
