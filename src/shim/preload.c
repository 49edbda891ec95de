/* SPDX-License-Identifier: MIT */
/* preload.c: the LD_PRELOAD interposer: libpq's entry points, and dlsym/dlopen (libc only). */

/*
 * Programs reach libpq's entry points three ways, and each is covered here:
 *  - by name, through the global scope (psql, pg_dump, psycopg2, ruby-pg, ...): the preload
 *    comes first there, so its PQconnectdb ... PQresetStart below are what they call;
 *  - by handle, with dlsym (ctypes: psycopg 3's pure-Python layer, pgcli): dlsym below hands
 *    back, for a real libpq entry point, a wrapper bound to the copy that was asked;
 *  - from an object loaded with RTLD_DEEPBIND (PHP's pgsql and pdo_pgsql), which binds to its
 *    own libpq before the global scope: dlopen below redirects such an object's references
 *    (got.c).
 * Every wrapper then: passes through when nested (libpq calls its own PQconnectStart* through
 * the PLT, so they re-enter: a thread-local depth counter), and otherwise lets dispatch.c
 * decide and act, with the functions of the libpq copy the caller uses (libpq.c). libdsqlauth,
 * with OpenSSL, libcurl and jansson, is loaded on the first DSQL target only. Nothing here
 * prints unless DSQLAUTH_LOG asks, calls exit(), or runs at load time.
 */
#include "base/log.h"
#include "shim/dispatch.h"
#include "shim/dl.h"
#include "shim/got.h"
#include "shim/libpq.h"
#include "shim/pgdump.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* Initial-exec: the preload is loaded at start-up, so static TLS is there, and the access costs
 * no __tls_get_addr call (nor a dependency on ld.so). */
static _Thread_local int depth __attribute__((tls_model("initial-exec")));

/* ---- libdsqlauth, loaded on the first DSQL target ---------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static dsql_signer library_signer;
static char library_error[DSQL_ERROR_MAX];

static void library_load(void)
{
    char path[PATH_MAX];
    const char *want = getenv("DSQLAUTH_LIBRARY");
    if (want == NULL || *want == '\0') {
        /* Next to this file first, so a build tree or an unusual prefix works as installed. */
        Dl_info info;
        want = "libdsqlauth.so.0";
        if (dladdr((void *)(uintptr_t)library_load, &info) != 0 && info.dli_fname != NULL) {
            const char *slash = strrchr(info.dli_fname, '/');
            if (slash != NULL &&
                snprintf(path, sizeof path, "%.*s/libdsqlauth.so.0", (int)(slash - info.dli_fname),
                         info.dli_fname) < (int)sizeof path &&
                access(path, F_OK) == 0)
                want = path;
        }
    }
    void *lib = dsql_real_dlopen(want, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(library_error, sizeof library_error,
                 "cannot load libdsqlauth (%.300s); install it next to libdsqlauth_preload.so "
                 "or set DSQLAUTH_LIBRARY to its path",
                 why != NULL ? why : want);
        return;
    }
    *(void **)&library_signer.endpoint = dsql_real_dlsym(lib, "dsql_auth_endpoint");
    *(void **)&library_signer.token = dsql_real_dlsym(lib, "dsql_auth_token_for_host");
    *(void **)&library_signer.token_free = dsql_real_dlsym(lib, "dsql_token_free");
    if (library_signer.endpoint == NULL || library_signer.token == NULL ||
        library_signer.token_free == NULL) {
        snprintf(library_error, sizeof library_error,
                 "%.300s lacks dsql_auth_token_for_host; install the libdsqlauth of the same "
                 "release as libdsqlauth_preload.so",
                 want);
        library_signer.token = NULL;
        return;
    }
    dsql_log(DSQL_LOG_DEBUG, "loaded %s", want);
}

static const dsql_signer *library(char *msg, size_t len)
{
    pthread_once(&library_once, library_load);
    if (library_signer.token == NULL) {
        snprintf(msg, len, "%s", library_error);
        return NULL;
    }
    return &library_signer;
}

/* ---- one call, through one libpq copy ------------------------------------------------------ */

static void no_libpq(const dsql_call *c)
{
    /* Cannot happen for a caller linked with libpq; nothing to make a PGconn with. */
    dsql_log(DSQL_LOG_ERROR, "%s: no libpq found for the caller", dsql_entry_names[c->entry]);
}

static PGconn *connect_via(const dsql_libpq *pq, const dsql_call *c)
{
    if (pq == NULL) {
        no_libpq(c);
        return NULL;
    }
    if (depth > 0)
        return dsql_pass_connect(pq, c);
#ifndef DSQLAUTH_BENCH_WITHOUT_PGDUMP
    dsql_pgdump_attach(pq); /* nothing unless this is pg_dump or pg_dumpall */
#endif
    depth++; /* libpq's own calls of the entry points, from here on, go straight through */
    PGconn *conn = dsql_dispatch_connect(pq, library, c);
    depth--;
    return conn;
}

