#!/bin/sh
# SPDX-License-Identifier: MIT
# sanitizer_reports.sh DIR: checks the ASan/LSan/UBSan reports that programs built elsewhere
# (psql, pgbench, pg_dump, python3, run with a sanitizer build's preload) wrote to DIR through
# log_path. Prints every report that is dsqlauth's business and exits 1 if there is one: any
# memory or undefined-behaviour error, and any leak with a frame of its stack in dsqlauth's code
# (symbolized frames name our sources, ../src/x.c or ../tools/x/y.c; others name the library).
# The programs' own leaks (pgbench and pg_dump free nothing at exit) are listed, not failed.
set -u
dir=$1
bad=0
others=""
for f in "$dir"/*; do
    [ -f "$f" ] || continue
    if grep -Eq 'ERROR: AddressSanitizer|runtime error:' "$f"; then
        cat "$f"
        bad=1
    fi
    ours=$(awk -v RS= '/^(Direct|Indirect) leak/ &&
        /(libdsqlauth|[ (]\.\.\/(src|tools)\/|[ (]\/[^ ]*\/(src|tools)\/[a-z_\/]+\.c:)/' "$f")
    if [ -n "$ours" ]; then
        printf '%s\n' "$ours"
        bad=1
    fi
    if [ -z "$ours" ] && grep -q 'ERROR: LeakSanitizer' "$f"; then
        others="$others $(grep -o 'bin/[a-z_0-9.-]*+' "$f" | head -n 1 | tr -d +)"
    fi
done
# shellcheck disable=SC2086 # others is a list of words
[ -n "$others" ] && echo "sanitizer_reports.sh: leaks of the programs themselves, not dsqlauth's:$(printf ' %s' $others | tr ' ' '\n' | sort -u | sed 's,^bin/,,' | tr '\n' ' ')"
exit $bad
