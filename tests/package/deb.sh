#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb.sh: the Debian package from tools/package installs cleanly with apt-get, passes the smoke
# test from /usr/bin (psql through the installed dsqlauth-run against the installed
# dsqlauth-local, and the installed doctor), and `apt-get purge` leaves nothing behind.
#
# Usage: tests/package/deb.sh [DEB]   (default: builds one with tools/package)
# Run by tools/test on CI (a fresh Debian 12, as root). It installs on this machine, so it
# refuses (fails) unless CI=true or DSQLAUTH_PACKAGE_TEST=1, and unless dsqlauth is not yet
# installed: it never replaces or removes a package someone installed. Prints TAP.
set -u

. "$(dirname "$0")/../support/tap.sh"
. "$(dirname "$0")/guard.sh"
. "$(dirname "$0")/smoke.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

guard "install and purge the dsqlauth package"
for p in apt-get dpkg psql; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done
if dpkg-query -W -f='${Status}' dsqlauth 2>/dev/null | grep -q "installed"; then
    bail "dsqlauth is installed on this machine already: this test installs and purges its own;" \
        "remove it first (apt-get purge dsqlauth)"
fi

T=$(mktemp -d /tmp/dsqlauth-deb.XXXXXX) || bail "mktemp"
chmod 755 "$T" # as root, PostgreSQL runs as postgres and must reach the state directory
installed=
cleanup() {
    [ -n "$installed" ] && apt-get purge -y -qq dsqlauth >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/home"

deb=${1:-}
if [ -z "$deb" ]; then
    deb=$("$ROOT/tools/package" --out "$T" 2>"$T/package.log") ||
        bail "tools/package failed: $(cat "$T/package.log")"
fi
[ -f "$deb" ] && ok "the package: ${deb##*/}" || bail "no package at $deb"
info=$(dpkg-deb -f "$deb" Package Version Architecture Depends)
expect_match "its Depends come from dpkg-shlibdeps (libpq5, libssl3, libcurl4, libjansson4)" \
    "^Depends: .*libcurl4.*libjansson4.*libpq5.*libssl3" "$info"
want_version=$(sed -n "s/^ *version : '\(.*\)',/\1/p" "$ROOT/meson.build")
expect "its version is meson's" "$want_version" "$(dpkg-deb -f "$deb" Version)"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' >"$T/files"

# ---- install ----------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if out=$(apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$deb" 2>&1); then
    installed=1
    ok "apt-get install ./${deb##*/}"
else
    bail "apt-get install failed: $out"
fi
expect_not "apt-get printed no error or warning" "^(E|W): " "$out"
out=$(dpkg-query -W -f='${Status} ${Version}' dsqlauth)
expect "dpkg knows it" "install ok installed $want_version" "$out"
out=$(ldconfig -p | grep -c 'libdsqlauth\.so\.0\|libdsqlauth_wrap\.so\.0')
expect "ldconfig has its libraries (the trigger ran)" "2" "$out"
for m in run token local doctor; do
    out=$(MANWIDTH=80 man dsqlauth-$m 2>/dev/null | sed -n 4p)
    expect_match "man dsqlauth-$m" "dsqlauth-$m" "$out"
done

smoke /usr/bin package

# ---- purge ------------------------------------------------------------------------------------
if out=$(apt-get -o DPkg::Lock::Timeout=600 purge -y -qq dsqlauth 2>&1); then
    installed=
    ok "apt-get purge dsqlauth"
else
    not_ok "apt-get purge dsqlauth" "$out"
fi
out=$(dpkg-query -W -f='${Status}' dsqlauth 2>&1)
expect_not "dpkg no longer knows it" "install ok installed|config-files" "$out"
left=
while read -r f; do
    case $f in # folders other packages share
    /usr | /usr/bin | /usr/include | /usr/lib | /usr/share | /usr/share/doc | /usr/share/man | \
        /usr/share/man/man1 | /usr/lib/*-linux-gnu | /usr/lib/*-linux-gnu/pkgconfig) continue ;;
    esac
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$T/files"
[ -z "$left" ] && ok "no file of the package is left" || not_ok "no file of the package is left" "$left"
out=$(ldconfig -p | grep dsqlauth || true)
expect "ldconfig no longer lists its libraries" "" "$out"

echo "1..$n"
exit $((failed > 0))
