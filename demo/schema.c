/* SPDX-License-Identifier: MIT */
/* schema.c: DDL for the seed's models: UUID keys, no SERIAL, no foreign keys, one DDL per txn. */
#include "schema.h"

#include <string.h>

/* The seed's models, column for column: String(n) is VARCHAR(n), UUID keys default to
 * gen_random_uuid() (DSQL has no SERIAL or identity columns), and relationships are plain
 * columns (DSQL has no foreign key constraints). */
static const struct {
    const char *name;
    const char *sql;
} tables[] = {
    {"owner", "CREATE TABLE IF NOT EXISTS owner ("
              "id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
              "name VARCHAR(30) NOT NULL, "
              "city VARCHAR(80) NOT NULL, "
              "telephone VARCHAR(20))"},
    {"pet", "CREATE TABLE IF NOT EXISTS pet ("
            "id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
            "name VARCHAR(30) NOT NULL, "
            "birth_date DATE NOT NULL, "
            "owner_id UUID)"},
    {"specialty", "CREATE TABLE IF NOT EXISTS specialty ("
                  "name VARCHAR(80) PRIMARY KEY)"},
    {"vet", "CREATE TABLE IF NOT EXISTS vet ("
            "id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
            "name VARCHAR(30) NOT NULL)"},
    {"\"vetSpecialties\"", "CREATE TABLE IF NOT EXISTS \"vetSpecialties\" ("
                           "id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
                           "vet_id UUID, "
                           "specialty_id VARCHAR(80))"},
};

/* The lookups the walk-through and the workload make by a non-key column: an owner's pets and a
 * vet's specialties. Each follows "CREATE INDEX " or "CREATE INDEX ASYNC ". */
static const struct {
    const char *name;
    const char *tail;
} indexes[] = {
    {"pet_owner_id_idx", "IF NOT EXISTS pet_owner_id_idx ON pet (owner_id)"},
    {"vetSpecialties_vet_id_idx",
     "IF NOT EXISTS \"vetSpecialties_vet_id_idx\" ON \"vetSpecialties\" (vet_id)"},
};

static int ddl(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, const char *sql,
               pc_txn *txn, long *retries)
{
    int rc = pc_stmt_run(conn, policy, rng, sql, txn);
    *retries += txn->attempt;
    return rc;
}

int pc_schema_ensure(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, FILE *out,
                     long *retries)
{
    pc_txn txn;
    int rc = PC_OK;

    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        rc = ddl(conn, policy, rng, tables[i].sql, &txn, retries);
        if (rc != PC_OK) {
            fprintf(stderr, "petclinic: create table %s: %s\n", tables[i].name, txn.message);
            /* No schema to create in, or not allowed to: the non-admin role without the
             * search_path dsqlauth sets (DSQL lets only admin create in public). */
            if (strcmp(txn.sqlstate, "3F000") == 0 || strcmp(txn.sqlstate, "42501") == 0)
                fprintf(stderr, "petclinic: roles other than admin create their tables in "
                                "myschema: connect through dsqlauth, which sets that "
                                "search_path\n");
            return rc;
        }
        if (out)
            fprintf(out, "  table %-26s ready\n", tables[i].name);
    }

    /* DSQL builds indexes only asynchronously and requires the ASYNC keyword, which
     * PostgreSQL does not know (syntax error 42601): ask for ASYNC first, fall back once. */
    const char *async = "ASYNC ";
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE INDEX %s%s", async, indexes[i].tail);
        rc = ddl(conn, policy, rng, sql, &txn, retries);
        if (rc == PC_ERROR && *async && strcmp(txn.sqlstate, "42601") == 0) {
            async = "";
            snprintf(sql, sizeof sql, "CREATE INDEX %s", indexes[i].tail);
            rc = ddl(conn, policy, rng, sql, &txn, retries);
        }
        if (rc == PC_ERROR) {
            /* An index only makes lookups faster: go on without it, say why. */
            if (out)
                fprintf(out, "  index %-26s skipped: %s\n", indexes[i].name, txn.message);
            rc = PC_OK;
            continue;
        }
        if (rc != PC_OK) {
            fprintf(stderr, "petclinic: create index %s: %s\n", indexes[i].name, txn.message);
            return rc;
        }
        if (out)
            fprintf(out, "  index %-26s ready%s\n", indexes[i].name,
                    *async ? " (CREATE INDEX ASYNC)" : "");
    }
    return rc;
}
