/* SPDX-License-Identifier: MIT */
/* proto.h: the PostgreSQL v3 wire protocol pieces the front needs: startup checks, builders. */
#ifndef DSQL_LOCAL_PROTO_H
#define DSQL_LOCAL_PROTO_H

#include "base/util.h"

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAX_STARTUP 10000 /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define PROTO_SSL_REQUEST 80877103u
#define PROTO_GSSENC_REQUEST 80877104u
#define PROTO_CANCEL_REQUEST 80877102u
#define PROTO_V3 196608u /* 3.0 */
#define PROTO_MAX_PARAMS 64

/* Why a startup packet was refused: what goes into the FATAL ErrorResponse. */
typedef struct proto_refusal {
    char sqlstate[6];
    char message[256];
} proto_refusal;

/*
 * A validated StartupMessage. Every pointer borrows from the packet buffer given to
 * proto_parse_startup, which must outlive it.
 */
typedef struct proto_startup {
    uint32_t version;
    const char *user;
    const char *database; /* defaults to user */
    size_t nparams;       /* settings to pass to the backend (allowed GUCs, `options` rebuilt) */
    const char *names[PROTO_MAX_PARAMS];
    const char *values[PROTO_MAX_PARAMS];
    size_t nunsupported_pq; /* `_pq_.` protocol options, reported back as not recognised */
    const char *unsupported_pq[PROTO_MAX_PARAMS];
    char options[PROTO_MAX_STARTUP]; /* the rebuilt `options` value ("" when none) */
} proto_startup;

/* 1 if a run-time parameter may be set at startup or with SET on Aurora DSQL. */
int proto_param_allowed(const char *name);

/*
 * Parses and checks a StartupMessage: body is the packet after its length word (protocol code
 * first), len its size. Checks the protocol version, the key/value layout, `user`, and every
 * setting (including `-c`/`--` settings inside `options`) against DSQL's allowlist. Returns 0,
 * or -1 with why in *r. Modifies nothing in body.
 */
int proto_parse_startup(const char *body, size_t len, proto_startup *out, proto_refusal *r);

/*
 * Checks a PasswordMessage header (type byte and length word, 5 bytes) of at most max bytes
 * (length word included). Returns 0 with the body's size in *body_len, or -1 with why in *r.
 */
int proto_password_header(const unsigned char hdr[5], size_t max, size_t *body_len,
                          proto_refusal *r);

/* Checks a PasswordMessage body of n bytes: exactly one NUL-terminated string. 0, or -1 and *r. */
int proto_password_body(const char *body, size_t n, proto_refusal *r);

/* Appends a complete ErrorResponse ('E') with severity, SQLSTATE and message. */
void proto_put_error(dsql_buf *b, const char *severity, const char *sqlstate, const char *message);

/* Appends a StartupMessage for the backend: protocol 3.0, user, database and s's parameters. */
void proto_put_startup(dsql_buf *b, const proto_startup *s);

/* Appends NegotiateProtocolVersion ('v') answering s: newest minor 0, the unrecognised options. */
void proto_put_negotiate(dsql_buf *b, const proto_startup *s);

/* Big-endian helpers. */
static inline uint32_t proto_get32(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void proto_set32(void *p, uint32_t v)
{
    unsigned char *b = p;
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

#endif /* DSQL_LOCAL_PROTO_H */