static PGPing ping_via(const dsql_libpq *pq, const dsql_call *c)
{
    if (pq == NULL) {
        no_libpq(c);
        return PQPING_NO_ATTEMPT;
    }
    if (depth > 0)
        return dsql_pass_ping(pq, c);
    depth++;
    PGPing r = dsql_dispatch_ping(pq, library, c);
    depth--;
    return r;
}

static int reset_via(const dsql_libpq *pq, const dsql_call *c)
{
    if (pq == NULL) {
        no_libpq(c);
        return 0;
    }
    if (depth > 0)
        return dsql_pass_reset(pq, c);
    depth++;
    int r = dsql_dispatch_reset(pq, library, c);
    depth--;
    return r;
}

/* ---- the entry points, by name: the caller's copy from the return address --------------- */

#define CALLER_COPY(e) dsql_libpq_of_caller(__builtin_return_address(0), dsql_entry_names[e])

EXPORT PGconn *PQconnectdb(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQCONNECTDB, .conninfo = conninfo};
    return connect_via(CALLER_COPY(c.entry), &c);
}

EXPORT PGconn *PQconnectStart(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQCONNECTSTART, .conninfo = conninfo};
    return connect_via(CALLER_COPY(c.entry), &c);
}

EXPORT PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
                                 int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQCONNECTDBPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return connect_via(CALLER_COPY(c.entry), &c);
}

EXPORT PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
                                    int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQCONNECTSTARTPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return connect_via(CALLER_COPY(c.entry), &c);
}

/* PQsetdbLogin becomes a PQconnectdbParams call when rewritten. */
EXPORT PGconn *PQsetdbLogin(const char *pghost, const char *pgport, const char *pgoptions,
                            const char *pgtty, const char *dbName, const char *login,
                            const char *pwd)
{
    dsql_call c = {.entry = DSQL_PQSETDBLOGIN,
                   .host = pghost,
                   .port = pgport,
                   .options = pgoptions,
                   .tty = pgtty,
                   .dbname = dbName,
                   .user = login,
                   .password = pwd};
    return connect_via(CALLER_COPY(c.entry), &c);
}

EXPORT PGPing PQping(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQPING, .conninfo = conninfo};
    return ping_via(CALLER_COPY(c.entry), &c);
}

EXPORT PGPing PQpingParams(const char *const *keywords, const char *const *values,
                           int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQPINGPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return ping_via(CALLER_COPY(c.entry), &c);
}

EXPORT void PQreset(PGconn *conn)
{
    dsql_call c = {.entry = DSQL_PQRESET, .conn = conn};
    reset_via(CALLER_COPY(c.entry), &c);
}

EXPORT int PQresetStart(PGconn *conn)
{
    dsql_call c = {.entry = DSQL_PQRESETSTART, .conn = conn};
    return reset_via(CALLER_COPY(c.entry), &c);
}

/* ---- the entry points bound to one copy: what dlsym and the GOT redirection hand out ----- */

#define BOUND_SLOT(i)                                                                              \
    static PGconn *bound_connectdb_##i(const char *conninfo)                                       \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQCONNECTDB, .conninfo = conninfo};                           \
        return connect_via(dsql_libpq_slot(i), &c);                                                \
    }                                                                                              \
    static PGconn *bound_connectdb_params_##i(const char *const *k, const char *const *v, int e)   \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQCONNECTDBPARAMS, .keywords = k, .values = v, .expand = e};  \
        return connect_via(dsql_libpq_slot(i), &c);                                                \
    }                                                                                              \
    static PGconn *bound_setdb_login_##i(const char *h, const char *p, const char *o,              \
                                         const char *t, const char *d, const char *u,              \
                                         const char *pw)                                           \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQSETDBLOGIN,                                                 \
                       .host = h,                                                                  \
                       .port = p,                                                                  \
                       .options = o,                                                               \
                       .tty = t,                                                                   \
                       .dbname = d,                                                                \
                       .user = u,                                                                  \
                       .password = pw};                                                            \
        return connect_via(dsql_libpq_slot(i), &c);                                                \
    }                                                                                              \
    static PGconn *bound_connect_start_##i(const char *conninfo)                                   \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQCONNECTSTART, .conninfo = conninfo};                        \
        return connect_via(dsql_libpq_slot(i), &c);                                                \
    }                                                                                              \
    static PGconn *bound_connect_start_params_##i(const char *const *k, const char *const *v,      \
                                                  int e)                                           \
    {                                                                                              \
        dsql_call c = {                                                                            \
            .entry = DSQL_PQCONNECTSTARTPARAMS, .keywords = k, .values = v, .expand = e};          \
        return connect_via(dsql_libpq_slot(i), &c);                                                \
    }                                                                                              \
    static PGPing bound_ping_##i(const char *conninfo)                                             \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQPING, .conninfo = conninfo};                                \
        return ping_via(dsql_libpq_slot(i), &c);                                                   \
    }                                                                                              \
    static PGPing bound_ping_params_##i(const char *const *k, const char *const *v, int e)         \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQPINGPARAMS, .keywords = k, .values = v, .expand = e};       \
        return ping_via(dsql_libpq_slot(i), &c);                                                   \
    }                                                                                              \
    static void bound_reset_##i(PGconn *conn)                                                      \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQRESET, .conn = conn};                                       \
        reset_via(dsql_libpq_slot(i), &c);                                                         \
    }                                                                                              \
    static int bound_reset_start_##i(PGconn *conn)                                                 \
    {                                                                                              \
        dsql_call c = {.entry = DSQL_PQRESETSTART, .conn = conn};                                  \
        return reset_via(dsql_libpq_slot(i), &c);                                                  \
    }

