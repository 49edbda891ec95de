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

/* ---- one wrapped call ---------------------------------------------------------------------- */

typedef PGconn *(*params_fn)(const char *const *, const char *const *, int);
typedef PGconn *(*string_fn)(const char *);
typedef PGPing (*ping_params_fn)(const char *const *, const char *const *, int);
typedef PGPing (*ping_string_fn)(const char *);
typedef PGconn *(*setdb_fn)(const char *, const char *, const char *, const char *,
                            const char *, const char *, const char *);

/* A call of a wrapped entry point: which one, and the caller's arguments in its form. */
enum form { FORM_STRING, FORM_PARAMS, FORM_SETDB };
struct call {
    const char *name;        /* the entry point */
    const char *params_name; /* the real `*Params` function a rewrite goes to */
    enum form form;
    const char *conninfo;                        /* FORM_STRING */
    const char *const *keywords, *const *values; /* FORM_PARAMS */
    int expand;
    const char *host, *port, *options, *tty, *dbname, *user, *password; /* FORM_SETDB */
};

enum outcome { NO_LIBPQ, PASS_THROUGH, REWRITTEN, FAILED };

/* What to do with a call, and what that needs; released by plan_done. */
struct plan {
    enum outcome what;
    struct pq pq;
    void *real; /* the caller's libpq's own entry point */
    dsql_conninfo *ci;
    char msg[DSQL_ERROR_MAX]; /* FAILED: why */
};

static dsql_conninfo *analyse_call(const dsql_pq_api *api, const struct call *c)
{
    dsql_conninfo *ci = NULL; /* stays NULL when out of memory: then pass through */
    switch (c->form) {
    case FORM_STRING:
        dsql_conninfo_from_string(api, c->conninfo, &ci);
        break;
    case FORM_PARAMS:
        dsql_conninfo_from_params(api, c->keywords, c->values, c->expand, &ci);
        break;
    case FORM_SETDB:
        dsql_conninfo_from_setdb(api, c->host, c->port, c->options, c->dbname, c->user,
                                 c->password, &ci);
        break;
    }
    return ci;
}

/*
 * Resolves the real functions, then decides: straight through when nested (libpq calling its
 * own PQconnectStart*), disabled, or not a DSQL target; else the rewrite, or FAILED with the
 * reason. Leaves errno as the caller set it.
 */
static void plan(const void *caller, const struct call *c, int flags, struct plan *p)
{
    int saved = errno;
    *p = (struct plan){.what = PASS_THROUGH};
    if (find_libpq(caller, c->name, &p->pq, &p->real) != 0) {
        dsql_log(DSQL_LOG_ERROR, "%s: no libpq found for the caller", c->name);
        p->what = NO_LIBPQ;
    } else if (depth == 0 && !dsql_shim_disabled() && pq_helpers(&p->pq) == 0) {
        p->ci = analyse_call(&p->pq.api, c);
        if (p->ci != NULL && dsql_conninfo_target(p->ci) == DSQL_TARGET_DSQL) {
            const dsql_signer *signer = library(p->msg, sizeof p->msg);
            dsql_error err = {0};
            if (signer == NULL) {
                p->what = FAILED;
            } else if (dsql_conninfo_rewrite(p->ci, signer, flags, &err) != DSQL_OK) {
                snprintf(p->msg, sizeof p->msg, "%s", err.message);
                p->what = FAILED;
            } else {
                p->what = REWRITTEN;
            }
            if (p->what == FAILED)
                dsql_log(DSQL_LOG_ERROR, "%s", p->msg);
        }
    }
    errno = saved;
}

static void plan_done(struct plan *p)
{
    dsql_conninfo_free(p->ci);
    pq_close(&p->pq);
}

