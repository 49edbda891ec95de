/* SPDX-License-Identifier: MIT */
/* sqltree.c: Aurora DSQL's rules judged on PostgreSQL's own parse tree (libpg_query, raw nodes). */

/*
 * PostgreSQL's headers first, as an extension includes them. They come from
 * postgresql-server-dev-15 while libpg_query 15-4.0.0 was built from PostgreSQL 15.1: the parse
 * node structs and NodeTag numbers do not change within a major release (extensions depend on
 * that), and test_strict.c checks the shapes this file reads. Nothing here touches
 * CurrentMemoryContext or palloc (a thread-local in libpg_query, a plain global in the
 * headers): the tree is only read, and freed by deleting its memory context.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

/* PostgreSQL's port.h renames the printf family; this file prints nothing. */
#undef snprintf
#undef vsnprintf

#include "sqltree.h"

#include "rules.h"

#include <pg_query.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* From libpg_query's pg_query_internal.h, which needs headers Debian does not ship with it. */
typedef struct {
    List *tree;
    char *stderr_buffer;
    PgQueryError *error;
} PgQueryInternalParsetreeAndError;
PgQueryInternalParsetreeAndError pg_query_raw_parse(const char *input);
MemoryContext pg_query_enter_memory_context(void);
void pg_query_exit_memory_context(MemoryContext ctx);
void pg_query_free_error(PgQueryError *error);

#define MAX_DEPTH                                                                                  \
    400 /* deeper expressions are not walked: the relay's threads have 256 KiB stacks */

/* What a walk over one statement finds. */
typedef struct walk {
    dsql_strict_stmt *out;
    int dml;     /* INSERT, UPDATE, DELETE somewhere (CTEs included) */
    int locking; /* FOR UPDATE / FOR KEY SHARE somewhere */
    Node *where; /* the WHERE of the innermost SELECT being walked (pg_dump's set_config) */
    unsigned depth;
} walk;

static void refuse(dsql_strict_stmt *out, enum rule_id id, const char *arg)
{
    if (out->rejected)
        return; /* the first refusal found is the one DSQL reports */
    if (rule_format(id, arg, out->error.sqlstate, out->error.message, sizeof out->error.message) ==
        0)
        out->rejected = 1;
}

static const char *str_of(Node *n)
{
    return (n != NULL && IsA(n, String)) ? strVal(n) : NULL;
}

/* The last name of a qualified name list; NULL unless qualified by pg_catalog at most. */
static const char *catalog_name(List *names)
{
    if (names == NIL)
        return NULL;
    if (list_length(names) == 1)
        return str_of(linitial(names));
    if (list_length(names) == 2) {
        const char *schema = str_of(linitial(names));
        if (schema != NULL && strcmp(schema, "pg_catalog") == 0)
            return str_of(lsecond(names));
    }
    return NULL;
}

/*
 * Whether the classification of the statement at hand read a constant's value (a string, a
 * number, an option's argument): its verdict may then change with the constant, so strict.c's
 * cache must not give it to a text that differs from it only in a number. Per thread, as the
 * parse is; sqltree_parse clears it before each statement. Every reader of a constant below
 * sets it.
 */
static _Thread_local int constant_read;

/* A string constant ('x', or 'x'::type): its value, else NULL. */
static const char *string_constant(Node *n)
{
    constant_read = 1;
    if (n != NULL && IsA(n, TypeCast))
        n = ((TypeCast *)n)->arg;
    if (n != NULL && IsA(n, A_Const)) {
        A_Const *c = (A_Const *)n;
        if (!c->isnull && IsA(&c->val, String))
            return strVal(&c->val);
    }
    return NULL;
}

