/* SPDX-License-Identifier: MIT */
/* dl.c: libc's own dlsym and dlopen, found by version (the preload exports its own). */
#include "shim/dl.h"

#include <dlfcn.h>
#include <stddef.h>

/*
 * glibc 2.34 moved the dl* functions into libc under GLIBC_2.34; before, they were libdl's,
 * under each architecture's base version. RTLD_NEXT from here is the object after the preload,
 * so libc (or libdl) answers, never the preload itself.
 */
static const char *const versions[] = {
    "GLIBC_2.34",
#if defined(__x86_64__)
    "GLIBC_2.2.5",
#elif defined(__aarch64__)
    "GLIBC_2.17",
#elif defined(__i386__)
    "GLIBC_2.1",
    "GLIBC_2.0",
#endif
};

DSQL_NO_SANITIZE static void *find(const char *name)
{
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        void *fn = dlvsym(RTLD_NEXT, name, versions[i]);
        if (fn != NULL)
            return fn;
    }
    return NULL;
}

/* Resolved on first use (races only store the same value twice). */
static dsql_dlsym_fn real_dlsym;
static dsql_dlopen_fn real_dlopen;

DSQL_NO_SANITIZE dsql_dlsym_fn dsql_real_dlsym_fn(void)
{
    dsql_dlsym_fn fn = __atomic_load_n(&real_dlsym, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        *(void **)&fn = find("dlsym");
        __atomic_store_n(&real_dlsym, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

DSQL_NO_SANITIZE dsql_dlopen_fn dsql_real_dlopen_fn(void)
{
    dsql_dlopen_fn fn = __atomic_load_n(&real_dlopen, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        *(void **)&fn = find("dlopen");
        __atomic_store_n(&real_dlopen, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

void *dsql_real_dlsym(void *handle, const char *name)
{
    dsql_dlsym_fn fn = dsql_real_dlsym_fn();
    return fn != NULL ? fn(handle, name) : NULL;
}

void *dsql_real_dlopen(const char *file, int mode)
{
    dsql_dlopen_fn fn = dsql_real_dlopen_fn();
    return fn != NULL ? fn(file, mode) : NULL;
}
