/* SPDX-License-Identifier: MIT */
/* test_template.c: pgbench-style :variables become $n parameters the way pgbench numbers them. */
#include "workload.h"

#include <criterion/criterion.h>

Test(template, each_occurrence_is_its_own_parameter)
{
    char sql[256], names[8][32];
    int n = pc_template_compile("SELECT 'x' || :n, :n % 10, :owner_id", sql, sizeof sql, names, 8);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(sql, "SELECT 'x' || $1, $2 % 10, $3");
    cr_expect_str_eq(names[0], "n");
    cr_expect_str_eq(names[1], "n");
    cr_expect_str_eq(names[2], "owner_id");
}

Test(template, casts_are_not_variables)
{
    char sql[256], names[8][32];
    int n = pc_template_compile("SELECT (:v)::text, x::uuid, a:::b", sql, sizeof sql, names, 8);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(sql, "SELECT ($1)::text, x::uuid, a:::b");
}

Test(template, a_lone_colon_stays)
{
    char sql[64], names[2][32];
    cr_expect_eq(pc_template_compile("SELECT ':', 1 : 2", sql, sizeof sql, names, 2), 0);
    cr_expect_str_eq(sql, "SELECT ':', 1 : 2");
}

Test(template, overflow_is_refused)
{
    char small[8], names[1][32];
    cr_expect_eq(pc_template_compile("SELECT 1234567890", small, sizeof small, names, 1), -1);
    char sql[64];
    cr_expect_eq(pc_template_compile("SELECT :a, :b", sql, sizeof sql, names, 1), -1);
    cr_expect_eq(pc_template_compile("SELECT :aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", sql,
                                     sizeof sql, names, 1),
                 -1);
}
