/* SPDX-License-Identifier: MIT */
/* test_quota.c: DSQL's connection-rate quota (--connection-rate) on a real dsqlauth-local. */
#include "local_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Scaled down (--connection-rate 2,10 here: DSQL's is 100 a second after a burst of 1000): ten
 * connections at once pass, the eleventh is refused with 53400 and DSQL's words before its
 * token is read, and half a second later there is room again.
 */
Test(quota, connection_rate_past_the_burst_is_53400_then_refills, .timeout = 30)
{
    PGconn *c[11];
    char *t = h_token(1, 0, 0);
    for (int i = 0; i < 10; i++) {
        c[i] = h_connect("admin", t, NULL);
        cr_assert_eq(PQstatus(c[i]), CONNECTION_OK, "connection %d: %s", i, PQerrorMessage(c[i]));
    }
    c[10] = h_connect("admin", t, NULL);
    h_expect_refused(c[10], "53400", "Unable to accept connection, rate exceeded.");
    PQfinish(c[10]);
    usleep(600 * 1000);
    c[10] = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(c[10]), CONNECTION_OK, "%s", PQerrorMessage(c[10]));
    for (int i = 0; i < 11; i++)
        PQfinish(c[i]);
    free(t);
}

int main(int argc, char *argv[])
{
    return h_main(argc, argv, "--connection-rate 2,10");
}
