/* SPDX-License-Identifier: MIT */
/* clock.h: the monotonic clock the front and the relay measure deadlines with. */
#ifndef DSQL_LOCAL_CLOCK_H
#define DSQL_LOCAL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. Thread-safe. */
int64_t local_now_ms(void);

#endif /* DSQL_LOCAL_CLOCK_H */
