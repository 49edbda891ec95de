#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgdump.sh: stock pg_dump and pg_dumpall through the shim against dsqlauth-local --strict (which
# refuses what Aurora DSQL refuses), compared with the same dumps taken straight from the
# PostgreSQL behind it, and restored into a fresh endpoint.
#
# Run by `meson test --suite shim` with PRELOAD, LIBDSQLAUTH, LOCAL, RUN, PETCLINIC_PLAIN set.
# Prints TAP. Needs pg_dump, pg_dumpall, pg_restore, psql, pgbench; a missing one is a failure.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/../support/local_server.sh"

for v in PRELOAD LIBDSQLAUTH LOCAL RUN PETCLINIC_PLAIN; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
for p in pg_dump pg_dumpall pg_restore psql pgbench; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done

# The strict endpoint reports its backend's own server version (15), so that the pg_dump of this
# machine (15) accepts it as a server it can dump: DSQL itself reports 16, which needs pg_dump
# 16 or newer (checked below). Everything else answers as DSQL does.
LOCAL_START_ARGS="--strict --server-version backend" start_local pgdump
export DSQLAUTH_LIBRARY=$LIBDSQLAUTH DSQLAUTH_PRELOAD=$PRELOAD
BACKEND=$T/local/run # the PostgreSQL behind the front: its Unix socket, trust, no DSQL rules
# A second, non-strict endpoint with the same keys, to restore into.
mkdir -p "$T/fresh"
cp "$T/local/keys" "$T/fresh/keys"
env -u PGHOSTADDR -u PGPORT "$LOCAL" start --dir "$T/fresh" --cluster-id restoretargetcluster000000 \
    >"$T/fresh-start.log" 2>&1 || bail "second dsqlauth-local start failed: $(cat "$T/fresh-start.log")"
FRESH_EP=$( (eval "$("$LOCAL" env --dir "$T/fresh")"; echo "$CLUSTER_ENDPOINT") )
FRESH_PORT=$( (eval "$("$LOCAL" env --dir "$T/fresh")"; echo "$PGPORT") )
cat "$DSQLAUTH_SSLROOTCERT" "$T/fresh/ca.crt" >"$T/both-ca.crt"
export DSQLAUTH_SSLROOTCERT=$T/both-ca.crt

run() { "$RUN" "$@"; }
fresh() { # ROLE PROGRAM ARGS...: PROGRAM through the shim to the fresh endpoint as ROLE
    local role=$1; shift
    PGHOSTADDR=127.0.0.1 PGPORT=$FRESH_PORT PGHOST=$FRESH_EP PGUSER=$role run "$@"
}

# ---- the data: the demo's schema and rows as admin (public) and app (myschema), and a second
# schema with a function, a view and a type of its own -------------------------------------
for role in admin app; do
    out=$(CLUSTER_ENDPOINT=$EP run "$PETCLINIC_PLAIN" --user "$role" --workload -c 1 -t 60 \
        --owners 40 -P 0 2>&1) || bail "petclinic --workload as $role: $out"
done
while read -r sql; do
    out=$(run psql -X -q -v ON_ERROR_STOP=1 "host=$EP user=admin" -c "$sql" 2>&1) ||
        bail "setting up the second schema: $sql: $out"
done <<'EOF'
CREATE SCHEMA clinic2
CREATE TABLE clinic2.rooms (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name varchar(40) NOT NULL, beds int)
INSERT INTO clinic2.rooms (name, beds) VALUES ('north', 4), ('south', 2), ('it''s quoted', 1)
CREATE VIEW clinic2.big_rooms AS SELECT name FROM clinic2.rooms WHERE beds > 2
CREATE FUNCTION clinic2.beds_total() RETURNS bigint LANGUAGE sql AS $$ SELECT sum(beds) FROM clinic2.rooms $$
CREATE INDEX ASYNC rooms_name ON clinic2.rooms (name)
GRANT USAGE ON SCHEMA clinic2 TO app
GRANT SELECT ON ALL TABLES IN SCHEMA clinic2 TO app
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app
EOF

# What pg_dump writes that changes from one run to the next: \restrict keys (15.14+), and the
# archive header's dates (pg_restore -l).
normalise() { sed -E '/^\\(un)?restrict /d; /^;/d; /^--$/d; /^-- (Started|Completed|Dumped) on/d'; }
# The dump as SQL text, whatever its format.
as_sql() { # FORMAT FILE
    case $1 in
    p) normalise <"$2" ;;
    *) pg_restore -f - "$2" | normalise ;;
    esac
}

