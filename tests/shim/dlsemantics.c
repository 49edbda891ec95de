/* SPDX-License-Identifier: MIT */
/* dlsemantics.c: what dlsym and dlopen answer a program, to compare with and without the shim. */

/*
 * dlsemantics next             prints the file that dlsym(RTLD_NEXT, "PQconnectdb") resolves to
 *                              from the main program (with the preload loaded: the preload's
 *                              own, as glibc answers for the main program; from anywhere else
 *                              it would be libpq's)
 * dlsemantics open NAME        dlopen(NAME) of a bare name, found through this program's
 *                              RUNPATH ($ORIGIN/sub): prints "loaded" or dlerror()
 * dlsemantics deepbind MODULE CONNINFO QUERY
 *                              dlopen(MODULE, RTLD_DEEPBIND) as PHP loads its extensions, then
 *                              runs it as dlclient does
 */
#include <dlfcn.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "next") == 0) {
        if (PQlibVersion() < 90000) /* keeps libpq in DT_NEEDED */
            return 2;
        Dl_info info;
        void *fn = dlsym(RTLD_NEXT, "PQconnectdb");
        if (fn == NULL || dladdr(fn, &info) == 0) {
            printf("none\n");
            return 1;
        }
        const char *slash = strrchr(info.dli_fname, '/');
        printf("%s\n", slash != NULL ? slash + 1 : info.dli_fname);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "open") == 0) {
        void *h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
        printf("%s\n", h != NULL ? "loaded" : dlerror());
        return h != NULL ? 0 : 1;
    }
    if (argc == 5 && strcmp(argv[1], "deepbind") == 0) {
        void *h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (h == NULL) {
            fprintf(stderr, "dlsemantics: %s\n", dlerror());
            return 2;
        }
        int (*run)(const char *, const char *, char *, size_t);
        *(void **)&run = dlsym(h, "pqplugin_run");
        if (run == NULL) {
            fprintf(stderr, "dlsemantics: %s\n", dlerror());
            return 2;
        }
        char out[1024];
        int rc = run(argv[3], argv[4], out, sizeof out);
        printf("%s%s", out, out[0] && out[strlen(out) - 1] == '\n' ? "" : "\n");
        return rc == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: dlsemantics next | open NAME | deepbind MODULE CONNINFO QUERY\n");
    return 2;
}