#define BOUND_ROW(i)                                                                               \
    {                                                                                              \
        (void *)bound_connectdb_##i, (void *)bound_connectdb_params_##i,                           \
            (void *)bound_setdb_login_##i, (void *)bound_connect_start_##i,                        \
            (void *)bound_connect_start_params_##i, (void *)bound_ping_##i,                        \
            (void *)bound_ping_params_##i, (void *)bound_reset_##i, (void *)bound_reset_start_##i, \
    }

BOUND_SLOT(0)
BOUND_SLOT(1)
BOUND_SLOT(2)
BOUND_SLOT(3)
BOUND_SLOT(4)
BOUND_SLOT(5)
BOUND_SLOT(6)
BOUND_SLOT(7)

_Static_assert(DSQL_LIBPQ_COPIES == 8, "one BOUND_SLOT per table slot");
_Static_assert(DSQL_ENTRY_COUNT == 9, "BOUND_SLOT lists every entry point");

static void *const bound[DSQL_LIBPQ_COPIES][DSQL_ENTRY_COUNT] = {
    BOUND_ROW(0), BOUND_ROW(1), BOUND_ROW(2), BOUND_ROW(3),
    BOUND_ROW(4), BOUND_ROW(5), BOUND_ROW(6), BOUND_ROW(7),
};

/* The wrapper for real (an entry point e found in some libpq copy), or NULL. */
static void *bound_for(int e, void *real)
{
    if (e < 0 || real == NULL || dsql_libpq_is_ours(real))
        return NULL;
    const dsql_libpq *pq = dsql_libpq_of_function(real);
    return pq != NULL ? bound[dsql_libpq_slot_of(pq)][e] : NULL;
}

/* ---- dlsym: an entry point looked up by handle ------------------------------------------- */

/*
 * dlsym(handle, name) for one of the entry points and a real handle (ctypes.CDLL's): the
 * wrapper bound to the copy that answers. The lookup itself is libc's, made from here; for a
 * real handle the caller does not change its answer.
 */
static void *dlsym_entry(void *handle, const char *name)
{
    void *real = dsql_real_dlsym(handle, name);
    void *wrapper = bound_for(dsql_entry_of(name), real);
    if (wrapper != NULL)
        dsql_log(DSQL_LOG_DEBUG, "dlsym(%s): the wrapper", name);
    return wrapper != NULL ? wrapper : real;
}

/*
 * Which function the exported dlsym goes on to, with the caller's own arguments and return
 * address: libc's, for everything but an entry point looked up by handle. RTLD_NEXT and
 * RTLD_DEFAULT lookups go to libc untouched: their answer depends on the caller, which glibc
 * reads from the return address, so the trampoline below jumps rather than calls.
 */
DSQL_LOCAL void *dsql_dlsym_pick(void *handle, const char *name) __attribute__((used));
DSQL_NO_SANITIZE void *dsql_dlsym_pick(void *handle, const char *name)
{
    /* Sanitizer runtimes call dlsym(RTLD_NEXT, ...) before they are set up: that case touches
     * no instrumented code. */
    if (handle != RTLD_NEXT && handle != RTLD_DEFAULT && dsql_entry_of(name) >= 0)
        return (void *)(uintptr_t)dlsym_entry;
    dsql_dlsym_fn real = dsql_real_dlsym_fn();
    return real != NULL ? (void *)(uintptr_t)real : (void *)(uintptr_t)dlsym_entry;
}

/* ---- dlopen: objects loaded with RTLD_DEEPBIND ---------------------------------------------- */

static void *choose_wrapper(const char *name, void *handle)
{
    int e = dsql_entry_of(name);
    /* What the object's own scope binds name to: its libpq, ahead of the global scope. */
    return e < 0 ? NULL : bound_for(e, dsql_real_dlsym(handle, name));
}

