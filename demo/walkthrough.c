/* SPDX-License-Identifier: MIT */
/* walkthrough.c: the seed's walk-through in plain SQL: write, read back, compare, clean up. */
#include "walkthrough.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ID_LEN 37 /* a UUID in text form and its NUL */

/* What the walk-through wrote (ids returned by the server) and what it read back. The
 * bodies fill it and may run more than once (retries); printing happens after commit. */
struct walk {
    PGconn *conn;
    const pc_retry_policy *policy;
    pc_rng *rng;
    FILE *out;
    pc_walk_totals *totals;
    int retries_of_step; /* retries made by the last step */

    char john[ID_LEN], mary[ID_LEN], pet1[ID_LEN], pet2[ID_LEN];
    char akua[ID_LEN], carlos[ID_LEN];
    char specialties_akua[64], specialties_carlos[64];
};

/* The seed's data. */
#define JOHN "John Doe"
#define MARY "Mary Major"
#define CITY "Anytown"
#define MARY_PHONE "555-555-0123"
#define MARY_NEW_PHONE "555-555-0199"
#define PET1 "Pet-1"
#define PET1_BORN "2006-10-25"
#define PET2 "Pet-2"
#define PET2_BORN "2021-07-23"
#define AKUA "Akua Mansa"
#define CARLOS "Carlos Salazar"

