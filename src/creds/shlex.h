/* SPDX-License-Identifier: MIT */
/* shlex.h: splitting a command line into words as Python's shlex.split (POSIX mode) does. */
#ifndef DSQL_SHLEX_H
#define DSQL_SHLEX_H

#include "base/util.h"

/*
 * A list of words: argv-style, NULL-terminated. Words may hold secrets (a credential_process
 * command line can carry one), so dsql_shlex_free wipes them.
 */
typedef struct dsql_words {
    char **argv; /* argc words plus a NULL; never NULL after a successful split */
    size_t argc;
} dsql_words;

/*
 * Splits s exactly as Python's shlex.split(s) (posix=True, comments=False), the function
 * botocore uses for credential_process and for `[profile name]` section names: words are
 * separated by space, tab, CR and LF; '...' is literal; inside "..." a backslash escapes only
 * '"' and '\'; outside quotes a backslash escapes any character; adjacent quoted and unquoted
 * parts join into one word; '' and "" yield an empty word. No expansion of any kind ($, `, ~,
 * globs) and no comments. Fails (DSQL_ERR_INVALID, message "no closing quotation" or "no
 * escaped character", as Python's ValueError) on an unterminated quote or a trailing backslash.
 * On success *out is filled; release it with dsql_shlex_free.
 */
DSQL_LOCAL int dsql_shlex_split(const char *s, dsql_words *out, dsql_error *err);

/* Wipes and frees the words. Safe on a zeroed or already freed dsql_words. */
DSQL_LOCAL void dsql_shlex_free(dsql_words *w);

#endif /* DSQL_SHLEX_H */
