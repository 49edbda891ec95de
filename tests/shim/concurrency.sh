#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# concurrency.sh: the shim from many threads and across fork() against a real dsqlauth-local,
# asserting on what the server saw. Run by `meson test --suite concurrency` (also part of
# --suite shim) with the same variables as integration.sh; the ThreadSanitizer build runs it.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/../support/local_server.sh"

for v in PRELOAD LIBDSQLAUTH LOCAL TESTBIN; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
start_local conc
export DSQLAUTH_LIBRARY=$LIBDSQLAUTH
pre() { # [-u VAR]... [VAR=VALUE]... PROGRAM ARGS...
    local unset=()
    while [ "${1:-}" = -u ]; do unset+=(-u "$2"); shift 2; done
    env "${unset[@]}" LD_PRELOAD="$PRELOAD" "$@"
}
authenticated() { grep -c "authenticated as" "$FRONT_LOG" 2>/dev/null || true; }
# Fewer connections per thread under the sanitizers (TSan 5-15x slower, ASan 2-3x): the same
# threads, shorter runs.
count=200
case ${SANITIZED:-} in *thread*) count=50 ;; *address*) count=100 ;; esac

before=$(authenticated)
out=$(pre "$TESTBIN/pqclient" --threads 8 --count $count \
    --query "select current_user, current_setting('search_path')" "host=$EP user=app" 2>&1)
expect "preload: 8 threads x $count connections" "ok $((8 * count)) app\|myschema" "$out"
after=$(authenticated)
[ $((after - before)) -ge $((8 * count)) ] && ok "8 x $count: the endpoint verified a token for each" ||
    not_ok "8 x $count: the endpoint verified a token for each" "$before -> $after"
out=$("$TESTBIN/pqclient-wrap" --threads 4 --count $((count / 4)) --query "select current_user" \
    "host=$EP" 2>&1)
expect "link-time wrapper: 4 threads x $((count / 4)) connections" "ok $((count / 4 * 4)) admin" "$out"
# Many clients at once: the front serves each from its own thread.
out=$(pre "$TESTBIN/pqclient" --threads 32 --count 3 --query "select current_user" "host=$EP" 2>&1)
expect "32 clients at once" "ok 96 admin" "$out"

# Credentials that need refreshing, shared by the threads of one process: credential_process
# hands out credentials that expire inside the advisory window (one thread refreshes while the
# others keep signing with what is cached) and inside the mandatory one (the others wait for
# the refresh).
cat >"$T/creds.sh" <<EOF
#!/bin/sh
echo "{\"Version\": 1, \"AccessKeyId\": \"$AWS_ACCESS_KEY_ID\", \"SecretAccessKey\": \"$AWS_SECRET_ACCESS_KEY\", \"Expiration\": \"\$(date -u -d "+\$1 seconds" +%Y-%m-%dT%H:%M:%SZ)\"}"
EOF
chmod +x "$T/creds.sh"
for window in advisory:700 mandatory:300; do
    printf '[default]\ncredential_process = %s %s\n' "$T/creds.sh" "${window#*:}" >"$T/config-${window%%:*}"
    out=$(pre -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
        AWS_CONFIG_FILE="$T/config-${window%%:*}" "$TESTBIN/pqclient" --threads 4 --count 10 \
        --query "select current_user" "host=$EP" 2>&1)
    expect "credential_process, expiry in the ${window%%:*} window: 4 threads x 10" "ok 40 admin" "$out"
done

out=$(pre "$TESTBIN/pqclient" --fork --query "select current_user" "host=$EP" 2>&1)
expect "fork: the child connects" 'child: admin' "$out"
expect "fork: the parent connects after the fork" 'parent: admin' "$out"

# The front serves each client from its own thread; it logs to front.log and leaves with _exit.
if [ -n "${SANITIZED:-}" ]; then
    "$LOCAL" stop --dir "$T/local" >/dev/null 2>&1
    bad=$(grep -E -A40 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$FRONT_LOG")
    [ -z "$bad" ] && ok "sanitizers: nothing reported by dsqlauth-local's front" ||
        not_ok "sanitizers: nothing reported by dsqlauth-local's front" "$bad"
fi

echo "1..$n"
exit $((failed > 0))
