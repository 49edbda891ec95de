#!/bin/sh
# SPDX-License-Identifier: MIT
# A short workload as admin and as app: counts, reconnects, summary (JSON and text), progress
# lines, and the pgbench scripts that run the same SQL.
. "$(dirname "$0")/lib.sh"
endpoint_start
out=$ENDPOINT_DIR/workload

for role in admin app; do
    how=wrapped
    [ "$role" = app ] && how=preload
    if petclinic "$role" "$how" --workload -c 3 -t 600 -k 50 --owners 200 -P 0 --json \
            >"$out.json" 2>"$out.err"; then
        ok "workload as $role exits 0"
    else
        not_ok "workload as $role exits 0"; diag "$(cat "$out.json" "$out.err")"
    fi
    is "as $role: 600 transactions, no errors" \
        "$(json "$out.json" '(d["transactions"], d["errors"], d["clients"])')" "(600, 0, 3)"
    is "as $role: a new connection every 50 transactions per client" \
        "$(json "$out.json" 'd["connections"] >= 12')" True
    is "as $role: every kind ran and the counts add up" \
        "$(json "$out.json" 'all(k["count"] > 0 for k in d["kinds"].values()) and sum(k["count"] for k in d["kinds"].values()) == d["transactions"]')" True
    is "as $role: percentiles are ordered" \
        "$(json "$out.json" '0 < d["latency_ms"]["p50"] <= d["latency_ms"]["p95"] <= d["latency_ms"]["p99"] <= d["latency_ms"]["max"]')" True
done
schema_rows=$(backend_sql "SELECT (SELECT count(*) FROM public.owner), (SELECT count(*) FROM myschema.owner)")
is "each role wrote to its own schema" "$(echo "$schema_rows" | awk -F'|' '{print ($1 > 200 && $2 > 200)}')" 1

petclinic admin wrapped --workload -c 2 -T 1.2 -P 0.25 >"$out.txt" 2>"$out.err"
is "--duration ends the run (exit 0)" "$?" 0
is "text summary: throughput, retries, connections, percentiles" \
    "$(grep -cE '^  (transactions|retries|connections|latency) ' "$out.txt")" 4
lines=$(grep -c ' tx/s ' "$out.err")
if [ "$lines" -ge 3 ] && ! grep -q "$(printf '\r')" "$out.err"; then
    ok "progress off a terminal: plain lines ($lines), no carriage returns"
else
    not_ok "progress off a terminal: plain lines, no carriage returns"; diag "$(cat "$out.err")"
fi
if command -v script >/dev/null 2>&1; then
    PETCLINIC=$PETCLINIC \
        script -qec '"$PETCLINIC" --workload -c 1 -T 1 -P 0.2 >/dev/null' /dev/null >"$out.tty" 2>&1
    if grep -q "$(printf '\r')" "$out.tty"; then
        ok "progress on a terminal: one line rewritten with carriage returns"
    else
        not_ok "progress on a terminal: one line rewritten with carriage returns"
        diag "$(cat -v "$out.tty")"
    fi
fi

# The benchmark compares with pgbench on the scripts the demo writes: they must run clean.
name="pgbench runs the demo's scripts without failures"
case ${DEMO_SANITIZED:-} in
*thread*)
    # ThreadSanitizer's runtime cannot be preloaded into pgbench, which is built elsewhere: the
    # scripts run without the shim, with a token made beforehand (the shim has its own tests).
    args=$("$PETCLINIC" --owners 200 --pgbench-scripts "$ENDPOINT_DIR/pgbench")
    # shellcheck disable=SC2086
    if PGPASSWORD=$("$LOCAL" token --dir "$ENDPOINT_DIR") PGUSER=admin \
            pgbench -n -M prepared -c 2 -t 50 --max-tries=20 $args postgres >"$out.pgb" 2>&1 &&
       grep -q 'number of failed transactions: 0 ' "$out.pgb"; then
        ok "$name"
    else
        not_ok "$name"; diag "$(cat "$out.pgb")"
    fi
    ;;
*)
    # Under AddressSanitizer pgbench (built elsewhere) gets the runtimes preloaded ahead of the
    # instrumented preload, its reports go to files, and tests/support/sanitizer_reports.sh fails on any
    # error and on any leak through dsqlauth (pgbench's own leaks at exit are not ours).
    reports=$ENDPOINT_DIR/sanitizer
    mkdir -p "$reports"
    args=$("$PETCLINIC" --owners 200 --pgbench-scripts "$ENDPOINT_DIR/pgbench")
    # (without a sanitizer build the variables below are empty or unused)
    # shellcheck disable=SC2086
    if env LD_PRELOAD="${SANITIZER_PRELOAD:-}" ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$reports/report" \
            UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$reports/report" LSAN_OPTIONS=exitcode=0 \
            CLUSTER_USER=admin PGUSER=admin "$DSQLAUTH_RUN" \
            pgbench -n -M prepared -c 2 -t 50 --max-tries=20 $args postgres >"$out.pgb" 2>&1 &&
       grep -q 'number of failed transactions: 0 ' "$out.pgb"; then
        ok "$name"
    else
        not_ok "$name"; diag "$(cat "$out.pgb")"
    fi
    if [ -n "${SANITIZER_PRELOAD:-}" ]; then
        check "sanitizers: no error, no leak through dsqlauth in pgbench" \
            "$(dirname "$0")/../support/sanitizer_reports.sh" "$ENDPOINT_DIR/sanitizer"
    fi
    ;;
esac

done_testing
