/* SPDX-License-Identifier: MIT */
/* util.h: internal helpers shared by every module: secret wiping, a byte buffer, file reading. */
#ifndef DSQL_BASE_UTIL_H
#define DSQL_BASE_UTIL_H

#include "base/attrs.h"
#include "base/error.h"
#include "dsqlauth.h"

#include <stdarg.h>
#include <stddef.h>

/* Wipes len bytes at p (OPENSSL_cleanse; never optimised away). */
DSQL_LOCAL void dsql_wipe(void *p, size_t len);

/* Wipes a NUL-terminated string and frees it. NULL is a no-op. */
DSQL_LOCAL void dsql_free_secret(char *s);

/* strdup that returns NULL for NULL. */
DSQL_LOCAL char *dsql_strdup(const char *s);

/* Constant-time equality of two byte strings of the same length (CRYPTO_memcmp). */
DSQL_LOCAL int dsql_ct_equal(const void *a, const void *b, size_t len);

/*
 * A growable byte buffer with inline storage, so that short strings cost no allocation.
 * Failure is sticky: after one failed append every later append is a no-op and
 * dsql_buf_failed() says so, so builders check once at the end (as pgbouncer's packet builders).
 * Contents may be secret: dsql_buf_cleanup wipes everything it held.
 */
typedef struct dsql_buf {
    char *data; /* always NUL-terminated */
    size_t len;
    size_t cap;
    int failed;
    char inline_storage[512];
} dsql_buf;

DSQL_LOCAL void dsql_buf_init(dsql_buf *b);
DSQL_LOCAL void dsql_buf_cleanup(dsql_buf *b); /* wipes and frees */
DSQL_LOCAL int dsql_buf_reserve(dsql_buf *b, size_t extra);
DSQL_LOCAL void dsql_buf_append(dsql_buf *b, const void *p, size_t n);
DSQL_LOCAL void dsql_buf_puts(dsql_buf *b, const char *s);
DSQL_LOCAL void dsql_buf_putc(dsql_buf *b, char c);
DSQL_LOCAL void dsql_buf_printf(dsql_buf *b, const char *fmt, ...) DSQL_PRINTF(2, 3);
static inline int dsql_buf_failed(const dsql_buf *b)
{
    return b->failed;
}
/* Hands the contents over as a new malloc'd string (the buffer is left empty); NULL on failure. */
DSQL_LOCAL char *dsql_buf_steal(dsql_buf *b);

/*
 * Appends the whole file at path to out (which wipes what it held on cleanup, so secrets such
 * as tokens may be read this way). Returns 0, or -1 with errno set: the open/read error, EFBIG
 * when the file is larger than max bytes, ENOMEM.
 */
DSQL_LOCAL int dsql_read_file(const char *path, size_t max, dsql_buf *out);

#endif /* DSQL_BASE_UTIL_H */
