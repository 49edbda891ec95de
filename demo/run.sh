#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh: the pet clinic demo from a fresh checkout in one command: installs what is missing,
# builds, starts a local DSQL endpoint (dsqlauth-local) in a temporary directory, runs the
# walk-through as admin and as the non-admin role `app` through dsqlauth, then a short workload,
# and stops the endpoint on exit.
#
#   demo/run.sh                        against dsqlauth-local
#   DSQLAUTH_DEMO_REAL=1 demo/run.sh   against the real cluster named by CLUSTER_ENDPOINT,
#                                      REGION and CLUSTER_USER (default admin), with your AWS
#                                      credentials; the workload writes rows there
#
# Environment: BUILD_DIR (default ./build), DEMO_DURATION (workload seconds, default 5),
# DEMO_CLIENTS (default 4), SKIP_BOOTSTRAP=1 to not install packages.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
duration=${DEMO_DURATION:-5}
clients=${DEMO_CLIENTS:-4}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '\n== %s\n' "$*"; }

# 1. Packages and build.
if [ "${SKIP_BOOTSTRAP:-0}" != 1 ]; then
    say "Installing what is missing (tools/bootstrap)"
    "$top/tools/bootstrap"
fi
say "Building ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
meson compile -C "$build" >/dev/null

local_bin=$build/tools/local/dsqlauth-local
dsqlauth_run=$build/tools/run/dsqlauth-run
export DSQLAUTH_PRELOAD="$build/src/libdsqlauth_preload.so" # dsqlauth-run, from the build tree

# Both ways of putting dsqlauth under a libpq program: admin runs `petclinic`, linked with the
# link-time wrapper; other roles run `petclinic-plain` under dsqlauth-run (LD_PRELOAD).
as_role() {
    role=$1
    shift
    if [ "$role" = admin ]; then
        CLUSTER_USER=admin "$build/demo/petclinic" "$@"
    else
        CLUSTER_USER=$role "$dsqlauth_run" "$build/demo/petclinic-plain" "$@"
    fi
}

if [ "${DSQLAUTH_DEMO_REAL:-0}" = 1 ]; then
    : "${CLUSTER_ENDPOINT:?set CLUSTER_ENDPOINT to your cluster endpoint}"
    : "${REGION:?set REGION to your cluster region}"
    user=${CLUSTER_USER:-admin}
    say "Walk-through as $user on $CLUSTER_ENDPOINT"
    as_role "$user"
    say "Workload: $clients clients for $duration s"
    as_role "$user" --workload --clients "$clients" --duration "$duration"
    exit 0
fi

# 2. A private local endpoint, stopped whatever happens next.
endpoint_dir=$(mktemp -d "${TMPDIR:-/tmp}/petclinic-demo.XXXXXX")
cleanup() {
    "$local_bin" stop --dir "$endpoint_dir" >/dev/null 2>&1 || true
    rm -rf "$endpoint_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say "Starting dsqlauth-local --strict (PostgreSQL behind a TLS front that verifies IAM tokens)"
"$local_bin" start --dir "$endpoint_dir" --strict
eval "$("$local_bin" env --dir "$endpoint_dir")"

# 3. The walk-through as both roles, then a workload.
say "Walk-through as admin (schema public), petclinic linked with dsqlauth's wrapper"
as_role admin
say "Walk-through as app (schema myschema, set by dsqlauth): dsqlauth-run petclinic-plain"
as_role app
say "Workload as admin: $clients clients for $duration s"
as_role admin --workload --clients "$clients" --duration "$duration" --reconnect-every 200

say "Done: the local endpoint is stopped and its directory removed"
