/* SPDX-License-Identifier: MIT */
/* test_sigv4.c: each SigV4 stage against AWS's published examples, plus encoding and time. */
#include "sign/sigv4.h"

#include <criterion/criterion.h>
#include <string.h>

/* AWS General Reference, "Signature Version 4 signing process": the IAM ListUsers example. */
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EX_CREQ                                                                                    \
    "GET\n/\nAction=ListUsers&Version=2010-05-08\n"                                                \
    "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"      \
    "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" DSQL_EMPTY_SHA256_HEX

Test(sigv4, derives_the_documented_signing_keys)
{
    unsigned char key[DSQL_SHA256_LEN];
    char hex[65];
    cr_assert_eq(dsql_sigv4_signing_key(EX_SECRET, "20120215", "us-east-1", "iam", key), 0);
    dsql_hex(key, sizeof key, hex);
    cr_assert_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    cr_assert_eq(dsql_sigv4_signing_key(EX_SECRET, "20150830", "us-east-1", "iam", key), 0);
    dsql_hex(key, sizeof key, hex);
    cr_assert_str_eq(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

Test(sigv4, canonical_request_string_to_sign_and_signature)
{
    dsql_buf creq, sts;
    dsql_buf_init(&creq);
    dsql_buf_init(&sts);
    dsql_sigv4_canonical_request(&creq, "GET", "/", "Action=ListUsers&Version=2010-05-08",
                                 "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                                 "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n",
                                 "content-type;host;x-amz-date", DSQL_EMPTY_SHA256_HEX);
    cr_assert_str_eq(creq.data, EX_CREQ);

    char hash[65];
    cr_assert_eq(dsql_sha256_hex(creq.data, creq.len, hash), 0);
    cr_assert_str_eq(hash, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");

    dsql_sigv4_string_to_sign(&sts, "20150830T123600Z", "20150830/us-east-1/iam/aws4_request",
                              hash);
    cr_assert_str_eq(sts.data, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
                               "20150830/us-east-1/iam/aws4_request\n"
                               "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");

    unsigned char key[DSQL_SHA256_LEN];
    char sig[65];
    cr_assert_eq(dsql_sigv4_signing_key(EX_SECRET, "20150830", "us-east-1", "iam", key), 0);
    cr_assert_eq(dsql_sigv4_signature(key, sts.data, sts.len, sig), 0);
    cr_assert_str_eq(sig, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    dsql_buf_cleanup(&creq);
    dsql_buf_cleanup(&sts);
}

Test(sigv4, empty_payload_hash_constant_is_sha256_of_nothing)
{
    char hash[65];
    cr_assert_eq(dsql_sha256_hex("", 0, hash), 0);
    cr_assert_str_eq(hash, DSQL_EMPTY_SHA256_HEX);
}

Test(sigv4, hmac_rfc4231_case_2)
{
    unsigned char mac[DSQL_SHA256_LEN];
    char hex[65];
    const char *data = "what do ya want for nothing?";
    cr_assert_eq(dsql_hmac_sha256("Jefe", 4, data, strlen(data), mac), 0);
    dsql_hex(mac, sizeof mac, hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(sigv4, uri_encoding_matches_the_sdks)
{
    dsql_buf b;
    dsql_buf_init(&b);
    const char in[] = "AZaz09-_.~ /+=&%:?#\x7f\xc3\xa9";
    dsql_uri_encode(&b, in, sizeof in - 1);
    cr_assert_str_eq(b.data, "AZaz09-_.~%20%2F%2B%3D%26%25%3A%3F%23%7F%C3%A9");
    dsql_buf_cleanup(&b);
}

Test(sigv4, uri_encoding_grows_past_inline_storage)
{
    dsql_buf b;
    dsql_buf_init(&b);
    char in[3000];
    memset(in, '/', sizeof in);
    dsql_uri_encode(&b, in, sizeof in);
    cr_assert_not(dsql_buf_failed(&b));
    cr_assert_eq(b.len, 9000);
    cr_assert_eq(strncmp(b.data + 8997, "%2F", 3), 0);
    dsql_buf_cleanup(&b);
}

Test(sigv4, time_formatting)
{
    dsql_amz_time t;
    cr_assert_eq(dsql_amz_time_from_unix(0, &t), 0);
    cr_assert_str_eq(t.datetime, "19700101T000000Z");
    cr_assert_str_eq(t.date, "19700101");
    cr_assert_eq(dsql_amz_time_from_unix(951782400, &t), 0); /* leap day 2000 */
    cr_assert_str_eq(t.datetime, "20000229T000000Z");
    cr_assert_eq(dsql_amz_time_from_unix(1767225599, &t), 0);
    cr_assert_str_eq(t.datetime, "20251231T235959Z");
    cr_assert_eq(dsql_amz_time_from_unix(1767225600, &t), 0);
    cr_assert_str_eq(t.datetime, "20260101T000000Z");
    cr_assert_eq(dsql_amz_time_from_unix(4102444799, &t), 0);
    cr_assert_str_eq(t.datetime, "20991231T235959Z");
}

Test(sigv4, time_parsing_round_trips_and_rejects_garbage)
{
    int64_t v;
    for (int64_t t = 0; t < 4102444800; t += 86399 * 37) {
        dsql_amz_time at;
        cr_assert_eq(dsql_amz_time_from_unix(t, &at), 0);
        cr_assert_eq(dsql_amz_time_parse(at.datetime, &v), 0);
        cr_assert_eq(v, t, "round trip of %s", at.datetime);
    }
    const char *bad[] = {"",
                         "20260101T000000",
                         "20260101T000000ZZ",
                         "2026010XT000000Z",
                         "20261301T000000Z",
                         "20260230T000000Z",
                         "20250229T000000Z",
                         "20260101T250000Z",
                         "20260101 000000Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(dsql_amz_time_parse(bad[i], &v), -1, "accepted '%s'", bad[i]);
    cr_assert_eq(dsql_amz_time_parse("20240229T120000Z", &v), 0);
}
