/* SPDX-License-Identifier: MIT */
/* preload.c: the LD_PRELOAD interposer for libpq's connection entry points (libc + libdl only). */

/*
 * Every wrapper does the same four things:
 *  1. find the real function in the libpq copy the *caller* uses (find_libpq): the caller's own
 *     object is found from the return address (its link map), opened with RTLD_NOLOAD
 *     and asked with dlsym, which searches that object's dependencies; RTLD_NEXT is only right
 *     for the main program's libpq (a Python extension's libpq is loaded RTLD_LOCAL, invisible
 *     to RTLD_NEXT), and dl_iterate_phdr is the last resort. Every helper (PQconninfoParse,
 *     PQerrorMessage, ...) then comes from that same copy.
 *  2. pass through untouched when nested (libpq calls its own PQconnectStart* through the PLT,
 *     so they re-enter: a thread-local depth counter), disabled, or not a DSQL target;
 *  3. otherwise load libdsqlauth (once) and let conninfo.c append the keywords;
 *  4. call the real `*Params` function, or on failure return a PGconn in CONNECTION_BAD whose
 *     PQerrorMessage starts with "dsqlauth:".
 * Nothing here prints unless DSQLAUTH_LOG asks, calls exit(), or runs at load time.
 */
#include "conninfo.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- which libpq ------------------------------------------------------------------------ */

/* Initial-exec: the preload is loaded at start-up, so static TLS is there, and the access costs
 * no __tls_get_addr call (nor a dependency on ld.so). */
static _Thread_local int depth __attribute__((tls_model("initial-exec")));

static void self_marker(void)
{
}

/*
 * The link map of the object that contains addr. _dl_find_object (glibc >= 2.35) is lock-free
 * and cheap; dladdr1 also looks for the nearest symbol, which costs more than the rest of a
 * wrapper together.
 */
static struct link_map *object_of(const void *addr)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    struct dl_find_object found;
    if (_dl_find_object((void *)addr, &found) == 0)
        return found.dlfo_link_map;
    return NULL;
#else
    Dl_info info;
    struct link_map *lm = NULL;
    if (dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) == 0)
        return NULL;
    return lm;
#endif
}

/* Our own definitions: what dlsym may hand back instead of libpq's (getenv is declared below). */
static int is_ours(void *fn)
{
    static struct link_map *self;
    struct link_map *me = __atomic_load_n(&self, __ATOMIC_RELAXED);
    if (me == NULL) {
        me = object_of((void *)(uintptr_t)self_marker);
        __atomic_store_n(&self, me, __ATOMIC_RELAXED);
    }
    return fn != NULL && me != NULL && object_of(fn) == me;
}

/* A handle on one libpq copy, and the functions taken from it. */
struct pq {
    void *handle; /* dlopen(RTLD_NOLOAD) of the copy; closed by pq_close */
    dsql_pq_api api;
};

/* The definition of name in the scope of handle that is not ours. */
static void *sym_not_ours(void *handle, const char *name)
{
    void *fn = dlsym(handle, name);
    if (fn == NULL || is_ours(fn))
        fn = dlsym(RTLD_NEXT, name);
    return is_ours(fn) ? NULL : fn;
}

struct phdr_search {
    const char *name;
    void *fn;
};

static int phdr_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    struct phdr_search *s = data;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
        return 0;
    void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    void *fn = dlsym(h, s->name);
    struct link_map *where = fn != NULL ? object_of(fn) : NULL;
    /* Only a definition inside this very object; its dependencies get their own turn. */
    if (where != NULL && !is_ours(fn) && strcmp(where->l_name, info->dlpi_name) == 0)
        s->fn = fn;
    dlclose(h);
    return s->fn != NULL;
}

/*
 * Finds the libpq copy the code at caller uses, by the definition of name (one of the wrapped
 * entry points) it would bind to if we were not here. On success pq->handle is open on it.
 */
