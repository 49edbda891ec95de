/* SPDX-License-Identifier: MIT */
/* test_backoff.c: the retry helper's backoff: exponential, capped, jittered within bounds. */
#include "retry.h"

#include <criterion/criterion.h>

Test(backoff, doubles_then_caps_with_jitter_in_upper_half)
{
    pc_retry_policy p = {.max_attempts = 10, .base_us = 1000, .cap_us = 20000};
    pc_rng rng;
    pc_rng_seed(&rng, 1);
    const unsigned ceiling[] = {1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000};
    for (int retry = 0; retry < 8; retry++) {
        unsigned lo = ~0u, hi = 0;
        for (int i = 0; i < 2000; i++) {
            unsigned us = pc_retry_backoff_us(&p, retry, &rng);
            lo = us < lo ? us : lo;
            hi = us > hi ? us : hi;
        }
        cr_expect_geq(lo, ceiling[retry] / 2, "retry %d: shortest %u", retry, lo);
        cr_expect_leq(hi, ceiling[retry], "retry %d: longest %u", retry, hi);
        /* Jitter spreads the waits: not all the same. */
        cr_expect_gt(hi - lo, ceiling[retry] / 4, "retry %d: spread %u..%u", retry, lo, hi);
    }
}

Test(backoff, huge_retry_numbers_stay_capped)
{
    pc_retry_policy p = {.max_attempts = 10, .base_us = 5000, .cap_us = 1000000};
    pc_rng rng;
    pc_rng_seed(&rng, 2);
    cr_expect_leq(pc_retry_backoff_us(&p, 1000, &rng), 1000000u);
    cr_expect_geq(pc_retry_backoff_us(&p, 1000, &rng), 500000u);
}

Test(rng, range_is_inclusive_and_covers_both_ends)
{
    pc_rng rng;
    pc_rng_seed(&rng, 3);
    int seen[5] = {0};
    for (int i = 0; i < 1000; i++) {
        long v = pc_rng_range(&rng, 1, 5);
        cr_assert(v >= 1 && v <= 5);
        seen[v - 1]++;
    }
    for (int i = 0; i < 5; i++)
        cr_expect_gt(seen[i], 100, "value %d drawn %d times", i + 1, seen[i]);
}

Test(rng, seeds_differ_between_rngs)
{
    pc_rng a, b;
    pc_rng_seed(&a, 0);
    pc_rng_seed(&b, 0);
    cr_expect_neq(pc_rng_next(&a), pc_rng_next(&b));
}
