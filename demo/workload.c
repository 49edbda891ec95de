/* SPDX-License-Identifier: MIT */
/* workload.c: the pet clinic mix from N threads: pools, prepared statements, stats, summary. */
#include "workload.h"

#include "histogram.h"
#include "schema.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t pc_workload_stop = 0;

/* ---- the mix ----------------------------------------------------------------------------- */

/* Pool rows get ids computed from their number, so that the demo and pgbench scripts can pick
 * one with a random integer and no lookup. The same expressions seed the pools. */
#define OWNER_ID(n) "('00000000-0000-4000-8000-' || lpad((" n ")::text, 12, '0'))::uuid"
#define VET_ID(n) "('00000000-0000-4000-9000-' || lpad((" n ")::text, 12, '0'))::uuid"
#define PET_ID(n) "('00000000-0000-4000-a000-' || lpad((" n ")::text, 12, '0'))::uuid"
#define SPECIALTIES "ARRAY['Anesthesia', 'Cardiology', 'Dentistry', 'Dermatology', 'Surgery']"
#define N_SPECIALTIES 5
#define N_VETS 10
#define POOL_BATCH 500 /* owners per seeding transaction: 500 owners + 1000 pets < 3000 rows */

#define MAX_VARS 4
#define MAX_STMTS 2
#define MAX_PARAMS 8
#define POOL_SIZE (-1) /* as the upper bound of a variable: the owner pool size */

struct wl_var {
    const char *name;
    long lo, hi; /* \set name random(lo, hi) */
};

struct wl_stmt {
    const char *sql;  /* with :name placeholders */
    const char *gset; /* keep the first row's only column under this name (pgbench \gset) */
    long rows;        /* rows it must return (or change, for DML without RETURNING) */
};

struct wl_kind {
    const char *name;
    int weight;
    struct wl_var vars[MAX_VARS];
    struct wl_stmt stmts[MAX_STMTS];
};

/* clang-format off */
static const struct wl_kind kinds[] = {
    {"register", 20,
     {{"n", 1, 999999999}},
     {{"INSERT INTO owner (name, city, telephone) VALUES ('Owner ' || :n, 'Anytown', "
       "'555-' || lpad((:n % 10000000)::text, 7, '0')) RETURNING id AS owner_id",
       "owner_id", 1},
      {"INSERT INTO pet (name, birth_date, owner_id) VALUES "
       "('Pet ' || :n || '-1', DATE '2010-01-01' + :n % 4000, :owner_id), "
       "('Pet ' || :n || '-2', DATE '2012-06-01' + :n % 3000, :owner_id)",
       NULL, 2}}},
    {"book", 20,
     {{"v", 1, N_VETS}, {"s", 1, N_SPECIALTIES}},
     {{"SELECT name FROM vet WHERE id = " VET_ID(":v"), NULL, 1},
      {"INSERT INTO \"vetSpecialties\" (vet_id, specialty_id) VALUES (" VET_ID(":v") ", "
       "(" SPECIALTIES ")[:s])",
       NULL, 1}}},
    {"read", 40,
     {{"o", 1, POOL_SIZE}},
     {{"SELECT o.name, o.telephone, p.name, p.birth_date FROM owner o "
       "JOIN pet p ON p.owner_id = o.id WHERE o.id = " OWNER_ID(":o") " ORDER BY p.name",
       NULL, 2}}},
    {"phone", 20,
     {{"o", 1, POOL_SIZE}, {"p", 0, 9999999}},
     {{"UPDATE owner SET telephone = '555-' || lpad((:p)::text, 7, '0') "
       "WHERE id = " OWNER_ID(":o"),
       NULL, 1}}},
};
/* clang-format on */
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

static long var_hi(const struct wl_var *v, const pc_workload_opts *o)
{
    return v->hi == POOL_SIZE ? o->owners : v->hi;
}

/* ---- templates ----------------------------------------------------------------------------- */

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

