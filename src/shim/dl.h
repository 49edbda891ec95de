/* SPDX-License-Identifier: MIT */
/* dl.h: libc's own dlsym and dlopen, for the preload, which exports functions of those names. */
#ifndef DSQL_SHIM_DL_H
#define DSQL_SHIM_DL_H

#include "base/attrs.h"

/*
 * The preload defines dlsym and dlopen (preload.c says why), so its own calls of those names
 * would come back to it; it calls these instead. Found once with dlvsym, which the preload does
 * not define, by the version glibc gives them. Thread-safe; NULL only if libc has no such
 * function (then dlerror() says nothing useful: the preload treats it as "no libpq").
 */
DSQL_LOCAL void *dsql_real_dlsym(void *handle, const char *name);
DSQL_LOCAL void *dsql_real_dlopen(const char *file, int mode);

/* The functions themselves (the exported trampolines jump to them). Not instrumented by the
 * sanitizers: their runtimes call dlsym before they are set up. */
typedef void *(*dsql_dlsym_fn)(void *, const char *);
typedef void *(*dsql_dlopen_fn)(const char *, int);
DSQL_LOCAL dsql_dlsym_fn dsql_real_dlsym_fn(void);
DSQL_LOCAL dsql_dlopen_fn dsql_real_dlopen_fn(void);

#endif /* DSQL_SHIM_DL_H */
