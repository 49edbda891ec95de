/* SPDX-License-Identifier: MIT */
/* keys.c: making, reading and searching the keys file (test key pairs for the local endpoint). */
#include "keys.h"

#include "base/util.h"
#include "creds/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int random_chars(char *out, size_t n, const char *alphabet)
{
    size_t an = strlen(alphabet);
    unsigned char r[64];
    if (n > sizeof r || RAND_bytes(r, (int)n) != 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % an]; /* alphabets of 32/64 symbols: no modulo bias */
    out[n] = '\0';
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

int keys_ensure(const char *path, char *msg, size_t msglen)
{
    if (access(path, F_OK) == 0)
        return 0;
    char id[21], secret[41], line[256];
    memcpy(id, "AKIA", 4);
    if (random_chars(id + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != 0 ||
        random_chars(secret, 40,
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 0) {
        snprintf(msg, msglen, "keys: no randomness from OpenSSL");
        return -1;
    }
    int n = snprintf(line, sizeof line,
                     "# dsqlauth-local keys: ACCESS_KEY_ID SECRET [SESSION_TOKEN], one a line\n"
                     "%s %s\n",
                     id, secret);
    OPENSSL_cleanse(secret, sizeof secret);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof line || fd < 0 || write(fd, line, (size_t)n) != n) {
        snprintf(msg, msglen, "keys: cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    OPENSSL_cleanse(line, sizeof line);
    if (fd >= 0)
        close(fd);
    return rc;
}

int keys_load(const char *path, keys *k, char *msg, size_t msglen)
{
    memset(k, 0, sizeof *k);
    int rc = -1;
    char *buf = NULL;
    ssize_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(msg, msglen, "keys: cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_mode & 077) {
        snprintf(msg, msglen, "keys: %s is readable by others; chmod 600 it", path);
        goto out;
    }
    if (st.st_size > KEYS_FILE_MAX || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(msg, msglen, "keys: %s is larger than %d bytes", path, KEYS_FILE_MAX);
        goto out;
    }
    for (ssize_t r; len < st.st_size; len += r) {
        r = read(fd, buf + len, (size_t)(st.st_size - len));
        if (r <= 0)
            break;
    }
    buf[len] = '\0';
    int lineno = 0;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *f[4] = {0};
        int nf = 0;
        for (char *s2 = NULL, *w = strtok_r(line, " \t\r", &s2); w != NULL && nf < 4;
             w = strtok_r(NULL, " \t\r", &s2))
            f[nf++] = w;
        if (nf == 0 || f[0][0] == '#')
            continue;
        if (nf < 2 || nf > 3) {
            snprintf(msg, msglen, "keys: %s line %d: expected ACCESS_KEY_ID SECRET [TOKEN]", path,
                     lineno);
            goto out;
        }
        if (k->n == KEYS_MAX) {
            snprintf(msg, msglen, "keys: %s has more than %d keys", path, KEYS_MAX);
            goto out;
        }
        dsql_error err;
        if (dsql_credentials_new(f[0], f[1], f[2], 0, "keys-file", &k->creds[k->n], &err) != 0) {
            snprintf(msg, msglen, "keys: %s line %d: %s", path, lineno, err.message);
            goto out;
        }
        k->n++;
    }
    if (k->n == 0) {
        snprintf(msg, msglen, "keys: %s has no key", path);
        goto out;
    }
    rc = 0;
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, (size_t)len);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        keys_free(k);
    return rc;
}

void keys_free(keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        dsql_credentials_free(k->creds[i]);
    k->n = 0;
}

int keys_lookup(void *ctx, const char *access_key_id, dsql_credentials **out)
{
    const keys *k = ctx;
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(dsql_credentials_access_key_id(k->creds[i]), access_key_id) == 0) {
            *out = dsql_credentials_ref(k->creds[i]);
            return 0;
        }
    }
    return -1;
}

int keys_first(const char *path, char *id, size_t idlen, char *secret, size_t secretlen)
{
    keys k;
    char msg[256];
    if (keys_load(path, &k, msg, sizeof msg) != 0)
        return -1;
    snprintf(id, idlen, "%s", dsql_credentials_access_key_id(k.creds[0]));
    snprintf(secret, secretlen, "%s", dsql_credentials_secret(k.creds[0]));
    keys_free(&k);
    return 0;
}