int pc_template_compile(const char *tmpl, char *sql, size_t size, char (*names)[32], int max_params)
{
    size_t out = 0;
    int n = 0;
    for (const char *p = tmpl; *p;) {
        if (*p == ':' && p[1] == ':') { /* a cast: copy every colon of the run */
            while (*p == ':') {
                if (out + 1 >= size)
                    return -1;
                sql[out++] = *p++;
            }
            continue;
        }
        if (*p == ':' && is_name_char(p[1])) {
            const char *name = ++p;
            while (is_name_char(*p))
                p++;
            size_t len = (size_t)(p - name);
            if (n >= max_params || len >= sizeof names[0])
                return -1;
            memcpy(names[n], name, len);
            names[n][len] = '\0';
            int w = snprintf(sql + out, size - out, "$%d", ++n);
            if (w < 0 || (size_t)w >= size - out)
                return -1;
            out += (size_t)w;
            continue;
        }
        if (out + 1 >= size)
            return -1;
        sql[out++] = *p++;
    }
    if (out >= size)
        return -1;
    sql[out] = '\0';
    return n;
}

/* A statement ready for PQprepare and the variable slot behind each parameter. Slots are the
 * kind's vars first, then the gset names of its statements. */
struct compiled_stmt {
    char name[24];
    char sql[768];
    int nparams;
    int slot[MAX_PARAMS];
};

struct compiled_kind {
    const struct wl_kind *k;
    int nstmts;
    int nslots;
    const char *slot_name[MAX_VARS + MAX_STMTS];
    struct compiled_stmt stmts[MAX_STMTS];
};

static int compile_kind(const struct wl_kind *k, int index, struct compiled_kind *ck)
{
    memset(ck, 0, sizeof *ck);
    ck->k = k;
    for (int v = 0; v < MAX_VARS && k->vars[v].name; v++)
        ck->slot_name[ck->nslots++] = k->vars[v].name;
    for (int s = 0; s < MAX_STMTS && k->stmts[s].sql; s++) {
        struct compiled_stmt *cs = &ck->stmts[s];
        char names[MAX_PARAMS][32];
        cs->nparams =
            pc_template_compile(k->stmts[s].sql, cs->sql, sizeof cs->sql, names, MAX_PARAMS);
        if (cs->nparams < 0) {
            fprintf(stderr, "petclinic: workload %s: statement %d too long\n", k->name, s + 1);
            return -1;
        }
        for (int p = 0; p < cs->nparams; p++) {
            cs->slot[p] = -1;
            for (int i = 0; i < ck->nslots; i++)
                if (strcmp(names[p], ck->slot_name[i]) == 0)
                    cs->slot[p] = i;
            if (cs->slot[p] < 0) {
                fprintf(stderr, "petclinic: workload %s: unknown variable :%s\n", k->name,
                        names[p]);
                return -1;
            }
        }
        snprintf(cs->name, sizeof cs->name, "petclinic_%d_%d", index, s);
        if (k->stmts[s].gset)
            ck->slot_name[ck->nslots++] = k->stmts[s].gset;
        ck->nstmts++;
    }
    return 0;
}

/* ---- shared state and clients -------------------------------------------------------------- */

struct shared {
    const pc_workload_opts *o;
    struct compiled_kind kinds[N_KINDS];
    int total_weight;

    pthread_mutex_t lock; /* guards ready, go and first_error */
    pthread_cond_t changed;
    int ready; /* clients that have made their first connection attempt */
    int go;    /* set once all are ready: the clock starts */
    char first_error[400];

    atomic_int running; /* clients still in their loop */
    atomic_bool stop;
    atomic_long claimed; /* transactions handed out (with --transactions) */
    atomic_long done;    /* committed */
    atomic_long errors;
    atomic_long retries;
    atomic_long connections;
};

struct client {
    struct shared *sh;
    pthread_t thread;
    pc_rng rng;
    PGconn *conn;
    unsigned prepared; /* bit (kind * MAX_STMTS + stmt) set once prepared on conn */
    long since_connect;

