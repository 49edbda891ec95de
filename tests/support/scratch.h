/* SPDX-License-Identifier: MIT */
/* scratch.h: temporary folders and files, and an environment isolated from the machine's. */
#ifndef DSQL_TEST_SCRATCH_H
#define DSQL_TEST_SCRATCH_H

#include <stddef.h>

/* A new temporary directory (removed at exit). */
char *scratch_dir(void);

/* Writes text to dir/name (creating parent directories), with mode (e.g. 0644, 0755). Returns
 * the full path (static storage per call: copy it). */
const char *scratch_write(const char *dir, const char *name, const char *text, int mode);

/* Reads a whole file into a new string, NULL if it does not exist. */
char *scratch_read(const char *path);

/*
 * Unsets every AWS_* variable and every setting of the library and the shim (DSQLAUTH_LOG,
 * DSQLAUTH_REGION, ...; the test plumbing, DSQLAUTH_SOURCE_ROOT and the like, stays), turns
 * the metadata service off, and points HOME, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
 * into dir (files dir/config and dir/credentials), so nothing of the machine leaks in.
 */
void scratch_isolate_env(const char *dir);

/* Replaces every "@DIR@" in s with dir; returns a new string. */
char *scratch_subst(const char *s, const char *dir);

/* Number of lines in a file (the process counter), 0 if missing. */
int scratch_count_lines(const char *path);

#endif /* DSQL_TEST_SCRATCH_H */
