/* SPDX-License-Identifier: MIT */
/* occ.c: optimistic concurrency across sessions, as Aurora DSQL settles it (see occ.h). */
#include "occ.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EDGES 32

/* A transaction of another member: its id and transaction number. */
typedef struct edge {
    uint64_t id;
    unsigned long serial;
} edge;

struct occ_member {
    uint64_t id;
    int wake_fd;
    int pid;
    char app[64];
    unsigned long serial;          /* the current transaction's number */
    int doomed;                    /* this transaction fails at COMMIT ... */
    char code[6];                  /* ... with this code */
    int unknown;                   /* it waited for a transaction the registry does not know */
    int fail_next;                 /* OCC_FAIL_NEXT_COMMIT was set */
    int release_req;               /* a winner asked it to roll back upstream */
    unsigned long released_serial; /* it did, in this transaction */
    edge waited[MAX_EDGES];        /* transactions it waited for */
    size_t nwaited;
    edge victims[MAX_EDGES]; /* transactions its last winning COMMIT doomed */
    size_t nvictims;
    occ_member *next;
};

/* The registry. Everything below is guarded by lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static occ_member *members;
static uint64_t next_id = 1;
static occ_inject rule;
static unsigned long counted;

static void wake_waiters(void);

int occ_inject_parse(const char *spec, occ_inject *out, char *msg, size_t msglen)
{
    char copy[256];
    memset(out, 0, sizeof *out);
    snprintf(out->code, sizeof out->code, "OC000");
    if (strlen(spec) >= sizeof copy) {
        snprintf(msg, msglen, "--inject-conflict: too long");
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(msg, msglen, "--inject-conflict: expected key=value, got %s", item);
            return -1;
        }
        *eq++ = '\0';
        if (strcmp(item, "every") == 0) {
            char *end;
            long v = strtol(eq, &end, 10);
            if (*eq == '\0' || *end != '\0' || v < 1 || v > 1000000) {
                snprintf(msg, msglen, "--inject-conflict: every= expects 1..1000000, got %s", eq);
                return -1;
            }
            out->every = (unsigned)v;
        } else if (strcmp(item, "app") == 0 && *eq != '\0' && strlen(eq) < sizeof out->app) {
            snprintf(out->app, sizeof out->app, "%s", eq);
        } else if (strcmp(item, "code") == 0 &&
                   (strcmp(eq, "OC000") == 0 || strcmp(eq, "OC001") == 0)) {
            snprintf(out->code, sizeof out->code, "%s", eq);
        } else {
            snprintf(msg, msglen,
                     "--inject-conflict: unknown or bad %s=%s (every=N, app=NAME, "
                     "code=OC000|OC001)",
                     item, eq);
            return -1;
        }
    }
    if (out->every == 0) {
        /* A rule that can never fire would make a retry test pass without testing anything. */
        snprintf(msg, msglen, "--inject-conflict: every=N is required");
        return -1;
    }
    return 0;
}

void occ_configure(const occ_inject *inject)
{
    pthread_mutex_lock(&lock);
    if (inject != NULL)
        rule = *inject;
    else
        memset(&rule, 0, sizeof rule);
    counted = 0;
    pthread_mutex_unlock(&lock);
}

occ_member *occ_join(int wake_fd)
{
    occ_member *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->wake_fd = wake_fd;
    m->released_serial = (unsigned long)-1;
    pthread_mutex_lock(&lock);
    m->id = next_id++;
    m->next = members;
    members = m;
    pthread_mutex_unlock(&lock);
    return m;
}

