#!/bin/sh
# SPDX-License-Identifier: MIT
# bench.sh: what dsqlauth-local's TLS front costs. In one run, on one fresh instance, pgbench -S
# through the front (TLS, token checked per connection) and directly at the same PostgreSQL's
# Unix socket, alternating so machine noise hits both alike; then the new-connection rate
# (pgbench -C). Prints each pair and the ratio front/direct (target for -S: at least 0.90).
#
#   tools/local/bench.sh                      # uses dsqlauth-local from PATH
#   DSQLAUTH_LOCAL=build/tools/local/dsqlauth-local BENCH_SECONDS=20 tools/local/bench.sh
#   meson compile -C build bench-local        # the same with the build's binary
set -eu

BIN=${DSQLAUTH_LOCAL:-dsqlauth-local}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
JOBS=${BENCH_JOBS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
SCALE=${BENCH_SCALE:-10}

command -v pgbench >/dev/null || { echo "bench: pgbench not found (postgresql-client)" >&2; exit 1; }
dir=$(mktemp -d) # short: the Unix socket path must stay under 108 bytes
cleanup() { "$BIN" stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

"$BIN" start --dir "$dir" >/dev/null
eval "$("$BIN" env --dir "$dir")"
PGPASSWORD=$("$BIN" token --dir "$dir" --expires 3600)
export PGPASSWORD

# Through the front: the environment from `env` (host = endpoint, hostaddr, verify-full).
front() { pgbench "$@" 2>&1; }
# Directly: the same server's Unix socket, no TLS, no token.
direct() { env -u PGHOSTADDR -u PGSSLMODE -u PGPASSWORD PGHOST="$dir/run" PGPORT=5432 pgbench "$@" 2>&1; }
tps() { awk '/^tps = / { print $3; found = 1 } END { if (!found) print 0 }'; }
best() { sort -g | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "bench: pgbench -i -s $SCALE" >&2
direct -i -s "$SCALE" -q >/dev/null

run_pair() { # label, pgbench arguments...
    label=$1
    shift
    f=""
    d=""
    i=0
    while [ "$i" -lt "$ROUNDS" ]; do
        f="$f $(front "$@" | tps)"
        d="$d $(direct "$@" | tps)"
        i=$((i + 1))
    done
    fb=$(printf '%s\n' $f | best)
    db=$(printf '%s\n' $d | best)
    printf '%-28s front %10.1f   direct %10.1f   ratio %s\n' "$label" "$fb" "$db" "$(ratio "$fb" "$db")"
    # For tools/bench/run: one "name value" line per figure.
    if [ -n "${BENCH_RESULTS:-}" ] && [ -n "${BENCH_KEY:-}" ]; then
        printf '%s %s\n%s_direct %s\n' "$BENCH_KEY" "$fb" "$BENCH_KEY" "$db" >>"$BENCH_RESULTS"
    fi
}

echo "bench: $ROUNDS rounds of ${SECONDS_PER_RUN}s each, best of each side, $CLIENTS clients, $JOBS threads, $(nproc) cores" >&2
BENCH_KEY=local_select_tps
run_pair "select-only tps (-S)" -S -n -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_PER_RUN"
BENCH_KEY=local_connect_per_s
run_pair "new connections/s (-S -C)" -S -n -C -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_PER_RUN"
echo "bench: target: select-only ratio >= 0.90" >&2
