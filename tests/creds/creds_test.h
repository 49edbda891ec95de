/* SPDX-License-Identifier: MIT */
/* creds_test.h: helpers the credential suites share (temporary dirs, files, a clean env). */
#ifndef CREDS_TEST_H
#define CREDS_TEST_H

#include <stddef.h>

/* A new temporary directory (removed at exit). */
char *ct_tmpdir(void);

/* Writes text to dir/name (creating parent directories), with mode (e.g. 0644, 0755). Returns
 * the full path (static storage per call: copy it). */
const char *ct_write(const char *dir, const char *name, const char *text, int mode);

/* Reads a whole file into a new string, NULL if it does not exist. */
char *ct_read(const char *path);

/*
 * Unsets every AWS_* variable and points HOME, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
 * into dir (files dir/config and dir/credentials), so nothing of the machine leaks in.
 */
void ct_clean_env(const char *dir);

/* Replaces every "@DIR@" in s with dir; returns a new string. */
char *ct_subst(const char *s, const char *dir);

/* Number of lines in a file (the process counter), 0 if missing. */
int ct_count_lines(const char *path);

#endif