# ---- the dumps: through the shim against --strict, and straight from the backend -------------
variants=("p|-Fp" "c|-Fc" "d|-Fd -j 2" "p|-Fp --schema-only" "p|-Fp --data-only" "c|-Fc -n myschema")
for role in admin app; do
    for v in "${variants[@]}"; do
        fmt=${v%%|*} opts=${v#*|}
        name="$role: pg_dump $opts"
        file=$T/dump-$role-$(printf '%s' "$opts" | tr -c 'a-z0-9' '_')
        ref=$file.ref
        # shellcheck disable=SC2086 # opts: the options, split on blanks
        if ! out=$(DSQLAUTH_LOG=info run pg_dump $opts -f "$file" "host=$EP user=$role dbname=postgres" 2>&1); then
            not_ok "$name: through the shim" "$out"
            continue
        fi
        ok "$name: through the shim"
        expect_match "$name: the log says what was answered locally" \
            'dsqlauth: info: pg_dump: answered locally .*: SET statement_timeout = 0' "$out"
        # shellcheck disable=SC2086
        env -u PGHOSTADDR -u PGSSLMODE -u PGSSLROOTCERT -u PGPASSWORD \
            pg_dump $opts -f "$ref" -h "$BACKEND" -p 5432 -U "$role" -d postgres >"$T/ref.log" 2>&1 ||
            bail "the reference dump ($opts as $role) failed: $(cat "$T/ref.log")"
        if [ "$fmt" != p ]; then
            a=$(pg_restore -l "$file" | normalise) b=$(pg_restore -l "$ref" | normalise)
            [ "$a" = "$b" ] && ok "$name: the same archive contents (pg_restore -l) as straight from the backend" ||
                not_ok "$name: the same archive contents (pg_restore -l) as straight from the backend" \
                    "$(diff <(echo "$a") <(echo "$b") | head -20)"
        fi
        a=$(as_sql "$fmt" "$file") b=$(as_sql "$fmt" "$ref")
        [ "$a" = "$b" ] && ok "$name: the same definitions and rows as straight from the backend" ||
            not_ok "$name: the same definitions and rows as straight from the backend" \
                "$(diff <(echo "$a") <(echo "$b") | head -20)"
        # Without the shim's handling DSQL's own error stops it, at the first refused statement.
        # shellcheck disable=SC2086
        out=$(DSQLAUTH_PGDUMP=off run pg_dump $opts -f "$file.off" "host=$EP user=$role dbname=postgres" 2>&1)
        expect_match "$name: with DSQLAUTH_PGDUMP=off, DSQL's own error" \
            'pg_dump: error: query failed: ERROR: +setting configuration parameter "synchronize_seqscans" not supported' "$out"
    done
done

# ---- restored into a fresh endpoint: the same rows and definitions come back ----------------
# A restore is an administrator's job (the dump names every object's owner), whoever dumped.
restore() { # FORMAT FILE DB: into a new database of the fresh endpoint, through the shim
    local fmt=$1 file=$2 db=$3
    fresh admin psql -X -q -v ON_ERROR_STOP=1 "dbname=postgres" -c "CREATE DATABASE $db" &&
        if [ "$fmt" = p ]; then fresh admin psql -X -q -v ON_ERROR_STOP=1 -f "$file" "dbname=$db"
        else fresh admin pg_restore --exit-on-error -d "dbname=$db" "$file"; fi
}
for role in admin app; do
    for v in "p|-Fp" "c|-Fc" "d|-Fd -j 2"; do
        fmt=${v%%|*} opts=${v#*|}
        file=$T/dump-$role-$(printf '%s' "$opts" | tr -c 'a-z0-9' '_')
        db=r_${role}_$fmt
        if ! out=$(restore "$fmt" "$file" "$db" 2>&1); then
            not_ok "$role: pg_dump $opts restored into a fresh endpoint" "$out"
            continue
        fi
        ok "$role: pg_dump $opts restored into a fresh endpoint"
        again=$(fresh "$role" pg_dump -Fp "dbname=$db" 2>&1 | normalise)
        orig=$(as_sql "$fmt" "$file")
        [ "$again" = "$orig" ] && ok "$role: pg_dump $opts: the restored database dumps the same" ||
            not_ok "$role: pg_dump $opts: the restored database dumps the same" \
                "$(diff <(echo "$again") <(echo "$orig") | head -20)"
    done
done

# ---- pg_dumpall --schema-only as admin ----------------------------------------------------
out=$(DSQLAUTH_LOG=info run pg_dumpall --schema-only -f "$T/all.sql" -d "host=$EP user=admin dbname=postgres" 2>&1)
expect_not "pg_dumpall --schema-only as admin succeeds" 'error' "$out"
all=$(cat "$T/all.sql" 2>/dev/null)
expect_match "pg_dumpall: the roles" '^CREATE ROLE app;' "$all"
expect_match "pg_dumpall: the second schema" '^CREATE SCHEMA clinic2;' "$all"
expect_match "pg_dumpall: the demo's tables in myschema" '^CREATE TABLE myschema\.owner \($' "$all"

# ---- pg_dump older than the server: DSQL's 16 needs pg_dump 16 or newer -------------------------
"$LOCAL" stop --dir "$T/fresh" >/dev/null 2>&1
env -u PGHOSTADDR -u PGPORT "$LOCAL" start --dir "$T/fresh" --strict \
    >"$T/fresh-start.log" 2>&1 || bail "restarting the second endpoint failed: $(cat "$T/fresh-start.log")"
mine=$(pg_dump --version | sed 's/.* \([0-9][0-9]*\)\..*/\1/')
out=$(fresh admin pg_dump --schema-only "dbname=postgres" 2>&1)
if [ "$mine" -lt 16 ]; then
    expect_match "pg_dump $mine against DSQL's version 16.15: pg_dump's own refusal" \
        'pg_dump: error: aborting because of server version mismatch' "$out"
else
    expect_not "pg_dump $mine against DSQL's version 16.15" 'error' "$out"
fi

# ---- other programs: nothing answered for them ------------------------------------------------
out=$(DSQLAUTH_LOG=info run psql -X -c "LOCK TABLE myschema.owner IN ACCESS SHARE MODE" \
    "host=$EP user=app" 2>&1)
expect_match "psql: LOCK TABLE gets DSQL's own answer" 'ERROR: +unsupported statement: Lock' "$out"
expect_not "psql: nothing answered locally" 'pg_dump: answered' "$out"
echo "SET statement_timeout = 0;" >"$T/set.sql"
out=$(DSQLAUTH_LOG=info run pgbench -n -t 1 -f "$T/set.sql" "host=$EP user=app" 2>&1)
expect_match "pgbench: a refused SET gets DSQL's own answer" 'setting configuration parameter "statement_timeout" not supported' "$out"
expect_not "pgbench: nothing answered locally" 'pg_dump: answered' "$out"

echo "1..$n"
exit $((failed > 0))
