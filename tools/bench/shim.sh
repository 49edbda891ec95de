#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shim.sh: what the preload costs. Prints a table; not part of the test suite.
#
#   tools/bench/shim.sh [BUILD_DIR] [SECONDS]     (ROUNDS=5 pgbench rounds per side)
#
# 1. pgbench -C (a new connection per transaction) against dsqlauth-local through the preload,
#    against the same connections made with a token computed beforehand and the parameters the
#    shim would add written out by hand. Each round runs both sides back to back, in alternating
#    order; the ratio is the median of the rounds' ratios (this kind of VM swings 10 to 30 %
#    between runs, and pairs far less), the range is printed (target ratio >= 0.97).
# 2. The client CPU time per connection attempt, shim vs by hand, against a closed port (no
#    server in the measurement; needs the test programs of the build, tests/shim/pqclient).
# 3. Start-up of `bash -c true`, of Python importing extension modules (dlopen and dlsym through
#    the preload) and of `psql -c 'select 1'` to a local non-DSQL server (the endpoint's private
#    PostgreSQL, over its Unix socket) with and without LD_PRELOAD (target: under 0.1 ms extra,
#    judged on the dynamic loader's own count, which fork/exec noise does not reach). hyperfine
#    when installed (Debian package hyperfine), else a timed loop.
# 4. What the preload's dlsym and dlopen cost each call in a program that never touches libpq
#    (tools/bench/dl_bench.c, alternating rounds, medians).
# 5. What pg_dump's handling costs programs that are not pg_dump: pgbench -S through the preload
#    against the same preload built without it (tools/bench's libdsqlauth_preload_nodump.so),
#    paired rounds as in 1, with pgbench's own CPU per transaction beside, and the instructions
#    pgbench executes per transaction with each (Valgrind's callgrind: exact, where the rates
#    swing more than the 1 % to resolve; the target, >= 0.99, is judged on these), and the
#    loader's start-up count of both.
set -eu

BUILD=${1:-build}
SECONDS_PER_RUN=${2:-4}
ROUNDS=${ROUNDS:-9}
PRELOAD=$(realpath "$BUILD/src/libdsqlauth_preload.so")
NODUMP=$(realpath "$BUILD/tools/bench/libdsqlauth_preload_nodump.so")
DSQLAUTH_LIBRARY=$(realpath "$BUILD/src/libdsqlauth.so.0")
export DSQLAUTH_LIBRARY
LOCAL=$(realpath "$BUILD/tools/local/dsqlauth-local")
for p in "$PRELOAD" "$NODUMP" "$LOCAL"; do [ -e "$p" ] || { echo "shim.sh: $p is missing; build first" >&2; exit 2; }; done
for p in pgbench psql bash; do command -v "$p" >/dev/null || { echo "shim.sh: $p is missing" >&2; exit 2; }; done

T=$(mktemp -d)
chmod 755 "$T"
trap '"$LOCAL" stop --dir "$T/local" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$LOCAL" start --dir "$T/local" >/dev/null
eval "$("$LOCAL" env --dir "$T/local")"
EP="$CLUSTER_ENDPOINT hostaddr=$PGHOSTADDR port=$PGPORT"
PGPORT_SAVED=$PGPORT
unset PGHOST PGHOSTADDR PGPORT PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT PGOPTIONS PGAPPNAME
unset DSQLAUTH_LOG
export DSQLAUTH_SSLROOTCERT
SOCKET_DIR=$T/local/run # dsqlauth-local's own PostgreSQL: a plain, non-DSQL server

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print 0 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f to %.2f", lo, hi }'; }