static int name_in(const char *name, const char *const *list)
{
    for (; name != NULL && *list != NULL; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* ---- parameters -------------------------------------------------------------------------- */

static int param_allowed(const char *name)
{
    static const char *const allowed[] = {"application_name",
                                          "client_encoding",
                                          "datestyle",
                                          "extra_float_digits",
                                          "intervalstyle",
                                          "timezone",
                                          "search_path",
                                          "role",
                                          "disable_sync_create_index",
                                          NULL};
    for (const char *const *a = allowed; *a; a++)
        if (strcasecmp(name, *a) == 0)
            return 1;
    return strncasecmp(name, "enable_", 7) == 0;
}

/* In `col = 'x'` (or `'x' = col`, or either under AND) somewhere in where: 'x'. */
static const char *compared_constant(Node *where, const char *col, unsigned depth)
{
    if (where == NULL || depth > 64)
        return NULL;
    if (IsA(where, BoolExpr) && ((BoolExpr *)where)->boolop == AND_EXPR) {
        ListCell *lc;
        foreach (lc, ((BoolExpr *)where)->args) {
            const char *v = compared_constant(lfirst(lc), col, depth + 1);
            if (v != NULL)
                return v;
        }
        return NULL;
    }
    if (!IsA(where, A_Expr))
        return NULL;
    A_Expr *e = (A_Expr *)where;
    const char *op = list_length(e->name) == 1 ? str_of(linitial(e->name)) : NULL;
    if (e->kind != AEXPR_OP || op == NULL || strcmp(op, "=") != 0)
        return NULL;
    for (int side = 0; side < 2; side++) {
        Node *ref = side ? e->rexpr : e->lexpr, *val = side ? e->lexpr : e->rexpr;
        if (ref != NULL && IsA(ref, ColumnRef)) {
            List *f = ((ColumnRef *)ref)->fields;
            const char *name = str_of(llast(f));
            if (name != NULL && strcmp(name, col) == 0 && string_constant(val) != NULL)
                return string_constant(val);
        }
    }
    return NULL;
}

/* ---- types ------------------------------------------------------------------------------- */

typedef struct type_display {
    const char *name, *display;
} type_display;

/* AWS's supported column types, by PostgreSQL's internal name. */
static const type_display ALLOWED_TYPES[] = {
    {"int2", "smallint"},
    {"int4", "integer"},
    {"int8", "bigint"},
    {"float4", "real"},
    {"float8", "double precision"},
    {"numeric", "numeric"},
    {"bpchar", "character"},
    {"varchar", "character varying"},
    {"text", "text"},
    {"date", "date"},
    {"time", "time without time zone"},
    {"timetz", "time with time zone"},
    {"timestamp", "timestamp without time zone"},
    {"timestamptz", "timestamp with time zone"},
    {"interval", "interval"},
    {"bool", "boolean"},
    {"bytea", "bytea"},
    {"uuid", "uuid"},
    {"json", "json"},
    {"jsonb", "jsonb"},
    {NULL, NULL},
};

/* PostgreSQL 15's other base, range and multirange types (pg_type, pg_catalog). */
static const type_display OTHER_TYPES[] = {
    {"money", "money"},
    {"xml", "xml"},
    {"inet", "inet"},
    {"cidr", "cidr"},
    {"macaddr", "macaddr"},
    {"point", "point"},
    {"line", "line"},
    {"lseg", "lseg"},
    {"box", "box"},
    {"path", "path"},
    {"polygon", "polygon"},
    {"circle", "circle"},
    {"tsvector", "tsvector"},
    {"tsquery", "tsquery"},
    {"int4range", "int4range"},
    {"tsrange", "tsrange"},
    {"pg_lsn", "pg_lsn"},
    {"bit", "bit"},
    {"varbit", "bit varying"},
    /* the recorded ones end here (RECORDED_TYPES below counts them) */
    {"macaddr8", "macaddr8"},
    {"int8range", "int8range"},
    {"numrange", "numrange"},
    {"tstzrange", "tstzrange"},
    {"daterange", "daterange"},
    {"int4multirange", "int4multirange"},
    {"int8multirange", "int8multirange"},
    {"nummultirange", "nummultirange"},
    {"tsmultirange", "tsmultirange"},
    {"tstzmultirange", "tstzmultirange"},
    {"datemultirange", "datemultirange"},
    {"oid", "oid"},
    {"regclass", "regclass"},
    {"regcollation", "regcollation"},
    {"regconfig", "regconfig"},
    {"regdictionary", "regdictionary"},
    {"regnamespace", "regnamespace"},
    {"regoper", "regoper"},
    {"regoperator", "regoperator"},
    {"regproc", "regproc"},
    {"regprocedure", "regprocedure"},
    {"regrole", "regrole"},
    {"regtype", "regtype"},
    {"name", "name"},
    {"char", "\"char\""},
    {"jsonpath", "jsonpath"},
    {"tid", "tid"},
    {"xid", "xid"},
    {"xid8", "xid8"},
    {"cid", "cid"},
    {"txid_snapshot", "txid_snapshot"},
    {"pg_snapshot", "pg_snapshot"},
    {"aclitem", "aclitem"},
    {"refcursor", "refcursor"},
    {"int2vector", "int2vector"},
    {"oidvector", "oidvector"},
    {"gtsvector", "gtsvector"},
    {"pg_node_tree", "pg_node_tree"},
    {"pg_ndistinct", "pg_ndistinct"},
    {"pg_dependencies", "pg_dependencies"},
    {"pg_mcv_list", "pg_mcv_list"},
    {"pg_brin_bloom_summary", "pg_brin_bloom_summary"},
    {"pg_brin_minmax_multi_summary", "pg_brin_minmax_multi_summary"},
    {NULL, NULL},
};
#define RECORDED_TYPES 19

static const type_display *find_type(const type_display *t, const char *name)
{
    for (; name != NULL && t->name != NULL; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static const char *const SERIAL_TYPES[] = {"serial",      "serial4", "bigserial", "serial8",
                                           "smallserial", "serial2", NULL};

/* The serial pseudo-type a column names (as written), or NULL. */
static const char *serial_type(const TypeName *t)
{
    if (t == NULL || list_length(t->names) != 1)
        return NULL;
    const char *n = str_of(linitial(t->names));
    return name_in(n, SERIAL_TYPES) ? n : NULL;
}

/*
 * Applies the column type rules: arrays and PostgreSQL's own types outside AWS's list are
 * refused, named as PostgreSQL displays them. Types of other schemas (domains) pass.
 */
static void check_column_type(const TypeName *t, dsql_strict_stmt *out)
{
    char shown[NAMEDATALEN * 2 + 8];
    if (t == NULL || t->pct_type || t->setof)
        return;
    const char *name = catalog_name(t->names);
    const type_display *allowed = find_type(ALLOWED_TYPES, name);
    const type_display *other = allowed ? NULL : find_type(OTHER_TYPES, name);
    if (t->arrayBounds != NIL) {
        const char *elem = allowed ? allowed->display
                           : other ? other->display
                                   : str_of(llast(t->names));
        size_t n = strlen(elem ? elem : "");
        if (n > sizeof shown - 3)
            n = sizeof shown - 3;
        memcpy(shown, elem ? elem : "", n);
        memcpy(shown + n, "[]", 3);
        refuse(out, RULE_TYPE_RECORDED, shown);
    } else if (other != NULL) {
        refuse(out, other - OTHER_TYPES < RECORDED_TYPES ? RULE_TYPE_RECORDED : RULE_TYPE_OTHER,
               other->display);
    }
}

/* A CACHE option's value: -1 when absent, a large number for values past int range. */
static long long cache_option(List *options)
{
    constant_read = 1;
    ListCell *lc;
    foreach (lc, options) {
        DefElem *d = lfirst(lc);
        if (!IsA(d, DefElem) || strcmp(d->defname, "cache") != 0)
            continue;
        if (d->arg != NULL && IsA(d->arg, Integer))
            return intVal(d->arg);
        return 1LL << 40; /* a Float: beyond int range, so >= 65536 */
    }
    return -1;
}

static int cache_ok(long long v)
{
    return v == 1 || v >= 65536;
}

/* A CREATE TABLE column: serial, identity (CACHE, bigint), then its type. */
static void check_create_column(const ColumnDef *c, dsql_strict_stmt *out)
{
    const char *serial = serial_type(c->typeName);
    ListCell *lc;
    if (serial != NULL) {
        refuse(out, RULE_SERIAL, serial);
        return;
    }
    foreach (lc, c->constraints) {
        Constraint *k = lfirst(lc);
        if (!IsA(k, Constraint) || k->contype != CONSTR_IDENTITY)
            continue;
        if (!cache_ok(cache_option(k->options))) {
            refuse(out, RULE_IDENTITY_CACHE, NULL);
            return;
        }
        const char *name = c->typeName ? catalog_name(c->typeName->names) : NULL;
        if (name != NULL && c->typeName->arrayBounds == NIL &&
            (strcmp(name, "int4") == 0 || strcmp(name, "int2") == 0)) {
            refuse(out, RULE_IDENTITY_TYPE, strcmp(name, "int4") == 0 ? "integer" : "smallint");
            return;
        }
    }
    check_column_type(c->typeName, out);
}

/* An ALTER TABLE ADD COLUMN: serial, any constraint, then its type. */
static void check_added_column(const ColumnDef *c, dsql_strict_stmt *out)
{
    const char *serial = serial_type(c->typeName);
    ListCell *lc;
    if (serial != NULL) {
        refuse(out, RULE_SERIAL, serial);
        return;
    }
    int constrained = c->raw_default != NULL || c->identity != 0 || c->generated != 0;
    foreach (lc, c->constraints) {
        Constraint *k = lfirst(lc);
        if (IsA(k, Constraint) && k->contype != CONSTR_NULL)
            constrained = 1;
    }
    if (constrained) {
        refuse(out, RULE_ADD_COLUMN_CONSTRAINT, NULL);
        return;
    }
    check_column_type(c->typeName, out);
}

/* ---- the expression walker --------------------------------------------------------------- */

static void walk_node(walk *w, Node *n);

static void walk_list(walk *w, List *l)
{
    ListCell *lc;
    foreach (lc, l)
        walk_node(w, lfirst(lc));
}

static void check_call(walk *w, FuncCall *f)
{
    static const char *const text_search[] = {"to_tsvector",          "to_tsquery",
                                              "websearch_to_tsquery", "plainto_tsquery",
                                              "phraseto_tsquery",     NULL};
    static const char *const geometric[] = {"line", "circle", "point",   "lseg",
                                            "box",  "path",   "polygon", NULL};
    const char *name = catalog_name(f->funcname);
    if (name == NULL)
        return;
    if (strcmp(name, "set_config") == 0 && list_length(f->args) == 3) {
        Node *first = linitial(f->args);
        const char *param = string_constant(first);
        if (param == NULL && IsA(first, ColumnRef)) {
            const char *col = str_of(llast(((ColumnRef *)first)->fields));
            if (col != NULL)
                param = compared_constant(w->where, col, 0);
        }
        if (param != NULL && !param_allowed(param))
            refuse(w->out, RULE_SET_CONFIG, param);
    } else if (name_in(name, text_search) && list_length(f->args) >= 2) {
        const char *config = string_constant(linitial(f->args));
        if (config != NULL)
            refuse(w->out, RULE_TEXT_SEARCH_CONFIG, config);
    } else if (name_in(name, geometric) && f->args != NIL) {
        refuse(w->out, RULE_GEOMETRIC_FUNCTION, name);
    }
}

static void walk_select(walk *w, SelectStmt *s)
{
    ListCell *lc;
    Node *outer = w->where;
    foreach (lc, s->lockingClause) {
        LockingClause *l = lfirst(lc);
        if (l->strength == LCS_FORSHARE || l->strength == LCS_FORNOKEYUPDATE)
            refuse(w->out, RULE_LOCKING_CLAUSE, NULL);
        else
            w->locking = 1;
    }
    w->where = s->whereClause;
    walk_node(w, (Node *)s->withClause);
    walk_list(w, s->distinctClause);
    walk_list(w, s->targetList);
    walk_list(w, s->fromClause);
    walk_node(w, s->whereClause);
    walk_list(w, s->groupClause);
    walk_node(w, s->havingClause);
    walk_list(w, s->windowClause);
    foreach (lc, s->valuesLists)
        walk_list(w, lfirst(lc));
    walk_list(w, s->sortClause);
    walk_node(w, s->limitOffset);
    walk_node(w, s->limitCount);
    walk_node(w, (Node *)s->larg);
    walk_node(w, (Node *)s->rarg);
    w->where = outer;
}

/* Walks the nodes of a raw SELECT / DML tree; unknown node types are not descended into. */
static void walk_node(walk *w, Node *n)
{
    if (n == NULL || w->out->rejected || w->depth > MAX_DEPTH)
        return;
    w->depth++;
    switch (nodeTag(n)) {
    case T_List:
        walk_list(w, (List *)n);
        break;
    case T_SelectStmt:
        walk_select(w, (SelectStmt *)n);
        break;
    case T_InsertStmt: {
        InsertStmt *s = (InsertStmt *)n;
        w->dml = 1;
        walk_node(w, (Node *)s->withClause);
        walk_node(w, s->selectStmt);
        if (s->onConflictClause != NULL) {
            walk_list(w, s->onConflictClause->targetList);
            walk_node(w, s->onConflictClause->whereClause);
        }
        walk_list(w, s->returningList);
        break;
    }
    case T_UpdateStmt: {
        UpdateStmt *s = (UpdateStmt *)n;
        w->dml = 1;
        walk_node(w, (Node *)s->withClause);
        walk_list(w, s->targetList);
        walk_list(w, s->fromClause);
        walk_node(w, s->whereClause);
        walk_list(w, s->returningList);
        break;
    }
    case T_DeleteStmt: {
        DeleteStmt *s = (DeleteStmt *)n;
        w->dml = 1;
        walk_node(w, (Node *)s->withClause);
        walk_list(w, s->usingClause);
        walk_node(w, s->whereClause);
        walk_list(w, s->returningList);
        break;
    }
    case T_MergeStmt:
        w->dml = 1;
        refuse(w->out, RULE_MERGE, NULL);
        break;
    case T_WithClause:
        walk_list(w, ((WithClause *)n)->ctes);
        break;
    case T_CommonTableExpr:
        walk_node(w, ((CommonTableExpr *)n)->ctequery);
        break;
    case T_RangeSubselect:
        walk_node(w, ((RangeSubselect *)n)->subquery);
        break;
    case T_RangeFunction: {
        ListCell *lc;
        foreach (lc, ((RangeFunction *)n)->functions)
            walk_list(w, lfirst(lc)); /* (function call, column definitions) pairs */
        break;
    }
    case T_RangeTableSample:
        refuse(w->out, RULE_TABLESAMPLE, NULL);
        break;
    case T_JoinExpr: {
        JoinExpr *j = (JoinExpr *)n;
        walk_node(w, j->larg);
        walk_node(w, j->rarg);
        walk_node(w, j->quals);
        break;
    }
    case T_ResTarget:
        walk_node(w, ((ResTarget *)n)->val);
        walk_list(w, ((ResTarget *)n)->indirection);
        break;
    case T_MultiAssignRef:
        walk_node(w, ((MultiAssignRef *)n)->source);
        break;
    case T_FuncCall: {
        FuncCall *f = (FuncCall *)n;
        check_call(w, f);
        walk_list(w, f->args);
        walk_list(w, f->agg_order);
        walk_node(w, f->agg_filter);
        walk_node(w, (Node *)f->over);
        break;
    }
    case T_A_Expr:
        walk_node(w, ((A_Expr *)n)->lexpr);
        walk_node(w, ((A_Expr *)n)->rexpr);
        break;
    case T_BoolExpr:
        walk_list(w, ((BoolExpr *)n)->args);
        break;
    case T_NullTest:
        walk_node(w, (Node *)((NullTest *)n)->arg);
        break;
    case T_BooleanTest:
        walk_node(w, (Node *)((BooleanTest *)n)->arg);
        break;
    case T_SubLink:
        walk_node(w, ((SubLink *)n)->testexpr);
        walk_node(w, ((SubLink *)n)->subselect);
        break;
    case T_CaseExpr: {
        CaseExpr *c = (CaseExpr *)n;
        ListCell *lc;
        walk_node(w, (Node *)c->arg);
        foreach (lc, c->args) {
            CaseWhen *when = lfirst(lc);
            walk_node(w, (Node *)when->expr);
            walk_node(w, (Node *)when->result);
        }
        walk_node(w, (Node *)c->defresult);
        break;
    }
    case T_CoalesceExpr:
        walk_list(w, ((CoalesceExpr *)n)->args);
        break;
    case T_MinMaxExpr:
        walk_list(w, ((MinMaxExpr *)n)->args);
        break;
    case T_RowExpr:
        walk_list(w, ((RowExpr *)n)->args);
        break;
    case T_A_ArrayExpr:
        walk_list(w, ((A_ArrayExpr *)n)->elements);
        break;
    case T_TypeCast:
        walk_node(w, ((TypeCast *)n)->arg);
        break;
    case T_CollateClause:
        walk_node(w, ((CollateClause *)n)->arg);
        break;
    case T_SortBy:
        walk_node(w, ((SortBy *)n)->node);
        break;
    case T_WindowDef: {
        WindowDef *d = (WindowDef *)n;
        walk_list(w, d->partitionClause);
        walk_list(w, d->orderClause);
        walk_node(w, d->startOffset);
        walk_node(w, d->endOffset);
        break;
    }
    case T_GroupingSet:
        walk_list(w, ((GroupingSet *)n)->content);
        break;
    case T_GroupingFunc:
        walk_list(w, ((GroupingFunc *)n)->args);
        break;
    case T_A_Indirection:
        walk_node(w, ((A_Indirection *)n)->arg);
        walk_list(w, ((A_Indirection *)n)->indirection);
        break;
    case T_A_Indices:
        walk_node(w, ((A_Indices *)n)->lidx);
        walk_node(w, ((A_Indices *)n)->uidx);
        break;
    case T_NamedArgExpr:
        walk_node(w, (Node *)((NamedArgExpr *)n)->arg);
        break;
    case T_XmlExpr:
        walk_list(w, ((XmlExpr *)n)->named_args);
        walk_list(w, ((XmlExpr *)n)->args);
        break;
    case T_XmlSerialize:
        walk_node(w, ((XmlSerialize *)n)->expr);
        break;
    default:
        break; /* constants, column and parameter references, and what holds no expression */
    }
    w->depth--;
}

/* ---- statements -------------------------------------------------------------------------- */

/* DSQL's isolation rule on a BEGIN's or SET TRANSACTION's options (DefElem list). */
static void check_isolation(List *options, dsql_strict_stmt *out)
{
    ListCell *lc;
    foreach (lc, options) {
        DefElem *d = lfirst(lc);
        if (!IsA(d, DefElem) || strcmp(d->defname, "transaction_isolation") != 0)
            continue;
        const char *level = string_constant(d->arg);
        if (level != NULL && strcmp(level, "repeatable read") != 0) {
            char upper[32];
            size_t i = 0;
            for (; level[i] != '\0' && i < sizeof upper - 1; i++)
                upper[i] = (level[i] >= 'a' && level[i] <= 'z') ? (char)(level[i] - 32) : level[i];
            upper[i] = '\0';
            refuse(out, RULE_ISOLATION_LEVEL, upper);
        }
    }
}

static void classify_set(VariableSetStmt *s, dsql_strict_stmt *out)
{
    if (s->kind == VAR_RESET_ALL || s->name == NULL)
        return;
    if (strcmp(s->name, "TRANSACTION") == 0 || strcmp(s->name, "SESSION CHARACTERISTICS") == 0)
        check_isolation(s->args, out);
    if (!param_allowed(s->name))
        refuse(out, RULE_SET_PARAM, s->name);
}

static void classify_transaction(TransactionStmt *s, dsql_strict_stmt *out)
{
    switch (s->kind) {
    case TRANS_STMT_BEGIN:
    case TRANS_STMT_START:
        out->kind = DSQL_STRICT_BEGIN;
        check_isolation(s->options, out);
        break;
    case TRANS_STMT_COMMIT:
        out->kind = DSQL_STRICT_COMMIT;
        out->chain = s->chain;
        break;
    case TRANS_STMT_ROLLBACK:
        out->kind = DSQL_STRICT_ROLLBACK;
        out->chain = s->chain;
        break;
    case TRANS_STMT_SAVEPOINT:
        refuse(out, RULE_SAVEPOINT, NULL);
        break;
    case TRANS_STMT_RELEASE:
        refuse(out, RULE_RELEASE, NULL);
        break;
    case TRANS_STMT_ROLLBACK_TO:
        refuse(out, RULE_ROLLBACK_TO, NULL);
        break;
    default:
        break; /* two-phase commit: the backend refuses it (no prepared transactions) */
    }
}

static void classify_create_table(CreateStmt *s, dsql_strict_stmt *out)
{
    ListCell *lc;
    if (s->relation->relpersistence == RELPERSISTENCE_TEMP) {
        refuse(out, RULE_TEMP_TABLE, NULL);
        return;
    }
    if (s->relation->relpersistence == RELPERSISTENCE_UNLOGGED) {
        refuse(out, RULE_UNLOGGED_TABLE, NULL);
        return;
    }
    foreach (lc, s->tableElts)
        if (IsA(lfirst(lc), ColumnDef))
            check_create_column(lfirst(lc), out);
}

static void classify_alter_table(AlterTableStmt *s, int async, dsql_strict_stmt *out)
{
    ListCell *lc;
    if (s->objtype == OBJECT_TYPE) {
        refuse(out, RULE_ALTER_TYPE, NULL); /* ALTER TYPE ... ADD/DROP/ALTER ATTRIBUTE */
        return;
    }
    foreach (lc, s->cmds) {
        AlterTableCmd *c = lfirst(lc);
        switch (c->subtype) {
        case AT_AddColumn:
            if (c->def != NULL && IsA(c->def, ColumnDef))
                check_added_column((ColumnDef *)c->def, out);
            break;
        case AT_AlterColumnType:
            refuse(out, RULE_ALTER_COLUMN_TYPE, NULL);
            break;
        case AT_AddConstraint: {
            Constraint *k = (Constraint *)c->def;
            if (k == NULL || !IsA(k, Constraint))
                break;
            if (((k->contype == CONSTR_CHECK || k->contype == CONSTR_FOREIGN) &&
                 !k->skip_validation) ||
                ((k->contype == CONSTR_PRIMARY || k->contype == CONSTR_UNIQUE) &&
                 k->indexname == NULL) ||
                k->contype == CONSTR_EXCLUSION)
                refuse(out, RULE_ADD_CONSTRAINT, NULL);
            break;
        }
        case AT_ValidateConstraint:
            if (!async)
                refuse(out, RULE_VALIDATE_SYNC, NULL);
            else
                out->flags |= DSQL_STRICT_ASYNC_JOB;
            break;
        default:
            break;
        }
    }
}

static void classify_function(CreateFunctionStmt *s, dsql_strict_stmt *out)
{
    constant_read = 1; /* LANGUAGE 'x' may be a string */
    ListCell *lc;
    foreach (lc, s->options) {
        DefElem *d = lfirst(lc);
        if (!IsA(d, DefElem) || strcmp(d->defname, "language") != 0)
            continue;
        const char *lang = str_of(d->arg);
        if (lang != NULL && strcmp(lang, "sql") != 0)
            refuse(out, RULE_FUNCTION_LANGUAGE, lang);
    }
}

/* EXPLAIN runs its statement when ANALYZE is on. */
static int explain_analyzes(List *options)
{
    constant_read = 1; /* ANALYZE 0, ANALYZE 'off' */
    ListCell *lc;
    foreach (lc, options) {
        DefElem *d = lfirst(lc);
        if (!IsA(d, DefElem) || strcmp(d->defname, "analyze") != 0)
            continue;
        if (d->arg == NULL)
            return 1;
        if (IsA(d->arg, Integer))
            return intVal(d->arg) != 0;
        if (IsA(d->arg, Boolean))
            return boolVal(d->arg);
        const char *v = str_of(d->arg);
        return v == NULL ||
               !(strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0);
    }
    return 0;
}

/* Statements that change the schema: DSQL's one DDL per transaction, never with DML. */
static int is_ddl(NodeTag t)
{
    switch (t) {
    case T_CreateStmt:
    case T_CreateSchemaStmt:
    case T_ViewStmt:
    case T_IndexStmt:
    case T_CreateSeqStmt:
    case T_AlterSeqStmt:
    case T_CreateDomainStmt:
    case T_AlterDomainStmt:
    case T_CreateFunctionStmt:
    case T_AlterFunctionStmt:
    case T_CreateRoleStmt:
    case T_AlterRoleStmt:
    case T_AlterRoleSetStmt:
    case T_DropRoleStmt:
    case T_DropStmt:
    case T_AlterTableStmt:
    case T_RenameStmt:
    case T_AlterObjectSchemaStmt:
    case T_AlterOwnerStmt:
    case T_DefineStmt:
    case T_CreateEnumStmt:
    case T_AlterEnumStmt:
    case T_CompositeTypeStmt:
    case T_CreateRangeStmt:
    case T_CreateTrigStmt:
    case T_CreateExtensionStmt:
    case T_AlterExtensionStmt:
    case T_CreatePolicyStmt:
    case T_AlterPolicyStmt:
    case T_RuleStmt:
    case T_CreateStatsStmt:
    case T_AlterStatsStmt:
    case T_CreateCastStmt:
    case T_CreateTableAsStmt:
    case T_CreatedbStmt:
    case T_AlterDatabaseStmt:
    case T_AlterDatabaseSetStmt:
    case T_DropdbStmt:
    case T_CreateTableSpaceStmt:
    case T_DropTableSpaceStmt:
    case T_CreateForeignTableStmt:
    case T_AlterTypeStmt:
    case T_AlterCollationStmt:
    case T_CreateConversionStmt:
    case T_CreateEventTrigStmt:
    case T_AlterEventTrigStmt:
    case T_CreateOpClassStmt:
    case T_CreateOpFamilyStmt:
    case T_AlterOpFamilyStmt:
    case T_AlterDefaultPrivilegesStmt:
    case T_CreatePLangStmt:
    case T_DropOwnedStmt:
    case T_CreateTransformStmt:
    case T_CreateAmStmt:
    case T_AlterOperatorStmt:
    case T_AlterTSDictionaryStmt:
    case T_AlterTSConfigurationStmt:
    case T_CreateFdwStmt:
    case T_AlterFdwStmt:
    case T_CreateForeignServerStmt:
    case T_AlterForeignServerStmt:
    case T_CreateUserMappingStmt:
    case T_AlterUserMappingStmt:
    case T_DropUserMappingStmt:
    case T_CreatePublicationStmt:
    case T_AlterPublicationStmt:
    case T_CreateSubscriptionStmt:
    case T_AlterSubscriptionStmt:
    case T_DropSubscriptionStmt:
    case T_AlterTableMoveAllStmt:
    case T_AlterObjectDependsStmt:
    case T_ImportForeignSchemaStmt:
        return 1;
    default:
        return 0;
    }
}

static void classify_stmt(Node *n, int async, dsql_strict_stmt *out);

static void classify_explain(ExplainStmt *s, int async, dsql_strict_stmt *out)
{
    dsql_strict_stmt inner;
    memset(&inner, 0, sizeof inner);
    classify_stmt(s->query, async, &inner);
    if (inner.rejected && !out->rejected) {
        out->rejected = 1;
        out->error = inner.error;
    }
    if (explain_analyzes(s->options) && inner.kind == DSQL_STRICT_DML)
        out->kind = DSQL_STRICT_DML;
}

/* Classifies one statement's node into out (kind, flags, refusal). */
static void classify_stmt(Node *n, int async, dsql_strict_stmt *out)
{
    walk w = {.out = out};
    out->kind = is_ddl(nodeTag(n)) ? DSQL_STRICT_DDL : DSQL_STRICT_OTHER;
    switch (nodeTag(n)) {
    case T_TransactionStmt:
        classify_transaction((TransactionStmt *)n, out);
        break;
    case T_VariableSetStmt:
        classify_set((VariableSetStmt *)n, out);
        break;
    case T_VariableShowStmt: {
        const char *name = ((VariableShowStmt *)n)->name;
        if (name != NULL &&
            (strcasecmp(name, "lc_collate") == 0 || strcasecmp(name, "lc_ctype") == 0))
            refuse(out, RULE_SHOW_REMOVED, name);
        break;
    }
    case T_SelectStmt:
        if (((SelectStmt *)n)->intoClause != NULL)
            refuse(out, RULE_UNSUPPORTED_NODE, "CreateTableAs");
        walk_node(&w, n);
        break;
    case T_InsertStmt: {
        InsertStmt *s = (InsertStmt *)n;
        SelectStmt *v = (SelectStmt *)s->selectStmt;
        walk_node(&w, n);
        if (v != NULL && IsA(v, SelectStmt) && v->valuesLists != NIL && v->op == SETOP_NONE &&
            v->withClause == NULL && s->returningList == NIL && s->onConflictClause == NULL &&
            s->withClause == NULL) {
            out->flags |= DSQL_STRICT_INSERT_VALUES;
            out->values_rows = (unsigned)list_length(v->valuesLists);
        }
        break;
    }
    case T_UpdateStmt: {
        UpdateStmt *s = (UpdateStmt *)n;
        walk_node(&w, n);
        if (s->fromClause == NIL && s->returningList == NIL && s->withClause == NULL)
            out->flags |= DSQL_STRICT_UPDATE;
        break;
    }
    case T_DeleteStmt: {
        DeleteStmt *s = (DeleteStmt *)n;
        walk_node(&w, n);
        if (s->usingClause == NIL && s->returningList == NIL && s->withClause == NULL)
            out->flags |= DSQL_STRICT_DELETE;
        break;
    }
    case T_MergeStmt:
        walk_node(&w, n);
        break;
    case T_CopyStmt:
        if (((CopyStmt *)n)->is_from)
            w.dml = 1;
        walk_node(&w, ((CopyStmt *)n)->query);
        break;
    case T_ExplainStmt:
        classify_explain((ExplainStmt *)n, async, out);
        break;
    case T_CallStmt:
        walk_node(&w, (Node *)((CallStmt *)n)->funccall);
        break;
    case T_ViewStmt:
        walk_node(&w, ((ViewStmt *)n)->query);
        w.dml = 0;
        break;
    case T_CreateStmt:
        classify_create_table((CreateStmt *)n, out);
        break;
    case T_AlterTableStmt:
        classify_alter_table((AlterTableStmt *)n, async, out);
        break;
    case T_CreateSeqStmt:
        if (!cache_ok(cache_option(((CreateSeqStmt *)n)->options)))
            refuse(out, RULE_SEQUENCE_CACHE, NULL);
        break;
    case T_IndexStmt:
        if (((IndexStmt *)n)->concurrent)
            refuse(out, RULE_INDEX_CONCURRENTLY, NULL);
        else if (!async)
            refuse(out, RULE_INDEX_SYNC, NULL);
        else
            out->flags |= DSQL_STRICT_ASYNC_JOB;
        break;
    case T_CreateFunctionStmt:
        classify_function((CreateFunctionStmt *)n, out);
        break;
    case T_CreateEnumStmt:
        refuse(out, RULE_CREATE_TYPE, NULL);
        break;
    case T_DefineStmt:
        if (((DefineStmt *)n)->kind == OBJECT_TYPE)
            refuse(out, RULE_CREATE_TYPE, NULL);
        break;
    case T_AlterEnumStmt:
        refuse(out, RULE_ALTER_TYPE, NULL);
        break;
    case T_RenameStmt:
        if (((RenameStmt *)n)->renameType == OBJECT_TYPE)
            refuse(out, RULE_RENAME_TYPE, NULL);
        break;
    case T_DropStmt:
        if (((DropStmt *)n)->removeType == OBJECT_TYPE)
            refuse(out, RULE_DROP_TYPE, NULL);
        break;
    case T_CompositeTypeStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CompositeType");
        break;
    case T_CreateRangeStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CreateRange");
        break;
    case T_TruncateStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "Truncate");
        break;
    case T_CreateExtensionStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CreateExtension");
        break;
    case T_CreatedbStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "Createdb");
        break;
    case T_CreateTableAsStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CreateTableAs");
        break;
    case T_CreateTableSpaceStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CreateTableSpace");
        break;
    case T_CreateForeignTableStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "CreateForeignTable");
        break;
    case T_ListenStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "Listen");
        break;
    case T_NotifyStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "Notify");
        break;
    case T_UnlistenStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "Unlisten");
        break;
    case T_AlterSystemStmt:
        refuse(out, RULE_UNSUPPORTED_NODE, "AlterSystem");
        break;
    case T_LockStmt:
        refuse(out, RULE_LOCK, NULL);
        break;
    case T_PrepareStmt:
        refuse(out, RULE_PREPARE, NULL);
        break;
    case T_DeclareCursorStmt:
        refuse(out, RULE_DECLARE_CURSOR, NULL);
        break;
    case T_VacuumStmt:
        if (((VacuumStmt *)n)->is_vacuumcmd)
            refuse(out, RULE_VACUUM, NULL);
        break;
    case T_CreateTrigStmt:
        refuse(out, RULE_CREATE_TRIGGER, NULL);
        break;
    default:
        break;
    }
    if (w.dml)
        out->kind = DSQL_STRICT_DML;
    if (w.locking)
        out->flags |= DSQL_STRICT_LOCKING;
}

