#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clients.sh: every libpq client DESIGN 4b names, as admin and as app, against a private
# dsqlauth-local, each given only host, user and dbname (the way there comes from PGHOSTADDR and
# PGPORT, as through a tunnel). Under dsqlauth-run each must land as its user in its schema and
# write and read back a table; without the shim it must fail for want of a password (or of TLS)
# without prompting; with DSQLAUTH_SSLROOTCERT naming a CA that did not sign the server it must
# fail certificate verification, which shows verify-full was applied.
#
# Run by `meson test --suite compat` with LOCAL, RUN and COMPAT_BIN (this folder in the build
# tree: the libpqxx client, pg-native's install) set. Prints TAP. A missing client is a failure
# naming its package (tools/bootstrap installs them all), never a skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/tap.sh"
. "$here/../support/local_server.sh"

for v in LOCAL RUN COMPAT_BIN; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
C=$here/clients
PY=/usr/bin/python3 # Debian's, with Debian's modules (a python3 earlier on PATH may lack them)
JOBS=4              # client runs at once

# The clients in the order of the report, each with the packages it comes from and a command
# that fails when it is missing.
clients=(psql pg_isready pg_dump psycopg2 sqlalchemy psycopg3 pgcli ruby_pg php_pgsql php_pdo
         perl_dbd_pg odbc libpqxx pgtcl pg_native)
declare -A package probe
package=([psql]=postgresql-client [pg_isready]=postgresql-client [pg_dump]=postgresql-client
    [psycopg2]=python3-psycopg2 [sqlalchemy]=python3-sqlalchemy [psycopg3]=python3-psycopg
    [pgcli]=pgcli [ruby_pg]=ruby-pg [php_pgsql]="php8.2-cli php8.2-pgsql"
    [php_pdo]="php8.2-cli php8.2-pgsql" [perl_dbd_pg]=libdbd-pg-perl
    [odbc]="unixodbc odbc-postgresql" [libpqxx]="libpqxx-dev (built by meson)"
    [pg_native]="nodejs npm libnode-dev, and pg-native from npm" [pgtcl]="tcl libpgtcl")
probe=([psql]="psql --version" [pg_isready]="pg_isready --version" [pg_dump]="pg_dump --version"
    [psycopg2]="$PY -c 'import psycopg2'" [sqlalchemy]="$PY -c 'import sqlalchemy, psycopg2'"
    [psycopg3]="$PY -c 'import psycopg'" [pgcli]="$PY -c 'import pgcli.main'"
    [ruby_pg]="ruby -e 'require \"pg\"'"
    [php_pgsql]="php -r 'exit(function_exists(\"pg_connect\") ? 0 : 1);'"
    [php_pdo]="php -r 'exit(in_array(\"pgsql\", PDO::getAvailableDrivers()) ? 0 : 1);'"
    [perl_dbd_pg]="perl -MDBD::Pg -e 1"
    [odbc]="command -v isql && odbcinst -q -d -n 'PostgreSQL Unicode'"
    [libpqxx]="test -x '$COMPAT_BIN/libpqxx_client'"
    [pg_native]="pg_native_installed"
    [pgtcl]="echo 'package require Pgtcl' | tclsh")

# pg-native comes from npm into the build tree, once per build directory; started first, it
# builds while the endpoint starts and the other clients run, and before start_local changes
# HOME, so that the caller's npm settings (registry, proxy, CA) apply.
NODE_DIR=$COMPAT_BIN/node
rm -f "$COMPAT_BIN/pg_native_install.rc"
( "$here/pg_native_install.sh" "$NODE_DIR" >"$COMPAT_BIN/pg_native_install.log" 2>&1
  echo $? >"$COMPAT_BIN/pg_native_install.rc" ) &
pg_native_installed() {
    until [ -e "$COMPAT_BIN/pg_native_install.rc" ]; do sleep 0.2; done
    [ "$(cat "$COMPAT_BIN/pg_native_install.rc")" = 0 ] ||
        { cat "$COMPAT_BIN/pg_native_install.log"; return 1; }
}

