/* SPDX-License-Identifier: MIT */
/* The stand-in's stderr capture (see criterion.h): cr_redirect_stderr as a test's .init sends
 * stderr to a file that cr_get_redirected_stderr() opens for reading. */
#ifndef DSQLAUTH_TSAN_CRITERION_REDIRECT_H
#define DSQLAUTH_TSAN_CRITERION_REDIRECT_H

#include <stdio.h>

void cr_redirect_stderr(void);
FILE *cr_get_redirected_stderr(void);

#endif
