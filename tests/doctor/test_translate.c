/* SPDX-License-Identifier: MIT */
/* test_translate.c: Aurora DSQL's and dsqlauth-local's login refusals, each to its meaning. */
#include "translate.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

/* libpq's rendering of a refused startup: "connection to server ... failed: FATAL:  <msg>" and,
 * when the server sent one, "\nHINT:  <hint>". */
#define PQ "connection to server at \"c.dsql.us-east-1.on.aws\" (127.0.0.1), port 5432 failed: "

static const struct {
    const char *message, *user;
    enum doctor_refusal kind;
} table[] = {
    /* Aurora DSQL (AWS troubleshooting guide; answers recorded from live clusters) */
    {PQ "FATAL:  unable to accept connection, access denied\n"
        "HINT:  Signature expired: 20261207T100000Z is now earlier than 20261207T101600Z\n",
     "admin", REFUSAL_EXPIRED},
    {PQ "FATAL:  unable to accept connection, access denied\n"
        "HINT:  Wrong user to action mapping. user: admin, action: DbConnect\n",
     "admin", REFUSAL_WRONG_ACTION},
    {PQ "FATAL:  unable to accept connection, access denied\n", "app", REFUSAL_ACCESS_DENIED},
    {PQ "FATAL:  IAM authentication failed for user \"app\"\n", "app", REFUSAL_EXPIRED},
    {PQ "FATAL:  unable to accept connection, waking up cluster, please retry later\n", "admin",
     REFUSAL_BUSY},
    {PQ "FATAL:  Unable to accept connection, too many open connections.\n", "admin", REFUSAL_BUSY},
    {PQ "FATAL:  Unable to accept connection, rate exceeded.\n", "admin", REFUSAL_BUSY},
    {PQ "FATAL:  unable to accept connection, sni was not received\n", "admin", REFUSAL_TLS},
    {PQ "FATAL:  Role app does not exist\n", "app", REFUSAL_UNKNOWN_ROLE},
    {PQ "FATAL:  setting configuration parameter \"work_mem\" not supported\n", "admin",
     REFUSAL_SETTING},
    /* dsqlauth-local (tools/local/front.c, token_verify.c) */
    {PQ "FATAL:  password authentication failed for user \"admin\": token expired 1100 s ago\n",
     "admin", REFUSAL_EXPIRED},
    {PQ "FATAL:  password authentication failed for user \"app\": wrong action for role app: it "
        "needs DbConnect, the token has DbConnectAdmin\n",
     "app", REFUSAL_WRONG_ACTION},
    {PQ "FATAL:  password authentication failed for user \"admin\": unknown access key id "
        "****************WXYZ\n",
     "admin", REFUSAL_ACCESS_DENIED},
    {PQ "FATAL:  password authentication failed for user \"admin\": signature mismatch\n", "admin",
     REFUSAL_ACCESS_DENIED},
    {PQ "FATAL:  password authentication failed for user \"admin\": token is for host "
        "b.dsql.us-east-1.on.aws, not c.dsql.us-east-1.on.aws\n",
     "admin", REFUSAL_UNKNOWN_CLUSTER},
    {PQ "FATAL:  password authentication failed for user \"admin\": token is for region "
        "eu-west-1, not us-east-1\n",
     "admin", REFUSAL_WRONG_REGION},
    {PQ "FATAL:  password authentication failed for user \"admin\": token is dated 4000 s in "
        "the future; check the client's clock\n",
     "admin", REFUSAL_CLOCK},
    {PQ "FATAL:  too many failed logins from 127.0.0.1 (10 within 60 s); try again in 59 s\n",
     "admin", REFUSAL_BUSY},
    {PQ "FATAL:  TLS is required: this endpoint, like Aurora DSQL, refuses unencrypted "
        "connections; connect with sslmode=verify-full\n",
     "admin", REFUSAL_TLS},
    /* PostgreSQL behind the front */
    {PQ "FATAL:  role \"bob\" does not exist\n", "bob", REFUSAL_UNKNOWN_ROLE},
    {PQ "FATAL:  database \"shop\" does not exist\n", "admin", REFUSAL_UNKNOWN_DATABASE},
    {PQ "server closed the connection unexpectedly\n", "admin", REFUSAL_OTHER},
};

Test(translate, each_answer_to_its_meaning)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        char advice[1024];
        enum doctor_refusal got =
            doctor_translate_login(table[i].message, table[i].user, advice, sizeof advice);
        cr_expect(
            eq(str, (char *)doctor_refusal_name(got), (char *)doctor_refusal_name(table[i].kind)),
            "%s", table[i].message);
        cr_expect(gt(sz, strlen(advice), 20), "advice for %s", table[i].message);
    }
}

Test(translate, advice_names_the_role_and_what_to_run)
{
    char advice[1024];
    doctor_translate_login(PQ "FATAL:  unable to accept connection, access denied\n", "app", advice,
                           sizeof advice);
    cr_expect(ne(ptr, strstr(advice, "AWS IAM GRANT app TO"), NULL), "%s", advice);
    cr_expect(ne(ptr, strstr(advice, "dsql:DbConnect "), NULL), "%s", advice);
    doctor_translate_login(PQ "FATAL:  unable to accept connection, access denied\n", "admin",
                           advice, sizeof advice);
    cr_expect(ne(ptr, strstr(advice, "dsql:DbConnectAdmin"), NULL), "%s", advice);
    doctor_translate_login(PQ "FATAL:  role \"bob\" does not exist\n", "bob", advice,
                           sizeof advice);
    cr_expect(ne(ptr, strstr(advice, "CREATE ROLE bob WITH LOGIN"), NULL), "%s", advice);
}

Test(translate, server_words_are_quoted_with_the_hint)
{
    char words[512];
    doctor_server_words(PQ "FATAL:  unable to accept connection, access denied\n"
                           "HINT:  Wrong user to action mapping. user: admin, action: DbConnect\n",
                        words, sizeof words);
    cr_expect(eq(str, words,
                 "unable to accept connection, access denied; HINT: Wrong user to action "
                 "mapping. user: admin, action: DbConnect"));
    doctor_server_words("server closed the connection unexpectedly\n\tThis probably means\n", words,
                        sizeof words);
    cr_expect(eq(str, words, "server closed the connection unexpectedly"));
}

Test(translate, server_words_never_carry_a_token)
{
    static const char *const leaky[] = {
        PQ "FATAL:  bad password c.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm="
           "AWS4-HMAC-SHA256&X-Amz-Signature=0123456789abcdef\n",
        PQ "FATAL:  nope\nHINT:  X-Amz-Security-Token=IQoJb3JpZ2luX2Vj\n",
        PQ "FATAL:  Credential=AKIAEXAMPLE/20261207/us-east-1/dsql/aws4_request\n",
    };
    for (size_t i = 0; i < sizeof leaky / sizeof leaky[0]; i++) {
        char words[512];
        doctor_server_words(leaky[i], words, sizeof words);
        cr_expect(eq(str, words, "(withheld: the server's message quotes part of a token)"), "%s",
                  words);
    }
}
