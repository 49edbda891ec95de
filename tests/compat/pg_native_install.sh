#!/bin/sh
# SPDX-License-Identifier: MIT
# pg_native_install.sh: installs node's pg-native, pinned by node/package-lock.json beside this
# script, into DEST (a folder of the build directory) with `npm ci`, once per build directory: a
# DEST that holds the same lock file is reused. Its `libpq` addon is compiled by node-gyp against
# the system's node headers and libpq; only the npm registry is contacted.
# Usage: pg_native_install.sh DEST; prints why on failure and exits 1.
set -eu
src=$(cd "$(dirname "$0")/node" && pwd)
dest=$1
if [ -f "$dest/installed" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    exit 0
fi
for p in node npm; do
    command -v "$p" >/dev/null || { echo "$p is missing (Debian: nodejs and npm; tools/bootstrap)"; exit 1; }
done
# node-gyp builds against these headers instead of downloading them.
[ -f /usr/include/node/node.h ] ||
    { echo "node's headers are missing from /usr/include/node (Debian: libnode-dev; tools/bootstrap)"; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
# Debian's node trusts only the CAs built into it; unless npm is told otherwise, it trusts what
# the machine trusts (the system bundle, with any CA an administrator added), like apt and curl.
if [ "$(npm config get cafile 2>/dev/null)" = null ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
    export npm_config_cafile
fi
if ! npm_config_nodedir=/usr npm_config_python=/usr/bin/python3 \
    npm ci --no-audit --no-fund --loglevel=error --cache "$dest/.npm-cache" >npm.log 2>&1; then
    cat npm.log
    echo "npm ci of pg-native failed (see above)"
    exit 1
fi
rm -rf .npm-cache
NODE_PATH=$dest/node_modules node -e 'require("pg-native")' ||
    { echo "pg-native installed but does not load"; exit 1; }
touch installed
