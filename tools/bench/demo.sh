#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh: the demo's workload against pgbench running the same SQL, 4 clients each, against the
# same dsqlauth-local endpoint in the same run. Rounds alternate the two; the median ratio is the
# result (target: petclinic within 10% of pgbench, i.e. the demo and dsqlauth add no cost).
#
#   tools/bench/demo.sh [--duration S] [--rounds N] [--clients N] [--strict]
#
# Defaults: 5 rounds of 5 s. On a busy machine single runs swing widely: more, shorter
# alternating rounds and the median ratio are steadier than one long run each. The client's own
# CPU time per transaction (user + system, of the petclinic or pgbench process) is printed too:
# it is what "no cost of its own" means, and other load on the machine barely moves it.
#
# pgbench runs the scripts `petclinic --pgbench-scripts` writes (the SQL petclinic sends, with
# pgbench variables for its parameters) with -M prepared, as petclinic prepares its statements;
# both keep one connection per client (petclinic --reconnect-every 0) and retry 40001.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
duration=5
rounds=5
clients=4
strict=
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --strict) strict=--strict; shift ;;
    -h | --help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
meson compile -C "$build" >/dev/null
local_bin=$build/tools/local/dsqlauth-local
dsqlauth_run=$build/tools/run/dsqlauth-run
plain=$build/demo/petclinic-plain
command -v pgbench >/dev/null || { echo "demo.sh: pgbench is missing (tools/bootstrap)" >&2; exit 1; }

dir=$(mktemp -d) # short: the Unix socket path must stay under 108 bytes
trap '"$local_bin" stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
"$local_bin" start --dir "$dir" $strict >/dev/null
eval "$("$local_bin" env --dir "$dir")"

# Both programs reach the endpoint the same way: under dsqlauth-run (the LD_PRELOAD shim).
export DSQLAUTH_PRELOAD="$build/src/libdsqlauth_preload.so"
run() { "$dsqlauth_run" "$@"; }

pgbench_args=$("$plain" --pgbench-scripts "$dir/pgbench")
# A first run creates the schema and the owner pool and warms the server's caches.
run "$plain" --workload -c "$clients" -T 3 -k 0 -P 0 >/dev/null 2>&1

# cpu OUT CMD...: runs CMD (output to OUT) and prints the CPU seconds it used.
cpu() {
    python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)
sys.exit(rc)' "$@"
}

# Each prints "tx/s CPU-microseconds-per-transaction".
petclinic_run() {
    c=$(cpu "$dir/demo.json" "$dsqlauth_run" "$plain" --workload -c "$clients" -T "$duration" \
        -k 0 -P 0 --json) || { cat "$dir/demo.json" >&2; return 1; }
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors"] == 0, d["first_error"]
print("%.1f %.0f" % (d["throughput_tps"], float(sys.argv[2]) * 1e6 / d["transactions"]))' \
        "$dir/demo.json" "$c"
}
pgbench_run() {
    # shellcheck disable=SC2086
    c=$(cpu "$dir/pgbench.out" "$dsqlauth_run" pgbench -n -M prepared -c "$clients" \
        -j "$clients" -T "$duration" --max-tries=10 $pgbench_args postgres) &&
        grep -q 'number of failed transactions: 0 ' "$dir/pgbench.out" ||
        { cat "$dir/pgbench.out" >&2; return 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$dir/pgbench.out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
    awk -v t="$tps" -v c="$c" -v n="$n" 'BEGIN { printf "%.1f %.0f\n", t, c * 1e6 / n }'
}

printf 'petclinic --workload vs pgbench -f (same SQL), %s clients, %s s per run, %s rounds\n' \
    "$clients" "$duration" "$rounds"
printf 'endpoint: dsqlauth-local%s on 127.0.0.1:%s, both through dsqlauth-run (IAM token, TLS)\n' \
    "${strict:+ $strict}" "$PGPORT"
# Other work on the machine moves these numbers more than anything measured here: say how busy
# it was.
printf 'machine: %s CPUs, load average %s\n\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %15s %13s %7s   %s\n' round "petclinic tx/s" "pgbench tx/s" ratio \
    "client CPU per tx (us): petclinic, pgbench"
ratios=
cpu_ratios=
demo_tps=
pgb_tps=
i=1
while [ "$i" -le "$rounds" ]; do
    # Alternate which goes first, so neither always meets the bigger tables.
    if [ $((i % 2)) -eq 1 ]; then d=$(petclinic_run); p=$(pgbench_run)
    else p=$(pgbench_run); d=$(petclinic_run); fi
    # shellcheck disable=SC2086 # two figures each
    set -- $d $p
    r=$(awk -v d="$1" -v p="$3" 'BEGIN { printf "%.3f", d / p }')
    printf '%-7s %15s %13s %7s   %8s %8s\n' "$i" "$1" "$3" "$r" "$2" "$4"
    ratios="$ratios $r"
    demo_tps="$demo_tps $1"
    pgb_tps="$pgb_tps $3"
    cpu_ratios="$cpu_ratios $(awk -v d="$2" -v p="$4" 'BEGIN { printf "%.3f", d / p }')"
    i=$((i + 1))
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# shellcheck disable=SC2086
m=$(median $ratios)
# shellcheck disable=SC2086
mc=$(median $cpu_ratios)
printf '%-7s %15s %13s %7s   petclinic/pgbench CPU per tx: %s\n' median "" "" "$m" "$mc"
awk -v m="$m" 'BEGIN { printf "throughput within 10%% of pgbench: %s\n", (m >= 0.9 && m <= 1.1) ? "yes" : "NO" }'

# For tools/bench/run: one "name value" line per figure.
if [ -n "${BENCH_RESULTS:-}" ]; then
    # shellcheck disable=SC2086
    {
        echo "demo_tps $(median $demo_tps)"
        echo "demo_pgbench_tps $(median $pgb_tps)"
        echo "demo_ratio $m"
        echo "demo_cpu_ratio $mc"
    } >>"$BENCH_RESULTS"
fi
