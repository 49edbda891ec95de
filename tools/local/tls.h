/* SPDX-License-Identifier: MIT */
/* tls.h: the local CA, the endpoint's server certificate and the front's TLS context. */
#ifndef DSQL_LOCAL_TLS_H
#define DSQL_LOCAL_TLS_H

#include <openssl/ssl.h>

/*
 * Makes a CA (ca.crt, ca.key) in dir unless both exist, then a server certificate
 * (server.crt, server.key) signed by it for endpoint, localhost and 127.0.0.1 unless one for
 * that endpoint exists. Keys are written 0600. Returns 0, or -1 with a message in msg.
 */
int tls_ensure_certs(const char *dir, const char *endpoint, char *msg, size_t msglen);

/*
 * A server context with the certificate and key of dir, TLS 1.2 or newer, ALPN `postgresql`
 * and an SNI check that accepts endpoint or localhost (endpoint is borrowed for the context's
 * life). Returns a new context or NULL with a message.
 */
SSL_CTX *tls_server_ctx(const char *dir, const char *endpoint, char *msg, size_t msglen);

/* 1 if the handshake on ssl negotiated ALPN `postgresql`. */
int tls_alpn_is_postgresql(const SSL *ssl);

#endif /* DSQL_LOCAL_TLS_H */