    /* Results, read by the main thread after join. */
    pc_hist latency[N_KINDS];
    pc_hist connect_latency;
    long conflicts[PC_CONFLICT_KINDS];
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void note_error(struct shared *sh, const char *kind, const char *message,
                       const char *sqlstate)
{
    atomic_fetch_add_explicit(&sh->errors, 1, memory_order_relaxed);
    pthread_mutex_lock(&sh->lock);
    if (!sh->first_error[0]) {
        int n = snprintf(sh->first_error, sizeof sh->first_error, "%s: %s", kind, message);
        if (n > 0 && sqlstate && *sqlstate && (size_t)n + 20 < sizeof sh->first_error)
            snprintf(sh->first_error + n, sizeof sh->first_error - (size_t)n, " (SQLSTATE %s)",
                     sqlstate);
    }
    pthread_mutex_unlock(&sh->lock);
}

/* (Re)connects; gives up after a few failures in a row. Returns 0 when connected. */
static int client_connect(struct client *c)
{
    char err[400];
    PQfinish(c->conn);
    c->conn = NULL;
    c->prepared = 0;
    c->since_connect = 0;
    for (int tries = 0; tries < 5 && !atomic_load(&c->sh->stop); tries++) {
        uint64_t t0 = now_us();
        c->conn = pc_connect(&c->sh->o->conn, err, sizeof err);
        if (c->conn) {
            pc_hist_add(&c->connect_latency, now_us() - t0);
            atomic_fetch_add_explicit(&c->sh->connections, 1, memory_order_relaxed);
            return 0;
        }
        note_error(c->sh, "connect", err, NULL);
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return -1;
}

/* What one transaction of a kind works with: its variables, generated before the first try so
 * that a retry repeats the same transaction (as pgbench does), and gset results. */
struct txn_vars {
    struct client *c;
    const struct compiled_kind *ck;
    int kind;
    char value[MAX_VARS + MAX_STMTS][48];
};

static int run_kind(pc_txn *t, void *arg)
{
    struct txn_vars *tv = arg;
    struct client *c = tv->c;
    const struct compiled_kind *ck = tv->ck;

    for (int s = 0; s < ck->nstmts; s++) {
        const struct compiled_stmt *cs = &ck->stmts[s];
        const struct wl_stmt *ws = &ck->k->stmts[s];
        unsigned bit = 1u << (tv->kind * MAX_STMTS + s);

        /* Prepared once per connection, on first use (statements survive rollbacks). */
        if (!(c->prepared & bit)) {
            PGresult *res = PQprepare(t->conn, cs->name, cs->sql, cs->nparams, NULL);
            int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) {
                pc_txn_record(t, res);
                PQclear(res);
                return t->status;
            }
            PQclear(res);
            c->prepared |= bit;
        }

        const char *values[MAX_PARAMS];
        for (int p = 0; p < cs->nparams; p++)
            values[p] = tv->value[cs->slot[p]];
        PGresult *res = pc_exec_prepared(t, cs->name, cs->nparams, values);
        if (!res)
            return t->status;

        long rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res)
                                                           : strtol(PQcmdTuples(res), NULL, 10);
        int rc = PC_OK;
        if (rows != ws->rows)
            rc =
                pc_txn_fail(t, "statement %d: expected %ld row(s), got %ld", s + 1, ws->rows, rows);
        else if (ws->gset) {
            int slot = 0;
            while (strcmp(ck->slot_name[slot], ws->gset) != 0)
                slot++;
            snprintf(tv->value[slot], sizeof tv->value[slot], "%s", PQgetvalue(res, 0, 0));
        }
        PQclear(res);
        if (rc != PC_OK)
            return rc;
    }
    return PC_OK;
}

