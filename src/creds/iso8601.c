/* SPDX-License-Identifier: MIT */
/* iso8601.c: a strict, locale- and TZ-independent ISO 8601 timestamp parser. */
#include "creds/iso8601.h"

int64_t dsql_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits; returns -1 if any is not a digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int dsql_iso8601_parse(const char *s, int64_t *out)
{
    if (s == NULL)
        return -1;
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || expect(&p, '-') != 0)
        return -1;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || expect(&p, '-') != 0)
        return -1;
    int d = digits(&p, 2);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    int h = digits(&p, 2);
    if (h < 0 || h > 23 || expect(&p, ':') != 0)
        return -1;
    int mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || expect(&p, ':') != 0)
        return -1;
    int sec = digits(&p, 2);
    if (sec < 0 || sec > 59)
        return -1;
    if (*p == '.' || *p == ',') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, 2);
        if (oh < 0 || oh > 23)
            return -1;
        int om = 0;
        if (*p == ':') {
            p++;
            om = digits(&p, 2);
            if (om < 0)
                return -1;
        } else if (*p >= '0' && *p <= '9') {
            om = digits(&p, 2);
            if (om < 0)
                return -1;
        }
        if (om > 59)
            return -1;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = dsql_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
           offset;
    return 0;
}
