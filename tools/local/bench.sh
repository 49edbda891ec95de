#!/bin/sh
# SPDX-License-Identifier: MIT
# bench.sh: what dsqlauth-local's TLS front and its --strict mode cost, each against a baseline
# measured in the same run on the same machine, in rounds that run the sides back to back (in
# alternating order) so that machine noise hits both alike; a ratio is the median of the rounds'
# ratios (a shared 2-core VM swings 10 to 20 % from one run to the next; pairs swing far less),
# and the front's CPU time per transaction, a figure such noise barely moves, is printed beside:
#   - the front against PgBouncer (Debian's, session pool, client TLS with the front's own
#     certificate, the same PostgreSQL behind it) on pgbench -S: target at least 1.0;
#   - --strict against the same front without it, on pgbench -S and on the pet clinic demo's
#     workload: target at least 0.9 each;
#   - for information: the same PostgreSQL directly (Unix socket, no TLS), over loopback TCP,
#     serving TLS itself (the TLS ceiling), and the new-connection rate (pgbench -C).
# Needs pgbench and pgbouncer (tools/bootstrap); the demo part needs a build tree (BUILD_DIR).
#
#   tools/local/bench.sh                      # uses dsqlauth-local from PATH
#   DSQLAUTH_LOCAL=build/tools/local/dsqlauth-local BENCH_SECONDS=20 tools/local/bench.sh
#   meson compile -C build bench-local        # the same with the build's binary
set -eu

BIN=${DSQLAUTH_LOCAL:-dsqlauth-local}
SECONDS_PER_RUN=${BENCH_SECONDS:-6}
CLIENTS=${BENCH_CLIENTS:-8}
JOBS=${BENCH_JOBS:-2}
ROUNDS=${BENCH_ROUNDS:-5}
SCALE=${BENCH_SCALE:-10}
DEMO_SECONDS=${BENCH_DEMO_SECONDS:-5}
DEMO_ROUNDS=${BENCH_DEMO_ROUNDS:-5}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}

command -v pgbench >/dev/null || { echo "bench: pgbench not found (postgresql-client)" >&2; exit 1; }
command -v pgbouncer >/dev/null || { echo "bench: pgbouncer not found (tools/bootstrap)" >&2; exit 1; }
dir=$(mktemp -d)    # short: the Unix socket path must stay under 108 bytes
sdir=$(mktemp -d)   # the --strict instance
tlsdir=$(mktemp -d)
bdir=$(mktemp -d)   # PgBouncer
tls_port=""
cleanup() {
    [ -z "$tls_port" ] || as_pg "$bindir/pg_ctl" -D "$tlsdir/data" -m immediate stop >/dev/null 2>&1 || true
    [ ! -f "$bdir/pid" ] || kill "$(cat "$bdir/pid")" 2>/dev/null || true
    "$BIN" stop --dir "$dir" >/dev/null 2>&1 || true
    "$BIN" stop --dir "$sdir" >/dev/null 2>&1 || true
    rm -rf "$dir" "$sdir" "$tlsdir" "$bdir"
}
trap cleanup EXIT INT TERM
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

"$BIN" start --dir "$dir" >/dev/null
"$BIN" start --dir "$sdir" --strict >/dev/null
eval "$("$BIN" env --dir "$dir")"
PGPASSWORD=$("$BIN" token --dir "$dir" --expires 3600)
export PGPASSWORD
strict_port=$(sed -n 's/^port=//p' "$sdir/state")
strict_token=$("$BIN" token --dir "$sdir" --expires 3600)

bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/initdb" ] || bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# PostgreSQL serving TLS itself: initdb with the same superuser name, the settings
# dsqlauth-local gives its own, and the front's certificate. Not as root: then as `postgres`.
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

