/* SPDX-License-Identifier: MIT */
/* got.c: pointing an object's own references to libpq's entry points at the wrappers. */
#include "shim/got.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT R_AARCH64_GLOB_DAT
#endif

#if defined(R_JUMP_SLOT) && defined(__LP64__)

/* The object's PT_GNU_RELRO range, made read-only after relocation. */
struct relro_search {
    const struct link_map *map;
    uintptr_t start, end;
};

static int relro_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct relro_search *s = data;
    if (info->dlpi_addr != s->map->l_addr ||
        strcmp(info->dlpi_name != NULL ? info->dlpi_name : "", s->map->l_name) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            s->start = info->dlpi_addr + ph->p_vaddr;
            s->end = s->start + ph->p_memsz;
        }
    }
    return 1;
}

/* Writes value into slot, lifting RELRO's protection for the moment of the write. */
static int write_slot(void **slot, void *value, const struct relro_search *relro)
{
    uintptr_t a = (uintptr_t)slot;
    if (a < relro->start || a >= relro->end) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        return 0;
    }
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *base = (void *)(a & ~(page - 1));
    size_t len = (a + sizeof *slot) - (uintptr_t)base;
    if (mprotect(base, len, PROT_READ | PROT_WRITE) != 0)
        return -1;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    mprotect(base, len, PROT_READ);
    return 0;
}

/* A d_ptr of the dynamic section: glibc relocates them in place, but not on every target. */
static uintptr_t dyn_ptr(const struct link_map *map, ElfW(Addr) p)
{
    return p < map->l_addr ? map->l_addr + p : p;
}

int dsql_got_redirect(void *map_, void *(*choose)(const char *name, void *arg), void *arg)
{
    const struct link_map *map = map_;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) * tables[2] = {NULL, NULL};
    size_t sizes[2] = {0, 0};
    int pltrel_is_rela = 1;
    if (map == NULL || map->l_ld == NULL)
        return -1;
    for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB:
            symtab = (const ElfW(Sym) *)dyn_ptr(map, d->d_un.d_ptr);
            break;
        case DT_STRTAB:
            strtab = (const char *)dyn_ptr(map, d->d_un.d_ptr);
            break;
        case DT_JMPREL:
            tables[0] = (const ElfW(Rela) *)dyn_ptr(map, d->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            sizes[0] = d->d_un.d_val;
            break;
        case DT_PLTREL:
            pltrel_is_rela = d->d_un.d_val == DT_RELA;
            break;
        case DT_RELA:
            tables[1] = (const ElfW(Rela) *)dyn_ptr(map, d->d_un.d_ptr);
            break;
        case DT_RELASZ:
            sizes[1] = d->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (symtab == NULL || strtab == NULL || !pltrel_is_rela)
        return -1;
    struct relro_search relro = {map, 0, 0};
    dl_iterate_phdr(relro_visit, &relro);
    int written = 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; tables[t] != NULL && i < sizes[t] / sizeof(ElfW(Rela)); i++) {
            const ElfW(Rela) *r = &tables[t][i];
            unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != R_JUMP_SLOT && type != R_GLOB_DAT)
                continue;
            const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(r->r_info)];
            if (sym->st_shndx != SHN_UNDEF || sym->st_name == 0)
                continue; /* the object's own definition, not a reference to libpq */
            void *to = choose(strtab + sym->st_name, arg);
            if (to != NULL && write_slot((void **)(map->l_addr + r->r_offset), to, &relro) == 0)
                written++;
        }
    }
    return written;
}

#else

int dsql_got_redirect(void *map, void *(*choose)(const char *name, void *arg), void *arg)
{
    (void)map;
    (void)choose;
    (void)arg;
    return -1;
}

#endif
