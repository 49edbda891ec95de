/* SPDX-License-Identifier: MIT */
/* test_proto.c: the StartupMessage checks as a table: packet in, accepted or SQLSTATE + message. */
#include "proto.h"

#include <criterion/criterion.h>
#include <string.h>

/* Builds a startup body (protocol code, then NUL-separated pairs given as "k\0v\0...\0"). */
static size_t body(char *out, uint32_t version, const char *pairs, size_t pairs_len)
{
    proto_set32(out, version);
    memcpy(out + 4, pairs, pairs_len);
    return 4 + pairs_len;
}

#define PAIRS(s) s, sizeof(s) - 1

struct row {
    const char *name;
    uint32_t version;
    const char *pairs;
    size_t len;
    const char *sqlstate; /* NULL: accepted */
    const char *message;
};

static const struct row rows[] = {
    {"minimal", PROTO_V3, PAIRS("user\0app\0\0"), NULL, NULL},
    {"allowed", PROTO_V3,
     PAIRS("user\0app\0database\0postgres\0application_name\0x\0DateStyle\0ISO\0"
           "enable_seqscan\0off\0disable_sync_create_index\0on\0\0"),
     NULL, NULL},
    {"options ok", PROTO_V3,
     PAIRS("user\0app\0options\0-c search_path=myschema --TimeZone=UTC\0\0"), NULL, NULL},
    {"no user", PROTO_V3, PAIRS("database\0postgres\0\0"), "28000", "no PostgreSQL user name"},
    {"disallowed", PROTO_V3, PAIRS("user\0app\0work_mem\0\x31MB\0\0"), "0A000",
     "setting configuration parameter \"work_mem\" not supported"},
    {"disallowed in options", PROTO_V3, PAIRS("user\0app\0options\0-c statement_timeout=1\0\0"),
     "0A000", "setting configuration parameter \"statement_timeout\" not supported"},
    {"switch in options", PROTO_V3, PAIRS("user\0app\0options\0-F\0\0"), "0A000",
     "unsupported switch"},
    {"protocol 2", 0x00020000, PAIRS("user\0app\0\0"), "0A000",
     "unsupported frontend protocol 2.0"},
    {"no terminator", PROTO_V3, PAIRS("user\0app\0"), "08P01", "invalid startup packet layout"},
    {"no value", PROTO_V3, PAIRS("user\0\0"), "08P01", "invalid startup packet layout"},
    {"empty name", PROTO_V3, PAIRS("\0app\0\0"), "08P01", "empty parameter name"},
    {"duplicate", PROTO_V3, PAIRS("user\0a\0user\0b\0\0"), "08P01", "given twice"},
    {"replication", PROTO_V3, PAIRS("user\0app\0replication\0true\0\0"), "0A000",
     "\"replication\" not supported"},
    /* PostgreSQL splits options at any isspace(): a vertical tab or form feed must not hide a
     * second -c from the check. */
    {"vertical tab in options", PROTO_V3,
     PAIRS("user\0app\0options\0--search_path=x\v-c\vwork_mem=1GB\0\0"), "0A000",
     "\"work_mem\" not supported"},
    {"form feed in options", PROTO_V3,
     PAIRS("user\0app\0options\0-c\fsearch_path=x\f--work_mem=1GB\0\0"), "0A000",
     "\"work_mem\" not supported"},
};

Test(proto, startup_table)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[512];
        size_t n = body(buf, rows[i].version, rows[i].pairs, rows[i].len);
        proto_startup s;
        proto_refusal r = {{0}, {0}};
        int rc = proto_parse_startup(buf, n, &s, &r);
        if (rows[i].sqlstate == NULL) {
            cr_expect_eq(rc, 0, "%s: refused: %s", rows[i].name, r.message);
            continue;
        }
        cr_expect_eq(rc, -1, "%s: accepted", rows[i].name);
        cr_expect_str_eq(r.sqlstate, rows[i].sqlstate, "%s", rows[i].name);
        cr_expect(strstr(r.message, rows[i].message) != NULL, "%s: message \"%s\"", rows[i].name,
                  r.message);
    }
}

Test(proto, options_are_rebuilt_without_dsql_only_settings)
{
    char buf[512];
    size_t n = body(buf, PROTO_V3,
                    PAIRS("user\0app\0options\0-c search_path=my\\ schema "
                          "-c disable_sync_create_index=on --amzn-cluster-id=abc\0\0"));
    proto_startup s;
    proto_refusal r;
    cr_assert_eq(proto_parse_startup(buf, n, &s, &r), 0, "%s", r.message);
    cr_assert_str_eq(s.options, "-c search_path=my\\ schema");
    cr_assert_str_eq(s.database, "app");
}

/* An escaped line break stays inside its value when the backend splits the rebuilt options. */
Test(proto, options_rebuilt_with_white_space_escaped)
{
    char buf[512];
    size_t n =
        body(buf, PROTO_V3, PAIRS("user\0app\0options\0--search_path=x\\\r-c\\\nwork_mem=1GB\0\0"));
    proto_startup s;
    proto_refusal r;
    cr_assert_eq(proto_parse_startup(buf, n, &s, &r), 0, "%s", r.message);
    cr_assert_str_eq(s.options, "-c search_path=x\\\r-c\\\nwork_mem=1GB");
}

Test(proto, length_caps)
{
    static char big[PROTO_MAX_STARTUP + 8];
    proto_startup s;
    proto_refusal r;
    cr_assert_eq(proto_parse_startup(big, sizeof big, &s, &r), -1);
    cr_assert_str_eq(r.sqlstate, "08P01");
    cr_assert_eq(proto_parse_startup(big, 2, &s, &r), -1);
}

Test(proto, error_response_layout)
{
    dsql_buf b;
    dsql_buf_init(&b);
    proto_put_error(&b, "FATAL", "28P01", "no");
    cr_assert_eq(b.data[0], 'E');
    cr_assert_eq(proto_get32(b.data + 1), b.len - 1);
    cr_assert_eq(b.data[b.len - 1], '\0');
    dsql_buf_cleanup(&b);
}

Test(proto, password_message_checks)
{
    proto_refusal r;
    size_t n = 0;
    const unsigned char ok[5] = {'p', 0, 0, 0, 9};
    cr_assert_eq(proto_password_header(ok, 100, &n, &r), 0);
    cr_assert_eq(n, 5);
    const unsigned char query[5] = {'Q', 0, 0, 0, 9};
    cr_assert_eq(proto_password_header(query, 100, &n, &r), -1);
    cr_assert_str_eq(r.sqlstate, "08P01");
    cr_assert_str_eq(r.message, "expected password response");
    const unsigned char tiny[5] = {'p', 0, 0, 0, 4};
    const unsigned char huge[5] = {'p', 0, 0, 0, 101};
    cr_assert_eq(proto_password_header(tiny, 100, &n, &r), -1);
    cr_assert_str_eq(r.message, "invalid password packet size");
    cr_assert_eq(proto_password_header(huge, 100, &n, &r), -1);

    cr_assert_eq(proto_password_body("tok\0", 4, &r), 0);
    cr_assert_eq(proto_password_body("\0", 1, &r), 0); /* empty: the verifier says why */
    cr_assert_eq(proto_password_body("tok", 3, &r), -1);
    cr_assert_str_eq(r.message, "invalid password packet: not one terminated string");
    cr_assert_eq(proto_password_body("a\0b\0", 4, &r), -1);
}