# The runs that must fail would otherwise lock loopback out (53300) after ten failed logins.
LOCAL_START_ARGS="--max-failed-logins 0" start_local compat
OUT=$T/out
mkdir -p "$OUT"
# A CA made now, which signed nothing: verify-full must refuse the server's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=dsqlauth compat: a CA that signed nothing" \
    -keyout "$T/bad-ca.key" -out "$T/bad-ca.crt" >/dev/null 2>&1 || bail "openssl: no throwaway CA"

# ---- the clients: each client_NAME USER MODE runs one, every libpq program through x --------
# x PROGRAM ARGS...: PROGRAM as the mode says (pfx), in a session of its own so that it has no
# terminal to prompt on, stopped after 60 s.
x() { setsid timeout 60 "${pfx[@]}" "$@"; }
client_psql() {
    x psql -X -w -At -v ON_ERROR_STOP=1 -v "t=compat_psql_$1" -f "$C/psql_client.sql" \
        "host=$EP user=$1 dbname=postgres"
}
client_pg_isready() { x pg_isready -t 10 -d "host=$EP user=$1 dbname=postgres"; }
# pg_dump: a table made with psql, dumped as plain SQL and as a directory by two workers (which
# fork and connect again), then dropped; the dumps stay in $OUT for the checks.
client_pg_dump() {
    local t=compat_pg_dump_$1 d=$OUT/pg_dump.$1.$2.d conn="host=$EP user=$1 dbname=postgres"
    mkdir -p "$d"
    if [ "$2" = shim ]; then
        x psql -X -w -q -v ON_ERROR_STOP=1 -c "drop table if exists $t" \
            -c "create table $t (id int primary key, v text)" \
            -c "insert into $t values (1, 'hello')" "$conn" || return
    fi
    x pg_dump -w -Fp -t "$t" -f "$d/plain.sql" "$conn" || return
    x pg_dump -w -Fd -j 2 -t "$t" -f "$d/dir" "$conn" || return
    x psql -X -w -q -c "drop table $t" "$conn"
}
client_psycopg2() { x "$PY" "$C/psycopg2_client.py" "$EP" "$1"; }
client_sqlalchemy() { x "$PY" "$C/sqlalchemy_client.py" "$EP" "$1"; }
client_psycopg3() { x "$PY" "$C/psycopg3_client.py" "$EP" "$1"; }
client_pgcli() { x "$PY" "$C/pgcli_client.py" "$EP" "$1"; }
client_ruby_pg() { x ruby "$C/ruby_pg_client.rb" "$EP" "$1"; }
client_php_pgsql() { x php "$C/php_pgsql_client.php" "$EP" "$1"; }
client_php_pdo() { x php "$C/php_pdo_client.php" "$EP" "$1"; }
client_perl_dbd_pg() { x perl "$C/perl_dbd_pg_client.pl" "$EP" "$1"; }
# psqlODBC through unixODBC's isql: a DSN with the host, database and user only. The driver is
# Debian's odbc-postgresql, registered here again without the log file in /tmp that its system
# registration turns on.
client_odbc() {
    local t=compat_odbc_$1
    export ODBCSYSINI=$OUT/odbc.$1.$2.d ODBCINI=$OUT/odbc.$1.$2.d/odbc.ini
    mkdir -p "$ODBCSYSINI"
    printf '[PostgreSQL Unicode]\nDriver = psqlodbcw.so\nCommLog = 0\nDebug = 0\n' \
        >"$ODBCSYSINI/odbcinst.ini"
    printf '[dsql]\nDriver = PostgreSQL Unicode\nServername = %s\nDatabase = postgres\nUsername = %s\n' \
        "$EP" "$1" >"$ODBCINI"
    x isql -b -v -d'|' dsql <<EOF
select 'user=' || current_user || ' search_path=' || current_setting('search_path')
drop table if exists $t
create table $t (id int primary key, v text)
insert into $t values (1, 'hello')
select 'table_schema=' || table_schema from information_schema.tables where table_name = '$t'
select 'value=' || v from $t
drop table $t
EOF
}
client_libpqxx() { x "$COMPAT_BIN/libpqxx_client" "$EP" "$1"; }
client_pg_native() { NODE_PATH=$NODE_DIR/node_modules x node "$C/pg_native_client.js" "$EP" "$1"; }
client_pgtcl() { x tclsh "$C/pgtcl_client.tcl" "$EP" "$1"; }
# psql \c - admin from an app session: admin gets its own search_path, the caller's options stay.
client_psql_switch() {
    x psql -X -w -At -v ON_ERROR_STOP=1 \
        -c "select 'app: ' || current_user || ' ' || current_setting('search_path') || ' ' || current_setting('TimeZone')" \
        -c '\c - admin' \
        -c "select 'admin: ' || current_user || ' ' || current_setting('search_path') || ' ' || current_setting('TimeZone')" \
        "host=$EP user=app dbname=postgres options='-c TimeZone=Asia/Tokyo'"
}