/*
 * RTLD_DEEPBIND: loaded by libc, then the new object's references to the entry points are
 * pointed at the wrappers bound to its libpq. (This call is libc's from here, so a relative
 * name is not searched in the caller's RUNPATH; PHP passes full paths.)
 */
static void *dlopen_deepbind(const char *file, int mode)
{
    void *h = dsql_real_dlopen(file, mode);
    struct link_map *map = NULL;
    if (h != NULL && (mode & RTLD_DEEPBIND) && dlinfo(h, RTLD_DI_LINKMAP, &map) == 0) {
        int n = dsql_got_redirect(map, choose_wrapper, h);
        if (n > 0)
            dsql_log(DSQL_LOG_DEBUG, "%s (RTLD_DEEPBIND): %d libpq references redirected",
                     map->l_name, n);
    }
    return h;
}

DSQL_LOCAL void *dsql_dlopen_pick(const char *file, int mode) __attribute__((used));
DSQL_NO_SANITIZE void *dsql_dlopen_pick(const char *file, int mode)
{
    (void)file;
    dsql_dlopen_fn real = dsql_real_dlopen_fn();
    if ((mode & RTLD_DEEPBIND) || real == NULL)
        return (void *)(uintptr_t)dlopen_deepbind;
    return (void *)(uintptr_t)real;
}

/*
 * The exported dlsym and dlopen: ask the pick function where to go, then jump there with the
 * caller's arguments and return address intact (a C tail call is not guaranteed at every
 * optimisation level, so this is written out per architecture).
 */
#if defined(__x86_64__)
#define TRAMPOLINE(name, pick)                                                                     \
    __asm__(".text\n"                                                                              \
            ".globl " #name "\n"                                                                   \
            ".type " #name ", @function\n"                                                         \
            ".p2align 4\n" #name ":\n"                                                             \
            "    .cfi_startproc\n"                                                                 \
            "    endbr64\n"                                                                        \
            "    push %rdi\n"                                                                      \
            "    .cfi_adjust_cfa_offset 8\n"                                                       \
            "    push %rsi\n"                                                                      \
            "    .cfi_adjust_cfa_offset 8\n"                                                       \
            "    sub $8, %rsp\n"                                                                   \
            "    .cfi_adjust_cfa_offset 8\n"                                                       \
            "    call " #pick "\n"                                                                 \
            "    add $8, %rsp\n"                                                                   \
            "    .cfi_adjust_cfa_offset -8\n"                                                      \
            "    pop %rsi\n"                                                                       \
            "    .cfi_adjust_cfa_offset -8\n"                                                      \
            "    pop %rdi\n"                                                                       \
            "    .cfi_adjust_cfa_offset -8\n"                                                      \
            "    jmp *%rax\n"                                                                      \
            "    .cfi_endproc\n"                                                                   \
            ".size " #name ", .-" #name "\n")
#elif defined(__aarch64__)
#define TRAMPOLINE(name, pick)                                                                     \
    __asm__(".text\n"                                                                              \
            ".globl " #name "\n"                                                                   \
            ".type " #name ", %function\n"                                                         \
            ".p2align 2\n" #name ":\n"                                                             \
            "    .cfi_startproc\n"                                                                 \
            "    hint #34\n" /* bti c */                                                           \
            "    stp x29, x30, [sp, #-32]!\n"                                                      \
            "    .cfi_def_cfa_offset 32\n"                                                         \
            "    .cfi_offset 29, -32\n"                                                            \
            "    .cfi_offset 30, -24\n"                                                            \
            "    mov x29, sp\n"                                                                    \
            "    stp x0, x1, [sp, #16]\n"                                                          \
            "    bl " #pick "\n"                                                                   \
            "    mov x16, x0\n"                                                                    \
            "    ldp x0, x1, [sp, #16]\n"                                                          \
            "    ldp x29, x30, [sp], #32\n"                                                        \
            "    .cfi_def_cfa_offset 0\n"                                                          \
            "    .cfi_restore 29\n"                                                                \
            "    .cfi_restore 30\n"                                                                \
            "    br x16\n"                                                                         \
            "    .cfi_endproc\n"                                                                   \
            ".size " #name ", .-" #name "\n")
#endif

#ifdef TRAMPOLINE
TRAMPOLINE(dlsym, dsql_dlsym_pick);
TRAMPOLINE(dlopen, dsql_dlopen_pick);
#else
/* Elsewhere a C call: RTLD_NEXT lookups and relative dlopen names then see the preload as the
 * caller. */
EXPORT void *dlsym(void *handle, const char *name)
{
    return ((dsql_dlsym_fn)dsql_dlsym_pick(handle, name))(handle, name);
}

EXPORT void *dlopen(const char *file, int mode)
{
    return ((dsql_dlopen_fn)dsql_dlopen_pick(file, mode))(file, mode);
}
#endif
