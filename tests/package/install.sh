#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install.sh: `meson install` into a temporary root gives a working whole: the four tools, the
# preload, the libraries, the headers, the pkg-config files and the manual pages. The installed
# dsqlauth-run (which finds its preload from its own place, not from the configured prefix) runs
# psql against the installed dsqlauth-local; the .pc files compile and link a program against
# libdsqlauth and one against the link-time wrapper, which then logs in as app.
#
# Run by `meson test --suite package` with BUILD (the build tree) and PROJECT_PREFIX/LIBDIR (its
# configuration) set. Prints TAP. Needs psql, cc and pkg-config: a missing one is a failure.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/smoke.sh"

for v in BUILD PROJECT_PREFIX PROJECT_LIBDIR; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
for p in psql cc pkg-config man; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done

T=$(mktemp -d /tmp/dsqlauth-install.XXXXXX) || bail "mktemp"
chmod 755 "$T" # as root, PostgreSQL runs as postgres and must reach the state directory
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/home"
DEST=$T/root
if out=$(meson install -C "$BUILD" --no-rebuild --destdir "$DEST" 2>&1); then
    ok "meson install --destdir"
else
    bail "meson install failed: $out"
fi
P=$DEST$PROJECT_PREFIX
case $PROJECT_LIBDIR in /*) L=$DEST$PROJECT_LIBDIR ;; *) L=$P/$PROJECT_LIBDIR ;; esac

# ---- what is there ------------------------------------------------------------------------------
missing=
for f in bin/dsqlauth-run bin/dsqlauth-token bin/dsqlauth-local bin/dsqlauth-doctor \
    include/dsqlauth.h include/dsqlauth-pq.h share/man/man1/dsqlauth-run.1 \
    share/man/man1/dsqlauth-token.1 share/man/man1/dsqlauth-local.1 \
    share/man/man1/dsqlauth-doctor.1; do
    [ -e "$P/$f" ] || missing="$missing $f"
done
for f in libdsqlauth.so libdsqlauth.so.0 libdsqlauth_wrap.so libdsqlauth_wrap.so.0 \
    libdsqlauth_preload.so pkgconfig/dsqlauth.pc pkgconfig/dsqlauth-wrap.pc; do
    [ -e "$L/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "tools, preload, libraries, headers, .pc files and man pages installed" ||
    not_ok "tools, preload, libraries, headers, .pc files and man pages installed" "missing:$missing"
for m in run token local doctor; do
    out=$(MANWIDTH=80 man --warnings -l "$P/share/man/man1/dsqlauth-$m.1" 2>&1 >/dev/null)
    head=$(MANWIDTH=80 man -l "$P/share/man/man1/dsqlauth-$m.1" 2>/dev/null | sed -n 4p)
    if [ -z "$out" ] && printf '%s' "$head" | grep -q "dsqlauth-$m"; then
        ok "man dsqlauth-$m renders without warnings"
    else
        not_ok "man dsqlauth-$m renders without warnings" "$out$head"
    fi
done
nolocal=$(find "$DEST" -type f | grep -E '/(test_|token_bench|pqclient|dlclient|fuzz_)' || true)
[ -z "$nolocal" ] && ok "no test program or benchmark installed" ||
    not_ok "no test program or benchmark installed" "$nolocal"

# ---- the installed launcher, preload and tools, end to end -----------------------------------
smoke "$P/bin" installed

# ---- pkg-config: the installed .pc files compile and link ----------------------------------------
# The files as installed, with their prefix moved to where they were installed to (the prefix
# of libpq's own .pc file must stay: --define-variable would move it too).
mkdir -p "$T/pc"
for f in "$L"/pkgconfig/dsqlauth*.pc; do
    sed "s|^prefix=.*|prefix=$P|" "$f" >"$T/pc/${f##*/}"
done
export PKG_CONFIG_PATH=$T/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pc() { pkg-config "$@"; }
cat >"$T/version.c" <<'C'
#include <dsqlauth.h>
#include <stdio.h>
int main(void) { puts(dsql_version()); return 0; }
C
# shellcheck disable=SC2086,SC2046 # pkg-config prints words
if out=$(cc -o "$T/version" "$T/version.c" $(pc --cflags --libs dsqlauth) 2>&1); then
    ok "pkg-config --cflags --libs dsqlauth compiles and links"
    # (a sanitizer build's libraries bring their runtime, which then is not first)
    out=$(ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0:detect_leaks=0" \
        LD_LIBRARY_PATH=$L "$T/version" 2>&1)
    expect "the program runs with the installed libdsqlauth" "[0-9]+\.[0-9]+\.[0-9]+" "$out"
else
    not_ok "pkg-config --cflags --libs dsqlauth compiles and links" "$out"
fi
cat >"$T/wrapped.c" <<'C'
#include <dsqlauth-pq.h>
#include <stdio.h>
/* Plain libpq calls: the flags of dsqlauth-wrap route them through the wrapper. */
int main(int argc, char **argv)
{
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    PGresult *r = PQexec(c, "select current_user, current_setting('search_path')");
    printf("%s|%s\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    PQfinish(c);
    return argc > 2;
}
C
# shellcheck disable=SC2086,SC2046 # pkg-config prints words
if out=$(cc -o "$T/wrapped" "$T/wrapped.c" $(pc --cflags --libs dsqlauth-wrap) 2>&1); then
    ok "pkg-config --cflags --libs dsqlauth-wrap compiles and links"
    dir=$T/wrap-local
    env -u PGHOSTADDR -u PGPORT "$P/bin/dsqlauth-local" start --dir "$dir" >"$T/wrap-start.log" 2>&1 ||
        bail "dsqlauth-local start failed: $(cat "$T/wrap-start.log")"
    out=$(
        eval "$("$P/bin/dsqlauth-local" env --dir "$dir")"
        unset PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT
        # shellcheck disable=SC2031 # this subshell's own environment
        export HOME=$T/home AWS_EC2_METADATA_DISABLED=true
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0:detect_leaks=0" \
            LD_LIBRARY_PATH=$L \
            "$T/wrapped" "host=$PGHOST user=app" 2>&1
    )
    expect "the wrapped program logs in as app through the installed wrapper" 'app\|myschema' "$out"
    "$P/bin/dsqlauth-local" stop --dir "$dir" >/dev/null 2>&1
else
    not_ok "pkg-config --cflags --libs dsqlauth-wrap compiles and links" "$out"
fi

echo "1..$n"
exit $((failed > 0))
