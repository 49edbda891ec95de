#!/bin/bash
# SPDX-License-Identifier: MIT
# The lint of the scripts: shellcheck passes on every shell script of the project: *.sh files and the
# extension-less programs whose first line runs sh or bash. Silenced, with the reason (the top
# level is the design card's, so no .shellcheckrc there; run shellcheck with these options by
# hand too); everything else shellcheck reports is fixed:
# - SC2317: the suites call their helpers from traps and through tables, which shellcheck reads
#   as unreachable code.
# - SC2015: `check && ok NAME || not_ok NAME` is the suites' if-then-else; tap.sh's ok cannot fail.
# - SC2016: the suites write SQL ("$user"), sh -c scripts and regexes whose $ is not the shell's.
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
    if out=$(shellcheck --norc -x -P SCRIPTDIR -e SC2317,SC2015,SC2016 -f gcc "$f" 2>&1); then ok "$f"; else not_ok "$f" "$out"; fi
done < <(tracked)
[ "$count" -ge 30 ] && ok "checked $count scripts" || not_ok "checked $count scripts" "too few: is the list right?"
done_testing
