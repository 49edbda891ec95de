#!/bin/bash
# SPDX-License-Identifier: MIT
# layout.sh: the shape of the house (tests/README.md, "house"), checked so that it stays:
# the top level the design card fixes, rooms under src/ with one header per source file, distinct
# file names, every test file built and every test script run, one TAP vocabulary, no skips, and
# a README that stays a map.
set -u
. "$DSQLAUTH_SOURCE_ROOT/tests/support/tap.sh"
. "$DSQLAUTH_SOURCE_ROOT/tests/house/files.sh"
BUILD=${DSQLAUTH_BUILD_ROOT:?}
files=$(tracked)

# ---- the top level: the design card's entries, meson's options file, CI and the usual dotfiles --
card=(meson.build README.md LICENSE src include demo tests tools)
top=$(printf '%s\n' "$files" | cut -d/ -f1 | sort -u)
allowed=$(printf '%s\n' "${card[@]}" meson_options.txt .ci .gitignore .gitattributes .clang-format \
    .clang-tidy .editorconfig)
extra=$(printf '%s\n' "$top" | grep -vxF -f <(printf '%s\n' "$allowed") || true)
is "top level: nothing beside the design card's entries (and meson_options.txt, .ci, the usual dotfiles)" \
    "$extra" ""
missing=""
for e in "${card[@]}"; do printf '%s\n' "$top" | grep -qxF "$e" || missing="$missing $e"; done
is "top level: every entry of the design card is there" "$missing" ""

# ---- src/: rooms, and one x.h for each x.c ------------------------------------------------------
flat=$(printf '%s\n' "$files" | grep -E '^src/[^/]+\.[ch]$')
is "src/: no source file outside a room" "$flat" ""
# The exceptions, each with what it implements instead of a header of its own.
declare -A no_header=(
    [src/token/token.c]="include/dsqlauth.h, the public API"
    [src/shim/wrap.c]="include/dsqlauth-pq.h, the link-time wrapper's API"
    [src/shim/preload.c]="libpq's own entry points"
)
declare -A no_source=([src/base/attrs.h]="macros only")
unpaired=""
while IFS= read -r f; do
    case $f in
    *.c) [ -n "${no_header[$f]:-}" ] || [ -f "${f%.c}.h" ] || unpaired="$unpaired
$f: no ${f%.c}.h beside it declares what it defines" ;;
    *.h) [ -n "${no_source[$f]:-}" ] || [ -f "${f%.h}.c" ] || unpaired="$unpaired
$f: no ${f%.h}.c beside it defines what it declares" ;;
    esac
done < <(printf '%s\n' "$files" | grep -E '^src/.*\.[ch]$')
is "src/: one x.h for each x.c" "${unpaired#?}" ""
for f in "${!no_header[@]}" "${!no_source[@]}"; do
    [ -f "$f" ] || not_ok "the exception $f still exists" "remove it from layout.sh"
done

# ---- distinct names for distinct files ----------------------------------------------------------
# Source files and scripts (READMEs, meson.build and `run` entry points are conventions; the
# credential corpus holds data files named as the AWS tools name them).
dups=$(printf '%s\n' "$files" | grep -v '^tests/creds/corpus/' | grep -E '\.(c|h|sh|py)$' |
    sed 's,.*/,,' | sort | uniq -d)
is "no two source files or scripts share a name" "$dups" ""

# ---- every test file is built, every test script is run ------------------------------------------
[ -f "$BUILD/meson-info/intro-targets.json" ] || bail "no meson build at $BUILD"
unbuilt=$(/usr/bin/python3 - "$BUILD" "$DSQLAUTH_SOURCE_ROOT" <<'PY'
import json, os, sys
build, root = sys.argv[1], os.path.realpath(sys.argv[2])
info = lambda n: json.load(open(os.path.join(build, "meson-info", n)))
used = set()
for t in info("intro-targets.json"):
    for s in t.get("target_sources", []):
        used.update(os.path.realpath(x) for x in s.get("sources", []))
for t in info("intro-tests.json"):
    used.update(os.path.realpath(a) for a in t["cmd"])
for d, _, names in os.walk(os.path.join(root, "tests")):
    for n in names:
        p = os.path.realpath(os.path.join(d, n))
        if (n.startswith(("test_", "fuzz_")) and n.endswith(".c")) and p not in used:
            print(os.path.relpath(p, root))
PY
)
is "every test_*.c and fuzz_*.c under tests/ is built by this build" "$unbuilt" ""
# A test script is either a test's command or sourced / run by one (its name appears in another
# script or a meson.build).
unrun=""
run_by_meson=$(/usr/bin/python3 -c '
import json, os, sys
for t in json.load(open(os.path.join(sys.argv[1], "meson-info", "intro-tests.json"))):
    for a in t["cmd"]:
        print(os.path.realpath(a))' "$BUILD")
while IFS= read -r f; do
    printf '%s\n' "$run_by_meson" | grep -qxF "$PWD/$f" && continue
    name=${f##*/}
    printf '%s\n' "$files" | grep -vxF "$f" | grep -E '(\.sh|meson\.build|/run|/test)$' |
        xargs grep -lF "$name" 2>/dev/null | grep -q . && continue
    unrun="$unrun $f"
done < <(printf '%s\n' "$files" | grep -E '^tests/.*\.sh$' | grep -v '^tests/creds/corpus/')
is "every script under tests/ is run by meson or by another script" "$unrun" ""
fsx=$(printf '%s\n' "$files" | grep -E '(^|/)meson\.build$' | xargs grep -ln 'fs\.exists' || true)
is "no meson.build hides a missing folder or file behind fs.exists" "$fsx" ""

# ---- one TAP vocabulary, no skips ------------------------------------------------------------
own=$(printf '%s\n' "$files" | grep -E '^(tests|demo|tools)/.*' | grep -vxF tests/support/tap.sh |
    xargs grep -lE '^[[:space:]]*(ok|not_ok|is|expect)\(\)' 2>/dev/null || true)
is "only tests/support/tap.sh defines the TAP words" "$own" ""
skips=$(printf '%s\n' "$files" | grep -E '^tests/' | grep -v '^tests/tsan/' | grep -E '\.(c|sh|py)$|/meson\.build$' |
    grep -v '^tests/house/' | xargs grep -nE '# SKIP|cr_skip|exit 77|skip_test|pytest\.skip' 2>/dev/null || true)
is "no test turns into a skip" "$skips" ""

# ---- the README is a map ----------------------------------------------------------------------
lines=$(wc -l <README.md)
[ "$lines" -le 200 ] && ok "README.md is a map: $lines lines (at most 200)" ||
    not_ok "README.md is a map: $lines lines (at most 200)" "move the detail beside its part"
first=$(grep -m 2 -oE '^tools/[a-z]+' README.md | tr '\n' '|')
is "README.md begins with the demo's and the tests' commands" "$first" "tools/demo|tools/test|"
done_testing