int sqltree_parse(const char *text, size_t len, const size_t *async_offs, size_t nasync,
                  dsql_strict_stmt **out, size_t *n)
{
    int rc = -1;
    dsql_strict_stmt *stmts = NULL;
    size_t count = 0;
    MemoryContext ctx = pg_query_enter_memory_context();
    PgQueryInternalParsetreeAndError r = pg_query_raw_parse(text);
    *out = NULL;
    *n = 0;
    if (r.error != NULL) {
        rc = 1;
        goto out;
    }
    stmts = calloc((size_t)list_length(r.tree) + 1, sizeof *stmts);
    if (stmts == NULL)
        goto out;
    ListCell *lc;
    foreach (lc, r.tree) {
        RawStmt *raw = lfirst(lc);
        dsql_strict_stmt *st = &stmts[count++];
        size_t off = raw->stmt_location > 0 ? (size_t)raw->stmt_location : 0;
        size_t slen = raw->stmt_len > 0 ? (size_t)raw->stmt_len : len - off;
        int async = 0;
        st->off = off;
        st->len = slen;
        for (size_t i = 0; i < nasync; i++) {
            if (async_offs[i] >= off && async_offs[i] < off + slen) {
                async = 1;
                st->async_off = async_offs[i];
                st->async_len = 5;
            }
        }
        constant_read = 0;
        classify_stmt(raw->stmt, async, st);
        if (constant_read)
            st->flags |= DSQL_STRICT_READS_CONSTANT;
        if (st->rejected)
            st->kind = DSQL_STRICT_OTHER;
    }
    *out = stmts;
    *n = count;
    stmts = NULL;
    rc = 0;
out:
    if (r.error != NULL)
        pg_query_free_error(r.error);
    free(r.stderr_buffer);
    free(stmts);
    pg_query_exit_memory_context(ctx);
    return rc;
}