# ---- pgbench -C ---------------------------------------------------------------------------
echo "select 1;" >"$T/select.sql"
TOKEN=$("$LOCAL" token --dir "$T/local" --token-user app --expires 3600)
by_hand="host=$EP user=app dbname=postgres password=$TOKEN sslmode=verify-full sslrootcert=$DSQLAUTH_SSLROOTCERT options='-c search_path=myschema'"
tps() { sed -n 's/^tps = \([0-9.]*\) (including.*/\1/p'; }
pgb() { pgbench -n -C -c 4 -j 2 -T "$SECONDS_PER_RUN" -f "$T/select.sql" "$@" 2>&1; }
shim_runs=() hand_runs=() conn_ratios=()
for r in $(seq "$ROUNDS"); do # which side goes first alternates, so neither gets a warmer server
    if [ $((r % 2)) -eq 1 ]; then
        h=$(pgb "$by_hand" | tps); x=$(LD_PRELOAD=$PRELOAD pgb "host=$EP user=app" | tps)
    else
        x=$(LD_PRELOAD=$PRELOAD pgb "host=$EP user=app" | tps); h=$(pgb "$by_hand" | tps)
    fi
    hand_runs+=("$h") shim_runs+=("$x") conn_ratios+=("$(ratio "$x" "$h")")
done
hand=$(printf '%s\n' "${hand_runs[@]}" | median)
shim=$(printf '%s\n' "${shim_runs[@]}" | median)
conn_ratio=$(printf '%s\n' "${conn_ratios[@]}" | median)

# ---- pg_dump's handling: pgbench -S with and without it ---------------------------------------
LD_PRELOAD=$PRELOAD pgbench -i -q -s 1 "host=$EP user=admin" >"$T/init.log" 2>&1 ||
    { echo "shim.sh: pgbench -i failed: $(cat "$T/init.log")" >&2; exit 1; }
