#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh: the demo's workload against pgbench running the same SQL, 4 clients each, against the
# same dsqlauth-local endpoint in the same run. Rounds alternate the two; the median ratio is the
# result (target: petclinic within 10% of pgbench, i.e. the demo and dsqlauth add no cost).
#
#   tools/bench/demo.sh [--duration S] [--rounds N] [--clients N] [--strict]
#
# Defaults: 5 rounds of 5 s. On a busy machine single runs swing widely: more, shorter
# alternating rounds and the median ratio are steadier than one long run each.
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

dir=$(mktemp -d "${TMPDIR:-/tmp}/petclinic-bench.XXXXXX")
trap '"$local_bin" stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
"$local_bin" start --dir "$dir" $strict >/dev/null
eval "$("$local_bin" env --dir "$dir")"

# Both programs reach the endpoint the same way: under dsqlauth-run (the LD_PRELOAD shim), or,
# before the shim is in this tree, with a token made by dsqlauth-local.
if [ -x "$dsqlauth_run" ]; then
    via="dsqlauth-run (LD_PRELOAD shim)"
    run() { "$dsqlauth_run" "$@"; }
else
    via="a token from dsqlauth-local (no shim in this tree)"
    run() { PGPASSWORD=$("$local_bin" token --dir "$dir") "$@"; }
fi

pgbench_args=$("$plain" --pgbench-scripts "$dir/pgbench")
# A first run creates the schema and the owner pool and warms the server's caches.
run "$plain" --workload -c "$clients" -T 3 -k 0 -P 0 >/dev/null 2>&1

petclinic_tps() {
    run "$plain" --workload -c "$clients" -T "$duration" -k 0 -P 0 --json >"$dir/demo.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["errors"] == 0, d["first_error"]; print("%.1f" % d["throughput_tps"])' "$dir/demo.json"
}
pgbench_tps() {
    # shellcheck disable=SC2086
    run pgbench -n -M prepared -c "$clients" -j "$clients" -T "$duration" --max-tries=10 \
        $pgbench_args postgres >"$dir/pgbench.out" 2>&1 || { cat "$dir/pgbench.out" >&2; return 1; }
    grep -q 'number of failed transactions: 0 ' "$dir/pgbench.out" || { cat "$dir/pgbench.out" >&2; return 1; }
    sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$dir/pgbench.out" |
        awk '{ printf "%.1f\n", $1 }'
}

printf 'petclinic --workload vs pgbench -f (same SQL), %s clients, %s s per run, %s rounds\n' \
    "$clients" "$duration" "$rounds"
printf 'endpoint: dsqlauth-local%s on 127.0.0.1:%s, reached through %s\n' \
    "${strict:+ $strict}" "$PGPORT" "$via"
# Other work on the machine moves these numbers more than anything measured here: say how busy
# it was.
printf 'machine: %s CPUs, load average %s\n\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %16s %16s %8s\n' round "petclinic tx/s" "pgbench tx/s" ratio
ratios=
i=1
while [ "$i" -le "$rounds" ]; do
    # Alternate which goes first, so neither always meets the bigger tables.
    if [ $((i % 2)) -eq 1 ]; then d=$(petclinic_tps); p=$(pgbench_tps)
    else p=$(pgbench_tps); d=$(petclinic_tps); fi
    r=$(awk -v d="$d" -v p="$p" 'BEGIN { printf "%.3f", d / p }')
    printf '%-8s %16s %16s %8s\n' "$i" "$d" "$p" "$r"
    ratios="$ratios $r"
    i=$((i + 1))
done
median=$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
verdict=$(awk -v m="$median" 'BEGIN { print (m >= 0.9 && m <= 1.1) ? "within 10%: yes" : "within 10%: NO" }')
printf '%-8s %16s %16s %8s   (%s)\n' median "" "" "$median" "$verdict"
