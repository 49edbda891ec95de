#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hygiene.sh: secrets never leave their place. Every tool and the shim run with DSQLAUTH_LOG=debug
# on success and failure paths (bad profile, failing and expired credential_process, expired
# environment credentials, wrong key, server down); then all they printed, the endpoint's whole
# state directory and logs, the command lines and environments of the running programs, `ps`
# and the files the run left in /tmp are searched for the secret keys, the session token (raw
# and URI-encoded), the SigV4 signing key and the signature of every token the run could have
# made. Also: credential files others can read are warned about, and DSQLAUTH_SSLMODE is the
# only way below verified TLS.
#
# Run by `meson test --suite secrets` with TOKEN, LOCAL, RUN, PRELOAD, LIBDSQLAUTH and PQCLIENT
# set. Prints TAP.
set -u

. "$(dirname "$0")/../support/tap.sh"

for v in TOKEN LOCAL RUN PRELOAD LIBDSQLAUTH PQCLIENT; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done

T=$(mktemp -d /tmp/dsqlauth-secrets.XXXXXX) || bail "mktemp"
chmod 755 "$T" # as root, PostgreSQL runs as postgres and must reach the state directory
cleanup() { "$LOCAL" stop --dir "$T/local" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
OUT=$T/out          # every captured stdout and stderr: searched
PRODUCT=$T/product  # the tokens dsqlauth-token was asked to print: not searched
mkdir -p "$OUT" "$PRODUCT" "$T/home" "$T/local"
touch "$T/marker"

# Distinctive secrets: nothing else in the run can contain them by chance.
KEYID=AKIAHYGIENETEST00001
SECRET='hygSECRETkey0123456789/abcdefghij+KLMNOP'
WRONG='hygWRONGkey00123456789/abcdefghij+KLMNOP'
SESSION='hygSESSIONtoken//IQoJb3JpZ2luX2VjE+ZGVzdA==0123456789abcdef'
SESSION_ENC=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$SESSION")

# The endpoint verifies with our pair: a keys file made before its first start is kept.
printf '# dsqlauth-local keys\n%s %s %s\n' "$KEYID" "$SECRET" "$SESSION" >"$T/local/keys"
chmod 600 "$T/local/keys"
DSQLAUTH_LOG=debug "$LOCAL" start --dir "$T/local" --max-failed-logins 0 >"$OUT/local-start.log" 2>&1 ||
    bail "dsqlauth-local start failed: $(cat "$OUT/local-start.log")"
EP=dsqlauthlocaltestcluster00.dsql.us-east-1.on.aws
PORT=$(sed -n 's/^port=//p' "$T/local/state")
CA=$T/local/ca.crt

# Only what a user has: credentials, region, the endpoint's address and CA. Debug logs on.
unset PGHOST PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT PGPASSWORD PGOPTIONS PGAPPNAME PGSERVICE
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CREDENTIAL_EXPIRATION AWS_SECURITY_TOKEN
unset DSQLAUTH_DISABLE DSQLAUTH_SSLMODE DSQLAUTH_TOKEN_EXPIRES DSQLAUTH_HOSTS
export AWS_EC2_METADATA_DISABLED=true HOME=$T/home PGSYSCONFDIR=$T/home
export AWS_ACCESS_KEY_ID=$KEYID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$SESSION
export AWS_REGION=us-east-1 PGHOSTADDR=127.0.0.1 PGPORT=$PORT DSQLAUTH_SSLROOTCERT=$CA
export DSQLAUTH_LIBRARY=$LIBDSQLAUTH DSQLAUTH_PRELOAD=$PRELOAD DSQLAUTH_LOG=debug
noenv=(-u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN)
# ext: for programs built elsewhere (psql, sh) in a sanitizer build, the sanitizer runtimes
# preloaded ahead of the instrumented preload (tests/support/sanitizer_preload.sh) and their reports
# written to $SAN, checked at the end by tests/support/sanitizer_reports.sh.
SAN=$T/sanitizer
mkdir -p "$SAN"
ext=()
[ -n "${SANITIZER_PRELOAD:-}" ] && ext=(LD_PRELOAD="$SANITIZER_PRELOAD"
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$SAN/report" LSAN_OPTIONS=exitcode=0
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$SAN/report")
SIGN_FROM=$(date +%s)

# ---- dsqlauth-token ---------------------------------------------------------------------------
"$TOKEN" --hostname "$EP" --admin >"$PRODUCT/token-admin" 2>"$OUT/token-ok.err"
expect_match "token: success" "^$EP/\?Action=DbConnectAdmin&.*X-Amz-Security-Token=.*&X-Amz-Signature=[0-9a-f]{64}$" \
    "$(cat "$PRODUCT/token-admin")"
expect_match "token: the debug log names the source" "dsqlauth: debug: .*environment" "$(cat "$OUT/token-ok.err")"
"$TOKEN" --debug --hostname "$EP" >"$PRODUCT/token-app" 2>"$OUT/token-debug.err"

"$TOKEN" --hostname "$EP" --profile nosuchprofile >"$OUT/token-badprofile.out" 2>&1
expect_match "token: bad profile" "dsqlauth-token: .*nosuchprofile" "$(cat "$OUT/token-badprofile.out")"

# credential_process: one that fails and echoes its environment and its secret-bearing JSON
# to stderr, one whose JSON is unusable, one whose credentials have expired.
cat >"$T/cp-echo.sh" <<CP
#!/bin/sh
echo "cannot refresh: AWS_SECRET_ACCESS_KEY=\$AWS_SECRET_ACCESS_KEY token \$AWS_SESSION_TOKEN" >&2
env >&2
exit 1
CP
cat >"$T/cp-json-stderr.sh" <<CP
#!/bin/sh
echo '{"Version": 1, "AccessKeyId": "$KEYID", "SecretAccessKey": "$SECRET"} (rejected)' >&2
exit 3
CP
cat >"$T/cp-bad.sh" <<CP
#!/bin/sh
echo '{"Version": 2, "AccessKeyId": "$KEYID", "SecretAccessKey": "$SECRET", "SessionToken": "$SESSION"}'
CP
cat >"$T/cp-expired.sh" <<CP
#!/bin/sh
echo '{"Version": 1, "AccessKeyId": "$KEYID", "SecretAccessKey": "$SECRET", "SessionToken": "$SESSION", "Expiration": "2001-01-01T00:00:00Z"}'
CP
chmod 700 "$T"/cp-*.sh
cat >"$T/config" <<CFG
[profile echo]
credential_process = $T/cp-echo.sh
[profile jsonerr]
credential_process = $T/cp-json-stderr.sh
[profile bad]
credential_process = $T/cp-bad.sh
[profile expired]
credential_process = $T/cp-expired.sh
CFG
chmod 600 "$T/config"
# The process inherits the secret and the session token (without a key id the environment is
# not a source of its own, so the profile's credential_process runs).
for p in echo jsonerr bad expired; do
    env -u AWS_ACCESS_KEY_ID AWS_CONFIG_FILE="$T/config" "$TOKEN" --hostname "$EP" --profile "$p" \
        >"$OUT/token-cp-$p.out" 2>&1
    echo "exit $?" >>"$OUT/token-cp-$p.out"
done
expect_match "token: failing credential_process: its status is reported" \
    "credential_process: .*exited with status 1: \(its stderr is not shown: it mentions a secret\)" \
    "$(cat "$OUT/token-cp-echo.out")"
expect_match "token: credential_process dumping JSON to stderr: withheld" \
    "exited with status 3: \(its stderr is not shown" "$(cat "$OUT/token-cp-jsonerr.out")"
expect_match "token: credential_process with an unusable document" "dsqlauth-token: .*credential_process.*Version" \
    "$(cat "$OUT/token-cp-bad.out")"
expect_match "token: expired credential_process credentials" "dsqlauth-token: .*expired" \
    "$(cat "$OUT/token-cp-expired.out")"
AWS_CREDENTIAL_EXPIRATION=2001-01-01T00:00:00Z "$TOKEN" --hostname "$EP" >"$OUT/token-envexpired.out" 2>&1
expect_match "token: expired environment credentials" "dsqlauth-token: .*expired" "$(cat "$OUT/token-envexpired.out")"

# ---- credential files that others can read ---------------------------------------------------
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEYID" "$SECRET" \
    >"$T/credentials"
printf '[default]\nregion = us-east-1\n' >"$T/config-plain"
perm() { # perm MODE: the token CLI's stderr with the credentials file at MODE, log unset
    chmod "$1" "$T/credentials"
    # shellcheck disable=SC2069 # stderr captured, stdout (the token) dropped
    env "${noenv[@]}" -u DSQLAUTH_LOG AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
        AWS_CONFIG_FILE="$T/config-plain" "$TOKEN" --hostname "$EP" 2>&1 >/dev/null
}
out=$(perm 644)
expect_match "credentials file 0644: warned, with the fix" \
    "^dsqlauth: warn: $T/credentials holds AWS secret keys and is readable by its group and others \(mode 0644\); run chmod 600 $T/credentials$" \
    "$out"
[ "$(printf '%s\n' "$out" | grep -c 'holds AWS secret keys')" = 1 ] &&
    ok "credentials file 0644: warned once although read twice (region, then credentials)" ||
    not_ok "credentials file 0644: warned once" "$out"
printf '%s\n' "$out" >"$OUT/perm-644.err"
expect_match "credentials file 0640: its group" "readable by its group \(mode 0640\)" "$(perm 640)"
expect_match "credentials file 0604: others" "readable by others \(mode 0604\)" "$(perm 604)"
out=$(perm 600)
[ -z "$out" ] && ok "credentials file 0600: no warning" || not_ok "credentials file 0600: no warning" "$out"
chmod 644 "$T/config-plain"
out=$(env "${noenv[@]}" -u DSQLAUTH_LOG AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
    AWS_CONFIG_FILE="$T/config-plain" "$TOKEN" --hostname "$EP" 2>&1 >/dev/null)
[ -z "$out" ] && ok "a readable config file without secrets: no warning" ||
    not_ok "a readable config file without secrets: no warning" "$out"
chmod 644 "$T/credentials"
out=$(env "${noenv[@]}" DSQLAUTH_LOG=error AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
    "$TOKEN" --hostname "$EP" 2>&1 >/dev/null)
[ -z "$out" ] && ok "DSQLAUTH_LOG=error silences the warning" || not_ok "DSQLAUTH_LOG=error silences the warning" "$out"
chmod 600 "$T/credentials"

# ---- the shim: success, wrong key, server down ---------------------------------------------
"$RUN" "$PQCLIENT" --query "select current_user" "host=$EP" >"$OUT/shim-admin.out" 2>&1
expect_match "shim: admin connects" "^admin$" "$(cat "$OUT/shim-admin.out")"
expect_match "shim: the debug log shows the appended password as <token>" "appended: .*password=<token>" \
    "$(cat "$OUT/shim-admin.out")"
"$RUN" "$PQCLIENT" --via startparams --query "select current_user" "host=$EP user=app" \
    >"$OUT/shim-app.out" 2>&1
expect_match "shim: app connects" "^app$" "$(cat "$OUT/shim-app.out")"
AWS_SECRET_ACCESS_KEY=$WRONG "$RUN" "$PQCLIENT" "host=$EP" >"$OUT/shim-wrongkey.out" 2>&1
expect_match "shim: a wrong secret key is refused (28P01 signature mismatch)" \
    "ERROR: .*password authentication failed for user \"admin\": .*signature mismatch" \
    "$(cat "$OUT/shim-wrongkey.out")"
PGPORT=1 "$RUN" "$PQCLIENT" "host=$EP" >"$OUT/shim-down.out" 2>&1
expect_match "shim: server down" "ERROR: .*(refused|could not connect)" "$(cat "$OUT/shim-down.out")"
env "${noenv[@]}" AWS_CONFIG_FILE="$T/config" AWS_PROFILE=echo "$RUN" "$PQCLIENT" "host=$EP" \
    >"$OUT/shim-cp-echo.out" 2>&1
expect_match "shim: failing credential_process" "ERROR: dsqlauth: .*credential_process.*not shown" \
    "$(cat "$OUT/shim-cp-echo.out")"
env "${ext[@]}" "$RUN" psql -X -At -c "select current_user" "host=$EP user=app" >"$OUT/psql.out" 2>&1
expect_match "psql: app" "^app$" "$(cat "$OUT/psql.out")"
env "${ext[@]}" AWS_SECRET_ACCESS_KEY=$WRONG "$RUN" psql -X -At -c "select 1" "host=$EP" </dev/null \
    >"$OUT/psql-wrong.out" 2>&1
expect_match "psql: wrong key" "psql: error: .*signature mismatch" "$(cat "$OUT/psql-wrong.out")"

# pg_dump through the shim: what it answers locally is logged, never a token.
env "${ext[@]}" "$RUN" pg_dump --schema-only "host=$EP user=app dbname=postgres" >"$OUT/pgdump.out" 2>&1
expect_match "pg_dump: the log says what was answered locally" \
    "dsqlauth: info: pg_dump: answered locally .*: SET statement_timeout = 0" "$(cat "$OUT/pgdump.out")"

# ---- DSQLAUTH_SSLMODE: the only way below verify-full ----------------------------------------
# Without the endpoint's CA the shim verifies against the system store, which does not know it.
env -u DSQLAUTH_SSLROOTCERT -u DSQLAUTH_LOG "$RUN" "$PQCLIENT" "host=$EP" >"$OUT/tls-untrusted.out" 2>&1
expect_match "TLS: an untrusted CA fails, and says so" "ERROR: .*certificate verify failed" \
    "$(cat "$OUT/tls-untrusted.out")"
out=$(env -u DSQLAUTH_SSLROOTCERT -u DSQLAUTH_LOG DSQLAUTH_SSLMODE=require "$RUN" "$PQCLIENT" \
    --query "select current_user" "host=$EP" 2>&1)
printf '%s\n' "$out" >"$OUT/tls-require.out"
expect_match "TLS: DSQLAUTH_SSLMODE=require connects" "^admin$" "$out"
expect_match "TLS: DSQLAUTH_SSLMODE=require warns without DSQLAUTH_LOG" \
    "^dsqlauth: warn: sslmode=require for $EP \(DSQLAUTH_SSLMODE\): the server certificate is not verified" "$out"
out=$(env -u DSQLAUTH_LOG DSQLAUTH_SSLMODE=disable "$RUN" "$PQCLIENT" "host=$EP" 2>&1)
expect_match "TLS: DSQLAUTH_SSLMODE=disable is refused" \
    "ERROR: dsqlauth: DSQLAUTH_SSLMODE=disable is not accepted: Aurora DSQL needs TLS" "$out"
out=$(env -u DSQLAUTH_LOG DSQLAUTH_SSLMODE=verify-ca "$RUN" "$PQCLIENT" --query "select 1" "host=$EP" 2>&1)
expect_match "TLS: DSQLAUTH_SSLMODE=verify-ca connects with the CA" "^1$" "$out"
expect_match "TLS: verify-ca warns that the host name is not checked" "host name is not checked" "$out"

# ---- ps, /proc, files: a connected dsqlauth-run program -------------------------------------
# pqclient --reset 4 connects, holds the session for 4 s, then resets it. dsqlauth-run execs
# the program, so its pid is the program's.
"$RUN" "$PQCLIENT" --reset 4 --query "select current_user" "host=$EP user=app" \
    >"$OUT/hold.out" 2>&1 &
hold=$!
sleep 2
mkdir -p "$OUT/proc"
ps -eww -o pid,args >"$OUT/proc/ps.txt" 2>&1
# A copy of a process's environment without the two variables this test itself exported with
# secrets in them (environment credentials are the user's own choice); anything else is searched.
save_env() {
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null |
        grep -v -e '^AWS_SECRET_ACCESS_KEY=' -e '^AWS_SESSION_TOKEN=' >"$2"
}
for p in $hold $(pgrep -P "$hold" 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/cmdline" >"$OUT/proc/$p.cmdline" 2>/dev/null
    save_env "$p" "$OUT/proc/$p.environ"
done
[ -s "$OUT/proc/$hold.environ" ] && ok "the held program's environment was read" ||
    not_ok "the held program's environment was read"
expect_match "its environment has the preload first" "^LD_PRELOAD=$PRELOAD" "$(cat "$OUT/proc/$hold.environ")"
# dsqlauth-run changes LD_PRELOAD and nothing else: no token, no password, no new variable.
# (The shell's own SHLVL and _ differ between a subshell and the program it started.)
shell_vars=(-e '^LD_PRELOAD=' -e '^SHLVL=' -e '^_=')
d=$(diff <(env | grep -v -e '^AWS_SECRET_ACCESS_KEY=' -e '^AWS_SESSION_TOKEN=' "${shell_vars[@]}" |
        sort) <(grep -v "${shell_vars[@]}" "$OUT/proc/$hold.environ" | sort))
[ -z "$d" ] && ok "dsqlauth-run passes the environment unchanged but for LD_PRELOAD" ||
    not_ok "dsqlauth-run passes the environment unchanged but for LD_PRELOAD" "$d"
expect_match "the program's command line is what it was given" "^host=$EP user=app$" \
    "$(tail -n 1 "$OUT/proc/$hold.cmdline")"
env "${ext[@]}" "$RUN" sh -c '"$0" --reset 3 --query "select 1" "host=$1"; :' "$PQCLIENT" "$EP" \
    >"$OUT/hold-sh.out" 2>&1 &
sh_pid=$!
sleep 1.5
for p in $sh_pid $(pgrep -P "$sh_pid" 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/cmdline" >"$OUT/proc/sh-$p.cmdline" 2>/dev/null
    save_env "$p" "$OUT/proc/sh-$p.environ"
done
ps -eww -o pid,args >>"$OUT/proc/ps.txt" 2>&1
wait "$sh_pid"
[ "$(find "$OUT/proc" -name 'sh-*.environ' | wc -l)" -ge 2 ] &&
    ok "dsqlauth-run sh: the shell and the program were inspected" ||
    not_ok "dsqlauth-run sh: the shell and the program were inspected" "$(ls "$OUT/proc")"
wait "$hold"
expect_match "the held session reconnected" "^reset: app$" "$(cat "$OUT/hold.out")"
SIGN_TO=$(date +%s)

# ---- the search -----------------------------------------------------------------------------
"$LOCAL" stop --dir "$T/local" >"$OUT/local-stop.log" 2>&1
# Every token the run could have made: both keys, both roles, each second of the run (a
# signature is determined by key, time, host, region, role and lifetime), computed here as
# SigV4 prescribes; the CLI's own token checks below that the computation is the right one.
needles=$T/needles
printf '%s\n' "$SECRET" "$WRONG" "$SESSION" "$SESSION_ENC" >"$needles"
python3 - "$KEYID" "$SECRET" "$WRONG" "$SESSION" "$EP" "$((SIGN_FROM - 1))" "$((SIGN_TO + 1))" \
    >>"$needles" 2>"$T/needles.count" <<'PY'
import hashlib, hmac, sys, time
from urllib.parse import quote
keyid, secret, wrong, session, host, t0, t1 = sys.argv[1:]
enc = lambda s: quote(s, safe="-_.~")
h = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
n = 0
for key in (secret, wrong):
    for t in range(int(t0), int(t1) + 1):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
        day = stamp[:8]
        k = ("AWS4" + key).encode()
        for part in (day, "us-east-1", "dsql", "aws4_request"):
            k = h(k, part)
        print(k.hex())  # the signing key, as it would appear in hex
        scope = f"{day}/us-east-1/dsql/aws4_request"
        for action in ("DbConnectAdmin", "DbConnect"):
            query = (f"Action={action}&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     f"&X-Amz-Credential={enc(keyid + '/' + scope)}&X-Amz-Date={stamp}"
                     f"&X-Amz-Expires=900&X-Amz-Security-Token={enc(session)}"
                     f"&X-Amz-SignedHeaders=host")
            creq = f"GET\n/\n{query}\nhost:{host}\n\nhost\n" + hashlib.sha256(b"").hexdigest()
            sts = (f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
                   + hashlib.sha256(creq.encode()).hexdigest())
            print(hmac.new(k, sts.encode(), hashlib.sha256).hexdigest())
            n += 1
print(n, file=sys.stderr)
PY
tokens=$(cat "$T/needles.count")
for f in "$PRODUCT"/token-*; do
    sig=$(sed 's/.*X-Amz-Signature=//' "$f")
    grep -qxF "$sig" "$needles" &&
        ok "the $tokens computed signatures include dsqlauth-token's ${f##*/}" ||
        not_ok "the $tokens computed signatures include dsqlauth-token's ${f##*/}"
done

# Where to search: everything printed, the endpoint's state directory (logs, PostgreSQL's data
# and logs) except the keys file, which holds the pair by design, and what the run left in /tmp.
[ "$(stat -c %a "$T/local/keys")" = 600 ] && ok "the keys file is 0600" || not_ok "the keys file is 0600"
files=$T/files
{
    find "$OUT" -type f
    find "$T/local" -type f ! -path "$T/local/keys"
    find /tmp -xdev -newer "$T/marker" -type f -readable ! -path "$T/*" 2>/dev/null
} >"$files"
count=$(wc -l <"$files")
[ "$count" -gt 20 ] && ok "searching $count files" || not_ok "searching $count files"
grep -q 'front.log' "$files" && ok "the endpoint's log is among them" || not_ok "the endpoint's log is among them"
hits=$(tr '\n' '\0' <"$files" | xargs -0 grep -laF -f "$needles" -- 2>/dev/null)
[ -z "$hits" ] && ok "no secret key, session token, signing key or token signature anywhere" ||
    not_ok "no secret key, session token, signing key or token signature anywhere" "found in:
$hits"
# The search itself works: the product and the keys file do hold them.
grep -qaF -f "$needles" "$PRODUCT/token-admin" && grep -qaF -f "$needles" "$T/local/keys" &&
    ok "the search finds them where they belong (the printed token, the keys file)" ||
    not_ok "the search finds them where they belong"

if [ -n "${SANITIZER_PRELOAD:-}" ]; then
    name="sanitizers: no error, no leak through dsqlauth in psql and sh"
    if out=$("$(dirname "$0")/../support/sanitizer_reports.sh" "$SAN"); then
        ok "$name"
        [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
    else
        not_ok "$name" "$out"
    fi
fi

echo "1..$n"
exit $((failed > 0))
