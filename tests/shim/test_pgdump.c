/* SPDX-License-Identifier: MIT */
/* test_pgdump.c: which of pg_dump's statements the shim answers, and its PREPARE/EXECUTE parse. */
#include "shim/pgdump.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

struct row {
    const char *query;
    enum dsql_dump_answer answer;
};

/* What pg_dump 15, 16 and 17 send (their source, and Debian's pg_dump 15 observed), then
 * near misses that must reach the server as written. */
static const struct row rows[] = {
    {"SET synchronize_seqscans TO off", DSQL_DUMP_COMMAND_OK},
    {"SET statement_timeout = 0", DSQL_DUMP_COMMAND_OK},
    {"SET lock_timeout = 0", DSQL_DUMP_COMMAND_OK},
    {"SET idle_in_transaction_session_timeout = 0", DSQL_DUMP_COMMAND_OK},
    {"SET transaction_timeout = 0", DSQL_DUMP_COMMAND_OK},
    {"SET row_security = off", DSQL_DUMP_COMMAND_OK},
    {"SET row_security = on", DSQL_DUMP_COMMAND_OK},
    {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", DSQL_DUMP_COMMAND_OK},
    {"SET TRANSACTION SNAPSHOT '00000003-00000002-1'", DSQL_DUMP_COMMAND_OK},
    {"SET statement_timeout = '30s'", DSQL_DUMP_COMMAND_OK}, /* --lock-wait-timeout */
    {"SELECT pg_catalog.pg_export_snapshot()", DSQL_DUMP_SNAPSHOT},
    {"SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = "
     "'restrict_nonsystem_relation_kind'",
     DSQL_DUMP_NO_ROWS},
    {"SELECT set_config(name, 'view', false) FROM pg_settings WHERE name = "
     "'restrict_nonsystem_relation_kind'",
     DSQL_DUMP_NO_ROWS},
    {"LOCK TABLE myschema.owners IN ACCESS SHARE MODE", DSQL_DUMP_COMMAND_OK},
    {"LOCK TABLE public.\"vetSpecialties\" IN ACCESS SHARE MODE", DSQL_DUMP_COMMAND_OK},
    {"LOCK TABLE public.\"a \"\"quoted\"\" name; x\" IN ACCESS SHARE MODE", DSQL_DUMP_COMMAND_OK},
    {"LOCK TABLE ONLY myschema.pets IN ACCESS SHARE MODE NOWAIT", DSQL_DUMP_COMMAND_OK},
    {"LOCK TABLE myschema.a, myschema.b IN ACCESS SHARE MODE", DSQL_DUMP_COMMAND_OK},
    {"PREPARE dumpFunc(pg_catalog.oid) AS\nSELECT 1", DSQL_DUMP_PREPARE},
    {"EXECUTE dumpFunc('16384')", DSQL_DUMP_EXECUTE},
    /* what DSQL allows or what has an effect: sent as written */
    {"SET DATESTYLE = ISO", DSQL_DUMP_SEND},
    {"SET INTERVALSTYLE = POSTGRES", DSQL_DUMP_SEND},
    {"SET extra_float_digits TO 3", DSQL_DUMP_SEND},
    {"SET quote_all_identifiers = true", DSQL_DUMP_SEND},
    {"SELECT pg_catalog.set_config('search_path', '', false);", DSQL_DUMP_SEND},
    {"BEGIN", DSQL_DUMP_SEND},
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", DSQL_DUMP_SEND},
    {"SET statement_timeout = 5", DSQL_DUMP_SEND},
    {"SET statement_timeout = '5'; DROP TABLE x", DSQL_DUMP_SEND},
    {"DECLARE _pg_dump_cursor CURSOR FOR SELECT * FROM ONLY x", DSQL_DUMP_SEND},
    {"SET statement_timeout = 0; DROP TABLE x", DSQL_DUMP_SEND},
    {"set statement_timeout = 0", DSQL_DUMP_SEND},
    {"LOCK TABLE x IN ACCESS EXCLUSIVE MODE", DSQL_DUMP_SEND},
    {"LOCK TABLE x; DROP TABLE y; LOCK TABLE z IN ACCESS SHARE MODE", DSQL_DUMP_SEND},
    {"LOCK TABLE  IN ACCESS SHARE MODE", DSQL_DUMP_SEND},
    {"SET TRANSACTION SNAPSHOT 'x'; DROP TABLE y", DSQL_DUMP_SEND},
    {"SELECT set_config(name, 'x'); DROP TABLE y; SELECT ', false) FROM pg_settings WHERE name = "
     "'restrict_nonsystem_relation_kind'",
     DSQL_DUMP_SEND},
    {"SELECT pg_catalog.pg_export_snapshot(); DROP TABLE y", DSQL_DUMP_SEND},
    {"COPY myschema.owners (id, name) TO stdout;", DSQL_DUMP_SEND},
};

Test(pgdump, statements_table)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cr_expect(eq(int, (int)dsql_pgdump_classify(rows[i].query), (int)rows[i].answer), "%s",
                  rows[i].query);
}

