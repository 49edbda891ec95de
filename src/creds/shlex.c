/* SPDX-License-Identifier: MIT */
/* shlex.c: a transcription of CPython's shlex.shlex.read_token in POSIX, whitespace-split mode. */
#include "creds/shlex.h"

#include <stdlib.h>
#include <string.h>

static int is_ws(char c)
{
    /* shlex.whitespace is exactly ' \t\r\n'. */
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int push_word(dsql_words *w, dsql_buf *word, size_t *cap)
{
    if (w->argc + 2 > *cap) {
        size_t ncap = *cap == 0 ? 8 : *cap * 2;
        char **p = realloc(w->argv, ncap * sizeof *p);
        if (p == NULL)
            return -1;
        w->argv = p;
        *cap = ncap;
    }
    char *s = dsql_buf_steal(word);
    if (s == NULL)
        return -1;
    w->argv[w->argc++] = s;
    w->argv[w->argc] = NULL;
    return 0;
}

int dsql_shlex_split(const char *s, dsql_words *out, dsql_error *err)
{
    dsql_words w = {NULL, 0};
    size_t cap = 0;
    dsql_buf word;
    dsql_buf_init(&word);
    int rc = DSQL_OK;
    /* The states of read_token: ' ' between words, 'a' in a word, a quote char, '\\'. */
    char state = ' ';
    char escaped_state = ' '; /* the state to return to after an escape */
    int in_word = 0;          /* a word has begun (possibly empty, if quoted) */

    if (s == NULL)
        s = "";
    for (const char *p = s;; p++) {
        char c = *p;
        if (state == ' ' || state == 'a') {
            if (c == '\0' || is_ws(c)) {
                if (in_word && push_word(&w, &word, &cap) != 0)
                    goto nomem;
                in_word = 0;
                state = ' ';
                if (c == '\0')
                    break;
            } else if (c == '\\') {
                escaped_state = 'a';
                state = '\\';
                in_word = 1;
            } else if (c == '\'' || c == '"') {
                state = c;
                in_word = 1;
            } else {
                dsql_buf_putc(&word, c);
                state = 'a';
                in_word = 1;
            }
        } else if (state == '\'' || state == '"') {
            if (c == '\0') {
                rc = dsql_seterr(err, DSQL_ERR_INVALID, "no closing quotation");
                goto out;
            }
            if (c == state) {
                state = 'a';
            } else if (c == '\\' && state == '"') {
                escaped_state = state;
                state = '\\';
            } else {
                dsql_buf_putc(&word, c);
            }
        } else { /* state == '\\' */
            if (c == '\0') {
                rc = dsql_seterr(err, DSQL_ERR_INVALID, "no escaped character");
                goto out;
            }
            /* Inside "...", only the quote itself or the backslash may be escaped. */
            if (escaped_state == '"' && c != '"' && c != '\\')
                dsql_buf_putc(&word, '\\');
            dsql_buf_putc(&word, c);
            state = escaped_state;
        }
    }
    if (w.argv == NULL) {
        w.argv = calloc(1, sizeof *w.argv);
        if (w.argv == NULL)
            goto nomem;
    }
    if (dsql_buf_failed(&word))
        goto nomem;
    *out = w;
    w.argv = NULL;
    w.argc = 0;
    goto out;
nomem:
    rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
out:
    dsql_shlex_free(&w);
    dsql_buf_cleanup(&word);
    return rc;
}

void dsql_shlex_free(dsql_words *w)
{
    if (w == NULL || w->argv == NULL)
        return;
    for (size_t i = 0; i < w->argc; i++)
        dsql_free_secret(w->argv[i]);
    free(w->argv);
    w->argv = NULL;
    w->argc = 0;
}
