/* SPDX-License-Identifier: MIT */
/* attrs.h: the compiler attributes every module uses (hidden visibility, printf checking). */
#ifndef DSQL_BASE_ATTRS_H
#define DSQL_BASE_ATTRS_H

#if defined(__GNUC__)
#define DSQL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define DSQL_LOCAL __attribute__((visibility("hidden")))
/*
 * Code that may run before a sanitizer runtime has set itself up: the preload's dlsym, which
 * the runtimes themselves call while initialising (to find what they intercept).
 */
#define DSQL_NO_SANITIZE __attribute__((no_sanitize("address", "undefined", "thread")))
#else
#define DSQL_PRINTF(a, b)
#define DSQL_LOCAL
#define DSQL_NO_SANITIZE
#endif

#endif /* DSQL_BASE_ATTRS_H */
