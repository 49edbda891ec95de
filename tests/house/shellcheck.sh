#!/bin/bash
# SPDX-License-Identifier: MIT
# The lint of the scripts: shellcheck passes on every shell script of the project: *.sh files and the
# extension-less programs whose first line runs sh or bash. .shellcheckrc at the top says what is
# silenced and why.
set -u
. "$DSQLAUTH_SOURCE_ROOT/tests/support/tap.sh"
. "$DSQLAUTH_SOURCE_ROOT/tests/house/files.sh"
command -v shellcheck >/dev/null || bail "shellcheck is not installed (tools/bootstrap --build)"

count=0
while IFS= read -r f; do
    case ${f##*/} in
    *.sh) ;;
    *.*) continue ;;
    *) head -n 1 "$f" | grep -qE '^#!(/usr)?/bin/(env )?(ba|da)?sh( |$)' || continue ;;
    esac
    count=$((count + 1))
    if out=$(shellcheck -f gcc "$f" 2>&1); then ok "$f"; else not_ok "$f" "$out"; fi
done < <(tracked)
[ "$count" -ge 30 ] && ok "checked $count scripts" || not_ok "checked $count scripts" "too few: is the list right?"
done_testing
