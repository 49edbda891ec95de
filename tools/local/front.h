/* SPDX-License-Identifier: MIT */
/* front.h: the TLS front: accepts clients, checks startup and token, relays to PostgreSQL. */
#ifndef DSQL_LOCAL_FRONT_H
#define DSQL_LOCAL_FRONT_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

typedef struct front_config {
    const char *endpoint;   /* the certificate's and the tokens' host name */
    const char *region;     /* the tokens' region */
    const char *state_dir;  /* holds server.crt/server.key */
    const char *keys_path;  /* the keys file */
    char backend_socket[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* .s.PGSQL.5432 path */
    int strict;             /* reject what Aurora DSQL rejects */
    int64_t max_lifetime;   /* seconds a session may last; 0: unlimited */
    int handshake_timeout;  /* seconds for TLS + startup + password */
    int ready_fd;           /* written "1" and closed once serving; -1: none */
    int max_failed_logins;  /* failed logins per client address within the window; 0: no limit */
    int failed_login_window; /* seconds */
} front_config;

/*
 * Serves clients on listen_fd (a bound, listening TCP socket) until SIGTERM or SIGINT, a thread
 * per connection. Returns 0 after a clean stop, or -1 with a message when it cannot start.
 */
int front_serve(int listen_fd, const front_config *cfg, char *msg, size_t msglen);

/* The data phase of one connection (relay.c): both sockets connected, the session set up. */
typedef struct relay_params {
    SSL *ssl;                /* client side, handshake done */
    int client_fd;
    int backend_fd;          /* Unix socket to PostgreSQL, startup packet sent */
    int strict;
    int64_t deadline_ms;     /* CLOCK_MONOTONIC ms at which the session is closed; 0: never */
    int64_t max_lifetime;    /* for the message */
} relay_params;

/* Relays until either side closes or the deadline passes. Closes nothing. */
void relay_run(const relay_params *p);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t front_now_ms(void);

#endif /* DSQL_LOCAL_FRONT_H */
