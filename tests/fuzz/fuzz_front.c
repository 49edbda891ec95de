/* SPDX-License-Identifier: MIT */
/* fuzz_front.c: the bytes a client sends dsqlauth-local, through every parser that reads them. */
#include "fuzz.h"

#include "proto.h"
#include "strict.h"
#include "token_verify.h"

#include <string.h>

/*
 * The input is the client's side of a connection after TLS, as the front reads it: startup
 * packets (SSLRequest and GSSENCRequest first, as libpq may send), the StartupMessage, the
 * PasswordMessage, then messages as the strict relay inspects them: each Query's statements
 * split and checked, each Parse classified, and the SQL-level refusals rendered as DO blocks.
 */
#define MAX_PASSWORD_MSG (DSQL_TOKEN_MAX + 64) /* as the front */

/* The startup the front passes on parses again to the same settings. */
static void check_rebuilt(const proto_startup *st)
{
    dsql_buf b;
    dsql_buf_init(&b);
    proto_put_startup(&b, st);
    FUZZ_CHECK(!dsql_buf_failed(&b) && b.len >= 8 && proto_get32(b.data) == b.len);
    proto_startup *again = malloc(sizeof *again);
    FUZZ_CHECK(again != NULL);
    proto_refusal why;
    int rc = proto_parse_startup(b.data + 4, b.len - 4, again, &why);
    if (rc != 0)
        fprintf(stderr, "the rebuilt startup packet is refused: %s\n", why.message);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(again->version == PROTO_V3 && again->nunsupported_pq == 0);
    FUZZ_CHECK(strcmp(again->user, st->user) == 0);
    FUZZ_CHECK(strcmp(again->database, st->database) == 0);
    FUZZ_CHECK(again->nparams == st->nparams);
    for (size_t i = 0; i < st->nparams; i++) {
        FUZZ_CHECK(strcmp(again->names[i], st->names[i]) == 0);
        FUZZ_CHECK(strcmp(again->values[i], st->values[i]) == 0);
    }
    FUZZ_CHECK(strcmp(again->options, st->options) == 0);
    free(again);
    dsql_buf_cleanup(&b);

    dsql_buf_init(&b);
    proto_put_negotiate(&b, st);
    FUZZ_CHECK(!dsql_buf_failed(&b) && b.data[0] == 'v' && proto_get32(b.data + 1) == b.len - 1);
    dsql_buf_cleanup(&b);
}

static void check_refusal(const dsql_strict_error *e)
{
    FUZZ_CHECK(strlen(e->sqlstate) == 5 && strlen(e->message) < sizeof e->message);
    char sql[DSQL_STRICT_RAISE_MAX];
    size_t n = dsql_strict_raise_sql(e, sql, sizeof sql);
    FUZZ_CHECK(n > 0 && n < sizeof sql && strlen(sql) == n && strncmp(sql, "DO ", 3) == 0);
}

/* A Query as the relay reads it: the message body, NUL-terminated (sql[len] is that NUL). */
static void query(dsql_strict_session *s, const char *sql, size_t len)
{
    dsql_strict_stmt *st = NULL;
    size_t n = 0;
    int rc = dsql_strict_parse(sql, len, &st, &n);
    FUZZ_CHECK(rc == 0 || rc == 1);
    for (size_t i = 0; i < n; i++) {
        dsql_strict_error e;
        FUZZ_CHECK(st[i].off + st[i].len <= len);
        if (st[i].async_len > 0)
            FUZZ_CHECK(st[i].async_off >= st[i].off &&
                       st[i].async_off + st[i].async_len <= st[i].off + st[i].len);
        char shadow[512];
        size_t sl = dsql_strict_shadow(sql, &st[i], shadow, sizeof shadow);
        FUZZ_CHECK(sl < sizeof shadow && (sl == 0 || strlen(shadow) == sl));
        if (dsql_strict_admit(s, &st[i], &e) == DSQL_STRICT_REJECT) {
            check_refusal(&e);
            break; /* the relay drops the rest of the string */
        }
    }
    free(st);
}

