/* SPDX-License-Identifier: MIT */
/* proto.c: StartupMessage validation against DSQL's rules, and the messages the front builds. */
#include "proto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Accepted by DSQL but unknown to PostgreSQL: accepted here too, not passed to the backend.
 * amzn_cluster_id (`-c amzn-cluster-id=<id>`) names the cluster a connection through an AWS
 * PrivateLink interface endpoint's vpce name is for; this endpoint serves one cluster, and the
 * token (signed for that cluster's endpoint name) is what is checked.
 */
static int dsql_only(const char *name)
{
    return strcasecmp(name, "disable_sync_create_index") == 0 ||
           strcasecmp(name, "amzn_cluster_id") == 0;
}

int proto_param_allowed(const char *name)
{
    static const char *const allowed[] = {
        "application_name", "client_encoding", "DateStyle",   "extra_float_digits",
        "IntervalStyle",    "TimeZone",        "search_path", "role",
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcasecmp(name, allowed[i]) == 0)
            return 1;
    return strncasecmp(name, "enable_", 7) == 0 || dsql_only(name);
}

static int refuse(proto_refusal *r, const char *sqlstate, const char *fmt, const char *arg)
{
    snprintf(r->sqlstate, sizeof r->sqlstate, "%s", sqlstate);
    /* arg comes from the client: keep it short and printable. */
    char safe[64];
    size_t n = 0;
    for (const char *p = arg ? arg : ""; *p != '\0' && n < sizeof safe - 4; p++)
        safe[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    if (arg != NULL && strlen(arg) > n)
        safe[n++] = '.', safe[n++] = '.', safe[n++] = '.';
    safe[n] = '\0';
    /* fmt is always one of this file's literals with a single %s. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(r->message, sizeof r->message, fmt, safe);
#pragma GCC diagnostic pop
    return -1;
}

static int not_supported(proto_refusal *r, const char *name)
{
    return refuse(r, "0A000", "setting configuration parameter \"%s\" not supported", name);
}

/* White space as PostgreSQL's pg_split_opts sees it (isspace in the C locale). */
static int opt_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * Appends `-c name=value` to the rebuilt options, escaping white space and backslashes, so the
 * backend splits it into exactly the words checked here.
 */
static int options_add(char *out, size_t cap, const char *setting)
{
    size_t n = strlen(out);
    const char *pre = n == 0 ? "-c " : " -c ";
    if (n + strlen(pre) + 2 * strlen(setting) + 1 > cap)
        return -1;
    strcpy(out + n, pre);
    n += strlen(pre);
    for (const char *p = setting; *p != '\0'; p++) {
        if (opt_space(*p) || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n] = '\0';
    return 0;
}

/* Checks one `name=value` setting from `options` and keeps it when it is allowed. */
static int options_setting(char *setting, proto_startup *s, proto_refusal *r)
{
    char *eq = strchr(setting, '=');
    if (eq == NULL || eq == setting)
        return refuse(r, "08P01", "malformed setting in startup \"options\": %s", setting);
    *eq = '\0';
    for (char *p = setting; *p != '\0'; p++)
        if (*p == '-')
            *p = '_';
    if (!proto_param_allowed(setting))
        return not_supported(r, setting);
    if (dsql_only(setting))
        return 0;
    *eq = '=';
    if (options_add(s->options, sizeof s->options, setting) != 0)
        return refuse(r, "08P01", "startup \"options\" too long%s", "");
    return 0;
}

/*
 * Splits `options` as PostgreSQL's pg_split_opts does (whitespace separates, a backslash
 * escapes the next character) and accepts only `-c name=value`, `-cname=value` and
 * `--name=value`.
 */
static int parse_options(const char *value, proto_startup *s, proto_refusal *r)
{
    char word[PROTO_MAX_STARTUP];
    int want_setting = 0;
    const char *p = value;
    for (;;) {
        while (opt_space(*p))
            p++;
        if (*p == '\0')
            break;
        size_t n = 0;
        while (*p != '\0' && !opt_space(*p)) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            word[n++] = *p++;
        }
        word[n] = '\0';
        if (want_setting) {
            want_setting = 0;
            if (options_setting(word, s, r) != 0)
                return -1;
        } else if (strcmp(word, "-c") == 0) {
            want_setting = 1;
        } else if (strncmp(word, "-c", 2) == 0) {
            if (options_setting(word + 2, s, r) != 0)
                return -1;
        } else if (strncmp(word, "--", 2) == 0) {
            if (options_setting(word + 2, s, r) != 0)
                return -1;
        } else {
            return refuse(r, "0A000", "unsupported switch in startup \"options\": %s", word);
        }
    }
    if (want_setting)
        return refuse(r, "08P01", "startup \"options\" end after -c%s", "");
    return 0;
}

int proto_parse_startup(const char *body, size_t len, proto_startup *s, proto_refusal *r)
{
    memset(s, 0, sizeof *s);
    if (len < 4 || len > PROTO_MAX_STARTUP)
        return refuse(r, "08P01", "invalid length of startup packet%s", "");
    s->version = proto_get32(body);
    if (s->version >> 16 != 3) {
        snprintf(r->sqlstate, sizeof r->sqlstate, "0A000");
        snprintf(r->message, sizeof r->message,
                 "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
                 s->version >> 16, s->version & 0xffff);
        return -1;
    }
    /* name\0value\0 ... \0: the last byte is the terminator, every string is terminated. */
    const char *p = body + 4, *end = body + len;
    if (p >= end || end[-1] != '\0')
        return refuse(r, "08P01",
                      "invalid startup packet layout: expected terminator as last "
                      "byte%s",
                      "");
    const char *names_seen[PROTO_MAX_PARAMS];
    size_t nseen = 0;
    while (p < end - 1) {
        const char *name = p;
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (nul == name)
            return refuse(r, "08P01", "invalid startup packet layout: empty parameter name%s", "");
        if (nul >= end - 1)
            return refuse(r, "08P01",
                          "invalid startup packet layout: parameter \"%s\" has no "
                          "value",
                          name);
        const char *value = nul + 1;
        const char *vnul = memchr(value, '\0', (size_t)(end - value));
        if (vnul == end - 1)
            return refuse(r, "08P01",
                          "invalid startup packet layout: expected terminator as "
                          "last byte%s",
                          "");
        p = vnul + 1;
        for (size_t i = 0; i < nseen; i++)
            if (strcasecmp(names_seen[i], name) == 0)
                return refuse(r, "08P01", "startup parameter \"%s\" given twice", name);
        if (nseen == sizeof names_seen / sizeof names_seen[0])
            return refuse(r, "08P01", "too many startup parameters%s", "");
        names_seen[nseen++] = name;

        if (strcmp(name, "user") == 0) {
            s->user = value;
        } else if (strcmp(name, "database") == 0) {
            s->database = value;
        } else if (strcmp(name, "options") == 0) {
            if (parse_options(value, s, r) != 0)
                return -1;
        } else if (strncmp(name, "_pq_.", 5) == 0) {
            s->unsupported_pq[s->nunsupported_pq++] = name;
        } else if (!proto_param_allowed(name)) {
            return not_supported(r, name);
        } else if (!dsql_only(name)) {
            s->names[s->nparams] = name;
            s->values[s->nparams++] = value;
        }
    }
    if (s->user == NULL || *s->user == '\0')
        return refuse(r, "28000", "no PostgreSQL user name specified in startup packet%s", "");
    if (strlen(s->user) >= 64)
        return refuse(r, "28000", "role name too long: %s", s->user);
    if (s->database == NULL || *s->database == '\0')
        s->database = s->user;
    return 0;
}

int proto_password_header(const unsigned char hdr[5], size_t max, size_t *body_len,
                          proto_refusal *r)
{
    uint32_t len = proto_get32(hdr + 1);
    if (hdr[0] != 'p')
        return refuse(r, "08P01", "expected password response%s", "");
    if (len < 5 || len > max)
        return refuse(r, "08P01", "invalid password packet size%s", "");
    *body_len = len - 4;
    return 0;
}

int proto_password_body(const char *body, size_t n, proto_refusal *r)
{
    if (n == 0 || body[n - 1] != '\0' || strlen(body) != n - 1)
        return refuse(r, "08P01", "invalid password packet: not one terminated string%s", "");
    return 0;
}

void proto_put_error(dsql_buf *b, const char *severity, const char *sqlstate, const char *message)
{
    size_t start = b->len;
    dsql_buf_append(b, "E\0\0\0\0", 5);
    dsql_buf_putc(b, 'S');
    dsql_buf_append(b, severity, strlen(severity) + 1);
    dsql_buf_putc(b, 'V');
    dsql_buf_append(b, severity, strlen(severity) + 1);
    dsql_buf_putc(b, 'C');
    dsql_buf_append(b, sqlstate, strlen(sqlstate) + 1);
    dsql_buf_putc(b, 'M');
    dsql_buf_append(b, message, strlen(message) + 1);
    dsql_buf_putc(b, '\0');
    if (!dsql_buf_failed(b))
        proto_set32(b->data + start + 1, (uint32_t)(b->len - start - 1));
}

static void put_pair(dsql_buf *b, const char *name, const char *value)
{
    dsql_buf_append(b, name, strlen(name) + 1);
    dsql_buf_append(b, value, strlen(value) + 1);
}

void proto_put_startup(dsql_buf *b, const proto_startup *s)
{
    size_t start = b->len;
    unsigned char hdr[8];
    proto_set32(hdr + 4, PROTO_V3);
    dsql_buf_append(b, hdr, 8);
    put_pair(b, "user", s->user);
    put_pair(b, "database", s->database);
    for (size_t i = 0; i < s->nparams; i++)
        put_pair(b, s->names[i], s->values[i]);
    if (s->options[0] != '\0')
        put_pair(b, "options", s->options);
    dsql_buf_putc(b, '\0');
    if (!dsql_buf_failed(b))
        proto_set32(b->data + start, (uint32_t)(b->len - start));
}

void proto_put_negotiate(dsql_buf *b, const proto_startup *s)
{
    size_t start = b->len;
    unsigned char word[4];
    dsql_buf_append(b, "v\0\0\0\0", 5);
    proto_set32(word, 0);
    dsql_buf_append(b, word, 4);
    proto_set32(word, (uint32_t)s->nunsupported_pq);
    dsql_buf_append(b, word, 4);
    for (size_t i = 0; i < s->nunsupported_pq; i++)
        dsql_buf_append(b, s->unsupported_pq[i], strlen(s->unsupported_pq[i]) + 1);
    if (!dsql_buf_failed(b))
        proto_set32(b->data + start + 1, (uint32_t)(b->len - start - 1));
}
