#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh: Valgrind memcheck over the demo's walk-through and over a thousand connections through
# the shim, against a real dsqlauth-local. Fails on any memory error, and on any definite or
# indirect leak, that the suppressions (dsqlauth.supp, third-party only) do not cover.
#
# Run by `meson test --suite valgrind` in a build without sanitizers, with DSQLAUTH_BUILD_ROOT
# and PQCLIENT, PQCLIENT_WRAP (tests/shim's programs) set. VALGRIND_CONNECTIONS (default 100)
# sets how many connections the preload's run makes (the wrapper's makes a tenth, at least 10).
. "$(dirname "$0")/../demo/lib.sh"
: "${PQCLIENT:?run through meson test}" "${PQCLIENT_WRAP:?run through meson test}"
command -v valgrind >/dev/null || { echo "Bail out! valgrind is missing (tools/bootstrap installs it)"; exit 1; }
# A program under Valgrind runs tens of times slower, most of all in its first connection
# (OpenSSL's and libpq's set-up), and this suite runs beside others: the endpoint's default
# 10 s for TLS, startup and password is for clients at native speed.
ENDPOINT_START_ARGS="--handshake-timeout 120"
endpoint_start
# How many: what finds bugs, not what fills time. Memcheck reports an error on the first bad
# access and a leak from the first connection that leaks; a hundred connections go through
# every path a connection takes more than once (the credential cache hit, the issued-token ring,
# the settings snapshot reused, OpenSSL's and libpq's per-connection state freed), so a per-
# connection leak shows as a hundred blocks. A thousand took 50 s of the CI's 10 minutes and
# found nothing a hundred does not.
conns=${VALGRIND_CONNECTIONS:-100}
SUPP=$(dirname "$0")/dsqlauth.supp
export DSQLAUTH_LIBRARY="$DSQLAUTH_BUILD_ROOT/src/libdsqlauth.so"
# memcheck NAME LOG [VAR=VALUE]... PROGRAM ARGS...: one test point: PROGRAM under Valgrind, with
# the variables set for Valgrind and so for it (env(1) must run Valgrind, not the program:
# Valgrind does not follow an exec), exits 0 and leaves an empty log. Errors make it exit 99;
# definite and indirect leaks are errors; reachable memory and possible leaks (libraries'
# caches, OpenSSL's and libpq's globals) are not.
memcheck() {
    _name=$1 _log=$2
    shift 2
    _n=0
    for _a in "$@"; do case $_a in *=*) _n=$((_n + 1)) ;; *) break ;; esac; done
    _i=0 _total=$#
    while [ $_i -lt $_total ]; do
        [ $_i -eq $_n ] && set -- "$@" valgrind --quiet --error-exitcode=99 --leak-check=full \
            --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
            --num-callers=40 --suppressions="$SUPP" --log-file="$_log"
        set -- "$@" "$1"
        shift
        _i=$((_i + 1))
    done
    _t0=$(date +%s)
    if _out=$(env "$@" 2>&1) && [ ! -s "$_log" ]; then
        ok "$_name"
        diag "$(($(date +%s) - _t0)) s"
    else
        not_ok "$_name"; diag "$_out" "$(cat "$_log")"
    fi
    VG_OUT=$_out
}
d=$ENDPOINT_DIR

# (a) the walk-through: the wrapped binary as admin, the plain one under the preload as app.
memcheck "valgrind: walk-through as admin (link-time wrapper)" "$d/vg-walk-admin.log" \
    CLUSTER_USER=admin "$PETCLINIC"
is "walk-through as admin passed" "$(printf '%s\n' "$VG_OUT" | tail -n 1 | sed 's/:.*//')" \
    "Walk-through passed as admin in schema public"
memcheck "valgrind: walk-through as app (preload)" "$d/vg-walk-app.log" \
    CLUSTER_USER=app LD_PRELOAD="$DSQLAUTH_PRELOAD" "$PETCLINIC_PLAIN"
is "walk-through as app passed" "$(printf '%s\n' "$VG_OUT" | tail -n 1 | sed 's/:.*//')" \
    "Walk-through passed as app in schema myschema"

# (b) connections through the shim, one after the other in one process, each with a fresh token
# over verified TLS: a leak per connection would show up $conns times over.
before=$(grep -c "authenticated as" "$d/front.log")
memcheck "valgrind: $conns connections through the preload" "$d/vg-preload.log" \
    LD_PRELOAD="$DSQLAUTH_PRELOAD" "$PQCLIENT" --threads 1 --count "$conns" \
    --query "select current_user, current_setting('search_path')" "host=$CLUSTER_ENDPOINT user=app"
is "preload: $conns connections answered as app in myschema" "$VG_OUT" "ok $conns app|myschema"
after=$(grep -c "authenticated as" "$d/front.log")
is "preload: the endpoint verified a token for each" "$((after - before >= conns))" 1
wrapn=$((conns / 10 < 10 ? 10 : conns / 10))
memcheck "valgrind: $wrapn connections through the link-time wrapper" "$d/vg-wrap.log" \
    "$PQCLIENT_WRAP" --threads 1 --count "$wrapn" --query "select current_user" \
    "host=$CLUSTER_ENDPOINT"
is "wrapper: $wrapn connections answered as admin" "$VG_OUT" "ok $wrapn admin"

done_testing
