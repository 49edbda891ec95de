/* SPDX-License-Identifier: MIT */
/* schema.h: the pet clinic tables of the seed's models, created the way DSQL allows. */
#ifndef PC_SCHEMA_H
#define PC_SCHEMA_H

#include "retry.h"

#include <stdio.h>

/*
 * Creates owner, pet, specialty, vet and "vetSpecialties" (and two lookup indexes) if they do
 * not exist, in the first schema of the session's search_path (public for admin, myschema for
 * the non-admin role under dsqlauth). Each statement is its own transaction, never mixed with
 * DML, and goes through pc_stmt_run (DSQL answers concurrent DDL with OC001). Indexes use DSQL's
 * CREATE INDEX ASYNC and fall back to plain CREATE INDEX where the server does not know ASYNC.
 * Prints one line per object to out unless out is NULL. Adds its retries to *retries.
 * Returns PC_OK or the failing status, with the reason printed to stderr.
 */
int pc_schema_ensure(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, FILE *out,
                     long *retries);

#endif