static int pick_kind(struct client *c)
{
    long r = pc_rng_range(&c->rng, 0, c->sh->total_weight - 1);
    for (int k = 0; k < N_KINDS; k++) {
        if (r < kinds[k].weight)
            return k;
        r -= kinds[k].weight;
    }
    return N_KINDS - 1;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct shared *sh = c->sh;
    const pc_workload_opts *o = sh->o;

    int connected = client_connect(c) == 0;
    pthread_mutex_lock(&sh->lock);
    sh->ready++;
    pthread_cond_broadcast(&sh->changed);
    while (!sh->go)
        pthread_cond_wait(&sh->changed, &sh->lock);
    pthread_mutex_unlock(&sh->lock);

    while (connected && !atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        if (o->transactions > 0 &&
            atomic_fetch_add_explicit(&sh->claimed, 1, memory_order_relaxed) >= o->transactions)
            break;
        if (o->reconnect_every > 0 && c->since_connect >= o->reconnect_every &&
            client_connect(c) != 0)
            break;

        struct txn_vars tv = {.c = c, .kind = pick_kind(c)};
        tv.ck = &sh->kinds[tv.kind];
        for (int v = 0; v < MAX_VARS && kinds[tv.kind].vars[v].name; v++) {
            const struct wl_var *wv = &kinds[tv.kind].vars[v];
            snprintf(tv.value[v], sizeof tv.value[v], "%ld",
                     pc_rng_range(&c->rng, wv->lo, var_hi(wv, o)));
        }

        pc_txn t;
        uint64_t t0 = now_us();
        int rc = pc_txn_run(c->conn, &o->policy, &c->rng, run_kind, &tv, &t);
        uint64_t elapsed = now_us() - t0;
        c->since_connect++;

        for (int i = 0; i < PC_CONFLICT_KINDS; i++)
            c->conflicts[i] += t.conflicts[i];
        atomic_fetch_add_explicit(&sh->retries, t.attempt, memory_order_relaxed);
        if (rc == PC_OK) {
            pc_hist_add(&c->latency[tv.kind], elapsed);
            atomic_fetch_add_explicit(&sh->done, 1, memory_order_relaxed);
            continue;
        }
        note_error(sh, kinds[tv.kind].name, t.message, t.sqlstate);
        if (rc == PC_BROKEN && client_connect(c) != 0)
            break;
    }
    PQfinish(c->conn);
    c->conn = NULL;
    atomic_fetch_sub(&sh->running, 1);
    return NULL;
}

/* ---- set-up: schema and pools ------------------------------------------------------------- */

struct pool_batch {
    long lo, hi;
};

static int seed_owner_batch(pc_txn *t, void *arg)
{
    const struct pool_batch *b = arg;
    char lo[24], hi[24];
    snprintf(lo, sizeof lo, "%ld", b->lo);
    snprintf(hi, sizeof hi, "%ld", b->hi);
    const char *range[] = {lo, hi};

    PGresult *res =
        pc_exec(t,
                "INSERT INTO owner (id, name, city, telephone) "
                "SELECT " OWNER_ID("g") ", 'Pool owner ' || g, 'Anytown', "
                                        "'555-0000000' FROM generate_series($1::int, $2::int) g "
                                        "ON CONFLICT (id) DO NOTHING",
                2, range);
    if (!res)
        return t->status;
    PQclear(res);
    res = pc_exec(t,
                  "INSERT INTO pet (id, name, birth_date, owner_id) "
                  "SELECT " PET_ID("g * 2 + k") ", 'Pool pet ' || g || '-' || k, "
                                                "DATE '2015-01-01' + (g * 2 + k) % 3000, " OWNER_ID(
                                                    "g") " "
                                                         "FROM generate_series($1::int, $2::int) "
                                                         "g, generate_series(0, 1) k "
                                                         "ON CONFLICT (id) DO NOTHING",
                  2, range);
    if (!res)
        return t->status;
    PQclear(res);
    return PC_OK;
}

static int seed_vets(pc_txn *t, void *arg)
{
    (void)arg;
    PGresult *res = pc_exec(t,
                            "INSERT INTO specialty (name) SELECT unnest(" SPECIALTIES ") "
                            "ON CONFLICT (name) DO NOTHING",
                            0, NULL);
    if (!res)
        return t->status;
    PQclear(res);
    char n[16];
    snprintf(n, sizeof n, "%d", N_VETS);
    res = pc_exec(t,
                  "INSERT INTO vet (id, name) SELECT " VET_ID(
                      "g") ", 'Vet ' || g "
                           "FROM generate_series(1, $1::int) g ON CONFLICT (id) DO NOTHING",
                  1, (const char *[]){n});
    if (!res)
        return t->status;
    PQclear(res);
    return PC_OK;
}

/* Whether the last pool owner already has both pets: batches commit in order, so then the
 * whole pool is there. */
static int pool_complete(pc_txn *t, void *arg)
{
    long *complete = arg;
    char n[24];
    snprintf(n, sizeof n, "%ld", *complete);
    PGresult *res = pc_exec(t, "SELECT count(*) FROM pet WHERE owner_id = " OWNER_ID("$1::int"), 1,
                            (const char *[]){n});
    if (!res)
        return t->status;
    *complete = strcmp(PQgetvalue(res, 0, 0), "2") == 0;
    PQclear(res);
    return PC_OK;
}