static int find_libpq(const void *caller, const char *name, struct pq *pq, void **real)
{
    void *fn = NULL;
    struct link_map *lm = object_of(caller);
    if (lm != NULL) {
        void *h = dlopen(lm->l_name[0] != '\0' ? lm->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
        if (h != NULL) {
            fn = sym_not_ours(h, name);
            dlclose(h);
        }
    }
    if (fn == NULL) {
        struct phdr_search s = {name, NULL};
        dl_iterate_phdr(phdr_visit, &s);
        fn = s.fn;
    }
    if (fn == NULL || (lm = object_of(fn)) == NULL)
        return -1;
    pq->handle = dlopen(lm->l_name[0] != '\0' ? lm->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (pq->handle == NULL)
        return -1;
    dsql_log(DSQL_LOG_DEBUG, "%s: libpq %s", name, lm->l_name[0] != '\0' ? lm->l_name : "(main)");
    *real = fn;
    return 0;
}

static void pq_close(struct pq *pq)
{
    if (pq->handle != NULL)
        dlclose(pq->handle);
    pq->handle = NULL;
}

/* Fills pq->api from the same copy. -1 if that copy lacks one (it is not libpq). */
static int pq_helpers(struct pq *pq)
{
    dsql_pq_api *a = &pq->api;
    *(void **)&a->conninfo_parse = sym_not_ours(pq->handle, "PQconninfoParse");
    *(void **)&a->conninfo_free = sym_not_ours(pq->handle, "PQconninfoFree");
    *(void **)&a->freemem = sym_not_ours(pq->handle, "PQfreemem");
    *(void **)&a->lib_version = sym_not_ours(pq->handle, "PQlibVersion");
    *(void **)&a->connect_start_params = sym_not_ours(pq->handle, "PQconnectStartParams");
    *(void **)&a->error_message = sym_not_ours(pq->handle, "PQerrorMessage");
    return a->conninfo_parse && a->conninfo_free && a->freemem && a->lib_version &&
                   a->connect_start_params && a->error_message
               ? 0
               : -1;
}

static void *pq_sym(struct pq *pq, const char *name)
{
    return sym_not_ours(pq->handle, name);
}

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
        if (dladdr((void *)(uintptr_t)self_marker, &info) != 0 && info.dli_fname != NULL) {
            const char *slash = strrchr(info.dli_fname, '/');
            if (slash != NULL &&
                snprintf(path, sizeof path, "%.*s/libdsqlauth.so.0",
                         (int)(slash - info.dli_fname), info.dli_fname) < (int)sizeof path &&
                access(path, F_OK) == 0)
                want = path;
        }
    }
    void *lib = dlopen(want, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(library_error, sizeof library_error,
                 "cannot load libdsqlauth (%.300s); install it next to libdsqlauth_preload.so "
                 "or set DSQLAUTH_LIBRARY to its path",
                 why != NULL ? why : want);
        return;
    }
    *(void **)&library_signer.endpoint = dlsym(lib, "dsql_auth_endpoint");
    *(void **)&library_signer.token = dlsym(lib, "dsql_auth_token_for_host");
    *(void **)&library_signer.token_free = dlsym(lib, "dsql_token_free");
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

/* ---- the shared core ------------------------------------------------------------------- */

enum outcome { PASS_THROUGH, REWRITTEN, FAILED };

/*
 * Decides and rewrites. ci may be NULL (out of memory: pass through, as libpq would then fail
 * the same way). On FAILED, msg holds the reason.
 */
static enum outcome prepare(dsql_conninfo *ci, int flags, char *msg, size_t len)
{
    if (ci == NULL || dsql_conninfo_target(ci) != DSQL_TARGET_DSQL)
        return PASS_THROUGH;
    const dsql_signer *signer = library(msg, len);
    if (signer == NULL)
        return FAILED;
    dsql_error err = {0};
    if (dsql_conninfo_rewrite(ci, signer, flags, &err) != DSQL_OK) {
        snprintf(msg, len, "%s", err.message);
        return FAILED;
    }
    return REWRITTEN;
}

static PGconn *failed(struct pq *pq, const char *msg)
{
    dsql_log(DSQL_LOG_ERROR, "%s", msg);
    return dsql_conninfo_failed_conn(&pq->api, msg);
}

typedef PGconn *(*params_fn)(const char *const *, const char *const *, int);
typedef PGconn *(*string_fn)(const char *);
typedef PGPing (*ping_params_fn)(const char *const *, const char *const *, int);
typedef PGPing (*ping_string_fn)(const char *);
typedef PGconn *(*setdb_fn)(const char *, const char *, const char *, const char *,
                            const char *, const char *, const char *);

/*
 * The wrappers' common start: resolves the real function; returns 1 when the call must go
 * straight through (nested, disabled, or no helpers), 0 when it is ours to look at, -1 when
 * there is no libpq at all.
 */
static int enter(const void *caller, const char *name, struct pq *pq, void **real)
{
    *pq = (struct pq){0};
    if (find_libpq(caller, name, pq, real) != 0) {
        dsql_log(DSQL_LOG_ERROR, "%s: no libpq found for the caller", name);
        return -1;
    }
    if (depth > 0 || dsql_shim_disabled() || pq_helpers(pq) != 0)
        return 1;
    return 0;
}

/* The connect-style entry points, whichever form the caller used. */
static PGconn *connect_common(struct pq *pq, dsql_conninfo *ci, const char *params_name,
                              PGconn *(*pass)(void *), void *pass_arg)
{
    char msg[DSQL_ERROR_MAX];
    PGconn *conn;
    depth++;
    switch (prepare(ci, 0, msg, sizeof msg)) {
    case REWRITTEN: {
        params_fn real = (params_fn)pq_sym(pq, params_name);
        conn = real(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                    dsql_conninfo_expand_dbname(ci));
        break;
    }
    case FAILED:
        conn = failed(pq, msg);
        break;
    default:
        conn = pass(pass_arg);
        break;
    }
    depth--;
    return conn;
}

static PGPing ping_common(struct pq *pq, dsql_conninfo *ci, PGPing (*pass)(void *),
                          void *pass_arg)
{
    char msg[DSQL_ERROR_MAX];
    PGPing r;
    depth++;
    switch (prepare(ci, DSQL_REWRITE_NO_TOKEN, msg, sizeof msg)) {
    case REWRITTEN: {
        ping_params_fn real = (ping_params_fn)pq_sym(pq, "PQpingParams");
        r = real(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                 dsql_conninfo_expand_dbname(ci));
        break;
    }
    case FAILED:
        dsql_log(DSQL_LOG_ERROR, "%s", msg);
        r = PQPING_NO_ATTEMPT;
        break;
    default:
        r = pass(pass_arg);
        break;
    }
    depth--;
    return r;
}

/* ---- the wrapped entry points ------------------------------------------------------------ */

struct string_call {
    void *real;
    const char *conninfo;
};
struct params_call {
    void *real;
    const char *const *keywords;
    const char *const *values;
    int expand;
};
struct setdb_call {
    void *real;
    const char *host, *port, *options, *tty, *dbname, *user, *password;
};

static PGconn *pass_string(void *p)
{
    struct string_call *c = p;
    return ((string_fn)c->real)(c->conninfo);
}

static PGconn *pass_params(void *p)
{
    struct params_call *c = p;
    return ((params_fn)c->real)(c->keywords, c->values, c->expand);
}

static PGconn *pass_setdb(void *p)
{
    struct setdb_call *c = p;
    return ((setdb_fn)c->real)(c->host, c->port, c->options, c->tty, c->dbname, c->user,
                               c->password);
}

static PGPing pass_ping_string(void *p)
{
    struct string_call *c = p;
    return ((ping_string_fn)c->real)(c->conninfo);
}

static PGPing pass_ping_params(void *p)
{
    struct params_call *c = p;
    return ((ping_params_fn)c->real)(c->keywords, c->values, c->expand);
}

static PGconn *wrap_string(const void *caller, const char *name, const char *params_name,
                           const char *conninfo)
{
    int saved = errno;
    struct pq pq;
    struct string_call c = {NULL, conninfo};
    PGconn *conn = NULL;
    int e = enter(caller, name, &pq, &c.real);
    errno = saved;
    if (e < 0)
        return NULL;
    if (e > 0) {
        conn = pass_string(&c);
    } else {
        dsql_conninfo *ci = NULL;
        dsql_conninfo_from_string(&pq.api, conninfo, &ci);
        errno = saved;
        conn = connect_common(&pq, ci, params_name, pass_string, &c);
        dsql_conninfo_free(ci);
    }
    pq_close(&pq);
    return conn;
}

static PGconn *wrap_params(const void *caller, const char *name, const char *const *keywords,
                           const char *const *values, int expand)
{
    int saved = errno;
    struct pq pq;
    struct params_call c = {NULL, keywords, values, expand};
    PGconn *conn = NULL;
    int e = enter(caller, name, &pq, &c.real);
    errno = saved;
    if (e < 0)
        return NULL;
    if (e > 0) {
        conn = pass_params(&c);
    } else {
        dsql_conninfo *ci = NULL;
        dsql_conninfo_from_params(&pq.api, keywords, values, expand, &ci);
        errno = saved;
        conn = connect_common(&pq, ci, name, pass_params, &c);
        dsql_conninfo_free(ci);
    }
    pq_close(&pq);
    return conn;
}

EXPORT PGconn *PQconnectdb(const char *conninfo)
{
    return wrap_string(__builtin_return_address(0), "PQconnectdb", "PQconnectdbParams",
                       conninfo);
}

EXPORT PGconn *PQconnectStart(const char *conninfo)
{
    return wrap_string(__builtin_return_address(0), "PQconnectStart", "PQconnectStartParams",
                       conninfo);
}

EXPORT PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
                                 int expand_dbname)
{
    return wrap_params(__builtin_return_address(0), "PQconnectdbParams", keywords, values,
                       expand_dbname);
}