Test(pgdump, prepare_is_taken_apart)
{
    char name[64], types[256];
    const char *query = NULL;
    int n = -1;
    cr_assert(eq(int,
                 dsql_pgdump_parse_prepare("PREPARE dumpFunc(pg_catalog.oid) AS\nSELECT $1", name,
                                           sizeof name, types, sizeof types, &n, &query),
                 0));
    cr_expect(eq(str, name, "dumpfunc"), "folded as the server folds it");
    cr_expect(eq(int, n, 1));
    cr_expect(eq(str, types, "pg_catalog.oid"));
    cr_expect(eq(str, (char *)query, "SELECT $1"));
    cr_assert(eq(int,
                 dsql_pgdump_parse_prepare("PREPARE two ( pg_catalog.oid , text ) as SELECT 1",
                                           name, sizeof name, types, sizeof types, &n, &query),
                 0));
    cr_expect(eq(int, n, 2));
    cr_expect(eq(str, types, "pg_catalog.oid"));
    cr_expect(eq(str, types + strlen(types) + 1, "text"));
    cr_assert(eq(int,
                 dsql_pgdump_parse_prepare("PREPARE none AS SELECT 1", name, sizeof name, types,
                                           sizeof types, &n, &query),
                 0));
    cr_expect(eq(int, n, 0));
    cr_expect(eq(int,
                 dsql_pgdump_parse_prepare("PREPARE bad(oid AS SELECT 1", name, sizeof name, types,
                                           sizeof types, &n, &query),
                 -1));
    cr_expect(eq(int,
                 dsql_pgdump_parse_prepare("PREPARE noas(oid) SELECT 1", name, sizeof name, types,
                                           sizeof types, &n, &query),
                 -1));
}

Test(pgdump, execute_is_taken_apart)
{
    char name[64], args[256];
    int n = -1;
    cr_assert(eq(int,
                 dsql_pgdump_parse_execute("EXECUTE dumpFunc('16384')", name, sizeof name, args,
                                           sizeof args, &n),
                 0));
    cr_expect(eq(str, name, "dumpfunc"));
    cr_expect(eq(int, n, 1));
    cr_expect(eq(str, args, "16384"));
    cr_assert(eq(int,
                 dsql_pgdump_parse_execute("EXECUTE two('it''s', '2')", name, sizeof name, args,
                                           sizeof args, &n),
                 0));
    cr_expect(eq(int, n, 2));
    cr_expect(eq(str, args, "it's"));
    cr_expect(eq(str, args + strlen(args) + 1, "2"));
    cr_expect(
        eq(int,
           dsql_pgdump_parse_execute("EXECUTE f(16384)", name, sizeof name, args, sizeof args, &n),
           -1),
        "only quoted literals, as pg_dump writes them");
    cr_expect(eq(int,
                 dsql_pgdump_parse_execute("EXECUTE f('1'); DROP TABLE x", name, sizeof name, args,
                                           sizeof args, &n),
                 -1));
}
