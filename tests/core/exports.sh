#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh: the shared library exports exactly the functions the public header marks DSQL_API.
# Usage: exports.sh <libdsqlauth.so> <dsqlauth.h>
set -eu
lib=$1
header=$2
want=$(mktemp)
have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
# Each DSQL_API declaration: the identifier right before the first '('.
grep -v "^#" "$header" | tr "\n" " " | grep -o 'DSQL_API[^;]*;' | sed 's/(.*//' | awk '{print $NF}' \
    | tr -d '*' | sort -u > "$want"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | grep -v '^_' | sort -u > "$have"
if ! diff -u "$want" "$have"; then
    echo "exports.sh: $lib exports differ from the DSQL_API declarations (- header, + library)" >&2
    exit 1
fi
echo "exports.sh: $(wc -l < "$have") exported functions, all declared DSQL_API"
