#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# psql_reset.sh: psql's automatic reconnect (PQreset, which psql runs when DSQL closes a session
# at 60 minutes), scaled down: an endpoint that closes sessions after 4 s, tokens that expire
# after 2 s (as the default 15 minutes do long before the hour), an interactive psql on a
# terminal (psql resets only when interactive); the query after the close must print its result
# on a connection the shim gave a fresh token. The same with the default token lifetime.
#
# Run by `meson test --suite compat` with LOCAL and RUN set. Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/tap.sh"
. "$here/../support/local_server.sh"

for v in LOCAL RUN; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
command -v psql >/dev/null || bail "psql is missing (Debian: postgresql-client; tools/bootstrap)"
LIFETIME=4

LOCAL_START_ARGS="--max-lifetime $LIFETIME" start_local reset
# The three sessions at once: NAME USER TOKEN-LIFETIME (empty: the default).
cases=("app-2s app 2" "admin-2s admin 2" "app-default app")
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086 # a case is words
    set -- $c
    (
        [ -n "${3:-}" ] && export DSQLAUTH_TOKEN_EXPIRES=$3
        TERM=dumb DSQLAUTH_LOG=info timeout 120 /usr/bin/python3 "$here/psql_tty.py" \
            $((LIFETIME + 2)) "$RUN" psql -X -n -At -P pager=off "host=$EP user=$2 dbname=postgres" \
            >"$T/$1.out" 2>&1
        echo $? >"$T/$1.rc"
    ) &
done
wait

for c in "${cases[@]}"; do
    # shellcheck disable=SC2086 # a case is words
    set -- $c
    sp=myschema
    [ "$2" = admin ] && sp='"\$user", public'
    what="psql $2, tokens of the default lifetime"
    [ -n "${3:-}" ] && what="psql $2, tokens of $3 s"
    o=$(cat "$T/$1.out")
    expect "$what: connected, a query answered" "before\|$2\|$sp" "$o"
    # psql prints "Attempting reset: " and, after the shim's log line, "Succeeded." or "Failed.".
    expect_match "$what: the endpoint closed the session and psql's reset succeeded" \
        'Attempting reset: (dsqlauth: .*)?Succeeded\.' \
        "$(tr '\n' ' ' <<<"$o")"
    expect_match "$what: the shim renewed the token in PQreset" \
        "dsqlauth: info: PQreset: renewed the token for $EP\$" "$o"
    expect "$what: the query after the reset prints its result" "after\|$2\|$sp" "$o"
done
# What the endpoint saw: every session closed at its lifetime, each psql authenticated twice
# (its first connection and its reset), nothing refused.
log=$(cat "$FRONT_LOG")
closed=$(grep -c 'session closed at its maximum lifetime' <<<"$log")
[ "$closed" -ge 3 ] && ok "the endpoint closed the three sessions at their lifetime ($closed)" ||
    not_ok "the endpoint closed the three sessions at their lifetime" "$log"
expect "the endpoint authenticated app twice per session, admin twice" "4 2" \
    "$(grep -c 'authenticated as app$' <<<"$log") $(grep -c 'authenticated as admin$' <<<"$log")"
expect_not "the endpoint refused nothing (an expired token, say)" 'refused' "$log"

echo "1..$n"
exit $((failed > 0))
