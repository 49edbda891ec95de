/* SPDX-License-Identifier: MIT */
/* pgmodule.h: what the relay and the backend module (pgmodule.c) agree on, and the module's file.
 */
#ifndef DSQL_LOCAL_PGMODULE_H
#define DSQL_LOCAL_PGMODULE_H

/*
 * pgmodule.c is a PostgreSQL module that `dsqlauth-local start --strict` preloads into its
 * private PostgreSQL (shared_preload_libraries). Inside the backend it:
 *   - makes the server DSQL's version: server_version 16.15 and server_version_num 160015 (the
 *     startup ParameterStatus, SHOW, current_setting() and pg_settings alike);
 *   - refuses ALTER TABLE ... DROP COLUMN of a primary-key column (DROP_PK_COLUMN: it needs
 *     the catalog), raising the error itself so the transaction fails as DSQL's does;
 *   - records the job of every CREATE INDEX and ALTER TABLE ... VALIDATE CONSTRAINT (in strict
 *     mode the relay lets only their ASYNC forms through) in dsqlauth.jobs, which sys.jobs
 *     shows, and tells the relay the job's id in an INFO message with SQLSTATE
 *     PGMODULE_JOB_SQLSTATE and the id as its text; the relay turns that message into the
 *     job_id row DSQL answers with.
 *   - names, in the DETAIL of a lock-timeout error (55P03), the backends the statement waited
 *     for (PGMODULE_BLOCKERS_DETAIL), for the relay's optimistic concurrency (occ.h).
 * The SQL objects beside it (schema sys, sys.jobs, sys.wait_for_job, version()) are made by
 * pgctl_setup at start.
 */

#define PGMODULE_JOB_SQLSTATE "DQJOB"
#define PGMODULE_BLOCKERS_DETAIL "dsqlauth waited for: " /* then pids, comma-separated */
#define PGMODULE_JOB_ID_LEN 26 /* 16 random bytes in lower-case RFC 4648 base32, unpadded */
#define PGMODULE_FILE "dsqlauth_pg.so"

/* A setting of the module: on, the server reports its own version (dsqlauth-local
 * --server-version backend). */
#define PGMODULE_BACKEND_VERSION_GUC "dsqlauth.backend_version"
#define PGMODULE_SERVER_VERSION "16.15"
#define PGMODULE_SERVER_VERSION_NUM 160015

#endif /* DSQL_LOCAL_PGMODULE_H */
