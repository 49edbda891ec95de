/* SPDX-License-Identifier: MIT */
/* report.c: the doctor's findings, step by step, and their two renderings (text and JSON). */
#include "report.h"

#include <stdarg.h>
#include <string.h>

report_step *report_begin(report *r, const char *name)
{
    report_step *s = &r->steps[r->nsteps < REPORT_STEPS_MAX ? r->nsteps++ : REPORT_STEPS_MAX - 1];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->status = STEP_SKIPPED;
    return s;
}

void report_set(report_step *s, enum step_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->text, sizeof s->text, fmt, ap);
    va_end(ap);
    s->status = status;
}

void report_fact_add(report_step *s, const char *key, const char *fmt, ...)
{
    if (s->nfacts >= REPORT_FACTS_MAX)
        return;
    report_fact *f = &s->facts[s->nfacts++];
    f->key = key;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->value, sizeof f->value, fmt, ap);
    va_end(ap);
}

static const char *status_word(enum step_status st)
{
    return st == STEP_OK ? "ok" : st == STEP_FAILED ? "FAILED" : "skipped";
}

static void put_printable(const char *s, FILE *f)
{
    for (; *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static const report_step *failed_step(const report *r)
{
    for (int i = 0; i < r->nsteps; i++)
        if (r->steps[i].status == STEP_FAILED)
            return &r->steps[i];
    return NULL;
}

void report_print_text(const report *r, FILE *f)
{
    for (int i = 0; i < r->nsteps; i++) {
        const report_step *s = &r->steps[i];
        fprintf(f, "%-12s %s: ", s->name, status_word(s->status));
        put_printable(s->text, f);
        fputc('\n', f);
    }
    const report_step *bad = failed_step(r);
    if (bad != NULL)
        fprintf(f, "result: FAILED at %s\n", bad->name);
    else
        fprintf(f, "result: ok, all %d steps passed\n", r->nsteps);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json_string(const char *s, FILE *f)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void report_print_json(const report *r, FILE *f)
{
    const report_step *bad = failed_step(r);
    fputs("{\"host\":", f);
    put_json_string(r->host, f);
    fputs(",\"user\":", f);
    put_json_string(r->user, f);
    fprintf(f, ",\"ok\":%s,\"failed_step\":", bad == NULL ? "true" : "false");
    if (bad != NULL)
        put_json_string(bad->name, f);
    else
        fputs("null", f);
    fputs(",\"steps\":[", f);
    for (int i = 0; i < r->nsteps; i++) {
        const report_step *s = &r->steps[i];
        fputs(i > 0 ? ",{\"name\":" : "{\"name\":", f);
        put_json_string(s->name, f);
        fputs(",\"status\":", f);
        put_json_string(s->status == STEP_OK       ? "ok"
                        : s->status == STEP_FAILED ? "failed"
                                                   : "skipped",
                        f);
        fputs(",\"message\":", f);
        put_json_string(s->text, f);
        fputs(",\"facts\":{", f);
        for (int j = 0; j < s->nfacts; j++) {
            if (j > 0)
                fputc(',', f);
            put_json_string(s->facts[j].key, f);
            fputc(':', f);
            put_json_string(s->facts[j].value, f);
        }
        fputs("}}", f);
    }
    fputs("]}\n", f);
}
