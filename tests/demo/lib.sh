# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# lib.sh: a private endpoint for the demo's tests, and tests/support/tap.sh (sourced, POSIX sh).
#
# endpoint_start starts a private dsqlauth-local --strict in a temporary directory (stopped on
# exit) and exports its environment (PGHOST=endpoint, PGHOSTADDR, PGPORT, PGSSLROOTCERT,
# AWS_*, CLUSTER_ENDPOINT, REGION). Then, with the whole chain (IAM token, verified TLS, and
# for roles other than admin the search_path of myschema, all added by dsqlauth):
#   petclinic ROLE wrapped|preload ARGS...   the demo as ROLE: `petclinic` linked with the
#                         link-time wrapper, or `petclinic-plain` under dsqlauth-run
#   as ROLE CMD...        any libpq program as ROLE under dsqlauth-run (LD_PRELOAD)
#   backend_sql SQL       SQL on the PostgreSQL behind the front, as its superuser, to look
#                         at what the server saw
# In strict mode the endpoint runs transactions under REPEATABLE READ, the snapshot isolation
# DSQL gives, and settles write conflicts at COMMIT with SQLSTATE 40001 as DSQL does.

: "${DSQLAUTH_BUILD_ROOT:?run through meson test}"
PETCLINIC=${PETCLINIC:-$DSQLAUTH_BUILD_ROOT/demo/petclinic}
PETCLINIC_PLAIN=${PETCLINIC_PLAIN:-$DSQLAUTH_BUILD_ROOT/demo/petclinic-plain}
DSQLAUTH_RUN=${DSQLAUTH_RUN:-$DSQLAUTH_BUILD_ROOT/tools/run/dsqlauth-run}
export DSQLAUTH_PRELOAD="${DSQLAUTH_PRELOAD:-$DSQLAUTH_BUILD_ROOT/src/libdsqlauth_preload.so}"

# The TAP vocabulary: tests/tap.sh (ok, not_ok, is, check, diag, done_testing, ...).
. "$(dirname "$0")/../support/tap.sh"

LOCAL=$DSQLAUTH_BUILD_ROOT/tools/local/dsqlauth-local

endpoint_stop() {
    if [ -n "${ENDPOINT_DIR:-}" ] && [ -d "$ENDPOINT_DIR" ]; then
        "$LOCAL" stop --dir "$ENDPOINT_DIR" >/dev/null 2>&1
        rm -rf "$ENDPOINT_DIR"
    fi
}

endpoint_start() {
    [ -x "$LOCAL" ] || { echo "Bail out! $LOCAL is not built"; exit 1; }
    ENDPOINT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/petclinic-test.XXXXXX")
    trap endpoint_stop EXIT
    trap 'exit 130' INT TERM
    # shellcheck disable=SC2086 # ENDPOINT_START_ARGS: more options for start, split on blanks
    if ! "$LOCAL" start --dir "$ENDPOINT_DIR" --strict ${ENDPOINT_START_ARGS:-} \
        >"$ENDPOINT_DIR/start.log" 2>&1; then
        echo "Bail out! dsqlauth-local did not start"
        sed 's/^/# /' "$ENDPOINT_DIR/start.log"
        exit 1
    fi
    eval "$("$LOCAL" env --dir "$ENDPOINT_DIR")"
}

backend_sql() {
    env -u PGHOSTADDR -u PGSSLMODE -u PGPASSWORD -u PGOPTIONS \
        psql -h "$ENDPOINT_DIR/run" -p 5432 -U admin -d postgres -X -q -tA -v ON_ERROR_STOP=1 -c "$1"
}

as() {
    _role=$1
    shift
    CLUSTER_USER=$_role PGUSER=$_role "$DSQLAUTH_RUN" "$@"
}

petclinic() {
    _role=$1
    _how=$2
    shift 2
    case $_how in
    wrapped) CLUSTER_USER=$_role "$PETCLINIC" "$@" ;;
    preload) CLUSTER_USER=$_role "$DSQLAUTH_RUN" "$PETCLINIC_PLAIN" "$@" ;;
    *) echo "petclinic: wrapped or preload, not $_how" >&2; return 2 ;;
    esac
}

# json FILE EXPR: a value from a JSON document (python3 is in tools/bootstrap's list).
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"
}