void occ_leave(occ_member *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (occ_member **p = &members; *p != NULL; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    wake_waiters(); /* a winner waiting for it to release can go on */
    pthread_mutex_unlock(&lock);
    free(m);
}

void occ_set_pid(occ_member *m, int pid)
{
    pthread_mutex_lock(&lock);
    m->pid = pid;
    pthread_mutex_unlock(&lock);
}

void occ_set_app(occ_member *m, const char *app)
{
    pthread_mutex_lock(&lock);
    snprintf(m->app, sizeof m->app, "%s", app);
    if (strcmp(app, OCC_FAIL_NEXT_COMMIT) == 0)
        m->fail_next = 1;
    pthread_mutex_unlock(&lock);
}

/* Wakes every member waiting for releases (occ_all_released): one of theirs may be done.
 * Caller holds lock. */
static void wake_waiters(void)
{
    uint64_t one = 1;
    for (occ_member *x = members; x != NULL; x = x->next)
        if (x->nvictims > 0 && x->wake_fd >= 0)
            (void)!write(x->wake_fd, &one, sizeof one);
}

/* Caller holds lock. */
static occ_member *by_id(uint64_t id)
{
    for (occ_member *x = members; x != NULL; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

static occ_member *by_pid(int pid)
{
    for (occ_member *x = members; x != NULL; x = x->next)
        if (x->pid == pid)
            return x;
    return NULL;
}

static void doom(occ_member *x, const char *code)
{
    if (!x->doomed) {
        x->doomed = 1;
        snprintf(x->code, sizeof x->code, "%s", code);
    }
}

void occ_conflict(occ_member *m, const int *pids, size_t n, int committed)
{
    pthread_mutex_lock(&lock);
    if (committed)
        doom(m, "OC000");
    else if (n == 0)
        m->unknown = 1;
    for (size_t i = 0; i < n && !committed; i++) {
        occ_member *b = by_pid(pids[i]);
        if (b == NULL || b == m) {
            m->unknown |= b == NULL;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < m->nwaited; k++)
            known |= m->waited[k].id == b->id && m->waited[k].serial == b->serial;
        if (known)
            continue;
        if (m->nwaited == MAX_EDGES)
            m->unknown = 1; /* too many to settle: lose rather than guess */
        else
            m->waited[m->nwaited++] = (edge){b->id, b->serial};
    }
    pthread_mutex_unlock(&lock);
}

/* Whether the injection rule applies to m. Caller holds lock. */
static int rule_applies(const occ_member *m)
{
    return rule.every > 0 && (rule.app[0] == '\0' || strcmp(rule.app, m->app) == 0);
}

int occ_pending(occ_member *m)
{
    pthread_mutex_lock(&lock);
    int p = m->doomed || m->unknown || m->nwaited > 0 || m->fail_next || rule_applies(m);
    pthread_mutex_unlock(&lock);
    return p;
}

int occ_commit(occ_member *m, int force, char code[6])
{
    int lose = 0;
    pthread_mutex_lock(&lock);
    m->nvictims = 0;
    if (!force && m->fail_next) {
        m->fail_next = 0;
        doom(m, "OC000");
    }
    if (!force && rule_applies(m) && ++counted % rule.every == 0)
        doom(m, rule.code);
    if (m->doomed) {
        lose = 1;
        snprintf(code, 6, "%s", m->code);
    } else if (m->unknown && !force) {
        lose = 1;
        snprintf(code, 6, "OC000");
    }
    for (size_t i = 0; i < m->nwaited && !lose; i++) {
        occ_member *b = by_id(m->waited[i].id);
        if (b == NULL || b->serial != m->waited[i].serial)
            continue; /* it ended; had it committed, it would have doomed us */
        doom(b, "OC000");
        b->release_req = 1;
        m->victims[m->nvictims++] = m->waited[i];
        uint64_t one = 1;
        if (b->wake_fd >= 0)
            (void)!write(b->wake_fd, &one, sizeof one);
    }
    pthread_mutex_unlock(&lock);
    return lose;
}

int occ_all_released(occ_member *m)
{
    int waiting = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < m->nvictims; i++) {
        occ_member *v = by_id(m->victims[i].id);
        if (v != NULL && v->serial == m->victims[i].serial &&
            v->released_serial != m->victims[i].serial)
            waiting = 1;
    }
    pthread_mutex_unlock(&lock);
    return !waiting;
}

void occ_end(occ_member *m, int committed)
{
    pthread_mutex_lock(&lock);
    for (occ_member *x = members; committed && x != NULL; x = x->next) {
        for (size_t k = 0; x != m && k < x->nwaited; k++)
            if (x->waited[k].id == m->id && x->waited[k].serial == m->serial)
                doom(x, "OC000"); /* it waited for us, and we committed first */
    }
    m->serial++;
    m->doomed = 0;
    m->unknown = 0;
    m->release_req = 0;
    m->nwaited = 0;
    m->nvictims = 0;
    wake_waiters();
    pthread_mutex_unlock(&lock);
}

int occ_release_requested(occ_member *m)
{
    pthread_mutex_lock(&lock);
    int r = m->release_req;
    pthread_mutex_unlock(&lock);
    return r;
}

void occ_released(occ_member *m)
{
    pthread_mutex_lock(&lock);
    m->release_req = 0;
    m->released_serial = m->serial;
    wake_waiters();
    pthread_mutex_unlock(&lock);
}

int occ_doomed(occ_member *m, char code[6])
{
    pthread_mutex_lock(&lock);
    int d = m->doomed;
    if (d && code != NULL)
        snprintf(code, 6, "%s", m->code);
    pthread_mutex_unlock(&lock);
    return d;
}
