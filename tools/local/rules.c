/* SPDX-License-Identifier: MIT */
/* rules.c: the rules of rules.tsv in C: their answers with the statement's own words filled in. */
#define RULES_GEN_TABLE
#include "rules.h"

#include <string.h>

/* Appends n bytes of s to out (capacity cap, NUL kept), not splitting a UTF-8 character. */
static size_t append(char *out, size_t o, size_t cap, const char *s, size_t n)
{
    if (o + n + 1 > cap) {
        n = o + 1 < cap ? cap - o - 1 : 0;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out + o, s, n);
    out[o + n] = '\0';
    return o + n;
}

int rule_format(enum rule_id id, const char *arg, char sqlstate[6], char *msg, size_t msglen)
{
    int rc = -1;
    if ((unsigned)id >= RULE_COUNT || msglen == 0)
        goto out;
    const struct rule_row *r = &rule_rows[id];
    if (r->grade == 'U')
        goto out;
    memcpy(sqlstate, r->sqlstate, 6);
    const char *hole = strstr(r->message, "{}");
    size_t o = 0;
    msg[0] = '\0';
    if (hole == NULL) {
        o = append(msg, o, msglen, r->message, strlen(r->message));
    } else {
        o = append(msg, o, msglen, r->message, (size_t)(hole - r->message));
        o = append(msg, o, msglen, arg ? arg : "", arg ? strlen(arg) : 0);
        o = append(msg, o, msglen, hole + 2, strlen(hole + 2));
    }
    rc = 0;
out:
    return rc;
}

const char *rule_name(enum rule_id id)
{
    return (unsigned)id < RULE_COUNT ? rule_rows[id].id : "?";
}

char rule_grade(enum rule_id id)
{
    return (unsigned)id < RULE_COUNT ? rule_rows[id].grade : '?';
}