# PgBouncer in front of the front's own PostgreSQL (its Unix socket), session pooling, client
# TLS with the front's certificate; trust authentication (the front checks tokens, which is
# its job, not a cost of the data path measured here).
start_pgbouncer() {
    cp "$dir/server.crt" "$dir/server.key" "$bdir/"
    chmod 600 "$bdir/server.key"
    printf '"%s" ""\n' "$PGUSER" >"$bdir/users.txt"
    port=$((PGPORT + 20))
    cat >"$bdir/pgbouncer.ini" <<EOF
[databases]
postgres = host=$dir/run port=5432 dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $bdir/users.txt
pool_mode = session
max_client_conn = 500
default_pool_size = 100
client_tls_sslmode = require
client_tls_cert_file = $bdir/server.crt
client_tls_key_file = $bdir/server.key
ignore_startup_parameters = extra_float_digits
logfile = $bdir/log
pidfile = $bdir/pid
EOF
    [ "$(id -u)" -ne 0 ] || chown -R postgres "$bdir"
    as_pg pgbouncer -d "$bdir/pgbouncer.ini" >/dev/null 2>&1 || return 1
    bouncer_port=$port
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -f "$bdir/pid" ] && return 0
        sleep 0.2
    done
    return 1
}

# Through the front: the environment from `env` (host = endpoint, hostaddr, verify-full).
front() { pgbench "$@" 2>&1; }
# The --strict front: its own port and keys, the same kind of environment.
strict() { PGPORT="$strict_port" PGPASSWORD="$strict_token" PGSSLROOTCERT="$sdir/ca.crt" pgbench "$@" 2>&1; }
# PgBouncer: the same host name, CA and verify-full, its own port.
bouncer() { env -u PGPASSWORD PGPORT="$bouncer_port" pgbench "$@" 2>&1; }
# Directly: the same server's Unix socket, no TLS, no token.
direct() { env -u PGHOSTADDR -u PGSSLMODE -u PGPASSWORD PGHOST="$dir/run" PGPORT=5432 pgbench "$@" 2>&1; }
# PostgreSQL's own TLS: the client settings of the front's side (verify-full), its own port.
pgtls() { env -u PGPASSWORD PGPORT="$tls_port" pgbench "$@" 2>&1; }
# That PostgreSQL over plain TCP (its pg_hba trusts 127.0.0.1 with and without TLS).
pgtcp() { env -u PGPASSWORD -u PGHOSTADDR PGHOST=127.0.0.1 PGSSLMODE=disable PGPORT="$tls_port" pgbench "$@" 2>&1; }
tps() { awk '/^tps = / { print $3; found = 1 } END { if (!found) print 0 }'; }
best() { sort -g | tail -n 1; }
median() {
    sort -g | awk '{ a[NR] = $1 }
        END { if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f to %.2f", lo, hi }'; }
# cpu_ticks PIDFILE: the user + system clock ticks the process PIDFILE names has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$1")/stat"; }
TICK=$(getconf CLK_TCK)
# measure PIDFILE SIDE ARGS...: runs pgbench through SIDE; prints "TPS CPU", CPU being the time
# the proxy PIDFILE names (a front, PgBouncer) used per transaction pgbench completed, in
# microseconds.
measure() {
    _d=$1 _side=$2
    shift 2
    _a=$(cpu_ticks "$_d")
    _out=$("$_side" "$@")
    _b=$(cpu_ticks "$_d")
    printf '%s\n' "$_out" | awk -v a="$_a" -v b="$_b" -v tick="$TICK" '
        /^tps = / { tps = $3 }
        /^number of transactions actually processed: / { split($6, n, "/"); tx = n[1] }
        END { printf "%s %.2f\n", tps + 0, (tx > 0) ? (b - a) / tick * 1e6 / tx : 0 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t) ? "met" : "NOT MET" }'; }
record() { [ -z "${BENCH_RESULTS:-}" ] || printf '%s %s\n' "$1" "$2" >>"$BENCH_RESULTS"; }

echo "bench: pgbench -i -s $SCALE (each PostgreSQL)" >&2
direct -i -s "$SCALE" -q >/dev/null
env -u PGHOSTADDR -u PGSSLMODE -u PGPASSWORD PGHOST="$sdir/run" PGPORT=5432 pgbench -i -s "$SCALE" -q >/dev/null 2>&1
start_pgbouncer || { echo "bench: PgBouncer did not start (see $bdir/log)" >&2; cat "$bdir/log" >&2 || true; exit 1; }
if start_tls_pg; then
    pgtls -i -s "$SCALE" -q >/dev/null
else
    echo "bench: could not start a TLS PostgreSQL beside it: no pg-tls column" >&2
fi

echo "bench: $ROUNDS rounds of ${SECONDS_PER_RUN}s each (front, PgBouncer and --strict in each; the informational sides in two), $CLIENTS clients, $JOBS threads, $(nproc) cores" >&2
S="-S -n -c $CLIENTS -j $JOBS -T $SECONDS_PER_RUN"
f="" s="" b="" d="" t="" p="" rb="" rs="" cf="" cs="" cb=""
i=0
while [ "$i" -lt "$ROUNDS" ]; do
    # shellcheck disable=SC2086
    {
        if [ $((i % 2)) -eq 0 ]; then
            mf=$(measure "$dir/front.pid" front $S); mb=$(measure "$bdir/pid" bouncer $S)
            ms=$(measure "$sdir/front.pid" strict $S)
        else
            ms=$(measure "$sdir/front.pid" strict $S); mb=$(measure "$bdir/pid" bouncer $S)
            mf=$(measure "$dir/front.pid" front $S)
        fi
        fi_=${mf% *} cfi=${mf#* } si=${ms% *} csi=${ms#* } bi=${mb% *} cbi=${mb#* }
        f="$f $fi_" b="$b $bi" s="$s $si" cf="$cf $cfi" cs="$cs $csi" cb="$cb $cbi"
        rb="$rb $(ratio "$fi_" "$bi")" rs="$rs $(ratio "$si" "$fi_")"
        if [ "$i" -lt 2 ]; then
            d="$d $(direct $S | tps)"
            [ -z "$tls_port" ] || t="$t $(pgtls $S | tps)"
            [ -z "$tls_port" ] || p="$p $(pgtcp $S | tps)"
        fi
    }
    printf 'round %s: front %s tps (%s us CPU/tx), PgBouncer %s (%s us CPU/tx), --strict %s (%s us CPU/tx)\n' \
        $((i + 1)) "$fi_" "$cfi" "$bi" "$cbi" "$si" "$csi" >&2
    i=$((i + 1))
done
# shellcheck disable=SC2086
{
    fb=$(printf '%s\n' $f | median); bb=$(printf '%s\n' $b | median); sb=$(printf '%s\n' $s | median)
    db=$(printf '%s\n' $d | best)
    rbm=$(printf '%s\n' $rb | median); rsm=$(printf '%s\n' $rs | median)
    rbr=$(printf '%s\n' $rb | range); rsr=$(printf '%s\n' $rs | range)
    cfm=$(printf '%s\n' $cf | median); csm=$(printf '%s\n' $cs | median); cbm=$(printf '%s\n' $cb | median)
}
printf '%-34s %10.1f tps   (median round; the front used %s us of CPU a transaction)\n' \
    "front, pgbench -S" "$fb" "$cfm"
printf '%-34s %10.1f tps   front/PgBouncer %.2f, rounds %s (target >= 1.0: %s); %s us CPU/tx\n' \
    "PgBouncer (TLS, session pool)" "$bb" "$rbm" "$rbr" "$(verdict "$rbm" 1.0)" "$cbm"
printf '%-34s %10.1f tps   strict/front %.2f, rounds %s (target >= 0.9: %s); %s us CPU/tx\n' \
    "front --strict" "$sb" "$rsm" "$rsr" "$(verdict "$rsm" 0.9)" "$csm"
printf '%-34s %10.1f tps   front/direct %s (informational)\n' "direct (Unix socket, no TLS)" "$db" \
    "$(ratio "$fb" "$db")"
record local_select_ratio_pgbouncer "$rbm"
record local_select_ratio_strict "$rsm"
record local_select_cpu_us "$cfm"
record local_select_cpu_us_strict "$csm"
record local_select_cpu_us_pgbouncer "$cbm"
record local_select_tps "$fb"
record local_select_tps_pgbouncer "$bb"
record local_select_tps_strict "$sb"
record local_select_tps_direct "$db"
if [ -n "$tls_port" ]; then
    # shellcheck disable=SC2086 # lists of figures
    tb=$(printf '%s\n' $t | best)
    # shellcheck disable=SC2086
    pb=$(printf '%s\n' $p | best)
    printf '%-34s %10.1f tps   pg-tcp/direct %s (the TCP ceiling)\n' "PostgreSQL over loopback TCP" "$pb" "$(ratio "$pb" "$db")"
    printf '%-34s %10.1f tps   pg-tls/direct %s (the TLS ceiling), front/pg-tls %s\n' \
        "PostgreSQL's own TLS" "$tb" "$(ratio "$tb" "$db")" "$(ratio "$fb" "$tb")"
    record local_select_tps_pgtls "$tb"
    record local_select_tps_pgtcp "$pb"
fi

# New connections per second (TLS handshake, token check, backend start), informational.
C="-S -n -C -c $CLIENTS -j $JOBS -T $SECONDS_PER_RUN"
# shellcheck disable=SC2086
{ fc=$(front $C | tps); dc=$(direct $C | tps); }
printf '%-34s %10.1f conn/s   direct %.1f, ratio %s (informational)\n' "front, pgbench -S -C" "$fc" "$dc" "$(ratio "$fc" "$dc")"
record local_connect_per_s "$fc"
record local_connect_per_s_direct "$dc"

# The pet clinic demo's workload (4 clients, prepared statements, transactions with retries)
# through each front, under dsqlauth-run: --strict against the same front without it.
plain=$build/demo/petclinic-plain
run=$build/tools/run/dsqlauth-run
if [ -x "$plain" ] && [ -x "$run" ]; then
    export DSQLAUTH_PRELOAD="$build/src/libdsqlauth_preload.so"
    demo() { # dir, port, seconds: prints tx/s
        (
            unset PGPASSWORD # the shim signs a token for each instance's own keys
            eval "$("$BIN" env --dir "$1")"
            "$run" "$plain" --workload -c 4 -T "$3" -k 0 -P 0 --json >"$1/demo.json" 2>"$1/demo.err" &&
                python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("%.1f" % d["throughput_tps"])' "$1/demo.json"
        ) || echo 0
    }
    demo "$dir" "$PGPORT" 2 >/dev/null  # the schema and the owner pool, warm caches
    demo "$sdir" "$strict_port" 2 >/dev/null
    df="" ds="" rd=""
    i=0
    while [ "$i" -lt "$DEMO_ROUNDS" ]; do
        if [ $((i % 2)) -eq 0 ]; then
            a=$(demo "$dir" "$PGPORT" "$DEMO_SECONDS"); z=$(demo "$sdir" "$strict_port" "$DEMO_SECONDS")
        else
            z=$(demo "$sdir" "$strict_port" "$DEMO_SECONDS"); a=$(demo "$dir" "$PGPORT" "$DEMO_SECONDS")
        fi
        df="$df $a" ds="$ds $z" rd="$rd $(ratio "$z" "$a")"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    {
        dfb=$(printf '%s\n' $df | median); dsb=$(printf '%s\n' $ds | median)
        rdm=$(printf '%s\n' $rd | median); rdr=$(printf '%s\n' $rd | range)
    }
    printf '%-34s %10.1f tx/s\n' "demo workload, front" "$dfb"
    printf '%-34s %10.1f tx/s   strict/front %.2f, rounds %s (target >= 0.9: %s)\n' \
        "demo workload, front --strict" "$dsb" "$rdm" "$rdr" "$(verdict "$rdm" 0.9)"
    record local_demo_tps "$dfb"
    record local_demo_tps_strict "$dsb"
    record local_demo_ratio_strict "$rdm"
else
    echo "bench: $plain or $run is not built: no demo workload part" >&2
fi
