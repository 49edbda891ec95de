#!/bin/sh
# SPDX-License-Identifier: MIT
# sanitizer_preload.sh: prints what to put in LD_PRELOAD, ahead of the instrumented preload, so
# that programs built elsewhere (psql, pgbench, pg_dump, python3) can load a sanitizer build's
# libdsqlauth_preload.so. Run by meson at setup time: sanitizer_preload.sh COMPILER-ID LIBPQ CC...
#
# Two things are needed, both found on the machine rather than hard-coded:
#  - the sanitizer runtimes of the compiler that built the tree (libasan and libubsan for gcc,
#    clang's ASan runtime, which carries UBSan's handlers too), ahead of libc in the lookup
#    order so that their malloc and friends interpose;
#  - the libraries libpq depends on (gnutls, p11-kit, nettle, krb5, ...), ahead of the runtimes.
#    The loader runs constructors in reverse load order, so anything loaded after a preloaded
#    runtime (everything the program itself needs) is initialised before it. p11-kit's
#    constructor then runs before ASan is set up, which corrupts glibc's locale lock and hangs
#    every PostgreSQL client in p11-kit's destructor at exit (seen with GCC 12 and clang 14 on
#    Debian 12). Preloaded ahead of the runtimes, those libraries load earlier and so are
#    initialised after the runtimes. They define none of the functions the runtimes intercept,
#    so the interposition is unchanged.
# The programs then need ASAN_OPTIONS=verify_asan_link_order=0 (the runtime is not first).
set -eu
id=$1 libpq=$2
shift 2
case $id in
gcc) runtimes="$("$@" -print-file-name=libasan.so) $("$@" -print-file-name=libubsan.so)" ;;
clang) runtimes=$("$@" -print-file-name=libclang_rt.asan-x86_64.so) ;;
*) echo "sanitizer_preload.sh: no sanitizer runtimes known for compiler $id" >&2; exit 1 ;;
esac
for r in $runtimes; do
    [ -f "$r" ] || { echo "sanitizer_preload.sh: $r not found (compiler $id)" >&2; exit 1; }
done
# glibc's own libraries stay where the program puts them.
deps=$(ldd "$libpq" | awk '$3 ~ /^\// { print $3 }' |
    grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv)\.so|/ld-linux' | tr '\n' ' ')
echo "$deps$runtimes"
