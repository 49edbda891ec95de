#!/bin/sh
# SPDX-License-Identifier: MIT
# Write conflicts are retried: a forced one between two connections and an injected one
# (test_retry), and the workload hammering a single owner from four clients, with every 50th
# commit of a "petclinic" session failed on purpose by the endpoint: retries happen, at least
# the injected ones, and nothing fails.
. "$(dirname "$0")/lib.sh"
ENDPOINT_START_ARGS="--inject-conflict every=50,app=petclinic"
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
is "every transaction committed" "$(json "$out" 'd["transactions"]')" 1500
is "no errors" "$(json "$out" 'd["errors"]')" 0
retries=$(json "$out" 'd["retries"]')
if [ "${retries:-0}" -gt 0 ]; then
    ok "conflicts were retried ($retries retries)"
else
    not_ok "conflicts were retried"; diag "$(cat "$out")"
fi
is "retries are the conflicts seen" "$retries" \
    "$(json "$out" 'sum(d["conflicts"].values())')"
# 1500 commits at least, every 50th failed with DSQL's OC000 (and conflicts of their own).
injected=$(json "$out" 'd["conflicts"]["OC000"]')
if [ "${injected:-0}" -ge 30 ]; then
    ok "the injected conflicts came as DSQL's OC000 and were retried ($injected)"
else
    not_ok "the injected conflicts came as DSQL's OC000 and were retried"; diag "$(cat "$out")"
fi

done_testing
