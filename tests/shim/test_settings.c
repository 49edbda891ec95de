/* SPDX-License-Identifier: MIT */
/* test_settings.c: the shim's settings are read once, and again when the environment changes. */
#include "shim/settings.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

static void clean(void)
{
    static const char *const vars[] = {"DSQLAUTH_SCHEMA", "DSQLAUTH_SSLMODE", "DSQLAUTH_DISABLE",
                                       "DSQLAUTH_PGDUMP", "DSQLAUTH_HOSTS",   "PGUSER",
                                       "PGHOST",          "PGOPTIONS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

Test(settings, defaults)
{
    clean();
    const dsql_settings *s = dsql_settings_acquire();
    cr_assert(ne(ptr, (void *)s, NULL));
    cr_expect(eq(str, (char *)s->schema, "myschema"));
    cr_expect(eq(int, s->ssl_floor, DSQL_SSL_VERIFY_FULL));
    cr_expect(eq(int, s->disabled, 0));
    cr_expect(eq(int, s->pgdump, 1));
    cr_expect(eq(ptr, (void *)s->pguser, NULL));
    dsql_settings_release(s);
}

/* Read once: an unchanged environment gives the same snapshot back, read again only on change. */
Test(settings, read_once_and_again_after_a_change)
{
    clean();
    setenv("PGUSER", "first", 1);
    const dsql_settings *a = dsql_settings_acquire();
    const dsql_settings *b = dsql_settings_acquire();
    cr_expect(eq(ptr, (void *)a, (void *)b), "the same snapshot while nothing changed");
    cr_expect(eq(str, (char *)a->pguser, "first"));
    setenv("PGUSER", "second", 1); /* what Python's os.environ does through putenv */
    const dsql_settings *c = dsql_settings_acquire();
    cr_expect(ne(ptr, (void *)a, (void *)c));
    cr_expect(eq(str, (char *)c->pguser, "second"));
    cr_expect(eq(str, (char *)a->pguser, "first"), "a snapshot held stays as it was read");
    unsetenv("PGUSER");
    const dsql_settings *d = dsql_settings_acquire();
    cr_expect(eq(ptr, (void *)d->pguser, NULL));
    static char entry[] = "DSQLAUTH_SCHEMA=put schema";
    putenv(entry);
    const dsql_settings *e = dsql_settings_acquire();
    cr_expect(eq(str, (char *)e->schema, "put schema"));
    const dsql_settings *held[] = {a, b, c, d, e};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++)
        dsql_settings_release(held[i]);
}

Test(settings, values)
{
    clean();
    setenv("DSQLAUTH_SSLMODE", "verify-ca", 1);
    setenv("DSQLAUTH_DISABLE", "0", 1);
    setenv("DSQLAUTH_PGDUMP", "off", 1);
    setenv("PGOPTIONS", "", 1); /* empty is unset, as libpq takes it */
    const dsql_settings *s = dsql_settings_acquire();
    cr_expect(eq(int, s->ssl_floor, DSQL_SSL_VERIFY_CA));
    cr_expect(eq(str, (char *)s->ssl_floor_value, "verify-ca"));
    cr_expect(eq(int, s->disabled, 0));
    cr_expect(eq(int, s->pgdump, 0));
    cr_expect(eq(ptr, (void *)s->pgoptions, NULL));
    dsql_settings_release(s);
    setenv("DSQLAUTH_SSLMODE", "prefer", 1);
    setenv("DSQLAUTH_DISABLE", "1", 1);
    s = dsql_settings_acquire();
    cr_expect(eq(int, s->ssl_floor, -1), "below require is refused (the rewrite says so)");
    cr_expect(eq(int, s->disabled, 1));
    dsql_settings_release(s);
}
