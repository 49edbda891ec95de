#!/bin/bash
# SPDX-License-Identifier: MIT
# format.sh: every C file of the project is as .clang-format lays it out (clang-format -i fixes
# one that is not).
set -u
. "$DSQLAUTH_SOURCE_ROOT/tests/support/tap.sh"
. "$DSQLAUTH_SOURCE_ROOT/tests/house/files.sh"
command -v clang-format >/dev/null || bail "clang-format is not installed (tools/bootstrap --build)"
[ -f .clang-format ] || bail "no .clang-format at the top of the project"

count=0
while IFS= read -r f; do
    count=$((count + 1))
    if out=$(clang-format --dry-run --Werror "$f" 2>&1); then
        ok "$f"
    else
        not_ok "$f" "$(printf '%s\n' "$out" | head -n 12)
(clang-format -i $f lays it out)"
    fi
done < <(tracked | grep -E '\.[ch]$')
[ "$count" -ge 100 ] && ok "checked $count C files" || not_ok "checked $count C files" "too few: is the list right?"
done_testing
