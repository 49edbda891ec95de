#!/bin/sh
# SPDX-License-Identifier: MIT
# Write conflicts are retried: a forced one between two connections (test_retry), and the
# workload hammering a single owner from four clients: retries happen, nothing fails.
. "$(dirname "$0")/lib.sh"
endpoint_start
out=$ENDPOINT_DIR/contention.json

check "retry helper against the server: conflicts retried, other failures not (criterion)" \
    as admin "$TEST_RETRY" --jobs=1

if petclinic admin wrapped --workload --clients 4 --transactions 1500 --owners 1 \
        --max-attempts 100 --progress 0 --json >"$out" 2>"$out.err"; then
    ok "workload on one hot owner from 4 clients exits 0"
else
    not_ok "workload on one hot owner from 4 clients exits 0"
    diag "$(cat "$out" "$out.err")"
fi
expect "every transaction committed" "$(json "$out" 'd["transactions"]')" 1500
expect "no errors" "$(json "$out" 'd["errors"]')" 0
retries=$(json "$out" 'd["retries"]')
if [ "${retries:-0}" -gt 0 ]; then
    ok "conflicts were retried ($retries retries)"
else
    not_ok "conflicts were retried"; diag "$(cat "$out")"
fi
expect "retries are the conflicts seen" "$retries" \
    "$(json "$out" 'sum(d["conflicts"].values())')"

done_testing
