# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# tap.sh: the TAP vocabulary of every shell suite, sourced by them (bash or sh). Each suite prints
# its plan ("1..$n") at the end (done_testing) and exits non-zero when $failed is.
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# not_ok NAME [DETAIL]: DETAIL goes out as TAP comment lines.
not_ok() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
}
# expect NAME PATTERN OUTPUT: ok when a whole line of OUTPUT matches the extended regex PATTERN.
expect() {
    if printf '%s\n' "$3" | grep -Eqx -- "$2"; then ok "$1"; else not_ok "$1" "want: $2
got: $3"; fi
}
# expect_match NAME PATTERN OUTPUT: ok when PATTERN matches within some line of OUTPUT.
expect_match() {
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1" "want: $2
got: $3"; fi
}
# expect_not NAME PATTERN OUTPUT: ok when no line of OUTPUT matches.
expect_not() {
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then not_ok "$1" "unwanted: $2
got: $3"; else ok "$1"; fi
}
# is NAME GOT WANT: ok when GOT is exactly WANT.
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want: $3
got:  $2"; fi
}
# check NAME CMD...: ok when CMD exits 0; its output is shown when it does not.
check() {
    _name=$1
    shift
    if _out=$("$@" 2>&1); then ok "$_name"; else not_ok "$_name" "$_out"; fi
}
# diag LINE...: TAP comment lines.
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# done_testing: the plan; the status is non-zero when a test failed (end the suite with it).
done_testing() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}
bail() { echo "Bail out! $*"; exit 1; }
