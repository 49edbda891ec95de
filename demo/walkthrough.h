/* SPDX-License-Identifier: MIT */
/* walkthrough.h: the seed's pet clinic walk-through, each step checked. */
#ifndef PC_WALKTHROUGH_H
#define PC_WALKTHROUGH_H

#include "retry.h"

#include <stdio.h>

/* Totals of one walk-through run. */
typedef struct pc_walk_totals {
    long transactions; /* committed */
    long retries;      /* re-runs after 40001 */
} pc_walk_totals;

/*
 * Runs the walk-through on conn (schema already in place): owners and pets (one-to-many), a
 * pet's owner and an owner's pets read back, vets linked to specialties through
 * "vetSpecialties" (many-to-many) and read back, an update and a delete, each read checked
 * against what was written; finally it deletes the rows it created (specialties stay), so a
 * second run sees the same. Every transaction goes through pc_txn_run. Prints each step to out
 * (NULL: silent). Returns PC_OK, or the status of the first failure after printing why to
 * stderr (PC_CHECK when a read did not return what was written).
 */
int pc_walkthrough(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, FILE *out,
                   pc_walk_totals *totals);

#endif