/* PQconnectdb, PQconnectdbParams, PQsetdbLogin, PQconnectStart, PQconnectStartParams. */
static PGconn *wrap_connect(const void *caller, const struct call *c)
{
    struct plan p;
    PGconn *conn = NULL;
    plan(caller, c, 0, &p);
    depth++; /* libpq's own calls of the entry points, from here on, go straight through */
    switch (p.what) {
    case PASS_THROUGH:
        if (c->form == FORM_STRING)
            conn = ((string_fn)p.real)(c->conninfo);
        else if (c->form == FORM_PARAMS)
            conn = ((params_fn)p.real)(c->keywords, c->values, c->expand);
        else
            conn = ((setdb_fn)p.real)(c->host, c->port, c->options, c->tty, c->dbname, c->user,
                                      c->password);
        break;
    case REWRITTEN: {
        params_fn real = (params_fn)pq_sym(&p.pq, c->params_name);
        conn = real != NULL ? real(dsql_conninfo_keywords(p.ci), dsql_conninfo_values(p.ci),
                                   dsql_conninfo_expand_dbname(p.ci))
                            : dsql_conninfo_failed_conn(&p.pq.api, "this libpq has no *Params");
        break;
    }
    case FAILED:
        conn = dsql_conninfo_failed_conn(&p.pq.api, p.msg);
        break;
    case NO_LIBPQ:
        break; /* nothing to make a PGconn with; cannot happen for a caller linked with libpq */
    }
    depth--;
    plan_done(&p);
    return conn;
}

/* PQping, PQpingParams: the server answers a ping without a password, so no token. */
static PGPing wrap_ping(const void *caller, const struct call *c)
{
    struct plan p;
    PGPing r = PQPING_NO_ATTEMPT;
    plan(caller, c, DSQL_REWRITE_NO_TOKEN, &p);
    depth++;
    switch (p.what) {
    case PASS_THROUGH:
        r = c->form == FORM_STRING ? ((ping_string_fn)p.real)(c->conninfo)
                                   : ((ping_params_fn)p.real)(c->keywords, c->values, c->expand);
        break;
    case REWRITTEN: {
        ping_params_fn real = (ping_params_fn)pq_sym(&p.pq, "PQpingParams");
        if (real != NULL)
            r = real(dsql_conninfo_keywords(p.ci), dsql_conninfo_values(p.ci),
                     dsql_conninfo_expand_dbname(p.ci));
        break;
    }
    case FAILED:
    case NO_LIBPQ:
        break;
    }
    depth--;
    plan_done(&p);
    return r;
}

/* ---- the wrapped entry points ------------------------------------------------------------ */

EXPORT PGconn *PQconnectdb(const char *conninfo)
{
    struct call c = {"PQconnectdb", "PQconnectdbParams", FORM_STRING, .conninfo = conninfo};
    return wrap_connect(__builtin_return_address(0), &c);
}

EXPORT PGconn *PQconnectStart(const char *conninfo)
{
    struct call c = {"PQconnectStart", "PQconnectStartParams", FORM_STRING, .conninfo = conninfo};
    return wrap_connect(__builtin_return_address(0), &c);
}

EXPORT PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
                                 int expand_dbname)
{
    struct call c = {"PQconnectdbParams", "PQconnectdbParams", FORM_PARAMS,
                     .keywords = keywords, .values = values, .expand = expand_dbname};
    return wrap_connect(__builtin_return_address(0), &c);
}

EXPORT PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
                                    int expand_dbname)
{
    struct call c = {"PQconnectStartParams", "PQconnectStartParams", FORM_PARAMS,
                     .keywords = keywords, .values = values, .expand = expand_dbname};
    return wrap_connect(__builtin_return_address(0), &c);
}

/* PQsetdbLogin becomes a PQconnectdbParams call when rewritten. */
EXPORT PGconn *PQsetdbLogin(const char *pghost, const char *pgport, const char *pgoptions,
                            const char *pgtty, const char *dbName, const char *login,
                            const char *pwd)
{
    struct call c = {"PQsetdbLogin", "PQconnectdbParams", FORM_SETDB, .host = pghost,
                     .port = pgport, .options = pgoptions, .tty = pgtty, .dbname = dbName,
                     .user = login, .password = pwd};
    return wrap_connect(__builtin_return_address(0), &c);
}

EXPORT PGPing PQping(const char *conninfo)
{
    struct call c = {"PQping", "PQpingParams", FORM_STRING, .conninfo = conninfo};
    return wrap_ping(__builtin_return_address(0), &c);
}

EXPORT PGPing PQpingParams(const char *const *keywords, const char *const *values,
                           int expand_dbname)
{
    struct call c = {"PQpingParams", "PQpingParams", FORM_PARAMS, .keywords = keywords,
                     .values = values, .expand = expand_dbname};
    return wrap_ping(__builtin_return_address(0), &c);
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
