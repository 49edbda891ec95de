/* SPDX-License-Identifier: MIT */
/* test_endpoint.c: recognising DSQL endpoint names and expanding bare cluster ids. */
#include "dsqlauth.h"

#include <criterion/criterion.h>
#include <string.h>

Test(endpoint, region_from_hostname)
{
    struct {
        const char *host;
        const char *region; /* NULL: not a DSQL name */
    } cases[] = {
        {"abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "us-east-1"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL.EU-WEST-1.ON.AWS", "eu-west-1"},
        {"abc.dsql.us-east-1.on.aws.", "us-east-1"},
        {"abc.dsql.us-east-1.on.aws:5432", "us-east-1"},
        {"abc.dsql-fnh4.ap-southeast-2.on.aws", "ap-southeast-2"},
        {"a.b.dsql.us-gov-west-1.on.aws", "us-gov-west-1"},
        {"dsql.us-east-1.on.aws", NULL},
        {"abc.dsqlx.us-east-1.on.aws", NULL},
        {"abc.rds.us-east-1.on.aws", NULL},
        {"abc.dsql.us-east-1.amazonaws.com", NULL},
        {"abc.dsql..on.aws", NULL},
        {"localhost", NULL},
        {"127.0.0.1", NULL},
        {"", NULL},
        {"abc.dsql.us_east.on.aws", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char region[DSQL_REGION_MAX] = "";
        int is = dsql_hostname_region(cases[i].host, region, sizeof region);
        if (cases[i].region == NULL) {
            cr_assert_eq(is, 0, "'%s' taken for DSQL", cases[i].host);
        } else {
            cr_assert_eq(is, 1, "'%s' not recognised", cases[i].host);
            cr_assert_str_eq(region, cases[i].region);
        }
    }
    cr_assert_eq(dsql_hostname_region(NULL, NULL, 0), 0);
}

Test(endpoint, cluster_ids)
{
    cr_assert(dsql_is_cluster_id("abcdefghijklmnopqrstuvwx12"));
    cr_assert_not(dsql_is_cluster_id("abcdefghijklmnopqrstuvwx1"));
    cr_assert_not(dsql_is_cluster_id("abcdefghijklmnopqrstuvwx123"));
    cr_assert_not(dsql_is_cluster_id("Abcdefghijklmnopqrstuvwx12"));
    cr_assert_not(dsql_is_cluster_id("abcdefghijklmnopqrstuvwx-2"));
    cr_assert_not(dsql_is_cluster_id(NULL));
}

Test(endpoint, expansion)
{
    char ep[DSQL_HOST_MAX];
    dsql_error err = {0};
    cr_assert_eq(
        dsql_endpoint_resolve("abcdefghijklmnopqrstuvwx12", "eu-west-1", ep, sizeof ep, &err),
        DSQL_OK);
    cr_assert_str_eq(ep, "abcdefghijklmnopqrstuvwx12.dsql.eu-west-1.on.aws");
    cr_assert_eq(dsql_endpoint_resolve("Host.Example.COM.:5432", NULL, ep, sizeof ep, &err),
                 DSQL_OK);
    cr_assert_str_eq(ep, "host.example.com");
    cr_assert_eq(dsql_endpoint_resolve("abcdefghijklmnopqrstuvwx12", NULL, ep, sizeof ep, &err),
                 DSQL_ERR_REGION);
    cr_assert(strstr(err.message, "AWS_REGION") != NULL, "%s", err.message);
    cr_assert_eq(dsql_endpoint_resolve("bad host", "us-east-1", ep, sizeof ep, &err),
                 DSQL_ERR_INVALID);
    char tiny[8];
    cr_assert_eq(
        dsql_endpoint_resolve("abcdefghijklmnopqrstuvwx12", "us-east-1", tiny, sizeof tiny, &err),
        DSQL_ERR_INVALID);
}
