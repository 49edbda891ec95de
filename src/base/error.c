/* SPDX-License-Identifier: MIT */
/* error.c: filling the caller's dsql_error. libc only, so the preload and the wrapper link it. */
#include "base/error.h"

#include <stdarg.h>

#include <stdio.h>
#include <string.h>

int dsql_seterr(dsql_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void dsql_err_prefix(dsql_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char old[DSQL_ERROR_MAX];
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof err->message - 2)
        return;
    size_t pos = (size_t)n;
    err->message[pos++] = ':';
    err->message[pos++] = ' ';
    size_t room = sizeof err->message - pos - 1;
    size_t len = strlen(old);
    if (len > room)
        len = room;
    memcpy(err->message + pos, old, len);
    err->message[pos + len] = '\0';
}
