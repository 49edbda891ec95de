/* SPDX-License-Identifier: MIT */
/* log.h: opt-in diagnostics to stderr, controlled by DSQLAUTH_LOG; never given a secret. */
#ifndef DSQL_LOG_H
#define DSQL_LOG_H

#include "base/util.h"

enum dsql_log_level {
    DSQL_LOG_OFF = 0,
    DSQL_LOG_ERROR = 1,
    DSQL_LOG_WARN = 2,
    DSQL_LOG_INFO = 3,
    DSQL_LOG_DEBUG = 4,
};

/* The level DSQLAUTH_LOG asks for (error|warn|info|debug; unset or unknown: off). */
DSQL_LOCAL int dsql_log_level(void);

/*
 * Writes "dsqlauth: <level>: message" to stderr when the level is enabled, as one write(2)
 * so lines from threads do not interleave. Callers pass no secret; use dsql_redact for tokens.
 * Saves and restores errno.
 */
DSQL_LOCAL void dsql_log(int level, const char *fmt, ...) DSQL_PRINTF(2, 3);

/*
 * A security warning that is shown by default: written as "dsqlauth: warn: ..." when
 * DSQLAUTH_LOG is unset or empty, or asks for warn, info or debug. Only an explicit
 * DSQLAUTH_LOG=error (or an unknown value, which means off) silences it. For what the user
 * must know even without asking for a log: verification turned off, secrets in a file others
 * can read. Callers keep it to once per cause per process.
 */
DSQL_LOCAL void dsql_log_security(const char *fmt, ...) DSQL_PRINTF(1, 2);

/*
 * Writes a printable stand-in for an access key id into out, as `aws configure list` does:
 * asterisks and the last four characters. Secrets themselves are never passed to the log.
 */
DSQL_LOCAL const char *dsql_redact_key_id(const char *key_id, char *out, size_t out_len);

#endif /* DSQL_LOG_H */
