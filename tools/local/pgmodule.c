/* SPDX-License-Identifier: MIT */
/* pgmodule.c: the module dsqlauth-local --strict preloads into its PostgreSQL (see pgmodule.h). */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port.h"
#include "storage/lockdefs.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "pgmodule.h"
#include "rules.h"

PG_MODULE_MAGIC;

static bool backend_version;

void _PG_init(void);

static ProcessUtility_hook_type prev_utility = NULL;
static emit_log_hook_type prev_emit = NULL;

/* The backends the current lock wait waits for, from PostgreSQL's "still waiting" report. */
static char waiting_for[256];

/* A rule's message from rules.tsv, with its {} filled. */
static const char *rule_message(enum rule_id id, const char *arg, char *buf, size_t size)
{
    char state[6];
    if (rule_format(id, arg, state, buf, size) != 0)
        buf[0] = '\0';
    return buf;
}

/* DSQL's job ids: 16 random bytes in lower-case base32 (a-z, 2-7), unpadded: 26 characters. */
static void new_job_id(char out[PGMODULE_JOB_ID_LEN + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char raw[16];
    unsigned bits = 0, acc = 0;
    size_t o = 0;
    if (!pg_strong_random(raw, sizeof raw))
        ereport(ERROR, (errmsg("could not generate a job id")));
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* ALTER TABLE ... DROP COLUMN of a primary-key column: refused as DSQL refuses it. */
static void check_drop_columns(AlterTableStmt *stmt)
{
    ListCell *lc;
    Oid relid = InvalidOid;
    Bitmapset *pk = NULL;
    if (stmt->objtype != OBJECT_TABLE || stmt->relation == NULL)
        return;
    foreach (lc, stmt->cmds) {
        AlterTableCmd *cmd = lfirst(lc);
        char msg[256];
        if (cmd->subtype != AT_DropColumn || cmd->name == NULL)
            continue;
        if (relid == InvalidOid) {
            relid = RangeVarGetRelid(stmt->relation, AccessShareLock, true);
            if (relid == InvalidOid)
                return; /* PostgreSQL says the table does not exist */
            Relation rel = relation_open(relid, NoLock);
            pk = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
            relation_close(rel, NoLock);
        }
        AttrNumber att = get_attnum(relid, cmd->name);
        if (att != InvalidAttrNumber && bms_is_member(att - FirstLowInvalidHeapAttributeNumber, pk))
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("%s", rule_message(RULE_DROP_PK_COLUMN, cmd->name, msg, sizeof msg))));
    }
}

/* The newest index of relid (the one just built), or relid itself when it has none. */
static Oid newest_index(Oid relid)
{
    Oid newest = InvalidOid;
    ListCell *lc;
    Relation rel = relation_open(relid, NoLock);
    List *indexes = RelationGetIndexList(rel);
    foreach (lc, indexes)
        if (lfirst_oid(lc) > newest)
            newest = lfirst_oid(lc);
    list_free(indexes);
    relation_close(rel, NoLock);
    return newest != InvalidOid ? newest : relid;
}

/*
 * Records a job that is already done (the index was built, the constraint validated, within
 * the statement) in dsqlauth.jobs, as the bootstrap superuser, then tells the relay its id.
 */
static void record_job(const char *type, Oid object)
{
    char id[PGMODULE_JOB_ID_LEN + 1];
    Oid saved_user;
    int saved_context;
    Datum args[3];
    Oid types[3] = {TEXTOID, TEXTOID, OIDOID};
    new_job_id(id);
    args[0] = CStringGetTextDatum(id);
    args[1] = CStringGetTextDatum(type);
    args[2] = ObjectIdGetDatum(object);
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE);
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errmsg("could not record the job")));
    if (SPI_execute_with_args("INSERT INTO dsqlauth.jobs (job_id, status, job_type, class_id, "
                              "object_id, start_time, update_time) VALUES ($1, 'completed', $2, "
                              "1259, $3, date_trunc('second', now()), "
                              "date_trunc('second', clock_timestamp()))",
                              3, types, args, NULL, false, 0) != SPI_OK_INSERT)
        ereport(ERROR, (errmsg("could not record the job")));
    SPI_finish();
    SetUserIdAndSecContext(saved_user, saved_context);
    ereport(INFO, (errcode(MAKE_SQLSTATE(PGMODULE_JOB_SQLSTATE[0], PGMODULE_JOB_SQLSTATE[1],
                                         PGMODULE_JOB_SQLSTATE[2], PGMODULE_JOB_SQLSTATE[3],
                                         PGMODULE_JOB_SQLSTATE[4])),
                   errmsg("%s", id), errhidestmt(true)));
}

