/* SPDX-License-Identifier: MIT */
/* relay.h: the data phase of a session: the client's TLS and PostgreSQL's socket, both ways. */
#ifndef DSQL_LOCAL_RELAY_H
#define DSQL_LOCAL_RELAY_H

#include <openssl/ssl.h>
#include <stdint.h>

/* One connection after its handshake: both sockets connected, the session set up. */
typedef struct relay_params {
    SSL *ssl; /* client side, handshake done */
    int client_fd;
    int backend_fd; /* Unix socket to PostgreSQL, startup packet sent */
    int strict;
    int64_t deadline_ms;  /* CLOCK_MONOTONIC ms at which the session is closed; 0: never */
    int64_t max_lifetime; /* for the message */
    int max_txn_age;      /* strict: seconds a transaction block may last; 0: no limit */
} relay_params;

/* Relays until either side closes or the deadline passes. Closes nothing. */
void relay_run(const relay_params *p);

#endif /* DSQL_LOCAL_RELAY_H */