static void say(const struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct walk *w, const char *fmt, ...)
{
    if (!w->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
}

/* ---- checks, each recording a PC_CHECK failure in the transaction ---------------------- */

static const char *value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int expect_rows(pc_txn *t, const PGresult *res, int want, const char *what)
{
    if (PQntuples(res) == want)
        return PC_OK;
    return pc_txn_fail(t, "%s: expected %d row(s), got %d", what, want, PQntuples(res));
}

/* want NULL means SQL NULL. */
static int expect_text(pc_txn *t, const char *got, const char *want, const char *what)
{
    if ((!got && !want) || (got && want && strcmp(got, want) == 0))
        return PC_OK;
    return pc_txn_fail(t, "%s: expected %s%s%s, got %s%s%s", what, want ? "\"" : "",
                       want ? want : "NULL", want ? "\"" : "", got ? "\"" : "", got ? got : "NULL",
                       got ? "\"" : "");
}

static int expect_changed(pc_txn *t, PGresult *res, long want, const char *what)
{
    long got = strtol(PQcmdTuples(res), NULL, 10);
    if (got == want)
        return PC_OK;
    return pc_txn_fail(t, "%s: expected %ld row(s) changed, got %ld", what, want, got);
}

/* Runs an INSERT ... RETURNING id and keeps the id. */
static int insert_returning(pc_txn *t, const char *sql, int n, const char *const *values,
                            char id[ID_LEN])
{
    PGresult *res = pc_exec(t, sql, n, values);
    if (!res)
        return t->status;
    int rc = expect_rows(t, res, 1, sql);
    if (rc == PC_OK)
        snprintf(id, ID_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* Runs a statement that must change exactly `want` rows. */
static int change(pc_txn *t, const char *sql, int n, const char *const *values, long want,
                  const char *what)
{
    PGresult *res = pc_exec(t, sql, n, values);
    if (!res)
        return t->status;
    int rc = expect_changed(t, res, want, what);
    PQclear(res);
    return rc;
}

/* ---- the transactions ------------------------------------------------------------------ */

static const char insert_owner[] =
    "INSERT INTO owner (name, city, telephone) VALUES ($1, $2, $3) RETURNING id";
static const char insert_pet[] =
    "INSERT INTO pet (name, birth_date, owner_id) VALUES ($1, $2, $3) RETURNING id";

static int add_owners_and_pets(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    int rc;
    if ((rc = insert_returning(t, insert_owner, 3, (const char *[]){JOHN, CITY, NULL}, w->john)) !=
            PC_OK ||
        (rc = insert_returning(t, insert_owner, 3, (const char *[]){MARY, CITY, MARY_PHONE},
                               w->mary)) != PC_OK ||
        (rc = insert_returning(t, insert_pet, 3, (const char *[]){PET1, PET1_BORN, w->john},
                               w->pet1)) != PC_OK ||
        (rc = insert_returning(t, insert_pet, 3, (const char *[]){PET2, PET2_BORN, w->mary},
                               w->pet2)) != PC_OK)
        return rc;
    return PC_OK;
}

/* The seed reads Pet-1, then its owner through pet.owner_id; then the owner's pets. Dates are
 * formatted explicitly so that the check does not depend on the session's DateStyle. */
static int read_pet_and_owner(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    int rc = PC_OK;
    char owner_id[ID_LEN] = "";

    PGresult *res = pc_exec(t,
                            "SELECT name, to_char(birth_date, 'YYYY-MM-DD'), owner_id "
                            "FROM pet WHERE id = $1",
                            1, (const char *[]){w->pet1});
    if (!res)
        return t->status;
    if ((rc = expect_rows(t, res, 1, "Pet-1 by id")) == PC_OK &&
        (rc = expect_text(t, value(res, 0, 0), PET1, "Pet-1 name")) == PC_OK &&
        (rc = expect_text(t, value(res, 0, 1), PET1_BORN, "Pet-1 birth date")) == PC_OK)
        snprintf(owner_id, sizeof owner_id, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (rc != PC_OK)
        return rc;

    res = pc_exec(t, "SELECT name, city, telephone FROM owner WHERE id = $1", 1,
                  (const char *[]){owner_id});
    if (!res)
        return t->status;
    if ((rc = expect_rows(t, res, 1, "Pet-1's owner")) == PC_OK &&
        (rc = expect_text(t, owner_id, w->john, "Pet-1's owner id")) == PC_OK &&
        (rc = expect_text(t, value(res, 0, 0), JOHN, "owner name")) == PC_OK &&
        (rc = expect_text(t, value(res, 0, 1), CITY, "owner city")) == PC_OK)
        rc = expect_text(t, value(res, 0, 2), NULL, "owner telephone");
    PQclear(res);
    if (rc != PC_OK)
        return rc;

    res = pc_exec(t,
                  "SELECT name, to_char(birth_date, 'YYYY-MM-DD') FROM pet "
                  "WHERE owner_id = $1 ORDER BY name",
                  1, (const char *[]){w->john});
    if (!res)
        return t->status;
    if ((rc = expect_rows(t, res, 1, "John Doe's pets")) == PC_OK &&
        (rc = expect_text(t, value(res, 0, 0), PET1, "John Doe's pet")) == PC_OK)
        rc = expect_text(t, value(res, 0, 1), PET1_BORN, "John Doe's pet's birth date");
    PQclear(res);
    return rc;
}

static int add_vets(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    int rc;
    /* Specialties are shared reference data keyed by name: a second run finds them there. */
    PGresult *res = pc_exec(t,
                            "INSERT INTO specialty (name) VALUES ('Dogs'), ('Cats') "
                            "ON CONFLICT (name) DO NOTHING",
                            0, NULL);
    if (!res)
        return t->status;
    PQclear(res);

    static const char insert_vet[] = "INSERT INTO vet (name) VALUES ($1) RETURNING id";
    if ((rc = insert_returning(t, insert_vet, 1, (const char *[]){AKUA}, w->akua)) != PC_OK ||
        (rc = insert_returning(t, insert_vet, 1, (const char *[]){CARLOS}, w->carlos)) != PC_OK)
        return rc;
    return change(t,
                  "INSERT INTO \"vetSpecialties\" (vet_id, specialty_id) "
                  "VALUES ($1, 'Dogs'), ($2, 'Dogs'), ($2, 'Cats')",
                  2, (const char *[]){w->akua, w->carlos}, 3, "links of vets to specialties");
}

/* Reads a vet's specialties through the association table into a ", "-separated list. */
static int specialties_of(pc_txn *t, const char *vet_id, char *list, size_t size)
{
    PGresult *res = pc_exec(t,
                            "SELECT s.name FROM \"vetSpecialties\" vs "
                            "JOIN specialty s ON s.name = vs.specialty_id "
                            "WHERE vs.vet_id = $1 ORDER BY s.name",
                            1, (const char *[]){vet_id});
    if (!res)
        return t->status;
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < PQntuples(res) && used < size; i++) {
        int n = snprintf(list + used, size - used, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
        used += n > 0 ? (size_t)n : 0;
    }
    PQclear(res);
    return PC_OK;
}

static int read_vets(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    int rc;
    if ((rc = specialties_of(t, w->akua, w->specialties_akua, sizeof w->specialties_akua)) !=
            PC_OK ||
        (rc = expect_text(t, w->specialties_akua, "Dogs", "Akua Mansa's specialties")) != PC_OK ||
        (rc = specialties_of(t, w->carlos, w->specialties_carlos, sizeof w->specialties_carlos)) !=
            PC_OK)
        return rc;
    return expect_text(t, w->specialties_carlos, "Cats, Dogs", "Carlos Salazar's specialties");
}

static int update_phone(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    return change(t, "UPDATE owner SET telephone = $1 WHERE id = $2", 2,
                  (const char *[]){MARY_NEW_PHONE, w->mary}, 1, "Mary Major's telephone");
}

static int read_phone(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    PGresult *res =
        pc_exec(t, "SELECT telephone FROM owner WHERE id = $1", 1, (const char *[]){w->mary});
    if (!res)
        return t->status;
    int rc = expect_rows(t, res, 1, "Mary Major by id");
    if (rc == PC_OK)
        rc = expect_text(t, value(res, 0, 0), MARY_NEW_PHONE, "Mary Major's telephone");
    PQclear(res);
    return rc;
}

static int delete_mary(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    int rc = change(t, "DELETE FROM pet WHERE owner_id = $1", 1, (const char *[]){w->mary}, 1,
                    "Mary Major's pets");
    if (rc != PC_OK)
        return rc;
    return change(t, "DELETE FROM owner WHERE id = $1", 1, (const char *[]){w->mary}, 1,
                  "Mary Major");
}

static int read_mary_gone(pc_txn *t, void *arg)
{
    struct walk *w = arg;
    PGresult *res = pc_exec(t,
                            "SELECT (SELECT count(*) FROM owner WHERE id = $1), "
                            "(SELECT count(*) FROM pet WHERE owner_id = $1)",
                            1, (const char *[]){w->mary});
    if (!res)
        return t->status;
    int rc = expect_text(t, value(res, 0, 0), "0", "owners with Mary Major's id");
    if (rc == PC_OK)
        rc = expect_text(t, value(res, 0, 1), "0", "pets of Mary Major");
    PQclear(res);
    return rc;
}

/* Deletes what this run created and still exists. After a failure it runs unchecked, for
 * whatever ids were filled in; after a full run it checks the counts. */
struct clean_up {
    struct walk *w;
    int checked;
};

static int clean_up(pc_txn *t, void *arg)
{
    struct clean_up *c = arg;
    struct walk *w = c->w;
    /* NULL for an id never filled in (or already deleted): "= NULL" matches nothing. */
    const char *ids[] = {w->john[0] ? w->john : NULL, w->mary[0] ? w->mary : NULL,
                         w->akua[0] ? w->akua : NULL, w->carlos[0] ? w->carlos : NULL};
    static const struct {
        const char *sql;
        int first; /* index in ids of $1; $2 is the next one */
        long want;
        const char *what;
    } steps[] = {
        {"DELETE FROM pet WHERE owner_id IN ($1, $2)", 0, 1, "this run's pets"},
        {"DELETE FROM owner WHERE id IN ($1, $2)", 0, 1, "this run's owners"},
        {"DELETE FROM \"vetSpecialties\" WHERE vet_id IN ($1, $2)", 2, 3, "this run's links"},
        {"DELETE FROM vet WHERE id IN ($1, $2)", 2, 2, "this run's vets"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *res = pc_exec(t, steps[i].sql, 2, ids + steps[i].first);
        if (!res)
            return t->status;
        int rc = c->checked ? expect_changed(t, res, steps[i].want, steps[i].what) : PC_OK;
        PQclear(res);
        if (rc != PC_OK)
            return rc;
    }
    return PC_OK;
}

/* ---- the walk ---------------------------------------------------------------------------- */

static int run(struct walk *w, pc_txn_body body, void *arg, const char *what)
{
    pc_txn t;
    int rc = pc_txn_run(w->conn, w->policy, w->rng, body, arg, &t);
    w->retries_of_step = t.attempt;
    w->totals->retries += t.attempt;
    if (rc == PC_OK) {
        w->totals->transactions++;
        return PC_OK;
    }
    say(w, "  FAILED: see below\n");
    if (w->out)
        fflush(w->out);
    fprintf(stderr, "petclinic: %s: %s%s", what,
            rc == PC_CHECK ? "read back something other than what was written: " : "", t.message);
    if (t.sqlstate[0])
        fprintf(stderr, " (SQLSTATE %s)", t.sqlstate);
    fputc('\n', stderr);
    return rc;
}

/* One checked result: the text, padded, then "ok", and a note when the step had to retry. */
static void ok(const struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(const struct walk *w, const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say(w, "  %-62s ok", line);
    if (w->retries_of_step)
        say(w, " (after %d retr%s)", w->retries_of_step, w->retries_of_step == 1 ? "y" : "ies");
    say(w, "\n");
}

int pc_walkthrough(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, FILE *out,
                   pc_walk_totals *totals)
{
    struct walk w = {.conn = conn, .policy = policy, .rng = rng, .out = out, .totals = totals};
    int rc;

    say(&w, "1. Owners and their pets (one-to-many), in one transaction\n");
    if ((rc = run(&w, add_owners_and_pets, &w, "add owners and pets")) != PC_OK)
        goto out;
    say(&w, "  + owner %-14s %-8s %-13s id %s\n", JOHN, CITY, "no telephone", w.john);
    say(&w, "  + owner %-14s %-8s %-13s id %s\n", MARY, CITY, MARY_PHONE, w.mary);
    say(&w, "  + pet   %-14s born %s, owner %s\n", PET1, PET1_BORN, JOHN);
    say(&w, "  + pet   %-14s born %s, owner %s\n", PET2, PET2_BORN, MARY);
    ok(&w, "committed");

    say(&w, "2. Read Pet-1, its owner through pet.owner_id, and that owner's pets\n");
    if ((rc = run(&w, read_pet_and_owner, &w, "read Pet-1 and its owner")) != PC_OK)
        goto out;
    ok(&w, "%s, born %s, belongs to %s of %s", PET1, PET1_BORN, JOHN, CITY);
    ok(&w, "pets of %s: %s", JOHN, PET1);

    say(&w, "3. Vets and specialties (many-to-many through \"vetSpecialties\"), in one "
            "transaction\n");
    if ((rc = run(&w, add_vets, &w, "add vets and specialties")) != PC_OK)
        goto out;
    say(&w, "  + specialty Dogs, Cats (kept if a previous run made them)\n");
    say(&w, "  + vet   %-14s -> Dogs         id %s\n", AKUA, w.akua);
    say(&w, "  + vet   %-14s -> Dogs, Cats   id %s\n", CARLOS, w.carlos);
    ok(&w, "committed");

    say(&w, "4. Read each vet's specialties\n");
    if ((rc = run(&w, read_vets, &w, "read the vets' specialties")) != PC_OK)
        goto out;
    ok(&w, "%s: %s", AKUA, w.specialties_akua);
    ok(&w, "%s: %s", CARLOS, w.specialties_carlos);

    say(&w, "5. Update %s's telephone %s -> %s\n", MARY, MARY_PHONE, MARY_NEW_PHONE);
    if ((rc = run(&w, update_phone, &w, "update the telephone")) != PC_OK)
        goto out;
    ok(&w, "1 row updated");
    if ((rc = run(&w, read_phone, &w, "read the telephone back")) != PC_OK)
        goto out;
    ok(&w, "read back: %s", MARY_NEW_PHONE);

    say(&w, "6. Delete %s and her pet\n", MARY);
    if ((rc = run(&w, delete_mary, &w, "delete Mary Major")) != PC_OK)
        goto out;
    ok(&w, "1 owner and 1 pet deleted");
    if ((rc = run(&w, read_mary_gone, &w, "look for Mary Major")) != PC_OK)
        goto out;
    ok(&w, "read back: no such owner, no pets");
    w.mary[0] = '\0';

    say(&w, "7. Clean up this run's rows (specialties stay) so the next run starts alike\n");
    struct clean_up checked = {&w, 1};
    if ((rc = run(&w, clean_up, &checked, "clean up")) != PC_OK)
        goto out;
    ok(&w, "deleted 1 owner, 1 pet, 3 links, 2 vets");
    return PC_OK;

out:
    if (rc != PC_BROKEN) {
        /* Leave no half-written run behind; this may fail too, and that is not news. */
        struct clean_up unchecked = {&w, 0};
        pc_txn t;
        pc_txn_run(conn, policy, rng, clean_up, &unchecked, &t);
    }
    return rc;
}
