/* SPDX-License-Identifier: MIT */
/* rules.h: the rules of rules.tsv in C: their ids (rules_gen.h), their answers, their grades. */
#ifndef DSQL_LOCAL_RULES_H
#define DSQL_LOCAL_RULES_H

#include "rules_gen.h"

#include <stddef.h>

/*
 * A rule's answer with its `{}` filled in: SQLSTATE (5 characters and a NUL) and message. Pure
 * and thread-safe. arg NULL reads as "". The message is cut to fit msglen (at a UTF-8 character
 * boundary). Returns 0, or -1 for an undecided (grade U) rule, which refuses nothing.
 */
int rule_format(enum rule_id id, const char *arg, char sqlstate[6], char *msg, size_t msglen);

/* The rule's id as rules.tsv writes it, and its grade (R, D, T, I, U). */
const char *rule_name(enum rule_id id);
char rule_grade(enum rule_id id);

#endif /* DSQL_LOCAL_RULES_H */
