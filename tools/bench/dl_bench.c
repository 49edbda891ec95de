/* SPDX-License-Identifier: MIT */
/* dl_bench.c: what a dlsym or dlopen call costs a program that never touches libpq. */

/*
 * dl_bench [N]: times N calls each of dlsym(RTLD_DEFAULT, name), dlsym(handle, name) and
 * dlopen(RTLD_NOLOAD) + dlclose of libc, and prints one JSON line of nanoseconds per call. Run
 * once with the preload in LD_PRELOAD and once without (tools/bench/shim.sh): the preload
 * exports dlsym and dlopen, so every such call of every program passes through it first.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (n <= 0 || libc == NULL) {
        fprintf(stderr, "usage: dl_bench [N > 0] (libc.so.6 must be loaded)\n");
        return 2;
    }
    volatile void *sink = NULL;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink = dlsym(RTLD_DEFAULT, "strlen");
    double t1 = now_ns();
    for (long i = 0; i < n; i++)
        sink = dlsym(libc, "strlen");
    double t2 = now_ns();
    for (long i = 0; i < n; i++) {
        void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        sink = h;
        dlclose(h);
    }
    double t3 = now_ns();
    (void)sink;
    printf("{\"dlsym_default_ns\": %.1f, \"dlsym_handle_ns\": %.1f, \"dlopen_noload_ns\": %.1f}\n",
           (t1 - t0) / (double)n, (t2 - t1) / (double)n, (t3 - t2) / (double)n);
    dlclose(libc);
    return 0;
}