EXPORT PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
                                    int expand_dbname)
{
    return wrap_params(__builtin_return_address(0), "PQconnectStartParams", keywords, values,
                       expand_dbname);
}

EXPORT PGconn *PQsetdbLogin(const char *pghost, const char *pgport, const char *pgoptions,
                            const char *pgtty, const char *dbName, const char *login,
                            const char *pwd)
{
    int saved = errno;
    struct pq pq;
    struct setdb_call c = {NULL, pghost, pgport, pgoptions, pgtty, dbName, login, pwd};
    PGconn *conn = NULL;
    int e = enter(__builtin_return_address(0), "PQsetdbLogin", &pq, &c.real);
    errno = saved;
    if (e < 0)
        return NULL;
    if (e > 0) {
        conn = pass_setdb(&c);
    } else {
        dsql_conninfo *ci = NULL;
        dsql_conninfo_from_setdb(&pq.api, pghost, pgport, pgoptions, dbName, login, pwd, &ci);
        errno = saved;
        conn = connect_common(&pq, ci, "PQconnectdbParams", pass_setdb, &c);
        dsql_conninfo_free(ci);
    }
    pq_close(&pq);
    return conn;
}

EXPORT PGPing PQping(const char *conninfo)
{
    int saved = errno;
    struct pq pq;
    struct string_call c = {NULL, conninfo};
    PGPing r = PQPING_NO_ATTEMPT;
    int e = enter(__builtin_return_address(0), "PQping", &pq, &c.real);
    errno = saved;
    if (e < 0)
        return r;
    if (e > 0) {
        r = pass_ping_string(&c);
    } else {
        dsql_conninfo *ci = NULL;
        dsql_conninfo_from_string(&pq.api, conninfo, &ci);
        errno = saved;
        r = ping_common(&pq, ci, pass_ping_string, &c);
        dsql_conninfo_free(ci);
    }
    pq_close(&pq);
    return r;
}