static void parse(dsql_strict_session *s, const char *sql, size_t len)
{
    dsql_strict_stmt st;
    dsql_strict_error e;
    dsql_strict_classify(sql, len, &st);
    if (st.rejected)
        check_refusal(&st.error);
    if (st.async_len > 0)
        FUZZ_CHECK(st.async_off + st.async_len <= len);
    if (dsql_strict_admit(s, &st, &e) == DSQL_STRICT_REJECT)
        check_refusal(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;

    /* Startup: at most two encryption requests, then the StartupMessage. */
    long body_len = -1;
    for (int round = 0; round < 3; round++) {
        if (end - p < 8)
            return 0;
        uint32_t len = proto_get32(p), code = proto_get32(p + 4);
        if (len < 8 || len > PROTO_MAX_STARTUP || (size_t)(end - p) < len)
            return 0;
        if (code == PROTO_SSL_REQUEST || code == PROTO_GSSENC_REQUEST) {
            if (len != 8)
                return 0;
            p += 8;
            continue;
        }
        if (code == PROTO_CANCEL_REQUEST)
            return 0;
        body_len = (long)len - 4;
        break;
    }
    if (body_len < 0)
        return 0;
    /* An exact copy, so ASan sees any read past the packet. */
    char *body = malloc((size_t)body_len);
    FUZZ_CHECK(body != NULL);
    memcpy(body, p + 4, (size_t)body_len);
    p += body_len + 4;
    proto_startup *st = malloc(sizeof *st);
    FUZZ_CHECK(st != NULL);
    proto_refusal why;
    int rc = proto_parse_startup(body, (size_t)body_len, st, &why);
    if (rc != 0) {
        FUZZ_CHECK(strlen(why.sqlstate) == 5 && why.message[0] != '\0');
        for (const char *m = why.message; *m != '\0'; m++)
            FUZZ_CHECK(*m >= 0x20 && *m < 0x7f); /* the client's bytes are made printable */
        goto out;
    }
    FUZZ_CHECK(st->user != NULL && st->user[0] != '\0' && strlen(st->user) < 64);
    FUZZ_CHECK(st->database != NULL && st->database[0] != '\0');
    FUZZ_CHECK(st->nparams <= PROTO_MAX_PARAMS && st->nunsupported_pq <= PROTO_MAX_PARAMS);
    for (size_t i = 0; i < st->nparams; i++)
        FUZZ_CHECK(proto_param_allowed(st->names[i]));
    check_rebuilt(st);

    /* The PasswordMessage. */
    if (end - p < 5)
        goto out;
    size_t n;
    if (proto_password_header((const unsigned char *)p, MAX_PASSWORD_MSG, &n, &why) != 0)
        goto out;
    FUZZ_CHECK(n >= 1 && n <= MAX_PASSWORD_MSG - 4);
    p += 5;
    if ((size_t)(end - p) < n)
        goto out;
    char *pw = malloc(n);
    FUZZ_CHECK(pw != NULL);
    memcpy(pw, p, n);
    rc = proto_password_body(pw, n, &why);
    if (rc == 0)
        FUZZ_CHECK(strlen(pw) == n - 1);
    free(pw);
    if (rc != 0)
        goto out;
    p += n;

    /* Messages, as strict mode reads them. */
    dsql_strict_session s;
    dsql_strict_session_init(&s);
    while (end - p >= 5) {
        char type = p[0];
        uint32_t len = proto_get32(p + 1);
        if (len < 4 || (size_t)(end - p) - 1 < len)
            break;
        size_t mlen = len - 4;
        char *m = malloc(mlen ? mlen : 1);
        FUZZ_CHECK(m != NULL);
        memcpy(m, p + 5, mlen);
        const char *sql = m, *sql_end;
        if (type == 'P') { /* statement name, then the SQL */
            const char *nul = memchr(m, '\0', mlen);
            sql = nul != NULL ? nul + 1 : NULL;
        }
        if (sql != NULL && (type == 'Q' || type == 'P') &&
            (sql_end = memchr(sql, '\0', mlen - (size_t)(sql - m))) != NULL) {
            if (type == 'Q')
                query(&s, sql, (size_t)(sql_end - sql));
            else
                parse(&s, sql, (size_t)(sql_end - sql));
        } else if (type == 'C' && mlen > 0 && m[mlen - 1] == '\0') { /* a backend tag */
            dsql_strict_error e;
            if (dsql_strict_command_complete(&s, m, &e) == DSQL_STRICT_REJECT)
                check_refusal(&e);
        } else if (type == 'Z' && mlen == 1 && strchr("ITE", m[0]) != NULL && m[0] != '\0') {
            dsql_strict_ready(&s, m[0]);
        } else if (type == 'G') {
            dsql_strict_copy_in(&s);
        }
        free(m);
        p += 1 + len;
    }
out:
    free(st);
    free(body);
    return 0;
}
