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
    /* Called (on a relay thread) when the session is over, to close both sides and free what
     * the caller kept for it. The relay closes nothing itself. */
    void (*done)(void *arg);
    void *done_arg;
} relay_params;

/* Starts the threads that run every session's data phase: count of them. 0, or -1 with msg. */
int relay_pool_start(unsigned count, char *msg, size_t msglen);

/* Hands a session over to a relay thread, which relays until either side closes or the
 * deadline passes, then calls p->done. 0, or -1 (nothing started: the caller cleans up). */
int relay_start(const relay_params *p);

#endif /* DSQL_LOCAL_RELAY_H */