# pgs: "TPS CPU" of one pgbench -S run, CPU being pgbench's own user + system time per
# transaction in microseconds: the handling lives in pgbench's process, so that is where a cost
# would show, and it moves far less with the machine's noise than the rate does.
pgs() {
    local out
    out=$( { TIMEFORMAT='cpu %U %S'; time pgbench -n -S -c 4 -j 2 -T "$SECONDS_PER_RUN" "host=$EP user=admin" 2>&1; } 2>&1)
    awk '/^tps = / { tps = $3 }
        /^number of transactions actually processed: / { split($6, n, "/"); tx = n[1] }
        /^cpu / { c = $2 + $3 }
        END { printf "%s %.3f\n", tps + 0, (tx > 0) ? c / tx * 1e6 : 0 }' <<<"$out"
}
with_runs=() without_runs=() dump_ratios=() with_cpu=() without_cpu=() cpu_ratios=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        o=$(LD_PRELOAD=$NODUMP pgs); w=$(LD_PRELOAD=$PRELOAD pgs)
    else
        w=$(LD_PRELOAD=$PRELOAD pgs); o=$(LD_PRELOAD=$NODUMP pgs)
    fi
    without_runs+=("${o% *}") with_runs+=("${w% *}") dump_ratios+=("$(ratio "${w% *}" "${o% *}")")
    without_cpu+=("${o#* }") with_cpu+=("${w#* }") cpu_ratios+=("$(ratio "${o#* }" "${w#* }")")
done
dump_with=$(printf '%s\n' "${with_runs[@]}" | median)
dump_without=$(printf '%s\n' "${without_runs[@]}" | median)
dump_ratio=$(printf '%s\n' "${dump_ratios[@]}" | median)
dump_cpu_with=$(printf '%s\n' "${with_cpu[@]}" | median)
dump_cpu_without=$(printf '%s\n' "${without_cpu[@]}" | median)
dump_cpu_ratio=$(printf '%s\n' "${cpu_ratios[@]}" | median)

# ---- pg_dump's handling: pgbench's instructions per transaction ---------------------------------
# The rate above swings 10 to 20 % a round on a shared VM, more than the 1 % it must resolve;
# the instructions pgbench executes per transaction (Valgrind's callgrind, which counts them
# exactly) are what the handling could add, and show it to the instruction. Per transaction:
# the difference between runs of 3000 and 1000 transactions (one connection each, so start-up
# and the handshake cancel out), over 2000. pgbench's own binary, not Debian's wrapper script.
ir_tx=""
PGBENCH_BIN=$(pg_config --bindir 2>/dev/null)/pgbench
if command -v valgrind >/dev/null && [ -x "$PGBENCH_BIN" ]; then
    ir() { # preload transactions -> instructions executed
        LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$PGBENCH_BIN" -n -S -c 1 -t "$2" "host=$EP user=admin" 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    }
    a1=$(ir "$NODUMP" 1000) b1=$(ir "$PRELOAD" 1000) b3=$(ir "$PRELOAD" 3000) a3=$(ir "$NODUMP" 3000)
    if [ -n "$a1" ] && [ -n "$b1" ] && [ -n "$a3" ] && [ -n "$b3" ]; then
        ir_tx=$(awk -v a1="$a1" -v a3="$a3" -v b1="$b1" -v b3="$b3" \
            'BEGIN { printf "%.0f %.0f %.4f", (a3 - a1) / 2000, (b3 - b1) / 2000, (a3 - a1) / (b3 - b1) }')
    fi
fi
[ -n "$ir_tx" ] || { echo "shim.sh: could not count pgbench's instructions (valgrind, pg_config)" >&2; exit 1; }
read -r ir_without ir_with ir_ratio <<<"$ir_tx"

# ---- client CPU per connection, no server involved -------------------------------------------
PQCLIENT=$BUILD/tests/shim/pqclient
cpu_per_conn=""
if [ -x "$PQCLIENT" ]; then
    N=20000
    closed="${EP/port=$PGPORT_SAVED/port=1}"
    cpu() { # user+sys seconds of a command, from bash's times
        local s; s=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ); awk '{print $1 + $2}' <<<"$s"
    }
    a=$(cpu "$PQCLIENT" --count $N "${by_hand/port=$PGPORT_SAVED/port=1}")
    b=$(cpu env LD_PRELOAD="$PRELOAD" "$PQCLIENT" --count $N "host=$closed user=app")
    cpu_per_conn=$(awk -v a="$a" -v b="$b" -v n=$N 'BEGIN {printf "%.1f %.1f %.1f", a / n * 1e6, b / n * 1e6, (b - a) / n * 1e6}')
fi

# ---- start-up -----------------------------------------------------------------------------
# startup RUNS COMMAND...: the median wall time of COMMAND in ms, without and with the preload.
# Both sides run through env(1), so that only LD_PRELOAD differs; the median resists the noise
# of a busy machine better than the mean.
startup() {
    local runs=$1; shift
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 10 --runs "$runs" --export-json "$T/h.json" \
            "env DSQLAUTH_BENCH=1 $*" "env LD_PRELOAD=$PRELOAD $*" >/dev/null 2>&1
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.3f" % (x["median"]*1000) for x in r))' "$T/h.json"
        return
    fi
    local best_a=999999999 best_b=999999999
    for _round in 1 2 3; do
        local t0 t1 a b
        t0=$(date +%s%N); for _ in $(seq "$runs"); do env DSQLAUTH_BENCH=1 "$@" >/dev/null; done; t1=$(date +%s%N)
        a=$(( (t1 - t0) / runs )); [ $a -lt $best_a ] && best_a=$a
        t0=$(date +%s%N); for _ in $(seq "$runs"); do env LD_PRELOAD="$PRELOAD" "$@" >/dev/null; done; t1=$(date +%s%N)
        b=$(( (t1 - t0) / runs )); [ $b -lt $best_b ] && best_b=$b
    done
    awk -v a=$best_a -v b=$best_b 'BEGIN {printf "%.3f %.3f\n", a / 1e6, b / 1e6}'
}
read -r bash_without bash_with < <(startup 500 bash -c true)
read -r py_without py_with < <(startup 100 /usr/bin/python3 -c 'import ssl, json, decimal, ctypes, sqlite3')
read -r psql_without psql_with < <(startup 30 psql -X -h "$SOCKET_DIR" -U admin -d postgres -Atc 'select 1')

# The dynamic loader's own account of start-up (LD_DEBUG=statistics, in cycles): the part the
# preload can add, free of the fork/exec noise of a busy machine. p10 and median of 300.
loader_cycles() {
    for _ in $(seq 300); do
        env "$@" LD_DEBUG=statistics /bin/true 2>&1 |
            sed -n 's/.*total startup time in dynamic loader: \([0-9]*\) cycles/\1/p'
    done | sort -n | awk '{a[NR] = $1} END {print a[int(NR / 10)], a[int(NR / 2)]}'
}
mhz=$(awk -F: '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
read -r ld_p10_a ld_med_a < <(loader_cycles DSQLAUTH_BENCH=1)
read -r ld_p10_b ld_med_b < <(loader_cycles LD_PRELOAD="$PRELOAD")
read -r _ ld_med_c < <(loader_cycles LD_PRELOAD="$NODUMP")

# ---- dlsym and dlopen, per call ---------------------------------------------------------------
DL_BENCH=$BUILD/tools/bench/dl_bench
dl_a=() dl_b=()
for _ in 1 2 3 4 5; do
    dl_a+=("$("$DL_BENCH" 1000000)")
    dl_b+=("$(LD_PRELOAD=$PRELOAD "$DL_BENCH" 1000000)")
done
dl_field() { # FIELD RUN...: the median of FIELD over the JSON lines
    local f=$1; shift
    printf '%s\n' "$@" | sed "s/.*\"$f\": \([0-9.]*\).*/\1/" | median
}

# ---- the table ------------------------------------------------------------------------------
tool=$(command -v hyperfine >/dev/null && echo hyperfine || echo "timed loop")
printf '\n%-52s %14s %14s %16s\n' "measurement" "without shim" "with shim" "ratio / extra"
printf '%-52s %14s %14s %16s\n' "----------------------------------------------------" "------------" "------------" "--------------"
printf '%-52s %14.1f %14.1f %16.3f\n' "pgbench -C -c 4 -j 2, connections/s (median of $ROUNDS)" "$hand" "$shim" \
    "$conn_ratio"
if [ -n "$cpu_per_conn" ]; then
    read -r cpu_a cpu_b cpu_d <<<"$cpu_per_conn"
    printf '%-52s %14s %14s %13s us\n' "client CPU per connection attempt, us (closed port)" "$cpu_a" "$cpu_b" "+$cpu_d"
fi
printf '%-52s %14.3f %14.3f %13.3f ms\n' "bash -c true, median ms ($tool)" "$bash_without" "$bash_with" \
    "$(awk -v a="$bash_without" -v b="$bash_with" 'BEGIN {print b - a}')"
if [ -n "$mhz" ] && [ -n "$ld_p10_a" ]; then
    for q in p10 median; do
        if [ $q = p10 ]; then a=$ld_p10_a b=$ld_p10_b; else a=$ld_med_a b=$ld_med_b; fi
        printf '%-52s %14.3f %14.3f %13.3f ms\n' "/bin/true, dynamic loader time, $q ms" \
            "$(awk -v c="$a" -v m="$mhz" 'BEGIN {print c / m / 1000}')" \
            "$(awk -v c="$b" -v m="$mhz" 'BEGIN {print c / m / 1000}')" \
            "$(awk -v a="$a" -v b="$b" -v m="$mhz" 'BEGIN {print (b - a) / m / 1000}')"
    done
fi
printf '%-52s %14.3f %14.3f %13.3f ms\n' "python3 importing 5 extension modules, median ms" \
    "$py_without" "$py_with" "$(awk -v a="$py_without" -v b="$py_with" 'BEGIN {print b - a}')"
printf '%-52s %14.3f %14.3f %13.3f ms\n' "psql -c 'select 1', local non-DSQL, median ms" "$psql_without" "$psql_with" \
    "$(awk -v a="$psql_without" -v b="$psql_with" 'BEGIN {print b - a}')"
for f in dlsym_default_ns dlsym_handle_ns dlopen_noload_ns; do
    a=$(dl_field $f "${dl_a[@]}") b=$(dl_field $f "${dl_b[@]}")
    printf '%-52s %14.1f %14.1f %13.1f ns\n' "$f per call (dl_bench, median of 5)" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN {print b - a}')"
done
printf '%-52s %14.1f %14.1f %16.3f\n' "pgbench -S through the shim, tps: without/with pg_dump handling" \
    "$dump_without" "$dump_with" "$dump_ratio"
printf '%-52s %14.2f %14.2f %16.3f\n' "pgbench -S, its CPU us/tx: without/with pg_dump handling" \
    "$dump_cpu_without" "$dump_cpu_with" "$dump_cpu_ratio"
printf '%-52s %14s %14s %16.4f\n' "pgbench -S, instructions/tx: without/with pg_dump handling" \
    "$ir_without" "$ir_with" "$ir_ratio"
if [ -n "$mhz" ] && [ -n "$ld_med_c" ]; then
    printf '%-52s %14.3f %14.3f %13.3f ms\n' "/bin/true, loader time: without/with pg_dump handling" \
        "$(awk -v c="$ld_med_c" -v m="$mhz" 'BEGIN {print c / m / 1000}')" \
        "$(awk -v c="$ld_med_b" -v m="$mhz" 'BEGIN {print c / m / 1000}')" \
        "$(awk -v a="$ld_med_c" -v b="$ld_med_b" -v m="$mhz" 'BEGIN {print (b - a) / m / 1000}')"
fi
echo
echo "pgbench -C rounds (by hand / shim): ${hand_runs[*]} / ${shim_runs[*]}"
echo "  ratio: median of the rounds $conn_ratio, range $(printf '%s\n' "${conn_ratios[@]}" | range)"
echo "pgbench -S rounds (without / with pg_dump handling): ${without_runs[*]} / ${with_runs[*]}"
echo "  ratio: median of the rounds $dump_ratio, range $(printf '%s\n' "${dump_ratios[@]}" | range)"
echo "pgbench -S CPU us/tx rounds (without / with pg_dump handling): ${without_cpu[*]} / ${with_cpu[*]}"
echo "  ratio without/with: median of the rounds $dump_cpu_ratio, range $(printf '%s\n' "${cpu_ratios[@]}" | range)"
echo "target: ratio >= 0.97; extra start-up < 0.1 ms (dynamic loader time); pg_dump handling >= 0.99 (instructions per transaction, without/with)"

# For tools/bench/run: one "name value" line per figure.
if [ -n "${BENCH_RESULTS:-}" ]; then
    {
        echo "shim_conn_per_s $shim"
        echo "shim_conn_ratio $conn_ratio"
        echo "shim_pgdump_ratio $dump_ratio"
        echo "shim_baseline_conn_per_s $hand"
        echo "shim_bash_ms_without $bash_without"
        echo "shim_bash_ms_with $bash_with"
        echo "shim_psql_ms_without $psql_without"
        echo "shim_psql_ms_with $psql_with"
        echo "shim_pgdump_tps_with $dump_with"
        echo "shim_pgdump_tps_without $dump_without"
        echo "shim_pgdump_cpu_us_with $dump_cpu_with"
        echo "shim_pgdump_cpu_us_without $dump_cpu_without"
        echo "shim_pgdump_cpu_ratio $dump_cpu_ratio"
        echo "shim_pgdump_ir_with $ir_with"
        echo "shim_pgdump_ir_without $ir_without"
        echo "shim_pgdump_ir_ratio $ir_ratio"
        if [ -n "$mhz" ] && [ -n "$ld_med_c" ]; then
            echo "shim_pgdump_loader_ms_without $(awk -v c="$ld_med_c" -v m="$mhz" 'BEGIN {print c / m / 1000}')"
        fi
        echo "shim_python_ms_without $py_without"
        echo "shim_python_ms_with $py_with"
        for f in dlsym_default_ns dlsym_handle_ns dlopen_noload_ns; do
            echo "shim_${f}_without $(dl_field $f "${dl_a[@]}")"
            echo "shim_${f}_with $(dl_field $f "${dl_b[@]}")"
        done
        if [ -n "$mhz" ] && [ -n "$ld_med_a" ]; then
            echo "shim_loader_ms_without $(awk -v c="$ld_med_a" -v m="$mhz" 'BEGIN {print c / m / 1000}')"
            echo "shim_loader_ms_with $(awk -v c="$ld_med_b" -v m="$mhz" 'BEGIN {print c / m / 1000}')"
        fi
    } >>"$BENCH_RESULTS"
fi
