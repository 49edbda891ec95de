#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# integration.sh: the shim against a real dsqlauth-local, asserting on what the server saw.
#
# Run by `meson test --suite shim` with PRELOAD, LIBDSQLAUTH, LOCAL, RUN, TESTBIN (the built
# test programs) and TESTSRC (this folder) set. Prints TAP. Needs PostgreSQL's server binaries (for dsqlauth-local), psql,
# pg_dump, pgbench and /usr/bin/python3 with Debian's python3-psycopg2; a missing one is a
# failure, not a skip.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/../support/local_server.sh"

for v in PRELOAD LIBDSQLAUTH LOCAL RUN TESTBIN TESTSRC; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
for p in psql pg_dump pgbench /usr/bin/python3; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done
/usr/bin/python3 -c 'import psycopg2' 2>/dev/null || bail "python3-psycopg2 is missing"

start_local shim
export DSQLAUTH_LIBRARY=$LIBDSQLAUTH
# pre [-u VAR]... [VAR=VALUE]... PROGRAM ARGS...: PROGRAM (and only it) with the preload. In a
# sanitizer build a program built elsewhere (psql, pg_dump, pgbench, python3) gets the sanitizer
# runtimes (and libpq's dependencies, see tests/support/sanitizer_preload.sh) preloaded ahead of the
# instrumented preload; this tree's test programs link the runtimes themselves.
pre() {
    local unset=() prog arg
    while [ "${1:-}" = -u ]; do unset+=(-u "$2"); shift 2; done
    for arg in "$@"; do prog=$arg; [[ $arg == *=* ]] || break; done
    if [ -n "${SANITIZER_PRELOAD:-}" ] && [[ $prog != "$TESTBIN"/* ]]; then
        env "${unset[@]}" LD_PRELOAD="$SANITIZER_PRELOAD $PRELOAD" "${external_san[@]}" "$@"
    else
        env "${unset[@]}" LD_PRELOAD="$PRELOAD" "$@"
    fi
}
# The sanitizers' reports from programs built elsewhere go to files in $SAN, checked at the end:
# any error fails, and so does any leak whose stack passes through dsqlauth's code. Their own
# leaks (pgbench and pg_dump free nothing at exit) are not ours to fix, so a leak alone does not
# change their exit status (LSAN_OPTIONS=exitcode=0; LSan would otherwise _exit before stdio is
# flushed and the output under test would be lost).
SAN=$T/sanitizer
mkdir -p "$SAN"
external_san=()
[ -n "${SANITIZER_PRELOAD:-}" ] && external_san=(
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$SAN/report" LSAN_OPTIONS=exitcode=0
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$SAN/report")
noaws=(-u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_REGION
       -u AWS_DEFAULT_REGION)
Q="select current_user, current_setting('search_path'), current_setting('application_name')"
authenticated() { grep -c "authenticated as" "$FRONT_LOG" 2>/dev/null || true; }

# ---- the exports and the dependencies of the preload -------------------------------------
exports=$(nm -D --defined-only "$PRELOAD" | awk '{print $3}' | sort | tr '\n' ' ')
expect "preload exports exactly the wrapped names" \
    "PQconnectStart PQconnectStartParams PQconnectdb PQconnectdbParams PQping PQpingParams PQreset PQresetStart PQsetdbLogin dlopen dlsym " \
    "$exports"
needed=$(readelf -d "$PRELOAD" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
    grep -Ev '^lib(a|ub)san\.so' | tr '\n' ' ')
expect "preload needs libc only (and the sanitizer runtimes of such a build)" "libc\.so\.6 " "$needed"

# ---- psql ----------------------------------------------------------------------------------
out=$(pre psql -X -At -c "$Q" "host=$EP" 2>&1)
expect "psql -c: admin, default schema, psql's application_name" 'admin\|"\$user", public\|psql' "$out"
out=$(pre psql -X -At -c "$Q" "host=$EP user=app" 2>&1)
expect "psql -c as app: search_path=myschema" 'app\|myschema\|psql' "$out"
out=$(pre psql -X -At -c "$Q" "postgresql://app@$EP/postgres?application_name=mine" 2>&1)
expect "psql with a URI" 'app\|myschema\|mine' "$out"
out=$(pre DSQLAUTH_LOG=warn psql -X -At -c "select 'connected'" "host=$EP sslmode=disable" 2>&1)
expect "sslmode=disable is raised (the endpoint refuses plain connections)" 'connected' "$out"
expect "sslmode=disable is raised, and the log says so" \
    'dsqlauth: warn: raising sslmode=disable to verify-full: .*' "$out"

# psql \c twice, with tokens that expire after 2 s: each \c must carry a fresh token, and the
# options must not grow a second search_path.
cat >"$T/reconnect.sql" <<EOF
select 'first', current_user, current_setting('search_path');
\! sleep 3
\c
select 'second', current_user, current_setting('search_path');
\! sleep 3
\c
select 'third', current_user, current_setting('search_path');
EOF
out=$(pre DSQLAUTH_TOKEN_EXPIRES=2 DSQLAUTH_LOG=debug psql -X -At -v ON_ERROR_STOP=1 \
    -f "$T/reconnect.sql" "host=$EP user=app" 2>&1)
expect "psql \\c: first" 'first\|app\|myschema' "$out"
expect "psql \\c: second, after the first token expired" 'second\|app\|myschema' "$out"
expect "psql \\c: third" 'third\|app\|myschema' "$out"
appended=$(printf '%s\n' "$out" | grep 'appended:')
expect "psql \\c: the first connection gets everything" \
    'dsqlauth: debug: appended: dbname=postgres password=<token> sslmode=verify-full sslrootcert=[^ ]+ options=-c search_path=myschema' \
    "$appended"
expect "psql \\c: each reconnection a fresh token, search_path decided afresh (not doubled)" '2' \
    "$(printf '%s\n' "$appended" |
        grep -cx 'dsqlauth: debug: appended: password=<token> options=-c search_path=myschema')"
expect_not "psql \\c: the log never shows a token" 'X-Amz-Signature' "$out"

# psql \c - admin from an app session: psql rebuilds the connection from the old one's
# settings, options included; what the shim added there is decided afresh for admin, and the
# caller's own options stay.
cat >"$T/switch.sql" <<'EOF2'
select 'app', current_user, current_setting('search_path'), current_setting('TimeZone');
\c - admin
select 'admin', current_user, current_setting('search_path'), current_setting('TimeZone');
\c - app
select 'app again', current_user, current_setting('search_path'), current_setting('TimeZone');
EOF2
out=$(pre psql -X -At -v ON_ERROR_STOP=1 -f "$T/switch.sql" \
    "host=$EP user=app options='-c TimeZone=Asia/Tokyo'" 2>&1)
expect "psql \\c - admin: app first, in myschema" 'app\|app\|myschema\|Asia/Tokyo' "$out"
expect "psql \\c - admin: admin without app's search_path, the caller's option kept" \
    'admin\|admin\|"\$user", public\|Asia/Tokyo' "$out"
expect "psql \\c - app: back in myschema, search_path not doubled" \
    'app again\|app\|myschema\|Asia/Tokyo' "$out"

# Names in any case and with a trailing dot (libpq would put the dot into SNI and the
# certificate check), and a tunnel (host names the endpoint, hostaddr/port the way there: every
# test here connects so, through PGHOSTADDR and PGPORT).
upper=$(printf '%s' "$EP" | tr '[:lower:]' '[:upper:]')
out=$(pre psql -X -At -c "select current_user" "host=$upper. user=admin" 2>&1)
expect "endpoint in upper case with a trailing dot" 'admin' "$out"
out=$(pre -u PGHOSTADDR -u PGPORT psql -X -At -c "select current_user" \
    "host=$EP hostaddr=127.0.0.1 port=$PGPORT user=app" 2>&1)
expect "tunnel: host=<endpoint> hostaddr=127.0.0.1 port=<local>" 'app' "$out"

# AWS PrivateLink without private DNS: the vpce name is what libpq connects to, the token is
# signed for the cluster that amzn-cluster-id names (the endpoint verifies it against its own
# name), TLS checks the chain but not the name, and the shim says so once.
vpce=vpce-0123456789abcdef0-abcdefgh.dsql-ab12.$REGION.vpce.amazonaws.com
cid=${EP%%.*}
out=$(pre psql -X -At -c "select current_user, current_setting('search_path')" \
    "host=$vpce user=app options='-c amzn-cluster-id=$cid'" 2>&1)
expect "PrivateLink vpce name: connects as app in myschema" 'app\|myschema' "$out"
expect "PrivateLink vpce name: verify-ca, said once" \
    "dsqlauth: warn: sslmode=verify-ca for $vpce \(an AWS PrivateLink vpce name\): .*" "$out"
out=$(pre psql -X -At -c "select 1" "host=$vpce user=app" 2>&1)
expect "PrivateLink vpce name without amzn-cluster-id: what to do" \
    "psql: error: dsqlauth: $vpce is an AWS PrivateLink endpoint: name the cluster in the options.*" "$out"

# ---- every entry point, from the main program's libpq ---------------------------------------
for via in connectdb params setdb start startparams; do
    out=$(pre "$TESTBIN/pqclient" --via "$via" --query "$Q" "host=$EP user=app" 2>&1)
    expect "entry point $via" 'app\|myschema\|dsqlauth' "$out"
done
for via in ping pingparams; do
    out=$(pre -u AWS_ACCESS_KEY_ID "$TESTBIN/pqclient" --via "$via" "host=$EP" 2>&1)
    expect "entry point $via (no credentials needed)" 'PQPING_OK' "$out"
done

# ---- non-DSQL targets are untouched, byte for byte --------------------------------------------
for target in "host=127.0.0.1 port=1 user=u dbname=d application_name=x sslmode=prefer" \
    "postgresql://u@localhost:1/d?sslmode=disable" "host=$T/nosocket" \
    "host=abcdefghijklmnopqrstuvwxyz.dsql.example.com port=1 hostaddr=127.0.0.1"; do
    for via in connectdb params setdb start startparams; do
        a=$("$TESTBIN/pqclient" --via "$via" --dump "$target" 2>&1)
        b=$(pre "$TESTBIN/pqclient" --via "$via" --dump "$target" 2>&1)
        if [ "$a" = "$b" ]; then ok "untouched: $via $target"; else
            not_ok "untouched: $via $target" "$(diff <(echo "$a") <(echo "$b"))"; fi
    done
done
a=$(env -u AWS_ACCESS_KEY_ID "$TESTBIN/pqclient" --dump "host=$EP port=1" 2>&1)
b=$(pre -u AWS_ACCESS_KEY_ID DSQLAUTH_DISABLE=1 "$TESTBIN/pqclient" --dump "host=$EP port=1" 2>&1)
if [ "$a" = "$b" ]; then ok "DSQLAUTH_DISABLE=1: a DSQL target is untouched"; else
    not_ok "DSQLAUTH_DISABLE=1: a DSQL target is untouched" "$(diff <(echo "$a") <(echo "$b"))"; fi

# ---- failures: a clear dsqlauth: message, no prompt, no other output ------------------------
out=$(pre "${noaws[@]}" "$TESTBIN/pqclient" "host=$EP" 2>&1)
expect "no credentials" "ERROR: dsqlauth: no AWS credentials found .*aws configure.*" "$out"
out=$(pre "${noaws[@]}" "$TESTBIN/pqclient" --via start "host=abcdefghijklmnopqrstuvwxyz" 2>&1)
expect "unknown region (bare cluster id)" "ERROR: dsqlauth: .*no region.*AWS_REGION.*" "$out"
mkdir -p "$T/notafile"
out=$(pre "${noaws[@]}" AWS_CONFIG_FILE="$T/notafile" "$TESTBIN/pqclient" "host=$EP" 2>&1)
expect "unreadable profile" "ERROR: dsqlauth: .*$T/notafile.*" "$out"
out=$(pre DSQLAUTH_LIBRARY="$T/missing.so" "$TESTBIN/pqclient" --via params "host=$EP" 2>&1)
expect "libdsqlauth missing" "ERROR: dsqlauth: cannot load libdsqlauth .*DSQLAUTH_LIBRARY.*" "$out"
out=$(pre "${noaws[@]}" "$TESTBIN/pqclient" --via ping "host=abcdefghijklmnopqrstuvwxyz" 2>&1)
expect "ping without a region: no attempt" "PQPING_NO_ATTEMPT" "$out"
out=$(pre "$TESTBIN/pqclient" "host=$EP,localhost" 2>&1)
expect "mixed host list" "ERROR: dsqlauth: the host list mixes .*" "$out"
out=$(pre "${noaws[@]}" psql -X -c 'select 1' "host=$EP" 2>&1 </dev/null)
expect "no credentials: psql says it, and nothing else" \
    "psql: error: dsqlauth: no AWS credentials found .*" "$out"
out=$(pre DSQLAUTH_LIBRARY="$T/missing.so" psql -X -c 'select 1' "host=$EP" 2>&1 </dev/null)
expect "libdsqlauth missing: psql" \
    "psql: error: dsqlauth: cannot load libdsqlauth .*DSQLAUTH_LIBRARY.*" "$out"
out=$(pre "${noaws[@]}" /usr/bin/python3 "$TESTSRC/pyclient.py" sync "host=$EP" "select 1" 2>&1)
expect "no credentials: psycopg2" "ERROR: dsqlauth: no AWS credentials found .*" "$out"

# ---- host lists -----------------------------------------------------------------------------------
# Two endpoints: libpq has one password, so each gets its token through an in-memory password
# file; the first is unreachable, the second must see a token signed for its own name.
other=zzzzzzzzzzzzzzzzzzzzzzzzzz.dsql.us-east-1.on.aws
out=$(pre "$TESTBIN/pqclient" --query "select current_user" \
    "host=$other,$EP hostaddr=127.0.0.1,127.0.0.1 port=1,$PGPORT user=app password=typed" 2>&1)
expect "two endpoints: the one that answers gets its own token" 'app' "$out"
out=$(pre "$TESTBIN/pqclient" --reconnect --query "select current_user" \
    "host=$other,$EP hostaddr=127.0.0.1,127.0.0.1 port=1,$PGPORT user=app" 2>&1)
expect "two endpoints: reconnecting with PQconninfo's settings" 'app' "$out"
out=$(pre "$TESTBIN/pqclient" --query "select current_user" \
    "host=$EP,$EP hostaddr=127.0.0.1,127.0.0.1 port=1,$PGPORT" 2>&1)
expect "one endpoint twice: one token" 'admin' "$out"

# Endpoints of two regions in one list (a multi-region cluster's two endpoints): each entry
# gets a token signed for its own name and region. A second endpoint in eu-west-1 with the same
# keys answers first; once it is gone, libpq moves on to the first, which must verify its own.
mkdir -p "$T/west"
cp "$T/local/keys" "$T/west/keys"
env -u PGHOSTADDR -u PGPORT "$LOCAL" start --dir "$T/west" --region eu-west-1 \
    --cluster-id westregionlocalcluster0000 >"$T/west-start.log" 2>&1 ||
    bail "second dsqlauth-local start failed: $(cat "$T/west-start.log")"
west_ep=$( (eval "$("$LOCAL" env --dir "$T/west")"; echo "$CLUSTER_ENDPOINT") )
west_port=$( (eval "$("$LOCAL" env --dir "$T/west")"; echo "$PGPORT") )
cat "$DSQLAUTH_SSLROOTCERT" "$T/west/ca.crt" >"$T/both-ca.crt"
two="host=$west_ep,$EP hostaddr=127.0.0.1,127.0.0.1 port=$west_port,$PGPORT user=app"
out=$(pre DSQLAUTH_SSLROOTCERT="$T/both-ca.crt" "$TESTBIN/pqclient" \
    --query "select current_user, current_setting('search_path')" "$two" 2>&1)
expect "two regions: the eu-west-1 endpoint verifies its own token" 'app\|myschema' "$out"
expect "two regions: eu-west-1's front saw it" '1' "$(grep -c 'authenticated as' "$T/west/front.log")"
"$LOCAL" stop --dir "$T/west" >/dev/null 2>&1
before=$(authenticated)
out=$(pre DSQLAUTH_SSLROOTCERT="$T/both-ca.crt" "$TESTBIN/pqclient" \
    --query "select current_user, current_setting('search_path')" "$two" 2>&1)
expect "two regions: eu-west-1 gone, the us-east-1 endpoint verifies its own token" 'app\|myschema' "$out"
expect "two regions: us-east-1's front saw it" "$((before + 1))" "$(authenticated)"

# ---- PQreset: libpq reconnects with the stored password; the shim renews its token first ------
out=$(pre DSQLAUTH_TOKEN_EXPIRES=2 "$TESTBIN/pqclient" --reset 3 --query "select current_user" "host=$EP" 2>&1)
expect "PQreset after the token expired: a fresh token" 'reset: admin' "$out"
out=$(pre DSQLAUTH_TOKEN_EXPIRES=2 "$TESTBIN/pqclient" --reset 3 --query "select current_user" \
    "host=$EP,$EP hostaddr=127.0.0.1,127.0.0.1 port=1,$PGPORT user=app" 2>&1)
expect "PQreset of a host list after the token expired" 'reset: app' "$out"
out=$(DSQLAUTH_TOKEN_EXPIRES=2 "$TESTBIN/pqclient-wrap" --reset 3 --query "select current_user" "host=$EP" 2>&1)
expect "link-time wrapper: PQreset with a fresh token" 'reset: admin' "$out"

# ---- the right libpq -------------------------------------------------------------------------
out=$(pre "$TESTBIN/dlclient" "$TESTBIN/pqplugin.so" "host=$EP" "select current_user" 2>&1)
expect "a module's libpq loaded RTLD_LOCAL, main program without libpq" 'admin' "$out"
out=$(pre "$TESTBIN/dlclient-libpq" "$TESTBIN/pqplugin.so" "host=$EP user=app" \
    "select current_setting('search_path')" 2>&1)
expect "a module's libpq, main program with libpq too" 'myschema' "$out"

# A copy of libpq with another soname (as a wheel bundles it), and one of its messages changed
# so that which copy answered is visible from outside; the module is re-linked to the copy.
LIBPQ=$(ldd "$TESTBIN/pqclient" | sed -n 's/.*libpq\.so\.5 => \([^ ]*\).*/\1/p')
python3 - "$LIBPQ" "$TESTBIN/pqplugin.so" "$T" <<'EOF'
import sys
libpq, plugin, out = sys.argv[1:4]
def patch(src, dst, pairs):
    data = open(src, "rb").read()
    for old, new in pairs:
        assert len(old) == len(new) and old in data, old
        data = data.replace(old, new)
    open(dst, "wb").write(data)
patch(libpq, out + "/libpz.so.5", [(b"libpq.so.5\0", b"libpz.so.5\0"),
                                   (b"invalid connection option", b"INVALID connection option")])
patch(plugin, out + "/pzplugin.so", [(b"libpq.so.5\0", b"libpz.so.5\0")])
EOF
out=$(pre LD_LIBRARY_PATH="$T" "$TESTBIN/dlclient-libpq" "$T/pzplugin.so" "host=$EP bogus=1" "select 1" 2>&1)
expect "renamed copy: its own functions answer (its message)" 'ERROR: INVALID connection option "bogus"' "$out"
out=$(pre LD_LIBRARY_PATH="$T" DSQLAUTH_LOG=debug "$TESTBIN/dlclient-libpq" "$T/pzplugin.so" \
    "host=$EP user=app" "select current_user" 2>&1)
expect "renamed copy: connects through the copy" 'app' "$out"
expect "renamed copy: resolved from the copy" "dsqlauth: debug: libpq $T/libpz\.so\.5" "$out"
out=$(pre "$TESTBIN/dlclient-libpq" "$TESTBIN/pqplugin.so" "host=$EP bogus=1" "select 1" 2>&1)
expect "system copy: libpq's own message" 'ERROR: invalid connection option "bogus"' "$out"

# ---- Python: psycopg2 (sync, async), ctypes ---------------------------------------------------
out=$(pre /usr/bin/python3 "$TESTSRC/pyclient.py" sync "host=$EP user=app" "$Q" 2>&1)
expect "psycopg2 sync" 'app\|myschema\|dsqlauth' "$out"
out=$(pre /usr/bin/python3 "$TESTSRC/pyclient.py" async "postgresql://app@$EP/postgres" "$Q" 2>&1)
expect "psycopg2 async (PQconnectStart)" 'app\|myschema\|dsqlauth' "$out"
ct="dbname=postgres sslmode=verify-full sslrootcert=$DSQLAUTH_SSLROOTCERT"
out=$(pre /usr/bin/python3 "$TESTSRC/pyclient.py" ctypes-connectdb "host=$EP $ct" "select current_user" 2>&1)
expect "ctypes PQconnectdb: reached through libpq's own PQconnectStart" 'admin' "$out"
out=$(pre /usr/bin/python3 "$TESTSRC/pyclient.py" ctypes-start "host=$EP user=app" \
    "select current_setting('search_path')" 2>&1)
expect "ctypes PQconnectStart (by handle): the wrapper" 'myschema' "$out"
out=$(pre LIBPQ="$T/libpz.so.5" /usr/bin/python3 "$TESTSRC/pyclient.py" ctypes-start \
    "host=$EP user=app" "select current_user" 2>&1)
expect "ctypes PQconnectStart from a renamed copy: connects through it" 'app' "$out"
out=$(pre LIBPQ="$T/libpz.so.5" /usr/bin/python3 "$TESTSRC/pyclient.py" ctypes-start \
    "host=$EP bogus=1" "select 1" 2>&1)
expect "ctypes PQconnectStart from a renamed copy: bound to the copy asked (its message)" \
    'ERROR: INVALID connection option "bogus"' "$out"
out=$(/usr/bin/python3 "$TESTSRC/pyclient.py" ctypes-start "host=$EP $ct" "select 1" 2>&1)
expect "ctypes PQconnectStart without the shim: no token" 'ERROR: .*no password supplied' "$out"

# ---- dlsym and dlopen as the program would see them without the shim ----------------------
out=$("$TESTBIN/dlsemantics" next 2>&1)
expect "dlsym(RTLD_NEXT) from the program, without the shim: libpq" 'libpq\.so\.5' "$out"
out=$(pre "$TESTBIN/dlsemantics" next 2>&1)
expect "dlsym(RTLD_NEXT) from the program, with it: what glibc answers the program (the preload)" \
    'libdsqlauth_preload\.so' "$out"
mkdir -p "$T/rp/sub"
cp "$TESTBIN/dlsemantics" "$T/rp/" && cp "$TESTBIN/pqplugin.so" "$T/rp/sub/libpqplugin-rp.so"
# A sanitizer runtime intercepts dlopen itself and calls libc's from its own code, which loses
# the program's RUNPATH with or without the shim; the shim must only never change the answer.
without=$("$T/rp/dlsemantics" open libpqplugin-rp.so 2>&1)
out=$(pre "$T/rp/dlsemantics" open libpqplugin-rp.so 2>&1)
expect "dlopen of a bare name through the program's RUNPATH: the same answer as without the shim" \
    "$(printf '%s' "$without" | sed 's/[][\.*^$]/\\&/g')" "$out"
[ -n "${SANITIZED:-}" ] || expect "dlopen of a bare name through the program's RUNPATH: found" 'loaded' "$out"
out=$(pre "$TESTBIN/dlsemantics" deepbind "$TESTBIN/pqplugin.so" "host=$EP user=app" \
    "select current_setting('search_path')" 2>&1)
expect "a module loaded RTLD_DEEPBIND (as PHP does): the wrappers" 'myschema' "$out"
out=$("$TESTBIN/dlsemantics" deepbind "$TESTBIN/pqplugin.so" "host=$EP user=app" "select 1" 2>&1)
if [ -z "${SANITIZED:-}" ]; then
    expect "a module loaded RTLD_DEEPBIND, without the shim: no token" 'ERROR: .*' "$out"
else # the sanitizer runtime's own dlopen refuses RTLD_DEEPBIND (google/sanitizers issue 611)
    expect_match "a module loaded RTLD_DEEPBIND, without the shim: the sanitizer refuses it" \
        'RTLD_DEEPBIND flag which is incompatible with sanitizer runtime' "$out"
fi

# ---- pgbench -C with custom SQL files, pg_dump -----------------------------------------------
pre psql -X -q -v ON_ERROR_STOP=1 "host=$EP user=app" >"$T/ddl.log" 2>&1 <<'EOF' ||
create table seen (id uuid primary key default gen_random_uuid(), who text, path text, app text);
EOF
    not_ok "create a table as app in myschema" "$(cat "$T/ddl.log")"
cat >"$T/insert.sql" <<'EOF'
\set n random(1, 1000)
insert into seen (who, path, app)
    values (current_user, current_setting('search_path'), current_setting('application_name'));
EOF
cat >"$T/select.sql" <<'EOF'
\set n random(1, 1000)
select :n, count(*) from seen;
EOF
before=$(authenticated)
out=$(pre pgbench -n -C -c 4 -j 2 -t 25 -f "$T/insert.sql@3" -f "$T/select.sql@1" \
    "host=$EP user=app" 2>&1)
expect "pgbench -C -c 4 -j 2: 100 transactions" "number of transactions actually processed: 100/100" "$out"
after=$(authenticated)
[ $((after - before)) -ge 100 ] && ok "pgbench: the endpoint verified a token for every connection" ||
    not_ok "pgbench: the endpoint verified a token for every connection" "$before -> $after"
out=$(pre psql -X -At -c "select who, path, app, count(*) > 0 from seen group by 1, 2, 3" \
    "host=$EP user=app" 2>&1)
expect "pgbench: every row written as app with search_path=myschema" 'app\|myschema\|pgbench\|t' "$out"

out=$(pre pg_dump --schema-only -n myschema "host=$EP user=app" 2>&1)
expect "pg_dump --schema-only of the non-admin schema" 'CREATE TABLE myschema\.seen \($' "$out"

# ---- the link-time wrapper ---------------------------------------------------------------------
out=$("$TESTBIN/pqclient-wrap" --query "$Q" "host=$EP user=app" 2>&1)
expect "link-time wrapper: PQconnectdb" 'app\|myschema\|dsqlauth' "$out"
out=$("$TESTBIN/pqclient-wrap" --via startparams --query "$Q" "host=$EP" 2>&1)
expect "link-time wrapper: PQconnectStartParams" 'admin\|"\$user", public\|dsqlauth' "$out"
a=$("$TESTBIN/pqclient" --dump "host=127.0.0.1 port=1 user=u" 2>&1)
b=$("$TESTBIN/pqclient-wrap" --dump "host=127.0.0.1 port=1 user=u" 2>&1)
[ "$a" = "$b" ] && ok "link-time wrapper: non-DSQL untouched" ||
    not_ok "link-time wrapper: non-DSQL untouched" "$(diff <(echo "$a") <(echo "$b"))"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$TESTBIN/pqclient-wrap" "host=$EP" 2>&1)
expect "link-time wrapper: failure message" "ERROR: dsqlauth: no AWS credentials found .*" "$out"

# (many threads and fork(): concurrency.sh)

# ---- dsqlauth-run -------------------------------------------------------------------------------
# From the build tree, as the README runs it: the preload built beside it, and libdsqlauth
# beside the preload, with nothing set.
rt=${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }
out=$(env -u DSQLAUTH_PRELOAD LD_PRELOAD="$rt" "$RUN" sh -c 'echo "$LD_PRELOAD"' 2>&1)
expect "dsqlauth-run from the build tree finds the preload built beside it" \
    "$(realpath "$PRELOAD")${rt:+ ${rt% }}" "$out"
out=$(env -u DSQLAUTH_PRELOAD -u DSQLAUTH_LIBRARY LD_PRELOAD="$rt" "${external_san[@]}" \
    "$RUN" psql -X -At -c "select current_user" "host=$EP user=app" 2>&1)
expect "dsqlauth-run psql from the build tree, nothing set" 'app' "$out"
export DSQLAUTH_PRELOAD=$PRELOAD
out=$("$RUN" "$TESTBIN/pqclient" --query "$Q" "host=$EP user=app" 2>&1)
expect "dsqlauth-run pqclient" 'app\|myschema\|dsqlauth' "$out"
# psql and sh are built elsewhere: in a sanitizer build the runtimes go in LD_PRELOAD first
# (dsqlauth-run puts the preload in front of them).
out=$(env LD_PRELOAD="$rt" "${external_san[@]}" "$RUN" psql -X -At -c "$Q" "host=$EP user=app" 2>&1)
expect "dsqlauth-run psql" 'app\|myschema\|psql' "$out"
out=$(LD_PRELOAD="${rt}/nonexistent/other.so" "$RUN" sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
expect "dsqlauth-run keeps LD_PRELOAD, ours first" "$PRELOAD $rt/nonexistent/other\.so" "$out"
out=$(LD_PRELOAD="$rt$PRELOAD" "$RUN" sh -c 'echo "$LD_PRELOAD"' 2>&1)
expect "dsqlauth-run does not add itself twice" "$PRELOAD${rt:+ ${rt% }}" "$out"
cp "$(type -P true)" "$T/suid-true" && chmod 4755 "$T/suid-true"
out=$("$RUN" "$T/suid-true" 2>&1); rc=$?
expect "dsqlauth-run refuses setuid programs" "dsqlauth-run: .*set-user-ID.*" "$out"
expect "dsqlauth-run refuses setuid programs: exit status 127" 127 "$rc"
out=$("$RUN" "$TESTBIN/static-true" 2>&1); rc=$?
expect "dsqlauth-run refuses static programs" "dsqlauth-run: .*statically linked.*" "$out"
expect "dsqlauth-run refuses static programs: exit status 127" 127 "$rc"
out=$(env -u DSQLAUTH_PRELOAD "$RUN" --print-preload 2>&1); rc=$?
expect "dsqlauth-run --print-preload: the build tree's preload" "$(realpath "$PRELOAD")" "$out"
expect "dsqlauth-run --print-preload: exit status 0" 0 "$rc"
out=$(DSQLAUTH_PRELOAD=$T/none.so "$RUN" --print-preload 2>&1); rc=$?
expect "dsqlauth-run --print-preload: none" "dsqlauth-run: cannot find libdsqlauth_preload\.so.*" "$out"
expect "dsqlauth-run --print-preload: none: exit status 127" 127 "$rc"
out=$("$RUN" --print-preload psql 2>&1); rc=$?
expect "dsqlauth-run --print-preload with a program" "dsqlauth-run: --print-preload takes no program.*" "$out"
expect "dsqlauth-run --print-preload with a program: exit status 127" 127 "$rc"
out=$("$RUN" --help 2>&1)
expect "dsqlauth-run --help" "Usage: dsqlauth-run PROGRAM \[ARGS\.\.\.\]" "$out"
out=$("$RUN" --version 2>&1)
expect "dsqlauth-run --version" "dsqlauth-run [0-9.]+" "$out"
out=$("$RUN" "$T/no-such-program" 2>&1); rc=$?
expect "dsqlauth-run: missing program" "dsqlauth-run: .*no-such-program: No such file or directory" "$out"
expect "dsqlauth-run: missing program: exit status 127" 127 "$rc"

# (pg_dump and pg_dumpall against DSQL's rules: pgdump.sh)

# ---- sanitizer reports (a sanitizer build) -----------------------------------------------------
if [ -n "${SANITIZED:-}" ]; then
    # dsqlauth-local's front logs to front.log (it leaves with _exit, so LSan does not run there).
    "$LOCAL" stop --dir "$T/local" >/dev/null 2>&1
    bad=$(grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$FRONT_LOG")
    [ -z "$bad" ] && ok "sanitizers: nothing reported by dsqlauth-local's front" ||
        not_ok "sanitizers: nothing reported by dsqlauth-local's front" "$bad"
fi
if [ -n "${SANITIZER_PRELOAD:-}" ]; then
    name="sanitizers: no error, no leak through dsqlauth in programs built elsewhere"
    if out=$("$TESTSRC/../support/sanitizer_reports.sh" "$SAN"); then
        ok "$name"
        [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
    else
        not_ok "$name" "$out"
    fi
fi

echo "1..$n"
exit $((failed > 0))