# job NAME USER MODE: client_NAME in the background, at most $JOBS at once; its output goes to
# $OUT/NAME.USER.MODE and its exit status to the same name with .rc.
job() {
    local f=$OUT/$1.$2.$3
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    (
        case $3 in
            shim) pfx=("$RUN") ;;
            noshim) pfx=() ;;
            badca) pfx=(env "DSQLAUTH_SSLROOTCERT=$T/bad-ca.crt" "$RUN") ;;
        esac
        "client_$1" "$2" "$3" </dev/null >"$f" 2>&1
        echo $? >"$f.rc"
    ) &
}
out() { cat "$OUT/$1"; }
rc() { cat "$OUT/$1.rc"; }

# ---- each client present; without the shim, and with a CA that did not sign the server ------
# All at once; pg-native last, as it may still be building.
authenticated() { grep -c "authenticated as" "$FRONT_LOG" 2>/dev/null || true; }
before=$(authenticated)
present=()
for c in "${clients[@]}"; do
    if why=$(eval "${probe[$c]}" 2>&1 </dev/null); then
        ok "$c: present"
        present+=("$c")
        for u in admin app; do
            job "$c" "$u" noshim
            job "$c" "$u" badca
        done
    else
        not_ok "$c: present" "missing: install ${package[$c]} (tools/bootstrap)
$why"
    fi
done
wait
expect "no run without the shim or with the wrong CA authenticated" "$before" "$(authenticated)"

# ---- through the shim --------------------------------------------------------------------------
for c in "${present[@]}" psql_switch; do
    for u in admin app; do
        [ "$c" = psql_switch ] && [ "$u" = admin ] && continue
        job "$c" "$u" shim
    done
done
wait

