/* SPDX-License-Identifier: MIT */
/*
 * test_ratelimit.c: dsqlauth-local's failed-login limit per client address, against a real
 * instance started with --max-failed-logins 3 --failed-login-window 4, with libpq clients from
 * 127.0.0.1 and a raw-protocol client from 127.0.0.2.
 */
#include "local_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_FAILED 3
#define WINDOW 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * SSLRequest, TLS, startup as admin, then the password when asked. Returns the type of the
 * message that ends the login ('R' for AuthenticationOk, 'E' with code and msg filled).
 */
static char raw_login(const char *src, const char *password, char *code, char *msg, size_t mlen)
{
    SSL_CTX *ctx = h_client_ctx();
    int fd = h_tcp_from(src);
    SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    cr_assert(ssl != NULL, "TLS from %s", src);
    unsigned char pkt[512];
    size_t n = h_startup_packet(pkt, "admin", "database\0postgres\0", 18);
    cr_assert_eq(SSL_write(ssl, pkt, (int)n), (int)n);
    char type, body[8192];
    size_t len;
    cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0);
    if (type == 'R') { /* asked for the password */
        cr_assert_eq(body[3], 3, "not AuthenticationCleartextPassword");
        unsigned char pw[4096];
        size_t pl = strlen(password) + 1;
        pw[0] = 'p';
        h_put32(pw + 1, (uint32_t)(4 + pl));
        memcpy(pw + 5, password, pl);
        cr_assert_eq(SSL_write(ssl, pw, (int)(5 + pl)), (int)(5 + pl));
        cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0);
        if (type == 'R')
            cr_assert_eq(body[3], 0, "expected AuthenticationOk");
    }
    if (type == 'E') {
        h_error_field(body, len, 'C', code, 6);
        h_error_field(body, len, 'M', msg, mlen);
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return type;
}

static int front_log_count(const char *text)
{
    char cmd[1024], out[64];
    snprintf(cmd, sizeof cmd, "grep -c -- '%s' %s/front.log", text, h_dir());
    h_sh(cmd, out, sizeof out);
    return atoi(out);
}

Test(ratelimit, failed_logins_block_one_address_only_until_the_window_closes, .timeout = 60)
{
    char *good = h_token(1, 0, 0);
    char *bad = strdup(good);
    char *sig = strstr(bad, "X-Amz-Signature=") + 16;
    sig[0] = sig[0] == '0' ? '1' : '0';

    /* MAX_FAILED failures from 127.0.0.1, each verified and refused as usual. */
    double t0 = now_s();
    for (int i = 0; i < MAX_FAILED; i++) {
        PGconn *c = h_connect("admin", bad, NULL);
        h_expect_refused(c, "28P01", "signature mismatch");
        PQfinish(c);
    }
    int verified = front_log_count("signature mismatch");
    cr_assert_eq(verified, MAX_FAILED);

    /* Then even a valid token from that address is refused, quickly and without verifying. */
    double t1 = now_s();
    PGconn *c = h_connect("admin", good, NULL);
    h_expect_refused(c, "53300", "too many failed logins from 127.0.0.1 (3 within 4 s)");
    cr_assert(strstr(PQerrorMessage(c), "X-Amz-") == NULL, "token echoed");
    PQfinish(c);
    cr_assert_lt(now_s() - t1, 2.0, "the refusal took %.2f s", now_s() - t1);
    char code[6] = "", msg[512] = "";
    cr_assert_eq(raw_login("127.0.0.1", bad, code, msg, sizeof msg), 'E');
    cr_assert_str_eq(code, "53300");
    cr_assert(strstr(msg, "try again in") != NULL, "%s", msg);
    cr_assert_eq(front_log_count("signature mismatch"), verified, "a blocked attempt was verified");

    /* Another client address is not affected. */
    cr_assert_eq(raw_login("127.0.0.2", good, code, msg, sizeof msg), 'R', "%s %s", code, msg);

    /* Once the window has closed, 127.0.0.1 is verified again and a valid token gets in. */
    double wait = WINDOW - (now_s() - t0) + 0.3;
    if (wait > 0)
        usleep((useconds_t)(wait * 1e6));
    c = h_connect("admin", good, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQfinish(c);
    free(good);
    free(bad);
}

Test(ratelimit, help_documents_the_flags_and_bad_values_are_refused)
{
    char out[8192];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --help", h_bin());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0);
    cr_assert(strstr(out, "--max-failed-logins N") != NULL, "%s", out);
    cr_assert(strstr(out, "--failed-login-window S") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s start --dir /nonexistent/x --max-failed-logins -1", h_bin());
    cr_assert_neq(h_sh(cmd, out, sizeof out), 0);
    cr_assert(strstr(out, "--max-failed-logins: expected 0..1000000") != NULL, "%s", out);
}

int main(int argc, char *argv[])
{
    return h_main(argc, argv, "--max-failed-logins 3 --failed-login-window 4");
}
