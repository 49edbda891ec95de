/* SPDX-License-Identifier: MIT */
/* util.c: secret wiping and the growable buffer used across the library (errors: error.c). */
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void dsql_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

void dsql_free_secret(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

char *dsql_strdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

int dsql_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void dsql_buf_init(dsql_buf *b)
{
    b->data = b->inline_storage;
    b->len = 0;
    b->cap = sizeof b->inline_storage;
    b->failed = 0;
    b->data[0] = '\0';
}

void dsql_buf_cleanup(dsql_buf *b)
{
    OPENSSL_cleanse(b->data, b->cap);
    if (b->data != b->inline_storage)
        free(b->data);
    dsql_buf_init(b);
}

int dsql_buf_reserve(dsql_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra < b->cap - b->len)
        return 0;
    size_t need = b->len + extra + 1;
    if (need < b->len) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap * 2;
    while (cap < need)
        cap *= 2;
    /* Not realloc: the old block may hold secrets and must be wiped before it is released. */
    char *p = malloc(cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    memcpy(p, b->data, b->len + 1);
    OPENSSL_cleanse(b->data, b->cap);
    if (b->data != b->inline_storage)
        free(b->data);
    b->data = p;
    b->cap = cap;
    return 0;
}

void dsql_buf_append(dsql_buf *b, const void *p, size_t n)
{
    if (dsql_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void dsql_buf_puts(dsql_buf *b, const char *s)
{
    dsql_buf_append(b, s, strlen(s));
}

void dsql_buf_putc(dsql_buf *b, char c)
{
    dsql_buf_append(b, &c, 1);
}

void dsql_buf_printf(dsql_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (dsql_buf_reserve(b, (size_t)n) != 0)
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

char *dsql_buf_steal(dsql_buf *b)
{
    if (b->failed)
        return NULL;
    char *s;
    if (b->data == b->inline_storage) {
        s = malloc(b->len + 1);
        if (s != NULL)
            memcpy(s, b->data, b->len + 1);
        OPENSSL_cleanse(b->inline_storage, sizeof b->inline_storage);
    } else {
        s = b->data;
    }
    dsql_buf_init(b);
    return s;
}

int dsql_read_file(const char *path, size_t max, dsql_buf *out)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    size_t start = out->len;
    int rc = 0, saved = 0;
    for (;;) {
        if (dsql_buf_reserve(out, 4096) != 0) {
            saved = ENOMEM;
            rc = -1;
            break;
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            saved = errno;
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->data[out->len] = '\0';
        if (out->len - start > max) {
            saved = EFBIG;
            rc = -1;
            break;
        }
    }
    close(fd);
    errno = saved;
    return rc;
}