# ---- what each run printed -------------------------------------------------------------------
# shim_ok NAME USER: the user, the schema, the table's schema and the value read back.
shim_ok() {
    local f=$1.$2.shim sp=myschema schema=myschema o
    [ "$2" = admin ] && sp='"$user", public' schema=public
    o=$(out "$f")
    if [ "$(rc "$f")" = 0 ] && grep -qxF "user=$2 search_path=$sp" <<<"$o"; then
        ok "$1 $2: connects as $2 with search_path $sp"
    else
        not_ok "$1 $2: connects as $2 with search_path $sp" "exit $(rc "$f")
$o"
    fi
    if grep -qxF "table_schema=$schema" <<<"$o" && grep -qx 'value=hello' <<<"$o"; then
        ok "$1 $2: writes a table in $schema and reads it back"
    else
        not_ok "$1 $2: writes a table in $schema and reads it back" "$o"
    fi
}
# fails NAME USER MODE PATTERN WHAT: the run failed, said PATTERN and never prompted.
fails() {
    local f=$1.$2.$3 o
    o=$(out "$f")
    if [ "$(rc "$f")" != 0 ] && grep -Eq -- "$4" <<<"$o" && ! grep -q 'Password' <<<"$o"; then
        ok "$1 $2 $5: fails ($4), no prompt"
    else
        not_ok "$1 $2 $5: fails ($4), no prompt" "exit $(rc "$f")
$o"
    fi
}
for c in "${present[@]}"; do
    for u in admin app; do
        sp=myschema schema=myschema
        [ "$u" = admin ] && sp='"$user", public' schema=public
        case $c in
            pg_isready)
                expect "pg_isready $u: accepting connections through the shim" \
                    ".*accepting connections" "$(out pg_isready.$u.shim)"
                # A ping needs no password: the server's request for one is PQPING_OK to libpq,
                # so pg_isready answers 0 without the shim too and that check does not apply
                # (asserted as such). verify-full is the shim's part, shown by the wrong CA.
                expect "pg_isready $u without the shim: accepting all the same (a ping needs no password)" \
                    ".*accepting connections" "$(out pg_isready.$u.noshim)"
                expect "pg_isready $u with a CA that did not sign the server: no response (exit 2)" \
                    "2" "$(rc pg_isready.$u.badca)"
                continue ;;
            pg_dump)
                d=$OUT/pg_dump.$u.shim.d
                if [ "$(rc pg_dump.$u.shim)" = 0 ] &&
                    grep -qx "CREATE TABLE $schema.compat_pg_dump_$u (" "$d/plain.sql" &&
                    grep -qx "ALTER TABLE $schema.compat_pg_dump_$u OWNER TO $u;" "$d/plain.sql" &&
                    grep -qxP '1\thello' "$d/plain.sql"; then
                    ok "pg_dump $u -Fp: $schema.compat_pg_dump_$u, owned by $u, with its row"
                else
                    not_ok "pg_dump $u -Fp: $schema.compat_pg_dump_$u, owned by $u, with its row" \
                        "exit $(rc pg_dump.$u.shim)
$(out pg_dump.$u.shim)
$(cat "$d/plain.sql" 2>/dev/null)"
                fi
                if [ -f "$d/dir/toc.dat" ] && zcat -f "$d"/dir/[0-9]*.dat* 2>/dev/null | grep -qxP '1\thello'; then
                    ok "pg_dump $u -Fd -j 2: the table's data, written by a worker"
                else
                    not_ok "pg_dump $u -Fd -j 2: the table's data, written by a worker" \
                        "$(ls -l "$d/dir" 2>&1)"
                fi ;;
            *) shim_ok "$c" "$u" ;;
        esac
        case $c in
            psql)
                o=$(out psql.$u.shim)
                expect "psql $u \\conninfo: as $u, to the endpoint's name" \
                    "You are connected to database \"postgres\" as user \"$u\" on host \"$EP\" \(address \"127\.0\.0\.1\"\) at port \"$PGPORT\"\." \
                    "$o"
                expect "psql $u \\conninfo: over TLS" "SSL connection \(protocol: TLSv1\.3.*" "$o"
                expect "psql $u \\c: the same user and schema again" \
                    "after \\\\c: user=$u search_path=${sp//\$/\\\$}" "$o" ;;
            psycopg3)
                expect "psycopg3 $u: the pure-Python layer (ctypes)" "impl=python" \
                    "$(out psycopg3.$u.shim)" ;;
        esac
        nopw='fe_sendauth: no password supplied'
        [ "$c" = odbc ] && nopw='TLS is required' # psqlODBC's own default is sslmode=disable
        fails "$c" "$u" noshim "$nopw" "without the shim"
        fails "$c" "$u" badca 'certificate verify failed' "with a CA that did not sign the server"
    done
done

o=$(out psql_switch.app.shim)
expect "psql \\c - admin from an app session: app first, in myschema" 'app: app myschema Asia/Tokyo' "$o"
expect "psql \\c - admin: admin in \"\$user\", public, the caller's TimeZone kept" \
    'admin: admin "\$user", public Asia/Tokyo' "$o"

# Nothing secret in anything the clients printed: no token, no secret key.
leaks=$(grep -rlE 'X-Amz-(Signature|Credential|Security-Token)' "$OUT"/* 2>/dev/null
        grep -rlF -- "$AWS_SECRET_ACCESS_KEY" "$OUT"/* 2>/dev/null)
expect "no client printed a token or the secret key" "" "$leaks"

echo "1..$n"
exit $((failed > 0))
