/* SPDX-License-Identifier: MIT */
/* local_server.h: starts a dsqlauth-local for a test program and helps tests talk to it. */
#ifndef DSQL_TEST_LOCAL_SERVER_H
#define DSQL_TEST_LOCAL_SERVER_H

#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

/* The instance the program's main started (exported into the environment for the workers). */
const char *h_dir(void);
int h_port(void);
const char *h_endpoint(void);
const char *h_ca(void);
const char *h_bin(void); /* the dsqlauth-local executable */

/*
 * Starts dsqlauth-local in a fresh temporary --dir with extra arguments and exports
 * DSQLAUTH_TEST_DIR/PORT for the test processes. Returns 0 or -1 (message on stderr).
 */
int h_start(const char *extra_args);
/* The same in a directory the caller made (and may have put a keys file in). */
int h_start_dir(const char *dir, const char *extra_args);
void h_stop(void);

/* A test program's main: starts the instance (start_args), runs the tests, stops it. */
int h_main(int argc, char *argv[], const char *start_args);
/* The same with a start of the caller's own (it calls h_start or h_start_dir; 0 or -1). */
int h_main_with(int argc, char *argv[], int (*start)(void *), void *arg);

/* Runs a shell command line, returns its exit status; output (stdout+stderr) into out. */
int h_sh(const char *cmd, char *out, size_t outlen);

/* A token from the keys file's first pair: admin selects DbConnectAdmin. Caller frees. */
char *h_token(int admin, int64_t signing_time, int64_t expires);
/* A token signed for another host/region, or with another key pair. */
char *h_token_custom(const char *host, const char *region, const char *akid, const char *secret,
                     int admin, int64_t signing_time, int64_t expires);

/* libpq connection with verify-full against the endpoint; extra is appended conninfo. */
PGconn *h_connect(const char *user, const char *password, const char *extra);

/*
 * Asserts, rounds times, that when an admin connection's backend ends (pg_terminate_backend
 * from another session; in a transaction block every other round) the client's connection is
 * closed within 10 s although the client sends nothing more.
 */
void h_check_backend_end_closes_client(int rounds);

/* Asserts a connection failed with sqlstate and a message containing text. */
void h_expect_refused(PGconn *c, const char *sqlstate, const char *text);

/* A TCP connection to the front (blocking, 5 s timeouts). */
int h_tcp(void);
/* The same from source address src (any 127/8 address is local), or any when NULL. */
int h_tcp_from(const char *src);

/* Reads a whole backend message (type + body) with a 5 s timeout; -1 on EOF/timeout. */
int h_read_msg(int fd, SSL *ssl, char *type, char *body, size_t cap, size_t *len);

/* The value of ErrorResponse field code ('C', 'M', ...) in body, or "". */
const char *h_error_field(const char *body, size_t len, char code, char *out, size_t outlen);

/* A client TLS context trusting the instance's CA. */
SSL_CTX *h_client_ctx(void);

/* Big-endian 32-bit store. */
void h_put32(unsigned char *p, uint32_t v);

/* A StartupMessage (protocol 3.0) for user with pairs ("k\0v\0"...) appended; its length. */
size_t h_startup_packet(unsigned char *buf, const char *user, const char *pairs, size_t pairs_len);

/* TLS on fd (after an SSLRequest when ssl_request), with SNI and ALPN as given; NULL if the
 * handshake fails. */
SSL *h_tls_session(int fd, SSL_CTX *ctx, int ssl_request, const char *sni, int alpn);

/* Whether process pid exists. */
int h_alive(long pid);
/* The number in a pid file (front.pid, postmaster.pid's first line), or 0. */
long h_read_pid(const char *path);

#endif
