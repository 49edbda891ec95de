/* SPDX-License-Identifier: MIT */
/* report.h: the doctor's findings, step by step, and their two renderings (text and JSON). */
#ifndef DSQL_DOCTOR_REPORT_H
#define DSQL_DOCTOR_REPORT_H

#include <stdio.h>

#define REPORT_TEXT_MAX 2048
#define REPORT_FACTS_MAX 8
#define REPORT_FACT_MAX 512
#define REPORT_STEPS_MAX 12

enum step_status { STEP_OK, STEP_FAILED, STEP_SKIPPED };

/* A named value a script may want (--json): "region" = "us-east-1", ... Never a secret. */
typedef struct report_fact {
    const char *key; /* a string literal */
    char value[REPORT_FACT_MAX];
} report_fact;

/* One step: ok with what was found, FAILED with what to do, or skipped with why. */
typedef struct report_step {
    const char *name; /* a string literal: "credentials", "region", ... */
    enum step_status status;
    char text[REPORT_TEXT_MAX];
    report_fact facts[REPORT_FACTS_MAX];
    int nfacts;
} report_step;

/* The whole run. Owns nothing outside itself; filled by checks.c, printed here. */
typedef struct report {
    char host[256]; /* as given */
    char user[64];
    report_step steps[REPORT_STEPS_MAX];
    int nsteps;
    int failed; /* 1 once a step failed: later steps are skipped */
} report;

/* Starts the next step; returns it. */
report_step *report_begin(report *r, const char *name);

/* Sets the step's outcome and text (printf-style). */
void report_set(report_step *s, enum step_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a fact (printf-style); silently dropped past REPORT_FACTS_MAX. */
void report_fact_add(report_step *s, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Text, one line a step: "<name padded to 12> ok: <text>", "... FAILED: <what to do>" or
 * "... skipped: <why>", then a summary line. Control characters in texts are shown as '?'.
 */
void report_print_text(const report *r, FILE *f);

/* One JSON object: {"host", "user", "ok", "failed_step", "steps": [{"name", "status"
 * ("ok"|"failed"|"skipped"), "message", "facts": {...}}]}. */
void report_print_json(const report *r, FILE *f);

#endif /* DSQL_DOCTOR_REPORT_H */
