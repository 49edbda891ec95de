# SPDX-License-Identifier: MIT
# lib.sh: TAP helpers and a private endpoint for the demo's tests (sourced, POSIX sh).
#
# endpoint_start starts a throwaway PostgreSQL laid out like Aurora DSQL: role admin owning
# public, role app owning myschema and unable to create in public, snapshot isolation
# (REPEATABLE READ, so concurrent writers get SQLSTATE 40001 as on DSQL). It listens on a Unix
# socket in a temporary directory and is stopped on exit. Then:
#   as admin|app CMD...   runs CMD connected as that role (CLUSTER_ENDPOINT/CLUSTER_USER)
#   backend_sql SQL       runs SQL on the backend as its superuser, prints rows unaligned
# For app the schema comes from PGOPTIONS here, standing in for dsqlauth's search_path.

: "${DSQLAUTH_BUILD_ROOT:?run through meson test}"
PETCLINIC=${PETCLINIC:-$DSQLAUTH_BUILD_ROOT/demo/petclinic}

tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# check NAME CMD...: one test point from a command's exit status; its output goes to diag
# when it fails.
check() {
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name"; diag "$out"; fi
}
# expect NAME GOT WANT
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: $3" "got:      $2"; fi
}
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

pg_bindir() {
    d=$(pg_config --bindir 2>/dev/null)
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && echo "$d" && return; done
    return 1
}

# PostgreSQL refuses to run as root: use the postgres account then.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

endpoint_stop() {
    if [ -n "${ENDPOINT_DIR:-}" ] && [ -d "$ENDPOINT_DIR" ]; then
        as_server_user "$PGBIN/pg_ctl" -D "$ENDPOINT_DIR/data" -m immediate -w stop >/dev/null 2>&1
        rm -rf "$ENDPOINT_DIR"
    fi
}

endpoint_start() {
    PGBIN=$(pg_bindir) || { echo "Bail out! no PostgreSQL server installed (tools/bootstrap)"; exit 1; }
    ENDPOINT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/petclinic-test.XXXXXX")
    trap endpoint_stop EXIT
    trap 'exit 130' INT TERM
    [ "$(id -u)" -eq 0 ] && chown postgres "$ENDPOINT_DIR"
    if ! as_server_user "$PGBIN/initdb" -D "$ENDPOINT_DIR/data" -U postgres -A trust \
            --no-sync >"$ENDPOINT_DIR/initdb.log" 2>&1 ||
       ! as_server_user "$PGBIN/pg_ctl" -D "$ENDPOINT_DIR/data" -l "$ENDPOINT_DIR/server.log" \
            -o "-k $ENDPOINT_DIR -c listen_addresses= -c fsync=off -c max_connections=200" \
            -w start >/dev/null 2>&1; then
        echo "Bail out! PostgreSQL did not start"
        cat "$ENDPOINT_DIR"/*.log | sed 's/^/# /'
        exit 1
    fi
    backend_sql "
        CREATE ROLE admin LOGIN;
        ALTER SCHEMA public OWNER TO admin;
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        CREATE ROLE app LOGIN;
        CREATE SCHEMA myschema AUTHORIZATION app;
        ALTER DATABASE postgres SET default_transaction_isolation = 'repeatable read';" >/dev/null
}

backend_sql() {
    psql -h "$ENDPOINT_DIR" -U postgres -d postgres -X -q -tA -v ON_ERROR_STOP=1 -c "$1"
}

as() {
    role=$1
    shift
    if [ "$role" = admin ]; then
        CLUSTER_ENDPOINT=$ENDPOINT_DIR CLUSTER_USER=admin PGHOST=$ENDPOINT_DIR PGUSER=admin "$@"
    else
        CLUSTER_ENDPOINT=$ENDPOINT_DIR CLUSTER_USER=$role PGHOST=$ENDPOINT_DIR PGUSER=$role \
            PGOPTIONS="-c search_path=myschema" "$@"
    fi
}

# json FILE EXPR: a value from a JSON document (python3 is in tools/bootstrap's list).
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"
}
