/* SPDX-License-Identifier: MIT */
/* fuzz.h: what every fuzz target shares: the libFuzzer entry point and an invariant check. */
#ifndef DSQL_FUZZ_H
#define DSQL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One input; libFuzzer (or replay.c in ordinary builds) calls it. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash: libFuzzer keeps the input, replay.c fails the test. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* DSQL_FUZZ_H */