static int set_up(const pc_workload_opts *o, FILE *progress)
{
    char err[400];
    pc_rng rng;
    pc_txn t;
    long retries = 0;
    int rc;

    pc_rng_seed(&rng, 0);
    PGconn *conn = pc_connect(&o->conn, err, sizeof err);
    if (!conn) {
        fprintf(stderr, "petclinic: connect: %s\n", err);
        return 1;
    }
    if (pc_schema_ensure(conn, &o->policy, &rng, NULL, &retries) != PC_OK) { /* said why */
        PQfinish(conn);
        return 1;
    }
    rc = pc_txn_run(conn, &o->policy, &rng, seed_vets, NULL, &t);
    long complete = o->owners;
    if (rc == PC_OK)
        rc = pc_txn_run(conn, &o->policy, &rng, pool_complete, &complete, &t);
    if (rc == PC_OK && !complete) {
        if (progress)
            fprintf(progress, "seeding %ld pool owners with two pets each\n", o->owners);
        for (long lo = 1; lo <= o->owners && rc == PC_OK; lo += POOL_BATCH) {
            struct pool_batch b = {lo, lo + POOL_BATCH - 1 < o->owners ? lo + POOL_BATCH - 1
                                                                       : o->owners};
            rc = pc_txn_run(conn, &o->policy, &rng, seed_owner_batch, &b, &t);
        }
    }
    if (rc != PC_OK)
        fprintf(stderr, "petclinic: workload set-up: %s%s%s%s\n", t.message,
                t.sqlstate[0] ? " (SQLSTATE " : "", t.sqlstate, t.sqlstate[0] ? ")" : "");
    PQfinish(conn);
    return rc == PC_OK ? 0 : 1;
}

/* ---- progress and summary ------------------------------------------------------------------ */

