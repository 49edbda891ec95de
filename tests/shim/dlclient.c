/* SPDX-License-Identifier: MIT */
/* dlclient.c: loads a libpq-using module RTLD_LOCAL (as Python loads extensions) and runs it. */

/*
 * dlclient MODULE CONNINFO QUERY: prints the module's answer; exits 0 on success.
 * Built twice: without libpq (RTLD_NEXT from the preload then finds no libpq at all) and with
 * it (WITH_LIBPQ: RTLD_NEXT would find the main program's copy, not the module's).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#ifdef WITH_LIBPQ
#include <libpq-fe.h>
#endif

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dlclient MODULE CONNINFO QUERY\n");
        return 2;
    }
#ifdef WITH_LIBPQ
    if (PQlibVersion() < 90000) /* keeps the main program's libpq in its DT_NEEDED */
        return 2;
#endif
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlclient: %s\n", dlerror());
        return 2;
    }
    int (*run)(const char *, const char *, char *, size_t);
    *(void **)&run = dlsym(h, "pqplugin_run");
    if (run == NULL) {
        fprintf(stderr, "dlclient: %s\n", dlerror());
        return 2;
    }
    char out[1024];
    int rc = run(argv[2], argv[3], out, sizeof out);
    printf("%s%s", out, out[0] && out[strlen(out) - 1] == '\n' ? "" : "\n");
    return rc == 0 ? 0 : 1;
}