EXPORT PGPing PQpingParams(const char *const *keywords, const char *const *values,
                           int expand_dbname)
{
    int saved = errno;
    struct pq pq;
    struct params_call c = {NULL, keywords, values, expand_dbname};
    PGPing r = PQPING_NO_ATTEMPT;
    int e = enter(__builtin_return_address(0), "PQpingParams", &pq, &c.real);
    errno = saved;
    if (e < 0)
        return r;
    if (e > 0) {
        r = pass_ping_params(&c);
    } else {
        dsql_conninfo *ci = NULL;
        dsql_conninfo_from_params(&pq.api, keywords, values, expand_dbname, &ci);
        errno = saved;
        r = ping_common(&pq, ci, pass_ping_params, &c);
        dsql_conninfo_free(ci);
    }
    pq_close(&pq);
    return r;
}

/* ---- DSQLAUTH_PGPASSWORD_HOOK: getenv("PGPASSWORD") for callers that bypass the wrappers ---- */

/*
 * Programs that look libpq's functions up by handle (ctypes, psycopg 3's pure-Python layer)
 * never reach the wrappers above. libpq itself, though, asks getenv("PGPASSWORD") whenever no
 * password was given, and that call goes through the PLT to the first getenv in the global
 * scope: this one. With DSQLAUTH_PGPASSWORD_HOOK=1, PGPASSWORD unset and PGHOST a DSQL endpoint
 * (getenv carries no other context), it answers with a fresh token for PGHOST as PGUSER (else
 * admin). Everything else is the plain environment lookup libc would do. The answer stays
 * valid until the same thread's next hooked call (libpq copies it at once).
 */