static int validates(AlterTableStmt *stmt)
{
    ListCell *lc;
    foreach (lc, stmt->cmds)
        if (((AlterTableCmd *)lfirst(lc))->subtype == AT_ValidateConstraint)
            return 1;
    return 0;
}

static void dsql_utility(PlannedStmt *pstmt, const char *query, bool read_only,
                         ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *env,
                         DestReceiver *dest, QueryCompletion *qc)
{
    Node *node = pstmt->utilityStmt;
    int top = context == PROCESS_UTILITY_TOPLEVEL || context == PROCESS_UTILITY_QUERY;
    Oid job_rel = InvalidOid;
    const char *job_type = NULL;
    if (top && IsA(node, AlterTableStmt))
        check_drop_columns((AlterTableStmt *)node);
    if (top && IsA(node, IndexStmt) && !((IndexStmt *)node)->concurrent)
        job_type = "INDEX_BUILD";
    else if (top && IsA(node, AlterTableStmt) && validates((AlterTableStmt *)node))
        job_type = "VALIDATE_CONSTRAINT";
    if (prev_utility != NULL)
        prev_utility(pstmt, query, read_only, context, params, env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query, read_only, context, params, env, dest, qc);
    if (job_type != NULL) {
        RangeVar *rv = IsA(node, IndexStmt) ? ((IndexStmt *)node)->relation
                                            : ((AlterTableStmt *)node)->relation;
        job_rel = RangeVarGetRelid(rv, NoLock, true);
        if (job_rel != InvalidOid)
            record_job(job_type, IsA(node, IndexStmt) ? newest_index(job_rel) : job_rel);
    }
}

/*
 * Optimistic concurrency (occ.h): with log_lock_waits on and deadlock_timeout below
 * lock_timeout, PostgreSQL reports a lock wait ("process N still waiting for ...", naming the
 * backends holding the lock in its server-log detail) before the wait times out. The module
 * keeps those pids, keeps the report out of the log, and hands them to the relay in the
 * DETAIL of the lock-timeout error (55P03), which the relay never shows the client.
 */
static void dsql_emit(ErrorData *e)
{
    if (e->elevel == LOG && e->message != NULL && strstr(e->message, " still waiting for ")) {
        const char *h = e->detail_log ? strstr(e->detail_log, "holding the lock: ") : NULL;
        size_t o = 0;
        for (h = h ? h + 18 : NULL;
             h != NULL && *h != '\0' && *h != '.' && o + 1 < sizeof waiting_for; h++)
            if ((*h >= '0' && *h <= '9') || *h == ',')
                waiting_for[o++] = *h;
        waiting_for[o] = '\0';
        e->output_to_server = false;
    } else if (e->elevel == LOG && e->message != NULL && strstr(e->message, " acquired ")) {
        waiting_for[0] = '\0';
        e->output_to_server = false;
    } else if (e->elevel >= ERROR && e->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        e->detail = psprintf("%s%s", PGMODULE_BLOCKERS_DETAIL, waiting_for);
        waiting_for[0] = '\0';
    }
    if (prev_emit != NULL)
        prev_emit(e);
}

/* Raises an integer setting's bounds so that a value outside them can be set. */
static void widen_int_setting(const char *name, int value)
{
    struct config_generic **vars = get_guc_variables();
    int n = GetNumConfigOptions();
    for (int i = 0; i < n; i++) {
        if (strcmp(vars[i]->name, name) == 0 && vars[i]->vartype == PGC_INT) {
            struct config_int *ci = (struct config_int *)vars[i];
            if (ci->max < value)
                ci->max = value;
        }
    }
}

void _PG_init(void)
{
    char num[16];
    if (!process_shared_preload_libraries_in_progress)
        ereport(ERROR, (errmsg("%s must be in shared_preload_libraries", PGMODULE_FILE)));
    DefineCustomBoolVariable(PGMODULE_BACKEND_VERSION_GUC,
                             "Report this server's own version instead of Aurora DSQL's.", NULL,
                             &backend_version, false, PGC_POSTMASTER, 0, NULL, NULL, NULL);
    if (!backend_version) {
        widen_int_setting("server_version_num", PGMODULE_SERVER_VERSION_NUM);
        pg_snprintf(num, sizeof num, "%d", PGMODULE_SERVER_VERSION_NUM);
        SetConfigOption("server_version", PGMODULE_SERVER_VERSION, PGC_INTERNAL, PGC_S_OVERRIDE);
        SetConfigOption("server_version_num", num, PGC_INTERNAL, PGC_S_OVERRIDE);
    }
    prev_utility = ProcessUtility_hook;
    ProcessUtility_hook = dsql_utility;
    prev_emit = emit_log_hook;
    emit_log_hook = dsql_emit;
}
