/* SPDX-License-Identifier: MIT */
/* occ.h: optimistic concurrency across sessions, as Aurora DSQL settles it: first committer wins.
 */
#ifndef DSQL_LOCAL_OCC_H
#define DSQL_LOCAL_OCC_H

#include <stddef.h>

/*
 * DSQL never makes a writer wait for another transaction: both go on, and the one that commits
 * second fails at COMMIT with 40001 (OC000). PostgreSQL makes the second writer wait for the
 * first one's row lock. The relay (relay.c) bridges the two with this registry, one member per
 * strict session, shared by all of them (one mutex):
 *   - the backend gives up a lock wait after a short lock_timeout, and the backend module
 *     names the transactions it waited for; the relay answers the client as if the statement
 *     had run (occ_conflict records who it waited for), and runs it for real at COMMIT;
 *   - at COMMIT, occ_commit decides: a transaction doomed by an earlier committer, or by a
 *     write PostgreSQL found already committed, loses; otherwise it wins, and the open
 *     transactions it waited for are doomed and asked to give back their locks
 *     (occ_all_released), their own COMMIT failing later;
 *   - occ_end records how each transaction ended; a commit dooms whoever waited for it.
 * Conflict injection (--inject-conflict, or a session's application_name) makes chosen
 * commits fail the same way, deterministically, so that a retry loop can be tested.
 * Every function is thread-safe.
 */

#define OCC_MAX_BLOCKERS 16

typedef struct occ_member occ_member;

/* Conflict injection: every Nth COMMIT of an explicit transaction (of the sessions whose
 * application_name is app, when app is not empty) fails with code (OC000 or OC001). */
typedef struct occ_inject {
    unsigned every; /* 0: off */
    char app[64];
    char code[6];
} occ_inject;

/* The application_name that fails a session's next COMMIT once, each time it is set. */
#define OCC_FAIL_NEXT_COMMIT "dsqlauth:fail-next-commit"

/* Parses an --inject-conflict value (every=N[,app=NAME][,code=OC000|OC001]); 0 or -1 with msg. */
int occ_inject_parse(const char *spec, occ_inject *out, char *msg, size_t msglen);

/* Sets the endpoint's injection rule (before sessions start). */
void occ_configure(const occ_inject *inject);

/* A new member; wake_fd (an eventfd, borrowed) is written when the member is asked to release
 * its locks. NULL when out of memory. */
occ_member *occ_join(int wake_fd);
void occ_leave(occ_member *m);

/* The member's PostgreSQL backend (from BackendKeyData). */
void occ_set_pid(occ_member *m, int pid);

/* The member's application_name changed (ParameterStatus). */
void occ_set_app(occ_member *m, const char *app);

/*
 * The member's statement gave up waiting for the transactions of these backend pids (n may be
 * 0 when the backend could not tell), or, with committed set, ran into a write that a
 * transaction committed after this one's snapshot: then this transaction has already lost.
 */
void occ_conflict(occ_member *m, const int *pids, size_t n, int committed);

/* Whether this transaction has anything for occ_commit to settle (a conflict, a doom, a due
 * injection). When not, its COMMIT needs no decision. */
int occ_pending(occ_member *m);

/*
 * Decides this transaction's COMMIT. Returns 0 when it wins (the transactions it waited for
 * are doomed and asked to release; occ_all_released says when they have), or 1 when it loses,
 * with DSQL's conflict code (OC000 or OC001) in code. An autocommit statement that waited is a
 * transaction committing at once: force dooms whoever it waited for regardless of injection.
 */
int occ_commit(occ_member *m, int force, char code[6]);

/* Whether the transactions doomed by this member's last winning occ_commit have all given back
 * their locks (or ended). Never waits: while they have not, the member's wake_fd is written
 * each time one of them releases or ends, so that it can ask again. */
int occ_all_released(occ_member *m);

/* This member's transaction ended (committed or rolled back). A commit dooms every member that
 * waited for it. */
void occ_end(occ_member *m, int committed);

/* Whether a winner asked this member to give back its locks (roll back upstream) now. */
int occ_release_requested(occ_member *m);

/* This member rolled back upstream: its locks are free. */
void occ_released(occ_member *m);

/* Whether this member's transaction is doomed (it will fail at COMMIT), with its code. */
int occ_doomed(occ_member *m, char code[6]);

#endif /* DSQL_LOCAL_OCC_H */
