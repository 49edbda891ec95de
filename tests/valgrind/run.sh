#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh: Valgrind memcheck over the demo's walk-through and over a thousand connections through
# the shim, against a real dsqlauth-local. Fails on any memory error, and on any definite or
# indirect leak, that the suppressions (dsqlauth.supp, third-party only) do not cover.
#
# Run by `meson test --suite valgrind` in a build without sanitizers, with DSQLAUTH_BUILD_ROOT
# and PQCLIENT, PQCLIENT_WRAP (tests/shim's programs) set. VALGRIND_CONNECTIONS (default 1000)
# sets how many connections each shim run makes.
. "$(dirname "$0")/../demo/lib.sh"
: "${PQCLIENT:?run through meson test}" "${PQCLIENT_WRAP:?run through meson test}"
command -v valgrind >/dev/null || { echo "Bail out! valgrind is missing (tools/bootstrap installs it)"; exit 1; }
endpoint_start
conns=${VALGRIND_CONNECTIONS:-1000}
SUPP=$(dirname "$0")/dsqlauth.supp
export DSQLAUTH_LIBRARY=$DSQLAUTH_BUILD_ROOT/src/libdsqlauth.so
# Errors make the program exit 99; reachable memory and possible leaks (libraries' caches,
# OpenSSL's and libpq's globals) are not failures, definite and indirect leaks are.
vg() {
    _log=$1
    shift
    valgrind --quiet --error-exitcode=99 --exit-on-first-error=no --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --num-callers=40 --suppressions="$SUPP" --log-file="$_log" "$@"
}
# memcheck NAME LOG CMD...: one test point: exit status 0 and a clean Valgrind log.
memcheck() {
    _name=$1 _log=$2
    shift 2
    if _out=$(vg "$_log" "$@" 2>&1) && ! grep -q '^==[0-9]*== [A-Z]' "$_log"; then
        ok "$_name"
    else
        not_ok "$_name"; diag "$_out" "$(cat "$_log")"
    fi
    VG_OUT=$_out
}
d=$ENDPOINT_DIR

# (a) the walk-through: the wrapped binary as admin, the plain one under the preload as app.
memcheck "valgrind: walk-through as admin (link-time wrapper)" "$d/vg-walk-admin.log" \
    env CLUSTER_USER=admin "$PETCLINIC"
expect "walk-through as admin passed" "$(printf '%s\n' "$VG_OUT" | tail -n 1 | sed 's/:.*//')" \
    "Walk-through passed as admin in schema public"
memcheck "valgrind: walk-through as app (preload)" "$d/vg-walk-app.log" \
    env CLUSTER_USER=app LD_PRELOAD="$DSQLAUTH_PRELOAD" "$PETCLINIC_PLAIN"
expect "walk-through as app passed" "$(printf '%s\n' "$VG_OUT" | tail -n 1 | sed 's/:.*//')" \
    "Walk-through passed as app in schema myschema"

# (b) connections through the shim, one after the other in one process, each with a fresh token
# over verified TLS: a leak per connection would show up $conns times over.
before=$(grep -c "authenticated as" "$d/front.log")
memcheck "valgrind: $conns connections through the preload" "$d/vg-preload.log" \
    env LD_PRELOAD="$DSQLAUTH_PRELOAD" "$PQCLIENT" --threads 1 --count "$conns" \
    --query "select current_user, current_setting('search_path')" "host=$CLUSTER_ENDPOINT user=app"
expect "preload: $conns connections answered as app in myschema" "$VG_OUT" "ok $conns app|myschema"
after=$(grep -c "authenticated as" "$d/front.log")
expect "preload: the endpoint verified a token for each" "$((after - before >= conns))" 1
wrapn=$((conns / 10))
memcheck "valgrind: $wrapn connections through the link-time wrapper" "$d/vg-wrap.log" \
    "$PQCLIENT_WRAP" --threads 1 --count "$wrapn" --query "select current_user" \
    "host=$CLUSTER_ENDPOINT"
expect "wrapper: $wrapn connections answered as admin" "$VG_OUT" "ok $wrapn admin"

done_testing
