/* SPDX-License-Identifier: MIT */
/* log.c: DSQLAUTH_LOG diagnostics on stderr. The library logs nothing unless asked. */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int dsql_log_level(void)
{
    const char *v = getenv("DSQLAUTH_LOG");
    if (v == NULL || *v == '\0')
        return DSQL_LOG_OFF;
    if (strcasecmp(v, "debug") == 0)
        return DSQL_LOG_DEBUG;
    if (strcasecmp(v, "info") == 0)
        return DSQL_LOG_INFO;
    if (strcasecmp(v, "warn") == 0 || strcasecmp(v, "warning") == 0)
        return DSQL_LOG_WARN;
    if (strcasecmp(v, "error") == 0)
        return DSQL_LOG_ERROR;
    return DSQL_LOG_OFF;
}

static void vlog(int level, const char *fmt, va_list ap) DSQL_PRINTF(2, 0);

static void vlog(int level, const char *fmt, va_list ap)
{
    int saved = errno;
    static const char *names[] = {"", "error", "warn", "info", "debug"};
    char line[1024];
    int n = snprintf(line, sizeof line, "dsqlauth: %s: ", names[level]);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved;
}

void dsql_log(int level, const char *fmt, ...)
{
    if (level > dsql_log_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void dsql_log_security(const char *fmt, ...)
{
    const char *v = getenv("DSQLAUTH_LOG");
    if (v != NULL && *v != '\0' && dsql_log_level() < DSQL_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(DSQL_LOG_WARN, fmt, ap);
    va_end(ap);
}

const char *dsql_redact_key_id(const char *key_id, char *out, size_t out_len)
{
    size_t n = key_id == NULL ? 0 : strlen(key_id);
    if (n < 8)
        snprintf(out, out_len, "(redacted)");
    else
        snprintf(out, out_len, "****************%s", key_id + n - 4);
    return out;
}
