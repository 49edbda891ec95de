#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# readme.sh: runs every ```sh block of every README.md of the project, as a reader would type
# it, so that no command the documentation shows can rot.
#
# A block runs from the source root, with build/ meaning this build and /tmp/ a scratch folder
# of its own, a private HOME, placeholder AWS credentials (signing needs keys, not an account),
# loopback only. It passes when every command in it exits 0. A block that cannot run here says
# why on the line before it: <!-- not run by tests/docs: REASON --> (a real cluster, the test
# command itself, changes to the machine); those are listed, and a marker without a reason, or
# one that is not followed by a block, fails.
#
# Run by `meson test --suite docs` with DSQLAUTH_SOURCE_ROOT and DSQLAUTH_BUILD_ROOT set.
set -u

. "$(dirname "$0")/../support/tap.sh"

SRC=${DSQLAUTH_SOURCE_ROOT:?run through meson test}
BUILD=${DSQLAUTH_BUILD_ROOT:?run through meson test}
command -v psql >/dev/null || bail "psql is missing (tools/bootstrap installs it)"

T=$(mktemp -d /tmp/dsqlauth-docs.XXXXXX) || bail "mktemp"
chmod 755 "$T"
LOCAL=$BUILD/tools/local/dsqlauth-local
# Any endpoint a block started (a folder with a state file) stops at exit, even if it failed.
# shellcheck disable=SC2154 # d is the trap's own loop variable
trap 'for d in $(find "$T" -name state -printf "%h\n" 2>/dev/null); do
          "$LOCAL" stop --dir "$d" >/dev/null 2>&1; done
      rm -rf "$T"' EXIT

# The blocks: FILE LINE, then the block's text in $T/blocks/N.
mkdir -p "$T/blocks"
count=0
while IFS= read -r -d '' readme; do
    rel=${readme#"$SRC"/}
    marker="" line=0 inblock="" reason=""
    while IFS= read -r text || [ -n "$text" ]; do
        line=$((line + 1))
        if [ -n "$inblock" ]; then
            if [ "$text" = '```' ]; then
                inblock=""
                continue
            fi
            printf '%s\n' "$text" >>"$T/blocks/$count.sh"
            continue
        fi
        case $text in
        '<!-- not run by tests/docs:'*)
            reason=${text#'<!-- not run by tests/docs:'}
            reason=${reason%'-->'}
            reason=$(printf '%s' "$reason" | sed 's/^ *//; s/ *$//')
            marker=$line
            ;;
        '```sh')
            count=$((count + 1))
            inblock=1
            : >"$T/blocks/$count.sh"
            if [ -n "$marker" ] && [ "$marker" -eq $((line - 1)) ]; then
                printf '%s\t%s\t%s\n' "$rel" "$line" "${reason:-(no reason)}" >>"$T/exempt"
                [ -n "$reason" ] || echo "$rel:$marker" >>"$T/bad-markers"
                echo "skip" >"$T/blocks/$count.kind"
            else
                echo "run" >"$T/blocks/$count.kind"
            fi
            printf '%s:%s' "$rel" "$line" >"$T/blocks/$count.where"
            marker=""
            ;;
        *)
            if [ -n "$marker" ] && [ "$marker" -eq $((line - 1)) ]; then
                echo "$rel:$marker" >>"$T/bad-markers" # a marker must sit right above its block
                marker=""
            fi
            ;;
        esac
    done <"$readme"
done < <(find "$SRC" -name README.md -not -path "$SRC/build*" -not -path '*/node_modules/*' \
    -not -path "$SRC/.git/*" -print0 | sort -z)

[ "$count" -gt 0 ] || bail "no sh blocks found under $SRC"
if [ -f "$T/bad-markers" ]; then
    not_ok "every 'not run' marker has a reason and sits right above its block" "$(cat "$T/bad-markers")"
else
    ok "every 'not run' marker has a reason and sits right above its block"
fi

for i in $(seq "$count"); do
    where=$(cat "$T/blocks/$i.where")
    if [ "$(cat "$T/blocks/$i.kind")" = skip ]; then
        echo "# not run: $where: $(awk -F'\t' -v w="$where" '$1 ":" $2 == w {print $3}' "$T/exempt")"
        continue
    fi
    scratch=$T/run$i
    mkdir -p "$scratch/home"
    # build/ is this build; /tmp/ is this block's own folder.
    sed -E "s#(^|[[:space:]\"'(=])build/#\\1$BUILD/#g; s#/tmp/#$scratch/#g" "$T/blocks/$i.sh" \
        >"$scratch/block.sh"
    out=$(cd "$SRC" && env -i PATH="$PATH" HOME="$scratch/home" TERM=dumb LANG=C.UTF-8 \
        AWS_ACCESS_KEY_ID=AKIDEXAMPLEDOCSTEST0 \
        AWS_SECRET_ACCESS_KEY=docstestsecretkeydocstestsecretkey0000 \
        AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
        DSQLAUTH_LOCAL_DIR="$scratch/local" \
        bash -eu "$scratch/block.sh" </dev/null 2>&1)
    status=$?
    if [ "$status" -eq 0 ]; then ok "$where: the block runs"; else
        not_ok "$where: the block runs (exit $status)" "$(sed 's/^/  | /' "$scratch/block.sh")
$out"
    fi
done

echo "1..$n"
exit $((failed > 0))
