# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# smoke.sh: the installed tools, end to end, sourced (after tests/support/tap.sh) by install.sh and
# deb.sh. smoke BIN LABEL: starts BIN/dsqlauth-local in a folder of its own, runs psql through
# BIN/dsqlauth-run as app and as admin (the launcher must find the installed preload from its
# own place, and the preload the installed libdsqlauth beside it) and BIN/dsqlauth-doctor, then
# stops the endpoint. Needs T (a scratch folder) and psql. In a sanitizer build, programs built
# elsewhere (psql) get SANITIZER_PRELOAD ahead of the launcher's preload, as in the shim suites.
smoke() {
    local bin=$1 label=$2 dir=$T/smoke-local out rt ext=()
    rt=${SANITIZER_PRELOAD:-}
    [ -n "$rt" ] && ext=(ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0:detect_leaks=0")
    if ! out=$(env -u PGHOSTADDR -u PGPORT "$bin/dsqlauth-local" start --dir "$dir" 2>&1); then
        not_ok "$label: dsqlauth-local start" "$out"
        return
    fi
    ok "$label: dsqlauth-local start"
    out=$(
        eval "$("$bin/dsqlauth-local" env --dir "$dir")"
        unset PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT DSQLAUTH_PRELOAD DSQLAUTH_LIBRARY
        export HOME=$T/home AWS_EC2_METADATA_DISABLED=true DSQLAUTH_SSLROOTCERT
        env LD_PRELOAD="$rt" "${ext[@]}" "$bin/dsqlauth-run" psql -X -At \
            -c "select current_user, current_setting('search_path')" "host=$PGHOST user=app" 2>&1
        env LD_PRELOAD="$rt" "${ext[@]}" "$bin/dsqlauth-run" psql -X -At \
            -c "select current_user" "host=$PGHOST" 2>&1
        env "${ext[@]}" "$bin/dsqlauth-doctor" -U app "$PGHOST" 2>&1 | tail -n 1
    )
    expect "$label: psql through dsqlauth-run as app" 'app\|myschema' "$(sed -n 1p <<<"$out")"
    expect "$label: psql through dsqlauth-run as admin" 'admin' "$(sed -n 2p <<<"$out")"
    expect "$label: dsqlauth-doctor" 'result: ok, all 9 steps passed' "$(sed -n 3p <<<"$out")"
    out=$("$bin/dsqlauth-local" stop --dir "$dir" 2>&1)
    expect "$label: dsqlauth-local stop" 'dsqlauth-local: stopped' "$out"
}
