/* SPDX-License-Identifier: MIT */
/* got.h: pointing an object's own references to libpq's entry points at the wrappers. */
#ifndef DSQL_SHIM_GOT_H
#define DSQL_SHIM_GOT_H

/*
 * An object loaded with RTLD_DEEPBIND (PHP loads its extensions so: pgsql.so, pdo_pgsql.so)
 * looks its symbols up in its own dependencies before the global scope, so its calls bind
 * straight to libpq and the preload never sees them. Its references live in its global offset
 * table, one slot per symbol (R_*_JUMP_SLOT for calls, R_*_GLOB_DAT for addresses taken); the
 * dynamic linker has filled them, or will on the first call. dsql_got_redirect rewrites the
 * slots of the entry points, so that the object calls the wrappers instead, exactly as an
 * object bound in the global scope does. 64-bit ELF with RELA relocations (x86-64, AArch64);
 * elsewhere it does nothing.
 */

#include "base/attrs.h"

/*
 * For each GOT slot of object map (a struct link_map *) that refers to a symbol choose knows,
 * calls choose(name, arg): its answer, if not NULL, is written into the slot (read-only RELRO
 * pages are made writable for the write, then read-only again). Returns how many slots were
 * written, or -1 when the object's dynamic section cannot be read.
 */
DSQL_LOCAL int dsql_got_redirect(void *map, void *(*choose)(const char *name, void *arg),
                                 void *arg);

#endif /* DSQL_SHIM_GOT_H */
