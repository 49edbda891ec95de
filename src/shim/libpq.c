/* SPDX-License-Identifier: MIT */
/* libpq.c: which libpq copy a call belongs to, and its functions (libc + libdl only). */
#include "shim/libpq.h"

#include "base/log.h"
#include "shim/dl.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/*
 * The link map of the object that contains addr. _dl_find_object (glibc >= 2.35) is lock-free
 * and cheap; dladdr1 also looks for the nearest symbol, which costs more than the rest of a
 * wrapper together.
 */
void *dsql_object_of(const void *addr)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    struct dl_find_object found;
    if (_dl_find_object((void *)(uintptr_t)addr, &found) == 0)
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

static void self_marker(void)
{
}

int dsql_libpq_is_ours(const void *fn)
{
    static void *self;
    void *me = __atomic_load_n(&self, __ATOMIC_RELAXED);
    if (me == NULL) {
        me = dsql_object_of((const void *)(uintptr_t)self_marker);
        __atomic_store_n(&self, me, __ATOMIC_RELAXED);
    }
    return fn != NULL && me != NULL && dsql_object_of(fn) == me;
}

/* The definition of name in the scope of handle that is not ours. */
static void *sym_not_ours(void *handle, const char *name)
{
    void *fn = dsql_real_dlsym(handle, name);
    if (fn == NULL || dsql_libpq_is_ours(fn))
        fn = dsql_real_dlsym(RTLD_NEXT, name);
    return dsql_libpq_is_ours(fn) ? NULL : fn;
}

/* ---- the table ---------------------------------------------------------------------------- */

struct copy {
    dsql_libpq pq;        /* first: a const dsql_libpq * of the table is a struct copy * */
    struct link_map *map; /* the copy's object */
    void *handle;         /* dlopen(RTLD_NOLOAD) of it, never closed */
};

static struct copy copies[DSQL_LIBPQ_COPIES];
static atomic_int ncopies; /* entries below it are complete and never change */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread held the lock leaves it held in the child, for good. */
static void atfork_child(void)
{
    pthread_mutex_init(&table_lock, NULL);
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

static const struct copy *lookup(const struct link_map *map)
{
    int n = atomic_load_explicit(&ncopies, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (copies[i].map == map)
            return &copies[i];
    return NULL;
}

/* Fills c->pq from the copy's own handle. -1 if it lacks one (then it is not libpq). */
static int resolve(struct copy *c)
{
    dsql_libpq *p = &c->pq;
    for (int e = 0; e < DSQL_ENTRY_COUNT; e++)
        p->entry[e] = sym_not_ours(c->handle, dsql_entry_names[e]);
    *(void **)&p->api.conninfo_parse = sym_not_ours(c->handle, "PQconninfoParse");
    *(void **)&p->api.conninfo_free = sym_not_ours(c->handle, "PQconninfoFree");
    *(void **)&p->api.freemem = sym_not_ours(c->handle, "PQfreemem");
    *(void **)&p->api.lib_version = sym_not_ours(c->handle, "PQlibVersion");
    *(void **)&p->connect_start_params = sym_not_ours(c->handle, "PQconnectStartParams");
    *(void **)&p->error_message = sym_not_ours(c->handle, "PQerrorMessage");
    *(void **)&p->pass = sym_not_ours(c->handle, "PQpass");
    *(void **)&p->user = sym_not_ours(c->handle, "PQuser");
    for (int e = 0; e < DSQL_ENTRY_COUNT; e++)
        if (p->entry[e] == NULL)
            return -1;
    return p->api.conninfo_parse && p->api.conninfo_free && p->api.freemem && p->api.lib_version &&
                   p->connect_start_params && p->error_message && p->pass && p->user
               ? 0
               : -1;
}

/* The table's copy for the object map (a libpq), added on first sight. */
static const dsql_libpq *copy_of(struct link_map *map)
{
    const struct copy *found = lookup(map);
    if (found != NULL)
        return &found->pq;
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&table_lock);
    found = lookup(map);
    int n = atomic_load_explicit(&ncopies, memory_order_relaxed);
    if (found == NULL && n < DSQL_LIBPQ_COPIES) {
        struct copy *c = &copies[n];
        memset(c, 0, sizeof *c);
        c->map = map;
        c->handle =
            dsql_real_dlopen(map->l_name[0] != '\0' ? map->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
        if (c->handle != NULL && resolve(c) == 0) {
            atomic_store_explicit(&ncopies, n + 1, memory_order_release);
            found = c;
            dsql_log(DSQL_LOG_DEBUG, "libpq %s", map->l_name[0] != '\0' ? map->l_name : "(main)");
        } else if (c->handle != NULL) {
            dlclose(c->handle);
        }
    } else if (found == NULL) {
        dsql_log(DSQL_LOG_WARN,
                 "more than %d libpq copies in one process; calls into %s pass "
                 "through unchanged",
                 DSQL_LIBPQ_COPIES, map->l_name);
    }
    pthread_mutex_unlock(&table_lock);
    return found != NULL ? &found->pq : NULL;
}

const dsql_libpq *dsql_libpq_of_function(void *fn)
{
    struct link_map *map = fn != NULL ? dsql_object_of(fn) : NULL;
    return map != NULL && !dsql_libpq_is_ours(fn) ? copy_of(map) : NULL;
}

struct phdr_search {
    const char *name;
    void *fn;
};

static int phdr_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct phdr_search *s = data;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
        return 0;
    void *h = dsql_real_dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    void *fn = dsql_real_dlsym(h, s->name);
    struct link_map *where = fn != NULL ? dsql_object_of(fn) : NULL;
    /* Only a definition inside this very object; its dependencies get their own turn. */
    if (where != NULL && !dsql_libpq_is_ours(fn) && strcmp(where->l_name, info->dlpi_name) == 0)
        s->fn = fn;
    dlclose(h);
    return s->fn != NULL;
}

const dsql_libpq *dsql_libpq_of_caller(const void *caller, const char *name)
{
    void *fn = NULL;
    struct link_map *lm = dsql_object_of(caller);
    if (lm != NULL) {
        /* A copy the table knows, called from inside itself (libpq re-entering): no lookup. */
        const struct copy *own = lookup(lm);
        if (own != NULL)
            return &own->pq;
        void *h =
            dsql_real_dlopen(lm->l_name[0] != '\0' ? lm->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
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
    return dsql_libpq_of_function(fn);
}

const dsql_libpq *dsql_libpq_slot(int i)
{
    return i >= 0 && i < atomic_load_explicit(&ncopies, memory_order_acquire) ? &copies[i].pq
                                                                              : NULL;
}

void *dsql_libpq_sym(const dsql_libpq *pq, const char *name)
{
    return sym_not_ours(((const struct copy *)(const void *)pq)->handle, name);
}

int dsql_libpq_slot_of(const dsql_libpq *pq)
{
    return (int)((const struct copy *)(const void *)pq - copies);
}
