/* SPDX-License-Identifier: MIT */
/* iso8601.h: parsing the timestamps credential documents carry (Expiration and the like). */
#ifndef DSQL_ISO8601_H
#define DSQL_ISO8601_H

#include "base/util.h"

#include <stdint.h>

/*
 * Parses an ISO 8601 / RFC 3339 timestamp with an explicit offset into Unix seconds:
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM|+HHMM|+HH)`; 'T' may also be 't' or a
 * space, 'Z' may be 'z'; fractional seconds are accepted and truncated. A timestamp without
 * an offset is rejected: botocore fails on it too (it cannot compare a naive time with now).
 * Returns 0 and sets *out, or -1 (out untouched).
 */
DSQL_LOCAL int dsql_iso8601_parse(const char *s, int64_t *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
DSQL_LOCAL int64_t dsql_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif /* DSQL_ISO8601_H */