static void print_progress(FILE *f, int tty, double elapsed, long done, double rate, long retries,
                           long errors, long connections)
{
    fprintf(f, "%s%7.1f s %10ld tx %9.1f tx/s   retries %ld   errors %ld   connections %ld%s",
            tty ? "\r" : "", elapsed, done, rate, retries, errors, connections,
            tty ? "\033[K" : "\n");
    fflush(f);
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_latency(FILE *f, const pc_hist *h)
{
    fprintf(f, "{\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"max\": %.3f, \"mean\": %.3f}",
            ms(pc_hist_percentile(h, 50)), ms(pc_hist_percentile(h, 95)),
            ms(pc_hist_percentile(h, 99)), ms(h->max), h->count ? ms(h->sum / h->count) : 0.0);
}

struct totals {
    double elapsed;
    long done, errors, retries, connections;
    long conflicts[PC_CONFLICT_KINDS];
    pc_hist all, connect, kind[N_KINDS];
};

static void write_json(FILE *f, const pc_workload_opts *o, const struct totals *tt,
                       const char *first_error)
{
    fprintf(f, "{\n  \"clients\": %d,\n  \"elapsed_s\": %.3f,\n", o->clients, tt->elapsed);
    fprintf(f, "  \"reconnect_every\": %ld,\n  \"owners\": %ld,\n", o->reconnect_every, o->owners);
    fprintf(f, "  \"transactions\": %ld,\n  \"throughput_tps\": %.1f,\n", tt->done,
            tt->elapsed > 0 ? (double)tt->done / tt->elapsed : 0.0);
    fprintf(f, "  \"errors\": %ld,\n  \"first_error\": ", tt->errors);
    if (first_error[0])
        json_string(f, first_error);
    else
        fputs("null", f);
    fprintf(f, ",\n  \"retries\": %ld,\n", tt->retries);
    fprintf(f, "  \"conflicts\": {\"OC000\": %ld, \"OC001\": %ld, \"other_40001\": %ld},\n",
            tt->conflicts[PC_OC000], tt->conflicts[PC_OC001], tt->conflicts[PC_40001]);
    fprintf(f, "  \"connections\": %ld,\n  \"connect_ms\": ", tt->connections);
    json_latency(f, &tt->connect);
    fputs(",\n  \"latency_ms\": ", f);
    json_latency(f, &tt->all);
    fputs(",\n  \"kinds\": {", f);
    for (int k = 0; k < N_KINDS; k++) {
        fprintf(f,
                "%s\n    \"%s\": {\"weight\": %d, \"count\": %llu, \"latency_ms\": ", k ? "," : "",
                kinds[k].name, kinds[k].weight, (unsigned long long)tt->kind[k].count);
        json_latency(f, &tt->kind[k]);
        fputc('}', f);
    }
    fputs("\n  }\n}\n", f);
}

static void write_text(FILE *f, const pc_workload_opts *o, const struct totals *tt,
                       const char *first_error)
{
    fprintf(f, "Workload: %d client%s, %.1f s, ", o->clients, o->clients == 1 ? "" : "s",
            tt->elapsed);
    if (o->reconnect_every > 0)
        fprintf(f, "new connection every %ld transactions, ", o->reconnect_every);
    else
        fputs("one connection per client, ", f);
    fprintf(f, "owner pool %ld\n", o->owners);
    fprintf(f, "  transactions  %ld committed, %.1f per second; errors %ld\n", tt->done,
            tt->elapsed > 0 ? (double)tt->done / tt->elapsed : 0.0, tt->errors);
    if (first_error[0])
        fprintf(f, "  first error   %s\n", first_error);
    fprintf(f, "  retries       %ld (conflicts: OC000 %ld, OC001 %ld, other 40001 %ld)\n",
            tt->retries, tt->conflicts[PC_OC000], tt->conflicts[PC_OC001], tt->conflicts[PC_40001]);
    fprintf(f, "  connections   %ld, connect p50 %.2f ms, p99 %.2f ms\n", tt->connections,
            ms(pc_hist_percentile(&tt->connect, 50)), ms(pc_hist_percentile(&tt->connect, 99)));
    fprintf(f, "  latency       p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
            ms(pc_hist_percentile(&tt->all, 50)), ms(pc_hist_percentile(&tt->all, 95)),
            ms(pc_hist_percentile(&tt->all, 99)), ms(tt->all.max));
    fprintf(f, "  %-12s %9s %9s %9s %9s   (ms)\n", "kind", "count", "p50", "p95", "p99");
    for (int k = 0; k < N_KINDS; k++)
        fprintf(f, "  %-12s %9llu %9.2f %9.2f %9.2f\n", kinds[k].name,
                (unsigned long long)tt->kind[k].count, ms(pc_hist_percentile(&tt->kind[k], 50)),
                ms(pc_hist_percentile(&tt->kind[k], 95)), ms(pc_hist_percentile(&tt->kind[k], 99)));
}

/* ---- the run ------------------------------------------------------------------------------- */

static int compile_all(struct shared *sh)
{
    for (int k = 0; k < N_KINDS; k++) {
        if (compile_kind(&kinds[k], k, &sh->kinds[k]) != 0)
            return -1;
        sh->total_weight += kinds[k].weight;
    }
    return 0;
}

/* Sleeps msec milliseconds, or less when a signal asks the run to stop. */
static void nap_ms(long msec)
{
    struct timespec ts = {msec / 1000, (msec % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !pc_workload_stop)
        ;
}

int pc_workload_run(const pc_workload_opts *o, FILE *out, FILE *progress)
{
    struct shared *sh = calloc(1, sizeof *sh);
    struct client *clients = calloc((size_t)o->clients, sizeof *clients);
    struct totals *tt = calloc(1, sizeof *tt);
    int rc = 1;
    int started = 0;

    if (!sh || !clients || !tt) {
        fprintf(stderr, "petclinic: out of memory\n");
        goto out;
    }
    sh->o = o;
    pthread_mutex_init(&sh->lock, NULL);
    pthread_cond_init(&sh->changed, NULL);
    if (compile_all(sh) != 0 || set_up(o, progress) != 0)
        goto out;

    for (int i = 0; i < o->clients; i++) {
        clients[i].sh = sh;
        pc_rng_seed(&clients[i].rng, 0);
        atomic_fetch_add(&sh->running, 1);
        int err = pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
        if (err != 0) {
            atomic_fetch_sub(&sh->running, 1);
            fprintf(stderr, "petclinic: cannot start client thread %d: %s\n", i, strerror(err));
            break;
        }
        started++;
    }
    /* The clock starts once every client has connected (or failed to), as pgbench's does. */
    pthread_mutex_lock(&sh->lock);
    while (sh->ready < started)
        pthread_cond_wait(&sh->changed, &sh->lock);
    sh->go = 1;
    pthread_cond_broadcast(&sh->changed);
    pthread_mutex_unlock(&sh->lock);

    uint64_t t0 = now_us(), last_tick = t0;
    long last_done = 0;
    int tty = progress && isatty(fileno(progress));
    while (atomic_load(&sh->running) > 0) {
        nap_ms(50);
        uint64_t now = now_us();
        double elapsed = (double)(now - t0) / 1e6;
        long done = atomic_load(&sh->done);
        if (pc_workload_stop || (o->transactions == 0 && elapsed >= o->duration_s))
            atomic_store(&sh->stop, true);
        if (progress && o->progress_s > 0 && (double)(now - last_tick) / 1e6 >= o->progress_s) {
            double rate = (double)(done - last_done) / ((double)(now - last_tick) / 1e6);
            print_progress(progress, tty, elapsed, done, rate, atomic_load(&sh->retries),
                           atomic_load(&sh->errors), atomic_load(&sh->connections));
            last_tick = now;
            last_done = done;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(clients[i].thread, NULL);
    tt->elapsed = (double)(now_us() - t0) / 1e6;
    if (tty && o->progress_s > 0)
        fputs("\r\033[K", progress);

    tt->done = atomic_load(&sh->done);
    tt->errors = atomic_load(&sh->errors);
    tt->retries = atomic_load(&sh->retries);
    tt->connections = atomic_load(&sh->connections);
    for (int i = 0; i < started; i++) {
        for (int k = 0; k < N_KINDS; k++) {
            pc_hist_merge(&tt->kind[k], &clients[i].latency[k]);
            pc_hist_merge(&tt->all, &clients[i].latency[k]);
        }
        pc_hist_merge(&tt->connect, &clients[i].connect_latency);
        for (int j = 0; j < PC_CONFLICT_KINDS; j++)
            tt->conflicts[j] += clients[i].conflicts[j];
    }
    if (o->json)
        write_json(out, o, tt, sh->first_error);
    else
        write_text(out, o, tt, sh->first_error);
    rc = (tt->errors == 0 && started == o->clients && tt->done > 0) ? 0 : 1;

out:
    if (sh && clients && tt) { /* the lock and condition were initialised */
        pthread_cond_destroy(&sh->changed);
        pthread_mutex_destroy(&sh->lock);
    }
    free(tt);
    free(clients);
    free(sh);
    return rc;
}

/* ---- pgbench scripts ------------------------------------------------------------------------ */

int pc_workload_write_pgbench(const pc_workload_opts *o, const char *dir, FILE *out)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "petclinic: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (int k = 0; k < N_KINDS; k++) {
        const struct wl_kind *wk = &kinds[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/petclinic-%s.sql", dir, wk->name);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "petclinic: %s: %s\n", path, strerror(errno));
            return 1;
        }
        fprintf(f,
                "-- petclinic workload, transaction \"%s\" (weight %d), written by\n"
                "-- petclinic --pgbench-scripts: the SQL petclinic --workload sends, with\n"
                "-- pgbench variables where it binds parameters. Run with -M prepared.\n",
                wk->name, wk->weight);
        for (int v = 0; v < MAX_VARS && wk->vars[v].name; v++)
            fprintf(f, "\\set %s random(%ld, %ld)\n", wk->vars[v].name, wk->vars[v].lo,
                    var_hi(&wk->vars[v], o));
        fputs("BEGIN;\n", f);
        for (int s = 0; s < MAX_STMTS && wk->stmts[s].sql; s++)
            fprintf(f, "%s%s\n", wk->stmts[s].sql, wk->stmts[s].gset ? " \\gset" : ";");
        fputs("COMMIT;\n", f);
        if (fclose(f) != 0) {
            fprintf(stderr, "petclinic: %s: %s\n", path, strerror(errno));
            return 1;
        }
        fprintf(out, "%s-f %s@%d", k ? " " : "", path, wk->weight);
    }
    fputc('\n', out);
    return 0;
}
