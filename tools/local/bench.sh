#!/bin/sh
# SPDX-License-Identifier: MIT
# bench.sh: what dsqlauth-local's TLS front costs. In one run, on one fresh instance, pgbench -S
# through the front (TLS, token checked per connection) and directly at the same PostgreSQL's
# Unix socket, alternating so machine noise hits both alike; then the new-connection rate
# (pgbench -C). Prints each pair and the ratio front/direct (target for -S: at least 0.90).
#
# A third side tells the relay's cost from TLS's: a second PostgreSQL of the same installation
# and settings, serving TLS itself on loopback TCP with the front's certificate (verify-full,
# the same CA and host name), no front in between. front/pg-tls is what the relay alone costs.
# A fourth, pg-tcp, is that PostgreSQL over the same loopback TCP without TLS: what leaving the
# Unix socket costs before any encryption.
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
tlsdir=$(mktemp -d)
tls_port=""
cleanup() {
    [ -z "$tls_port" ] || as_pg "$bindir/pg_ctl" -D "$tlsdir/data" -m immediate stop >/dev/null 2>&1 || true
    "$BIN" stop --dir "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir" "$tlsdir"
}
trap cleanup EXIT INT TERM

"$BIN" start --dir "$dir" >/dev/null
eval "$("$BIN" env --dir "$dir")"
PGPASSWORD=$("$BIN" token --dir "$dir" --expires 3600)
export PGPASSWORD

# The TLS PostgreSQL: initdb with the same superuser name, the settings dsqlauth-local gives its
# own, and the front's certificate. PostgreSQL refuses to run as root: then as `postgres`.
bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/initdb" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
start_tls_pg() {
    [ -x "$bindir/initdb" ] || return 1
    if [ "$(id -u)" -eq 0 ]; then id postgres >/dev/null 2>&1 || return 1; fi
    cp "$dir/server.crt" "$dir/server.key" "$tlsdir/"
    chmod 600 "$tlsdir/server.key"
    [ "$(id -u)" -ne 0 ] || chown -R postgres "$tlsdir"
    as_pg "$bindir/initdb" -D "$tlsdir/data" -U "$PGUSER" -A trust >/dev/null 2>&1 || return 1
    echo "include 'bench.conf'" >>"$tlsdir/data/postgresql.conf"
    port=$((PGPORT + 1))
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        printf '%s\n' "listen_addresses = '127.0.0.1'" "port = $port" \
            "unix_socket_directories = ''" "max_connections = 1000" "shared_buffers = 128MB" \
            "synchronous_commit = off" "ssl = on" "ssl_cert_file = '$tlsdir/server.crt'" \
            "ssl_key_file = '$tlsdir/server.key'" >"$tlsdir/data/bench.conf"
        if as_pg "$bindir/pg_ctl" -D "$tlsdir/data" -l "$tlsdir/log" -w start >/dev/null 2>&1; then
            tls_port=$port
            return 0
        fi
        port=$((port + 1))
    done
    return 1
}

# Through the front: the environment from `env` (host = endpoint, hostaddr, verify-full).
front() { pgbench "$@" 2>&1; }
# Directly: the same server's Unix socket, no TLS, no token.
direct() { env -u PGHOSTADDR -u PGSSLMODE -u PGPASSWORD PGHOST="$dir/run" PGPORT=5432 pgbench "$@" 2>&1; }
# PostgreSQL's own TLS: the client settings of the front's side (verify-full), its own port.
pgtls() { env -u PGPASSWORD PGPORT="$tls_port" pgbench "$@" 2>&1; }
# That PostgreSQL over plain TCP (its pg_hba trusts 127.0.0.1 with and without TLS).
pgtcp() { env -u PGPASSWORD -u PGHOSTADDR PGHOST=127.0.0.1 PGSSLMODE=disable PGPORT="$tls_port" pgbench "$@" 2>&1; }
tps() { awk '/^tps = / { print $3; found = 1 } END { if (!found) print 0 }'; }
best() { sort -g | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "bench: pgbench -i -s $SCALE" >&2
direct -i -s "$SCALE" -q >/dev/null
if start_tls_pg; then
    pgtls -i -s "$SCALE" -q >/dev/null
else
    echo "bench: could not start a TLS PostgreSQL beside it: no pg-tls column" >&2
fi

run_pair() { # label, pgbench arguments...
    label=$1
    shift
    f=""
    d=""
    t=""
    p=""
    i=0
    while [ "$i" -lt "$ROUNDS" ]; do
        f="$f $(front "$@" | tps)"
        d="$d $(direct "$@" | tps)"
        [ -z "$tls_port" ] || t="$t $(pgtls "$@" | tps)"
        [ -z "$tls_port" ] || p="$p $(pgtcp "$@" | tps)"
        i=$((i + 1))
    done
    fb=$(printf '%s\n' $f | best)
    db=$(printf '%s\n' $d | best)
    printf '%-28s front %10.1f   direct %10.1f   ratio %s\n' "$label" "$fb" "$db" "$(ratio "$fb" "$db")"
    tb=0
    if [ -n "$tls_port" ]; then
        tb=$(printf '%s\n' $t | best)
        pb=$(printf '%s\n' $p | best)
        printf '%-28s pg-tcp %9.1f   pg-tcp/direct %s\n' "" "$pb" "$(ratio "$pb" "$db")"
        printf '%-28s pg-tls %9.1f   pg-tls/direct %s   front/pg-tls %s\n' "" "$tb" \
            "$(ratio "$tb" "$db")" "$(ratio "$fb" "$tb")"
    fi
    # For tools/bench/run: one "name value" line per figure.
    if [ -n "${BENCH_RESULTS:-}" ] && [ -n "${BENCH_KEY:-}" ]; then
        printf '%s %s\n%s_direct %s\n' "$BENCH_KEY" "$fb" "$BENCH_KEY" "$db" >>"$BENCH_RESULTS"
        [ -z "$tls_port" ] || printf '%s_pgtls %s\n%s_pgtcp %s\n' "$BENCH_KEY" "$tb" \
            "$BENCH_KEY" "$pb" >>"$BENCH_RESULTS"
    fi
}

echo "bench: $ROUNDS rounds of ${SECONDS_PER_RUN}s each, best of each side, $CLIENTS clients, $JOBS threads, $(nproc) cores" >&2
BENCH_KEY=local_select_tps
run_pair "select-only tps (-S)" -S -n -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_PER_RUN"
BENCH_KEY=local_connect_per_s
run_pair "new connections/s (-S -C)" -S -n -C -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_PER_RUN"
echo "bench: target: select-only ratio >= 0.90" >&2