extern char **environ;

/* The plain lookup, for the first calls (before libc's getenv is known) and recursion. */
static char *env_scan(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* libc's getenv (faster than env_scan), found once with RTLD_NEXT. */
static char *env_lookup(const char *name)
{
    static char *(*real_getenv)(const char *);
    static _Thread_local int resolving __attribute__((tls_model("initial-exec")));
    char *(*real)(const char *) = __atomic_load_n(&real_getenv, __ATOMIC_ACQUIRE);
    if (real == NULL) {
        if (resolving)
            return env_scan(name);
        resolving = 1;
        *(void **)&real = dlsym(RTLD_NEXT, "getenv");
        resolving = 0;
        if (real == NULL)
            return env_scan(name);
        __atomic_store_n(&real_getenv, real, __ATOMIC_RELEASE);
    }
    return real(name);
}

/* Each thread's last hooked token, wiped and freed at the next call or at thread exit. */
static pthread_key_t hook_key;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void hook_token_free(void *token)
{
    if (token != NULL && library_signer.token_free != NULL)
        library_signer.token_free(token);
}

static void hook_key_create(void)
{
    pthread_key_create(&hook_key, hook_token_free);
}

static char *password_hook(void)
{
    const char *on = env_lookup("DSQLAUTH_PGPASSWORD_HOOK");
    const char *host = env_lookup("PGHOST");
    if (on == NULL || strcmp(on, "1") != 0 || host == NULL || dsql_shim_disabled() ||
        !dsql_conninfo_host_is_dsql(host))
        return NULL;
    char msg[DSQL_ERROR_MAX];
    const dsql_signer *signer = library(msg, sizeof msg);
    if (signer == NULL) {
        dsql_log(DSQL_LOG_ERROR, "PGPASSWORD hook: %s", msg);
        return NULL;
    }
    const char *user = env_lookup("PGUSER");
    char *token = NULL;
    dsql_error err = {0};
    if (signer->token(host, user != NULL && *user != '\0' ? user : "admin", &token, &err) !=
        DSQL_OK) {
        dsql_log(DSQL_LOG_ERROR, "PGPASSWORD hook: %s", err.message);
        return NULL;
    }
    pthread_once(&hook_once, hook_key_create);
    hook_token_free(pthread_getspecific(hook_key));
    pthread_setspecific(hook_key, token);
    dsql_log(DSQL_LOG_INFO, "PGPASSWORD hook: signed a token for %s", host);
    return token;
}

EXPORT char *getenv(const char *name)
{
    char *v = env_lookup(name);
    if (v != NULL || depth > 0 || strcmp(name, "PGPASSWORD") != 0)
        return v;
    int saved = errno;
    depth++;
    v = password_hook();
    depth--;
    errno = saved;
    return v;
}
