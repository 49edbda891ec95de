/* SPDX-License-Identifier: MIT */
/* translate.h: what Aurora DSQL's (or dsqlauth-local's) refusal of a login means and what to do. */
#ifndef DSQL_DOCTOR_TRANSLATE_H
#define DSQL_DOCTOR_TRANSLATE_H

#include <stddef.h>

/* Why a login was refused, as far as the server's words tell. */
enum doctor_refusal {
    REFUSAL_OTHER = 0,       /* none of the below: the server's own words are all there is */
    REFUSAL_EXPIRED,         /* the token (or the role session behind it) had expired */
    REFUSAL_CLOCK,           /* the token is dated in the future */
    REFUSAL_WRONG_ACTION,    /* DbConnect for admin, or DbConnectAdmin for another role */
    REFUSAL_ACCESS_DENIED,   /* IAM said no: policy, role mapping, unknown or wrong keys */
    REFUSAL_UNKNOWN_CLUSTER, /* the token names another cluster than the one that answered */
    REFUSAL_WRONG_REGION,    /* the token is signed for another region */
    REFUSAL_UNKNOWN_ROLE,    /* no such database role */
    REFUSAL_UNKNOWN_DATABASE,
    REFUSAL_SETTING, /* a startup setting outside DSQL's allowlist */
    REFUSAL_TLS,     /* no TLS, or no SNI */
    REFUSAL_BUSY,    /* connection limits, rate limits, a cluster waking up */
    REFUSAL_COUNT
};

/* A short stable name for each kind ("expired", "wrong-action", ...), for --json. */
const char *doctor_refusal_name(enum doctor_refusal kind);

/*
 * Reads libpq's message for a failed connection (PQerrorMessage: "connection to server ...
 * failed: FATAL:  ...", with DSQL's HINT line when it sent one) and says what it means for user
 * (the role that tried to log in), in one sentence that ends with what to do, into advice.
 * Recognises Aurora DSQL's answers ("unable to accept connection, access denied" with or
 * without the HINT "Signature expired" or "Wrong user to action mapping", "IAM authentication
 * failed", "waking up cluster", the connection quotas, "sni was not received") and
 * dsqlauth-local's (28P01 with the part of the token that failed). Pure: no I/O. The advice
 * never quotes the message (which the caller shows separately, see doctor_server_words).
 */
enum doctor_refusal doctor_translate_login(const char *message, const char *user, char *advice,
                                           size_t advice_len);

/*
 * The server's own words from a libpq message: the text after "FATAL:  " (or "ERROR:  ") up
 * to the end of the line, followed by "; HINT: ..." when there is one, with runs of white
 * space folded. When they contain anything shaped like a token or a signature
 * ("X-Amz-", "Signature=", "Action=DbConnect") they are withheld: out says so instead.
 */
void doctor_server_words(const char *message, char *out, size_t out_len);

#endif /* DSQL_DOCTOR_TRANSLATE_H */
