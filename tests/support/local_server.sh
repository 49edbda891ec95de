# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# local_server.sh: a private dsqlauth-local for a shell suite, sourced after tests/support/tap.sh.
# start_local NAME makes a scratch folder T (removed on exit), starts a dsqlauth-local of its own
# there (stopped on exit, as is any other a suite starts in a folder of T), and leaves only what
# a user of a real cluster has: credentials, the region, where to connect and this endpoint's CA
# (the system store holds Amazon's). The shim must add the rest itself. Sets T, EP (the endpoint) and FRONT_LOG.
# LOCAL_START_ARGS adds options to `dsqlauth-local start` (--strict, ...).
start_local() {
    T=$(mktemp -d "/tmp/dsqlauth-$1.XXXXXX") || bail "mktemp"
    chmod 755 "$T"
    # Every endpoint a suite started under T (a folder with a state file) stops at exit.
    # shellcheck disable=SC2154 # d is the trap's own loop variable
    trap 'for d in "$T"/*/; do [ -f "$d/state" ] && "$LOCAL" stop --dir "$d" >/dev/null 2>&1; done
          rm -rf "$T"' EXIT
    # shellcheck disable=SC2086 # LOCAL_START_ARGS: more options for start, split on blanks
    "$LOCAL" start --dir "$T/local" ${LOCAL_START_ARGS:-} >"$T/local-start.log" 2>&1 ||
        bail "dsqlauth-local start failed: $(cat "$T/local-start.log")"
    eval "$("$LOCAL" env --dir "$T/local")"
    # shellcheck disable=SC2034 # for the suite that sourced this file
    EP=$CLUSTER_ENDPOINT
    # shellcheck disable=SC2034
    FRONT_LOG=$T/local/front.log
    unset PGHOST PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT PGPASSWORD PGOPTIONS PGAPPNAME
    unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE DSQLAUTH_LOG DSQLAUTH_DISABLE
    unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
    unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN
    # Tests reach loopback only: never the real instance metadata service.
    export AWS_EC2_METADATA_DISABLED=true
    export DSQLAUTH_SSLROOTCERT PGHOSTADDR PGPORT
    export HOME=$T/home PGSYSCONFDIR=$T/home
    mkdir -p "$HOME"
}
